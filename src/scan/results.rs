//! The results of a scan: the fact tables in the schemas of the SQL that defines them, the
//! repeated ticket ids, and the category, mix and topic tables.

use super::*;

pub(super) fn ts_field(name: &str) -> Field {
    Field::new(name, schema::TIMESTAMP, true)
}

pub(super) fn text(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

pub(super) fn strs(values: Vec<Option<&str>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

pub(super) fn int(values: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(values))
}

/// Rows of ticket_facts.sql's counters with their month, for unit_month and city_month.
#[derive(Default)]
pub(super) struct FactRows {
    pub(super) month: Vec<i64>,
    pub(super) counts: [Vec<i64>; F],
}

impl FactRows {
    /// Add a month's counters unless the month has no ticket; says whether it did.
    pub(super) fn push(&mut self, month: i64, f: &[C; F]) -> bool {
        if f[TICKETS] == 0 {
            return false;
        }
        self.month.push(month);
        for (col, &v) in self.counts.iter_mut().zip(f) {
            col.push(i64::from(v));
        }
        true
    }

    /// The batch: the `key` columns, then month and the counters.
    pub(super) fn batch(self, mut fields: Vec<Field>, mut cols: Vec<ArrayRef>) -> Result<RecordBatch> {
        fields.push(ts_field("month"));
        cols.push(Arc::new(TimestampMicrosecondArray::from(self.month)));
        for (k, c) in self.counts.into_iter().enumerate() {
            fields.push(Field::new(FACT_NAMES[k], DataType::Int64, true));
            cols.push(int(c));
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}

/// The names behind the scan's ids.
#[derive(Clone)]
pub(super) struct Names {
    pub(super) strings: Vec<String>,
    pub(super) units: Vec<UnitKey>,
    pub(super) cats: Vec<(u32, u32)>,
}

impl Names {
    pub(super) fn text(&self, id: u32) -> Option<String> {
        self.str(id).map(str::to_string)
    }
    /// (unit, parent) of a unit id
    pub(super) fn unit(&self, uid: usize) -> (Option<String>, Option<String>) {
        let (u, p) = self.unit_str(uid);
        (u.map(str::to_string), p.map(str::to_string))
    }
    pub(super) fn unit_type(&self, uid: usize) -> Option<String> {
        Some(self.unit_type_str(uid).to_string())
    }
    /// [`Names::text`], [`Names::unit`] and [`Names::unit_type`] without a copy (for the tables
    /// of many rows)
    pub(super) fn str(&self, id: u32) -> Option<&str> {
        (id != 0).then(|| self.strings[id as usize].as_str())
    }
    pub(super) fn unit_str(&self, uid: usize) -> (Option<&str>, Option<&str>) {
        let u = self.units[uid];
        match u.0 {
            0 => (self.str(u.1), None),
            1 => (self.str(u.2), self.str(u.1)),
            _ => (self.str(u.2), None),
        }
    }
    pub(super) fn unit_type_str(&self, uid: usize) -> &'static str {
        ["district", "street", "department"][self.units[uid].0 as usize]
    }
}

pub(super) fn finish(
    shared: &Shared,
    files: &[FileMeta],
    hasher: &(impl std::hash::BuildHasher + Sync),
    mut acc: Acc,
) -> Result<Output> {
    let spec = shared.spec;
    let n_months = spec.months.len() - 1;
    let targets = place_targets(shared);
    // the percentiles on a thread of their own, from the durations moved out of the scan, first
    // (they take longest of the results; their units exist by now)
    let durations = {
        let chunks = std::mem::take(&mut acc.durations);
        let names = Names { strings: shared.strings.names(), units: shared.units.all(), cats: Vec::new() };
        let targets = targets.clone();
        Pending::spawn(move || {
            let t = std::time::Instant::now();
            let d = durations(&chunks, &names, &targets);
            if std::env::var_os("HOTLINE_PROFILE").is_some() {
                eprintln!("profile: scan results: durations {:.2} s (in the background)", t.elapsed().as_secs_f64());
            }
            d
        })
    };
    let totals = totals(shared, &acc, n_months);
    add_places(shared, &mut acc, n_months, &targets);
    let names = Names { strings: shared.strings.names(), units: shared.units.all(), cats: shared.cats.all() };

    // unit_month and city_month (the SQL's row order is none; the consumers aggregate)
    let mut unit_month = FactRows::default();
    let (mut ut, mut un, mut up) = (Vec::new(), Vec::new(), Vec::new());
    for (uid, rows) in acc.units.chunks(n_months).enumerate() {
        for (m, f) in rows.iter().enumerate() {
            if unit_month.push(spec.months[m], f) {
                let (u, p) = names.unit(uid);
                ut.push(names.unit_type(uid));
                un.push(u);
                up.push(p);
            }
        }
    }
    let unit_month = unit_month.batch(
        vec![
            Field::new("unit_type", DataType::Utf8, true),
            Field::new("unit", DataType::Utf8, true),
            Field::new("parent", DataType::Utf8, true),
        ],
        vec![text(ut), text(un), text(up)],
    )?;
    let mut city_month = FactRows::default();
    for (m, f) in totals.city.iter().enumerate() {
        city_month.push(spec.months[m], f);
    }
    let city_month = city_month.batch(Vec::new(), Vec::new())?;

    let t = std::time::Instant::now();
    // the hash chunks move into the sort, which frees each once copied
    let hashes = std::mem::take(&mut acc.hashes);
    let repeated = searched_hashes(hashes, |at| rehash(files, spec, hasher, at)).map(repeated_hashes)?;
    if std::env::var_os("HOTLINE_PROFILE").is_some() {
        eprintln!("profile: scan results: repeated ids {:.2} s", t.elapsed().as_secs_f64());
    }
    let category_facts = category_facts(&acc, &totals, &names)?;
    let city_mix = city_mix(&acc, &totals, &names, spec)?;
    let data_quality = QUALITY_ITEMS.iter().zip(acc.quality).map(|(k, v)| (k.to_string(), v)).collect();
    let topic_facts = topic_facts(&acc, spec)?;

    let mut daily: Vec<(NaiveDate, i64)> = totals
        .daily
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (date_of(spec.period.0 + k as i64 * MICROS_PER_DAY), *n))
        .collect();
    daily.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (scan_start, _) = spec.scan_range();
    let days: Vec<(i32, i64)> = acc
        .checked_days
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| {
            let d = date_of(scan_start + k as i64 * MICROS_PER_DAY);
            (d.num_days_from_ce() - 719_163, *n) // Date32: days since 1970-01-01
        })
        .collect();
    let raw = shared.raw_cats.all();
    let pairs: Vec<(usize, i64)> =
        totals.checked_categories.iter().enumerate().filter(|(_, n)| **n > 0).map(|(k, n)| (k, *n)).collect();
    let checked_categories = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("category_l1", DataType::Utf8, true),
            Field::new("category_l2", DataType::Utf8, true),
            Field::new("tickets", DataType::Int64, false),
        ])),
        vec![
            text(pairs.iter().map(|(k, _)| names.text(raw[*k].0)).collect()),
            text(pairs.iter().map(|(k, _)| names.text(raw[*k].1)).collect()),
            int(pairs.iter().map(|(_, n)| *n).collect()),
        ],
    )?;
    let checked_days = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, true),
            Field::new("tickets", DataType::Int64, false),
        ])),
        vec![
            Arc::new(datafusion::arrow::array::Date32Array::from(days.iter().map(|d| d.0).collect::<Vec<_>>())),
            int(days.iter().map(|d| d.1).collect()),
        ],
    )?;

    // repeated ticket_ids: equal hashes, then the rows themselves (a second read, only then)
    let set: datafusion::common::HashSet<u64> = repeated.into_iter().collect();
    let repeated = if set.is_empty() { Vec::new() } else { rows_with_ids(files, spec, hasher, &set)? };
    let mut suspects = Vec::new();
    for kept in acc.suspects {
        if kept.rows > acc.cap {
            suspects.push(None);
            continue;
        }
        let mut rows = kept.batches;
        if !set.is_empty() {
            // the rows of a repeated ticket_id are in `repeated`: drop them here, so the checks
            // see each row once
            let mut without = Vec::with_capacity(rows.len());
            for b in rows {
                let keep: BooleanArray =
                    id_hashes(&b, hasher)?.into_iter().map(|h| Some(h.is_none_or(|h| !set.contains(&h)))).collect();
                without.push(filter_record_batch(&b, &keep)?);
            }
            rows = without;
        }
        suspects.push(Some(rows));
    }

    Ok(Output {
        unit_month,
        city_month,
        durations,
        category_facts,
        city_mix,
        data_quality,
        topic_facts,
        daily,
        checked_days,
        checked_categories,
        suspects,
        repeated,
        rows_read: acc.rows,
        row_groups: acc.row_groups,
    })
}

