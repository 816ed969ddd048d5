//! One batch: the per-row loop that adds each ticket into the accumulators, and the rows kept
//! for the checks.

use super::*;

/// One ticket's contribution to ticket_facts.sql as a number below 74: 0 not dispatched,
/// 1 dispatched but not scored, else the scored ticket's response (0 unknown, 1 late, 2 on
/// time), closing on time, resolved (0 unknown, 1 no, 2 yes) and satisfaction (0 none, 1–3).
#[inline(always)]
pub(super) fn fact_pattern(dispatched: bool, scored: bool, resp: u8, closed: bool, res: u8, sat: u8) -> u8 {
    match (dispatched, scored) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2 + ((resp * 2 + u8::from(closed)) * 3 + res) * 4 + sat,
    }
}

/// Category counters (tickets, tickets_year_earlier, resolved_yes, resolved_answered) by
/// pattern: 0 outside both years, 1 a year earlier, 2 the period (resolved unknown or not
/// scored), 3 the period resolved no, 4 the period resolved yes.
pub(super) const CATS16: [[u16; 4]; 5] = [[0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 1], [1, 0, 1, 1]];
/// Tickets counted into a 16-bit category row before it is added into its 32-bit row: no cell
/// passes u16::MAX.
pub(super) const CAT16_ROWS: u32 = u16::MAX as u32;

/// Add one 16-bit category row into its 32-bit row, and zero it.
pub(super) fn flush_cat_row(row: &mut Vec<[C; 4]>, cells: &mut [[u16; 4]]) {
    if row.len() < cells.len() {
        row.resize(cells.len(), [0; 4]);
    }
    for (a, c) in row.iter_mut().zip(cells.iter_mut()) {
        for k in 0..4 {
            a[k] += C::from(c[k]);
        }
        *c = [0; 4];
    }
}

/// Nanoseconds spent in the parts of [`rows`] (HOTLINE_PROFILE): columns, pass 1, pass 2, ids,
/// suspects; and in the Parquet reader (decoding).
pub(super) static PARTS: [std::sync::atomic::AtomicU64; 6] = [const { std::sync::atomic::AtomicU64::new(0) }; 6];

pub(super) fn lap(part: usize, t: &mut std::time::Instant) {
    let now = std::time::Instant::now();
    PARTS[part].fetch_add((now - *t).as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
    *t = now;
}

pub(super) fn rows(
    shared: &Shared,
    hasher: &impl std::hash::BuildHasher,
    acc: &mut Acc,
    batch: &RecordBatch,
    ids: &Ids,
    at: BatchAt,
) -> Result<()> {
    let mut clock = std::time::Instant::now();
    let spec = shared.spec;
    let n = batch.num_rows();
    acc.rows += n as u64;
    // each column from the batch
    let owned_times = TIMES.iter().map(|c| Time::new(batch, c)).collect::<Result<Vec<_>>>()?;
    let mut times: Vec<Column<TimeRef>> = owned_times.iter().map(|t| Column(TimeRef::of(t))).collect();
    let owned_text = TEXTS.iter().map(|c| Text::new(shared, acc, batch, c)).collect::<Result<Vec<_>>>()?;
    let mut texts: Vec<Column<TextRef>> = owned_text.iter().map(|t| Column(TextRef::of(t))).collect();
    // 0 null, 1 false, 2 true
    let owned_flag = Flag::new(batch, FLAG)?;
    let mut resolved = Column(&owned_flag);
    // the values of the rows some row check may fail
    let mut suspects: Vec<Suspect> = Vec::new();
    // what each text value means (read after the ids above, so every id of the batch is in it)
    shared.strings.codes_into(&mut acc.codes);
    let codes = std::mem::take(&mut acc.codes);
    let check_districts = !spec.known_districts.is_empty();

    let (scan_start, _) = spec.scan_range();
    let (p_start, p_end) = spec.period;
    let (ye_start, ye_end) = spec.year_earlier;
    let n_months = spec.months.len() - 1;
    let day_month = &spec.day_month;
    // every row writes its durations at `k`, which moves on only for a scored ticket of the
    // period (no branch); the chunk is cut to k after the pass (its tail given back)
    let mut dur = DurationChunk::zeroed(n);
    let mut k = 0;

    // pass 1: what each row is (month, fact pattern, units, category …), the data-quality counts,
    // the durations and the checks' suspects; pass 2 below adds the rows into the tables.
    // Written to branch little: most of these conditions are coin flips on real data.
    let mut month = vec![SKIP; n];
    let mut fact = vec![0u8; n];
    // category pattern (CATS, 0 outside the period and a year earlier) | 8 when not dispatched
    let mut catp = vec![0u8; n];
    // place and department unit of each row
    let mut unit = [vec![NONE; n], vec![NONE; n]];
    let mut cat = vec![0u32; n];
    // for the small tables, added in pass 2: channel and request type (as counted: null is
    // "unknown"), stored category pair, hour of the day, day of the checked window
    let (mut chv, mut rtv, mut rawv) = (vec![0u32; n], vec![0u32; n], vec![0u32; n]);
    let (mut hourv, mut dayv) = (vec![0u8; n], vec![0u32; n]);
    // the thread's id caches cover every string id of the batch (0 = null → NONE)
    let n_strings = codes.len();
    if acc.department_unit.len() < n_strings {
        acc.department_unit.resize(n_strings, 0);
    }
    if acc.place_cache.len() < n_strings {
        acc.place_cache.resize(n_strings, Vec::new());
    }
    if acc.cat_cache.len() < n_strings {
        acc.cat_cache.resize(n_strings, Vec::new());
    }
    let mut q = [0i64; 26];
    let mut any_suspect = 0u8;
    lap(0, &mut clock);

    // the columns are read a block at a time, each in a loop of its own, into plain arrays the
    // per-row loop reads (one stream per column here, not sixteen at once in the row loop)
    let mut text_block = vec![0u32; 11 * BLOCK];
    let mut time_block = vec![0i64; 5 * BLOCK];
    let mut flag_block = vec![0u8; BLOCK];
    let mut id_block = vec![false; BLOCK];
    for base in (0..n).step_by(BLOCK) {
        let m = BLOCK.min(n - base);
        let mut time_slices: [&[i64]; 5] = [&[]; 5];
        for ((t, out), slice) in times.iter_mut().zip(time_block.chunks_mut(BLOCK)).zip(&mut time_slices) {
            *slice = t.block(base, m, out)?;
        }
        let [received, dispatched, responded, closed, due_times] = time_slices;
        let mut text_slices: [&[u32]; 11] = [&[]; 11];
        for ((t, out), slice) in texts.iter_mut().zip(text_block.chunks_mut(BLOCK)).zip(&mut text_slices) {
            *slice = t.block(base, m, out)?;
        }
        let [district, street, department, l1, l2, l3, channel, request_type, urgency, satisfaction, excluded] =
            text_slices;
        let resolved_block = resolved.block(base, m, &mut flag_block)?;
        let id_null = ids.nulls(base, m, &mut id_block);
        for j in 0..m {
            let i = base + j;
            let r = received[j];
            if r == NULL_TIME {
                continue;
            }
            let (d, resp, cl, due) = (dispatched[j], responded[j], closed[j], due_times[j]);
            let (dg, sg, pg) = (district[j], street[j], department[j]);
            let (c1, c2, c3) = (l1[j], l2[j], l3[j]);
            let (chg, rtg, ug, satg, xg) = (channel[j], request_type[j], urgency[j], satisfaction[j], excluded[j]);
            let (has_d, has_resp, has_cl) = (d != NULL_TIME, resp != NULL_TIME, cl != NULL_TIME);
            let res = resolved_block[j];
            let x = xg as usize;
            let (cx, cs) = (codes[x], codes[satg as usize]);
            let scored = has_d & !cx.configured;
            let sat = cs.satisfaction;

            // topics: any time, by their own windows
            let topics = codes[c1 as usize].topics | codes[c2 as usize].topics | codes[c3 as usize].topics;
            if topics != 0 || spec.topics.len() > 64 {
                topic_row(shared, acc, r, [c1, c2, c3], topics, scored, res, sat);
            }
            let day = (r - scan_start).div_euclid(MICROS_PER_DAY);
            if day < 0 || day >= day_month.len() as i64 {
                continue;
            }
            let day = day as usize;
            let m = day_month[day];
            month[i] = m;
            let in_period = (r >= p_start) & (r < p_end);
            let in_ye = (r >= ye_start) & (r < ye_end);
            let unknown_channel = (chg != 0) & (codes[chg as usize].channel == 0);
            let unknown_type = (rtg != 0) & (codes[rtg as usize].request_type == 0);
            let unknown_sat = (satg != 0) & (sat == 0);
            let unknown_excl = (x != 0) & (cx.excluded == 0);
            let uclass = codes[ug as usize].urgency;
            let unknown_urgency = (ug != 0) & (uclass > 3);
            let class = if uclass > 3 { 2 } else { uclass as usize };
            // out-of-order times (data_quality.sql and the checks); NULL_TIME is below every time
            let dispatched_early = has_d & (d < r);
            let responded_early = has_resp & (resp < r);
            let closed_early = has_cl & (cl < r);
            let responded_before_dispatched = has_resp & (resp < d);
            let closed_before_dispatched = has_cl & (cl < d);
            let closed_before_responded = has_cl & (cl < resp);

            // ticket_facts
            let rp = u8::from(has_resp) * (1 + u8::from(resp <= d.saturating_add(spec.response[class])));
            let limit = if due != NULL_TIME { due } else { d.saturating_add(spec.close[class]) };
            let on_time = has_cl & (cl <= limit);
            let sat3 = if sat <= 3 { sat } else { 0 };
            fact[i] = fact_pattern(has_d, scored, rp, on_time, res, sat3);

            // units: the caches hold id + 1, 0 for not yet known (a place) or null (a department)
            let row = &mut acc.place_cache[dg as usize];
            if row.len() < n_strings {
                row.resize(n_strings, 0);
            }
            let mut place = row[sg as usize];
            if place == 0 {
                let id = shared.places.id((dg, sg));
                place = id + 1;
                row[sg as usize] = place;
                // the place's district and street units take their ids as first seen, as the
                // departments' do (place_targets looks them up after the scan)
                if dg != 0 {
                    shared.units.id((0, dg, 0));
                }
                if sg != 0 {
                    shared.units.id((1, dg, sg));
                }
            }
            let place = place - 1;
            let p = pg as usize;
            let mut pu = acc.department_unit[p];
            if pu == 0 && p != 0 {
                pu = shared.units.id((2, 0, pg)) + 1;
                acc.department_unit[p] = pu;
            }
            let pu = pu.wrapping_sub(1);
            unit[0][i] = place;
            unit[1][i] = pu;

            // durations of the period's scored tickets
            let span = |t: i64| if t >= d { (t - d) as u64 } else { NO_TIME };
            dur.units[0][k] = place;
            dur.units[1][k] = pu;
            dur.respond[k] = span(resp);
            dur.close[k] = span(cl);
            k += usize::from(in_period & scored);

            let row = &mut acc.cat_cache[c1 as usize];
            if row.len() < n_strings {
                row.resize(n_strings, (0, 0));
            }
            let c = &mut row[c2 as usize];
            if c.0 == 0 {
                let l2c = if c2 != 0 { c2 } else { c1 };
                *c = (shared.cats.id((c1, l2c)) + 1, shared.raw_cats.id((c1, c2)));
            }
            let (cid, rid) = (c.0 - 1, c.1);
            rawv[i] = rid;
            dayv[i] = day as u32;
            // not dispatched (a direct answer): the raw pairs' months count it
            catp[i] = u8::from(!has_d) << 3;

            // categories and the city's mix: the period and a year earlier
            if in_period | in_ye {
                cat[i] = cid;
                let answered = u8::from(scored & (res > 0)) * (res);
                // 1 a year earlier; 2, 3, 4 the period with resolved unknown, no, yes
                catp[i] |= 1 + u8::from(in_period) * (1 + answered);
                chv[i] = if chg == 0 { shared.unknown_id } else { chg };
                rtv[i] = if rtg == 0 { shared.unknown_id } else { rtg };
                hourv[i] = r.div_euclid(MICROS_PER_HOUR).rem_euclid(24) as u8;
            }

            let unknown_values = unknown_channel | unknown_type | unknown_urgency | unknown_sat | unknown_excl;
            if in_period {
                q[0] += 1;
                q[cx.excluded as usize % 6] += i64::from(cx.excluded > 0);
                let qscored = has_d & (xg == 0);
                q[6] += i64::from(chg == 0);
                q[7] += i64::from(ug == 0);
                q[8] += i64::from(c2 == 0);
                q[9] += i64::from(sg == 0);
                q[10] += i64::from(pg == 0);
                q[11] += i64::from(!has_d);
                q[12] += i64::from(has_d & !has_resp);
                q[13] += i64::from(has_d & !has_cl);
                q[14] += i64::from(qscored & (res == 0));
                q[15] += i64::from(qscored & (satg == 0));
                q[25] += i64::from(qscored & (due != NULL_TIME));
                // times out of order and unknown values: a few tickets in a hundred, counted
                // apart from the others
                let odd = dispatched_early
                    | responded_before_dispatched
                    | closed_before_dispatched
                    | closed_before_responded
                    | unknown_values;
                if odd {
                    q[16] += i64::from(dispatched_early);
                    q[17] += i64::from(responded_before_dispatched);
                    q[18] += i64::from(closed_before_dispatched);
                    q[19] += i64::from(closed_before_responded);
                    q[20] += i64::from(unknown_channel);
                    q[21] += i64::from(unknown_type);
                    q[22] += i64::from(unknown_urgency);
                    q[23] += i64::from(unknown_sat);
                    q[24] += i64::from(unknown_excl);
                }
            }

            // the data checks' window is the scanned months; bit k: ROW_CHECKS[k] could fail
            let missing = id_null[j] | (rtg == 0) | (c1 == 0) | (dg == 0);
            let time_order = dispatched_early | responded_early | closed_early | closed_before_dispatched;
            let unknown_district = check_districts & (dg != 0) && !codes[dg as usize].known_district;
            let bits = u8::from(missing)
                | u8::from(time_order) << 1
                | u8::from(closed_before_responded) << 2
                | u8::from(unknown_values) << 3
                | u8::from(unknown_district) << 4;
            any_suspect |= bits;
            if bits != 0 {
                suspects.push(Suspect {
                    row: i as u32,
                    bits,
                    times: [r, d, resp, cl],
                    texts: [rtg, c1, dg, chg, ug, satg, xg],
                });
            }
        }
    }
    acc.codes = codes;
    for (a, b) in acc.quality.iter_mut().zip(q) {
        *a += b;
    }
    lap(1, &mut clock);
    // pass 2: the large tables, one tight loop each
    let (n_units, n_places) = (shared.units.len(), shared.places.len());
    if acc.units.len() < n_units * n_months {
        acc.units.resize(n_units * n_months, [0; F]);
    }
    if acc.places.len() < n_places * n_months {
        acc.places.resize(n_places * n_months, [0; F]);
    }
    // a row without a unit (the department of about half the tickets) or a month adds into a
    // spare cell past the table's end, dropped after the loop: a choice without a branch, where a
    // branch would be mispredicted on every other ticket
    let facts: &[[C; F]; 74] = &FACTS;
    // both tables in one loop: two independent streams of adds for the memory to overlap
    let (places, units) = (&mut acc.places, &mut acc.units);
    let spare = [places.len(), units.len()];
    places.push([0; F]);
    units.push([0; F]);
    let [place_of, unit_of] = &unit;
    let cell = |i: usize, u: u32, spare: usize| {
        let m = month[i];
        std::hint::select_unpredictable((u == NONE) | (m == SKIP), spare, u as usize * n_months + m as usize)
    };
    for i in 0..n {
        let ahead = (i + AHEAD).min(n - 1);
        prefetch(places.as_ptr().wrapping_add(cell(ahead, place_of[ahead], spare[0])));
        prefetch(units.as_ptr().wrapping_add(cell(ahead, unit_of[ahead], spare[1])));
        let f = &facts[fact[i] as usize];
        add(&mut places[cell(i, place_of[i], spare[0])], f);
        add(&mut units[cell(i, unit_of[i], spare[1])], f);
    }
    places.pop();
    units.pop();
    // the place × category and department × category counts go into 16-bit tables first (half
    // the cache lines of the 32-bit ones); a row is added into its 32-bit row when it has
    // counted CAT16_ROWS tickets, and at the row group's end. The tables' last row is a spare
    // that a row without a unit (the department of about half the tickets) or outside the
    // period and the year earlier adds into, without a branch; it is never added to the 32-bit
    // tables.
    let n_cats = shared.cats.len();
    for (t, rows) in [n_places, n_units].into_iter().enumerate() {
        let (cap, stride) = acc.cat16_shape[t];
        if rows >= cap || n_cats > stride {
            acc.flush_cats();
            // a quarter more of each, so that new units and categories seldom move them
            let shape = (rows + rows / 4 + 8, n_cats + n_cats / 4 + 8);
            acc.cat16[t] = vec![[0; 4]; shape.0 * shape.1];
            acc.cat16_count[t] = vec![0; shape.0];
            acc.cat16_shape[t] = shape;
        }
    }
    acc.cat16_cats = n_cats;
    // both tables in one loop, as above
    let [cells0, cells1] = &mut acc.cat16;
    let [count0, count1] = &mut acc.cat16_count;
    let [stride0, stride1] = [acc.cat16_shape[0].1, acc.cat16_shape[1].1];
    let mut tables = [(&mut acc.cat_place, cells0, count0, stride0), (&mut acc.cat_unit, cells1, count1, stride1)];
    // the row of row i in a table whose spare row is `spare`
    let row_of = |units: &[u32], spare: usize, i: usize| {
        std::hint::select_unpredictable((units[i] == NONE) | (catp[i] & 7 == 0), spare, units[i] as usize)
    };
    for i in 0..n {
        let p = catp[i] & 7;
        let ahead = (i + AHEAD).min(n - 1);
        for ((_, cells, count, stride), units) in tables.iter().zip(&unit) {
            let u = row_of(units, count.len() - 1, ahead);
            prefetch(cells.as_ptr().wrapping_add(u * *stride + cat[ahead] as usize));
        }
        for ((table, cells, count, stride), units) in tables.iter_mut().zip(&unit) {
            let spare = count.len() - 1;
            let u = row_of(units, spare, i);
            if count[u] == CAT16_ROWS {
                let row = &mut cells[u * *stride..][..n_cats];
                if u == spare {
                    row.fill([0; 4]);
                } else {
                    flush_cat_row(slot(table, u), row);
                }
                count[u] = 0;
            }
            count[u] += 1;
            for (a, b) in cells[u * *stride + cat[i] as usize].iter_mut().zip(&CATS16[p as usize]) {
                *a += b;
            }
        }
    }
    // the small tables
    for table in [&mut acc.channel, &mut acc.request_type] {
        if table.len() < n_strings {
            table.resize(n_strings, [0; 3]);
        }
    }
    let n_raw = shared.raw_cats.len();
    if acc.raw_month.len() < n_raw * n_months {
        acc.raw_month.resize(n_raw * n_months, [0; 2]);
    }
    if acc.checked_days.len() < day_month.len() {
        acc.checked_days.resize(day_month.len(), 0);
    }
    // (tickets, tickets_year_earlier, direct) by category pattern | 8 for direct
    let mix: [[C; 3]; 16] = std::array::from_fn(|p| match p & 7 {
        0 => [0, 0, 0],
        1 => [0, 1, 0],
        _ => [1, 0, C::from(p >> 3 == 1)],
    });
    for i in 0..n {
        if month[i] == SKIP {
            continue;
        }
        acc.checked_days[dayv[i] as usize] += 1;
        let p = catp[i] as usize;
        let cell = &mut acc.raw_month[rawv[i] as usize * n_months + month[i] as usize];
        cell[0] += 1;
        cell[1] += C::from(p >> 3 == 1);
        if p & 7 == 0 {
            continue;
        }
        let m = &mix[p];
        add(&mut acc.channel[chv[i] as usize], m);
        add(&mut acc.request_type[rtv[i] as usize], m);
        add(&mut acc.hour[hourv[i] as usize], m);
    }
    lap(2, &mut clock);
    if k > 0 {
        dur.cut(k);
        acc.durations.push(dur);
    }
    acc.hashes.push(IdChunk::new(at, ids, || (0..n).filter(|&i| month[i] != SKIP), hasher));
    lap(3, &mut clock);
    for k in 0..ROW_CHECKS.len() {
        let kept = &mut acc.suspects[k];
        if any_suspect >> k & 1 == 0 || kept.rows > acc.cap {
            continue;
        }
        let rows: Vec<&Suspect> = suspects.iter().filter(|s| s.bits >> k & 1 == 1).collect();
        kept.rows += rows.len();
        if kept.rows > acc.cap {
            kept.batches.clear();
            continue;
        }
        kept.batches.push(suspect_batch(shared, ids, &rows, &shared.check_schemas[k])?);
    }
    lap(4, &mut clock);
    Ok(())
}

/// A column of the batch, read a block at a time.
pub(super) struct Column<A>(A);

/// A column read a block at a time into values of type T: a time column's µs (Arrow's values
/// in place when none is null), a text column's string ids, a boolean's 0/1/2.
pub(super) trait Blocks<T> {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [T]) -> &'b [T];
}