/// The tables that add up from others, made once the scan is done.
pub(super) struct Totals {
    /// [month]: from the places' (every ticket has a place, null or not)
    pub(super) city: Vec<[C; F]>,
    /// (tickets, tickets_year_earlier, resolved_yes, resolved_answered) [category] of the city,
    /// from the places' categories
    pub(super) cat_city: Vec<[C; 4]>,
    /// the same [category_l1 string], from `cat_city`
    pub(super) cat_l1: Vec<[C; 4]>,
    /// tickets [day of the period], from the checked window's days (the period is whole days
    /// of it)
    pub(super) daily: Vec<i64>,
    /// (tickets, direct) [category][month] of the period, from the stored pairs' months
    pub(super) cat_month: Vec<Vec<[C; 2]>>,
    /// tickets of the checked window per stored (category_l1, category_l2) pair, from the same
    pub(super) checked_categories: Vec<i64>,
}

pub(super) fn totals(shared: &Shared, acc: &Acc, n_months: usize) -> Totals {
    let mut city = vec![[0; F]; n_months];
    for rows in acc.places.chunks(n_months) {
        for (a, b) in city.iter_mut().zip(rows) {
            add(a, b);
        }
    }
    let cats = shared.cats.all();
    let mut cat_city = vec![[0; 4]; cats.len()];
    for row in &acc.cat_place {
        for (a, b) in cat_city.iter_mut().zip(row) {
            add(a, b);
        }
    }
    let mut cat_l1 = Vec::new();
    for (c, &(l1, _)) in cat_city.iter().zip(&cats) {
        add(slot(&mut cat_l1, l1 as usize), c);
    }
    let spec = shared.spec;
    let (scan_start, _) = spec.scan_range();
    let (p_start, p_end) = spec.period;
    let first = ((p_start - scan_start) / MICROS_PER_DAY) as usize;
    let days = ((p_end - p_start) / MICROS_PER_DAY) as usize;
    let daily = (first..first + days).map(|d| acc.checked_days.get(d).copied().unwrap_or(0)).collect();
    let raw = shared.raw_cats.all();
    let mut checked_categories = vec![0; raw.len()];
    let mut cat_month = Vec::new();
    for (r, months) in acc.raw_month.chunks(n_months).enumerate() {
        let (l1, l2) = raw[r];
        // the category as counted: (category_l1, coalesce(category_l2, category_l1)), known
        // since the scan made both ids together
        let c = shared.cats.id((l1, if l2 != 0 { l2 } else { l1 })) as usize;
        for (m, cell) in months.iter().enumerate() {
            checked_categories[r] += i64::from(cell[0]);
            if spec.months[m] >= p_start && cell[0] > 0 {
                let row: &mut Vec<[C; 2]> = slot(&mut cat_month, c);
                if row.len() < n_months {
                    row.resize(n_months, [0; 2]);
                }
                add(&mut row[m], cell);
            }
        }
    }
    Totals { city, cat_city, cat_l1, daily, cat_month, checked_categories }
}