impl Blocks<i64> for TimeRef<'_> {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [i64]) -> &'b [i64] {
        self.block(base, m, out)
    }
}

impl Blocks<u32> for TextRef<'_> {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [u32]) -> &'b [u32] {
        self.block(base, m, out)
    }
}

impl Blocks<u8> for &Flag {
    fn read_block<'b>(&'b self, base: usize, m: usize, out: &'b mut [u8]) -> &'b [u8] {
        self.block(base, m, out)
    }
}

impl<A> Column<A> {
    pub(super) fn block<'b, T>(&'b mut self, base: usize, m: usize, out: &'b mut [T]) -> Result<&'b [T]>
    where
        A: Blocks<T>,
    {
        Ok(self.0.read_block(base, m, out))
    }
}

/// A row some row check may fail (bit k of `bits`: ROW_CHECKS[k]), with the values the checks
/// read: its times ([`SUSPECT_TIMES`]) and string ids ([`SUSPECT_TEXTS`]).
pub(super) struct Suspect {
    pub(super) row: u32,
    pub(super) bits: u8,
    pub(super) times: [i64; 4],
    pub(super) texts: [u32; 7],
}

pub(super) const SUSPECT_TIMES: [&str; 4] = ["received_at", "dispatched_at", "responded_at", "closed_at"];
pub(super) const SUSPECT_TEXTS: [&str; 7] =
    ["request_type", "category_l1", "district", "channel", "urgency", "satisfaction", "excluded_reason"];