/// Add each place's counts into its street (when it has one) and its district (a null district
/// too, for the category counts, as category_facts.sql groups by district).
pub(super) fn add_places(shared: &Shared, acc: &mut Acc, n_months: usize, targets: &[(u32, u32)]) {
    // the category counts of the places without a district go to the null district's unit
    let null_district = targets.iter().any(|t| t.0 == NONE).then(|| shared.units.id((0, 0, 0)));
    let n_units = shared.units.len();
    if acc.units.len() < n_units * n_months {
        acc.units.resize(n_units * n_months, [0; F]);
    }
    if acc.cat_unit.len() < n_units {
        acc.cat_unit.resize(n_units, Vec::new());
    }
    for (p, &(du, su)) in targets.iter().enumerate() {
        // the months: a null district is no district unit
        for m in 0..n_months {
            let Some(f) = acc.places.get(p * n_months + m).copied() else { break };
            for u in [du, su] {
                if u != NONE {
                    add(&mut acc.units[u as usize * n_months + m], &f);
                }
            }
        }
        let Some(cats) = acc.cat_place.get(p) else { continue };
        for u in [if du != NONE { du } else { null_district.unwrap_or(NONE) }, su] {
            if u != NONE {
                let row = &mut acc.cat_unit[u as usize];
                if row.len() < cats.len() {
                    row.resize(cats.len(), [0; 4]);
                }
                for (a, b) in row.iter_mut().zip(cats) {
                    add(a, b);
                }
            }
        }
    }
}