/// The suspect `rows` of a batch as a table of `schema` (a row check's columns).
pub(super) fn suspect_batch(shared: &Shared, ids: &Ids, rows: &[&Suspect], schema: &SchemaRef) -> Result<RecordBatch> {
    let strings = shared.strings.inner.lock().expect("lock");
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name().as_str();
            let col: ArrayRef = if name == "ticket_id" {
                ids.column(rows.iter().map(|s| s.row as usize))
            } else if let Some(t) = SUSPECT_TIMES.iter().position(|c| *c == name) {
                Arc::new(TimestampMicrosecondArray::from_iter(
                    rows.iter().map(|s| (s.times[t] != NULL_TIME).then_some(s.times[t])),
                ))
            } else if let Some(t) = SUSPECT_TEXTS.iter().position(|c| *c == name) {
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|s| (s.texts[t] != 0).then(|| strings.names[s.texts[t] as usize].as_str())),
                ))
            } else {
                anyhow::bail!("the scan keeps no values of column {name} for the row checks")
            };
            Ok(cast(&col, f.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

/// Count one ticket into the topics whose categories it carries (`mask`: the first 64 topics;
/// the others by their lists) and whose windows hold it.
#[allow(clippy::too_many_arguments)]
pub(super) fn topic_row(
    shared: &Shared,
    acc: &mut Acc,
    r: i64,
    cats: [u32; 3],
    mask: u64,
    scored: bool,
    res: u8,
    sat: u8,
) {
    for (t, tspec) in shared.spec.topics.iter().enumerate() {
        let hit = if t < 64 { mask >> t & 1 == 1 } else { cats.iter().any(|c| shared.topic_ids[t].contains(c)) };
        if !hit {
            continue;
        }
        let phase = if r >= tspec.before.0 && r < tspec.before.1 {
            0
        } else if r >= tspec.after.0 && r < tspec.after.1 {
            1
        } else {
            continue;
        };
        let month = micros(date_of(r).with_day(1).expect("day 1"));
        let e = acc.topics[t][phase].entry(month).or_insert([0; 6]);
        e[0] += 1;
        if scored {
            if res > 0 {
                e[1] += i64::from(res == 2);
                e[2] += 1;
            }
            if (1..=3).contains(&sat) {
                e[2 + sat as usize] += 1;
            }
        }
    }
}

/// A batch as read, in `target` (the canonical table schema or some of its columns; missing
/// columns null).
pub(super) fn to_table(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let cols = target
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Ok(cast(c, f.data_type())?),
            None => Ok(datafusion::arrow::array::new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(target.clone(), cols)?)
}

/// The canonical table schema's `columns`, in its order.
pub(super) fn check_schema(columns: &[&str]) -> SchemaRef {
    let table = schema::table_schema();
    let keep: Vec<usize> =
        (0..table.fields().len()).filter(|&k| columns.contains(&table.field(k).name().as_str())).collect();
    Arc::new(table.project(&keep).expect("columns of the table"))
}