/// Which batches' ids the search for repeated ids must see: a batch whose ids come strictly
/// increasing and whose id range overlaps no other batch's holds no repeated id; every other
/// batch is searched (all of them when the ids come in no order).
pub(super) fn to_search(chunks: &[IdChunk]) -> Vec<bool> {
    // clusters of overlapping ranges, by the smallest id
    let mut order: Vec<usize> = (0..chunks.len()).filter(|&k| chunks[k].range.is_some()).collect();
    order.sort_by(|&a, &b| chunks[a].range.as_ref().map(|r| &r.0).cmp(&chunks[b].range.as_ref().map(|r| &r.0)));
    let mut search = vec![false; chunks.len()];
    let mut k = 0;
    while k < order.len() {
        let mut end = k + 1;
        let mut hi = &chunks[order[k]].range.as_ref().expect("range").1;
        while end < order.len() {
            let r = chunks[order[end]].range.as_ref().expect("range");
            if r.0 > *hi {
                break;
            }
            if r.1 > *hi {
                hi = &r.1;
            }
            end += 1;
        }
        for &c in &order[k..end] {
            search[c] = end - k > 1 || chunks[c].hashes.is_some();
        }
        k = end;
    }
    search
}

/// The ticket_id hashes of the batches [`to_search`] picks, those not hashed in the scan
/// fetched by `rehash` (by where they were read).
pub(super) fn searched_hashes(
    chunks: Vec<IdChunk>,
    rehash: impl FnOnce(&[BatchAt]) -> Result<HashMap<BatchAt, Vec<u64>>>,
) -> Result<Vec<Vec<u64>>> {
    let search = to_search(&chunks);
    let missing: Vec<BatchAt> =
        chunks.iter().zip(&search).filter(|(c, s)| **s && c.hashes.is_none()).map(|(c, _)| c.at).collect();
    let mut fetched = if missing.is_empty() { HashMap::default() } else { rehash(&missing)? };
    Ok(chunks
        .into_iter()
        .zip(search)
        .filter(|(_, s)| *s)
        .map(|(c, _)| c.hashes.unwrap_or_else(|| fetched.remove(&c.at).unwrap_or_default()))
        .collect())
}

/// The hashes that occur more than once.
pub(super) fn repeated_hashes(hashes: Vec<Vec<u64>>) -> Vec<u64> {
    // bucket the hashes by their top byte (a counting sort), then sort the buckets in parallel
    let mut start = vec![0usize; 257];
    for chunk in &hashes {
        for &h in chunk {
            start[(h >> 56) as usize + 1] += 1;
        }
    }
    for k in 1..257 {
        start[k] += start[k - 1];
    }
    let mut all = vec![0u64; start[256]];
    let mut next = start.clone();
    for chunk in hashes {
        for &h in &chunk {
            let b = (h >> 56) as usize;
            all[next[b]] = h;
            next[b] += 1;
        }
    }
    let mut buckets = Vec::with_capacity(256);
    let mut rest = all.as_mut_slice();
    for k in 0..256 {
        let (head, tail) = rest.split_at_mut(start[k + 1] - start[k]);
        buckets.push(head);
        rest = tail;
    }
    buckets
        .into_par_iter()
        .flat_map_iter(|b| {
            b.sort_unstable();
            let mut out = Vec::new();
            for w in b.windows(2) {
                if w[0] == w[1] && out.last() != Some(&w[0]) {
                    out.push(w[0]);
                }
            }
            out
        })
        .collect()
}

/// The hashes of the checked window's ticket_ids of the batches `at`, read again (only the
/// batches of increasing ids whose range another batch's overlaps).
pub(super) fn rehash(
    files: &[FileMeta],
    spec: &Spec,
    hasher: &impl std::hash::BuildHasher,
    at: &[BatchAt],
) -> Result<HashMap<BatchAt, Vec<u64>>> {
    let (a, b) = spec.scan_range();
    let mut groups: Vec<(usize, usize)> = at.iter().map(|&(f, g, _)| (f, g)).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut out = HashMap::default();
    for (f, g) in groups {
        let file = &files[f];
        let schema = file.meta.schema();
        let roots: Vec<usize> = ["ticket_id", "received_at"].iter().filter_map(|c| schema.index_of(c).ok()).collect();
        let mask = ProjectionMask::roots(file.meta.metadata().file_metadata().schema_descr(), roots);
        for (k, batch) in reader(file, vec![g], mask)?.enumerate() {
            if !at.contains(&(f, g, k)) {
                continue;
            }
            let batch = batch?;
            let received = plain_times(&batch, "received_at")?;
            let ids = Ids::of(&batch)?;
            if matches!(ids, Ids::Absent) {
                continue;
            }
            let rows =
                (0..batch.num_rows()).filter(|&i| received[i] != NULL_TIME && received[i] >= a && received[i] < b);
            out.insert((f, g, k), hashes_of(&ids, rows, hasher));
        }
    }
    Ok(out)
}

/// The checked window's rows whose ticket_id hashes into `set`: a second read, only when a
/// ticket_id repeats.
pub(super) fn rows_with_ids(
    files: &[FileMeta],
    spec: &Spec,
    hasher: &impl std::hash::BuildHasher,
    set: &datafusion::common::HashSet<u64>,
) -> Result<Vec<RecordBatch>> {
    let (a, b) = spec.scan_range();
    let mut out = Vec::new();
    for file in files {
        for batch in reader(file, row_groups(file, &[(a, b)]), file.mask.clone())? {
            let batch = batch?;
            let received = plain_times(&batch, "received_at")?;
            let keep: BooleanArray = id_hashes(&batch, hasher)?
                .into_iter()
                .zip(received)
                .map(|(h, r)| Some(r != NULL_TIME && r >= a && r < b && h.is_some_and(|h| set.contains(&h))))
                .collect();
            let rows = filter_record_batch(&batch, &keep)?;
            if rows.num_rows() > 0 {
                out.push(to_table(&rows, &schema::table_schema())?);
            }
        }
    }
    Ok(out)
}

pub(super) fn category_facts(acc: &Acc, totals: &Totals, names: &Names) -> Result<RecordBatch> {
    let name = |id: u32| names.str(id);
    let cats = &names.cats;
    // (the text columns as borrowed strings: the table has a row per unit and category)
    let (mut ut, mut level) = (Vec::new(), Vec::new());
    let [mut un, mut up, mut c1, mut c2]: [Vec<Option<&str>>; 4] = Default::default();
    let mut counts: [Vec<i64>; 4] = Default::default();
    let mut row = |t: &'static str, u, p, lv: i64, a, b, c: &[C; 4]| {
        ut.push(Some(t));
        un.push(u);
        up.push(p);
        level.push(lv);
        c1.push(a);
        c2.push(b);
        for k in 0..4 {
            counts[k].push(i64::from(c[k]));
        }
    };
    for (id, c) in totals.cat_l1.iter().enumerate() {
        if c[0] + c[1] > 0 {
            row("city", None, None, 1, name(id as u32), None, c);
        }
    }
    for (cid, c) in totals.cat_city.iter().enumerate() {
        if c[0] + c[1] > 0 {
            let (a, b) = cats[cid];
            row("city", None, None, 2, name(a), name(b), c);
        }
    }
    for (uid, per_cat) in acc.cat_unit.iter().enumerate() {
        for (cid, c) in per_cat.iter().enumerate() {
            if c[0] + c[1] > 0 {
                let (u, p) = names.unit_str(uid);
                let (a, b) = cats[cid];
                row(names.unit_type_str(uid), u, p, 2, name(a), name(b), c);
            }
        }
    }
    let [t, ye, yes, ans] = counts;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("unit_type", DataType::Utf8, true),
            Field::new("unit", DataType::Utf8, true),
            Field::new("parent", DataType::Utf8, true),
            Field::new("level", DataType::Int64, true),
            Field::new("category_l1", DataType::Utf8, true),
            Field::new("category_l2", DataType::Utf8, true),
            Field::new("tickets", DataType::Int64, true),
            Field::new("tickets_year_earlier", DataType::Int64, true),
            Field::new("resolved_yes", DataType::Int64, true),
            Field::new("resolved_answered", DataType::Int64, true),
        ])),
        vec![strs(ut), strs(un), strs(up), int(level), strs(c1), strs(c2), int(t), int(ye), int(yes), int(ans)],
    )?)
}

pub(super) fn city_mix(acc: &Acc, totals: &Totals, names: &Names, spec: &Spec) -> Result<RecordBatch> {
    let name = |id: u32| names.text(id);
    let cats = &names.cats;
    struct Row {
        dimension: &'static str,
        value: Option<String>,
        hour: Option<i64>,
        month: Option<i64>,
        l1: Option<String>,
        l2: Option<String>,
        c: [C; 3],
    }
    let mut rows = Vec::new();
    for (dimension, table) in [("channel", &acc.channel), ("request_type", &acc.request_type)] {
        for (id, c) in table.iter().enumerate() {
            if c[0] + c[1] > 0 {
                rows.push(Row {
                    dimension,
                    value: name(id as u32),
                    hour: None,
                    month: None,
                    l1: None,
                    l2: None,
                    c: *c,
                });
            }
        }
    }
    for (h, c) in acc.hour.iter().enumerate() {
        if c[0] + c[1] > 0 {
            let hour = Some(h as i64);
            rows.push(Row {
                dimension: "hour",
                value: Some(h.to_string()),
                hour,
                month: None,
                l1: None,
                l2: None,
                c: *c,
            });
        }
    }
    for (cid, months) in totals.cat_month.iter().enumerate() {
        for (m, c) in months.iter().enumerate() {
            if c[0] > 0 {
                let (a, b) = cats[cid];
                rows.push(Row {
                    dimension: "category_month",
                    value: None,
                    hour: None,
                    month: Some(spec.months[m]),
                    l1: name(a),
                    l2: name(b),
                    c: [c[0], 0, c[1]],
                });
            }
        }
    }
    // city_mix.sql's ORDER BY dimension, hour, month, tickets DESC, value, category_l1, category_l2
    // (nulls last, as DataFusion sorts ascending)
    fn last<T: Ord + Clone>(v: &Option<T>) -> (bool, Option<T>) {
        (v.is_none(), v.clone())
    }
    rows.sort_by(|a, b| {
        (
            a.dimension,
            last(&a.hour),
            last(&a.month),
            std::cmp::Reverse(a.c[0]),
            last(&a.value),
            last(&a.l1),
            last(&a.l2),
        )
            .cmp(&(
                b.dimension,
                last(&b.hour),
                last(&b.month),
                std::cmp::Reverse(b.c[0]),
                last(&b.value),
                last(&b.l1),
                last(&b.l2),
            ))
    });
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("dimension", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
            Field::new("hour", DataType::Int64, true),
            ts_field("month"),
            Field::new("category_l1", DataType::Utf8, true),
            Field::new("category_l2", DataType::Utf8, true),
            Field::new("tickets", DataType::Int64, true),
            Field::new("tickets_year_earlier", DataType::Int64, true),
            Field::new("direct", DataType::Int64, true),
        ])),
        vec![
            text(rows.iter().map(|r| Some(r.dimension.to_string())).collect()),
            text(rows.iter().map(|r| r.value.clone()).collect()),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.hour).collect::<Vec<_>>())),
            Arc::new(TimestampMicrosecondArray::from(rows.iter().map(|r| r.month).collect::<Vec<_>>())),
            text(rows.iter().map(|r| r.l1.clone()).collect()),
            text(rows.iter().map(|r| r.l2.clone()).collect()),
            int(rows.iter().map(|r| i64::from(r.c[0])).collect()),
            int(rows.iter().map(|r| i64::from(r.c[1])).collect()),
            int(rows.iter().map(|r| i64::from(r.c[2])).collect()),
        ],
    )?)
}

pub(super) fn topic_facts(acc: &Acc, spec: &Spec) -> Result<RecordBatch> {
    let (mut topic, mut phase, mut month) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts: [Vec<i64>; 6] = Default::default();
    for (t, phases) in acc.topics.iter().enumerate() {
        for (p, months) in phases.iter().enumerate() {
            let mut ms: Vec<_> = months.iter().collect();
            ms.sort();
            for (m, c) in ms {
                topic.push(Some(spec.topics[t].name.clone()));
                phase.push(Some(if p == 0 { "before" } else { "after" }.to_string()));
                month.push(*m);
                for k in 0..6 {
                    counts[k].push(c[k]);
                }
            }
        }
    }
    let [tk, yes, ans, s, b, d] = counts;
    Ok(RecordBatch::try_new(
        topic_facts_schema(),
        vec![
            text(topic),
            text(phase),
            Arc::new(TimestampMicrosecondArray::from(month)),
            int(tk),
            int(yes),
            int(ans),
            int(s),
            int(b),
            int(d),
        ],
    )?)
}

pub(super) fn topic_facts_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("topic", DataType::Utf8, true),
        Field::new("phase", DataType::Utf8, true),
        ts_field("month"),
        Field::new("tickets", DataType::Int64, true),
        Field::new("resolved_yes", DataType::Int64, true),
        Field::new("resolved_answered", DataType::Int64, true),
        Field::new("satisfied", DataType::Int64, true),
        Field::new("basically_satisfied", DataType::Int64, true),
        Field::new("dissatisfied", DataType::Int64, true),
    ]))
}
