//! The accumulators: the additive counts a scan adds each ticket into (per place and month, per
//! department, per category, per channel …), merged between the threads.

use super::*;

/// Counters of ticket_facts.sql, in its column order.
pub(super) const F: usize = 11;
pub(super) const TICKETS: usize = 0;
pub(super) const DISPATCHED: usize = 1;
pub(super) const SCORED: usize = 2;
pub(super) const RESPONDED_ON_TIME: usize = 3;
pub(super) const RESPONDED_KNOWN: usize = 4;
pub(super) const CLOSED_ON_TIME: usize = 5;
pub(super) const RESOLVED_YES: usize = 6;
pub(super) const RESOLVED_ANSWERED: usize = 7;
pub(super) const SATISFIED: usize = 8;
pub(super) const FACT_NAMES: [&str; F] = [
    "tickets",
    "dispatched",
    "scored",
    "responded_on_time",
    "responded_known",
    "closed_on_time",
    "resolved_yes",
    "resolved_answered",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
];

pub(super) const QUALITY_ITEMS: [&str; 26] = [
    "rows",
    "excluded:duplicate",
    "excluded:invalid",
    "excluded:out_of_scope",
    "excluded:malicious",
    "excluded:appeal_approved",
    "null:channel",
    "null:urgency",
    "null:category_l2",
    "null:street",
    "null:department",
    "null:dispatched_at",
    "null:responded_at",
    "null:closed_at",
    "null:resolved",
    "null:satisfaction",
    "order:dispatched_before_received",
    "order:responded_before_dispatched",
    "order:closed_before_dispatched",
    "order:closed_before_responded",
    "unknown:channel",
    "unknown:request_type",
    "unknown:urgency",
    "unknown:satisfaction",
    "unknown:excluded_reason",
    "source:due_at",
];

/// The accumulators' counters: u32 keeps the tables small enough for the CPU caches; the scan
/// refuses a window of more than u32::MAX tickets (`--engine sql` has no such limit).
pub(super) type C = u32;

/// One batch's scored tickets of the period: their units (district, street, department; NONE
/// for none) and µs to respond and to close ([`NO_TIME`] when not known or negative). The
/// order statistics are selected on these integers and only then turned into hours: the
/// conversion keeps the order, so they are the ones `quantile_exact` picks from the hours.
#[derive(Default)]
pub(super) struct DurationChunk {
    /// place id and department unit (NONE for none) of each scored ticket: the place's street
    /// and district follow from it ([`place_targets`])
    pub(super) units: [Vec<u32>; 2],
    pub(super) respond: Vec<u64>,
    pub(super) close: Vec<u64>,
}

impl DurationChunk {
    /// n rows of zeros, for a batch of n rows to write.
    pub(super) fn zeroed(n: usize) -> DurationChunk {
        DurationChunk { units: [vec![0; n], vec![0; n]], respond: vec![0; n], close: vec![0; n] }
    }
    /// Keep the first k rows and give the rest of the memory back.
    pub(super) fn cut(&mut self, k: usize) {
        let [a, b] = &mut self.units;
        for v in [a, b] {
            v.truncate(k);
            v.shrink_to_fit();
        }
        for v in [&mut self.respond, &mut self.close] {
            v.truncate(k);
            v.shrink_to_fit();
        }
    }
}

/// How many rows ahead the loops that add into large tables ask for their cells.
pub(super) const AHEAD: usize = 40;

/// Ask for the cache line at `p` ahead of its use: a hint, which reads nothing (`p` may point
/// anywhere).
#[inline(always)]
pub(super) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only moves a cache line; it cannot fault or change memory
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A duration that is not known (no time, or before the dispatch): above every real one.
pub(super) const NO_TIME: u64 = u64::MAX;

#[inline(always)]
pub(super) fn add<const N: usize>(a: &mut [C; N], b: &[C; N]) {
    for k in 0..N {
        a[k] += b[k];
    }
}

#[inline(always)]
pub(super) fn slot<T: Default + Clone>(v: &mut Vec<T>, i: usize) -> &mut T {
    if v.len() <= i {
        v.resize(i + 1, T::default());
    }
    &mut v[i]
}

pub(super) fn merge_vec<const N: usize>(a: &mut Vec<[C; N]>, b: Vec<[C; N]>) {
    if a.len() < b.len() {
        a.resize(b.len(), [0; N]);
    }
    for (x, y) in a.iter_mut().zip(&b) {
        add(x, y);
    }
}

pub(super) fn merge_nested<const N: usize>(a: &mut Vec<Vec<[C; N]>>, b: Vec<Vec<[C; N]>>) {
    if a.len() < b.len() {
        a.resize(b.len(), Vec::new());
    }
    for (x, y) in a.iter_mut().zip(b) {
        merge_vec(x, y);
    }
}

/// The rows that could fail one row check, in its columns ([`check_schema`]); `batches` is
/// emptied once `rows` passes the cap.
#[derive(Default)]
pub(super) struct SuspectRows {
    pub(super) rows: usize,
    pub(super) batches: Vec<RecordBatch>,
}

#[derive(Default)]
pub(super) struct Acc {
    /// suspect rows kept at most (Spec::suspect_cap)
    pub(super) cap: usize,
    pub(super) rows: u64,
    /// [unit * months + month]: the departments' during the scan, then every unit's (finish adds
    /// the places into their streets and districts)
    pub(super) units: Vec<[C; F]>,
    /// [place * months + month]
    pub(super) places: Vec<[C; F]>,
    /// [place][category]
    pub(super) cat_place: Vec<Vec<[C; 4]>>,
    /// durations of the period's scored tickets, one chunk per batch (no reallocation)
    pub(super) durations: Vec<DurationChunk>,
    /// (tickets, tickets_year_earlier, resolved_yes, resolved_answered) [unit][category] (the
    /// departments' during the scan, then every unit's, as `units`)
    pub(super) cat_unit: Vec<Vec<[C; 4]>>,
    /// [place * stride + category] and [unit * stride + category]: `cat_place` and `cat_unit`
    /// as 16-bit counts, each row added into its 32-bit row before it could overflow; the shape
    /// (rows, stride) of each in `cat16_shape`, room to grow in both; the last row a spare for
    /// the rows of no unit
    pub(super) cat16: [Vec<[u16; 4]>; 2],
    pub(super) cat16_shape: [(usize, usize); 2],
    /// [t][row]: the tickets counted into the row since it was last added
    pub(super) cat16_count: [Vec<u32>; 2],
    /// the categories the 16-bit rows may hold counts of
    pub(super) cat16_cats: usize,
    /// (tickets, tickets_year_earlier, direct) per channel / request type string, hour; [category][month]
    pub(super) channel: Vec<[C; 3]>,
    pub(super) request_type: Vec<[C; 3]>,
    pub(super) hour: Vec<[C; 3]>,
    /// (tickets, not dispatched) [stored category pair * months + month] of the checked window
    pub(super) raw_month: Vec<[C; 2]>,
    pub(super) quality: [i64; 26],
    /// [topic][phase] → month start → (tickets, resolved_yes, resolved_answered, satisfied, basically, dissatisfied)
    pub(super) topics: Vec<[HashMap<i64, [i64; 6]>; 2]>,
    /// [day of the checked window]
    pub(super) checked_days: Vec<i64>,
    /// ticket_id hashes of the checked window, one chunk per batch
    pub(super) hashes: Vec<IdChunk>,
    /// [k]: the suspect rows of ROW_CHECKS[k]
    pub(super) suspects: [SuspectRows; ROW_CHECKS.len()],
    // per-thread caches of global ids
    /// [district][street] → place id + 1 (0: not yet known here); a place is a (district,
    /// street) pair, either null: the streets and districts add up from the places
    pub(super) place_cache: Vec<Vec<u32>>,
    pub(super) department_unit: Vec<u32>,
    /// [category_l1][category_l2] → (category id + 1, stored-pair id); 0: not yet known
    pub(super) cat_cache: Vec<Vec<(u32, u32)>>,
    /// the global string ids of the current row group's dictionaries, by the address of the
    /// dictionary (held here, so the address stays its own)
    pub(super) dictionaries: HashMap<usize, (ArrayRef, Arc<[u32]>)>,
    /// the codes of every string id (a copy of the shared table, brought up to date per batch)
    pub(super) codes: Vec<Codes>,
    /// row groups read
    pub(super) row_groups: usize,
}

impl Acc {
    pub(super) fn new(n_topics: usize, cap: usize) -> Acc {
        Acc {
            cap,
            hour: vec![[0; 3]; 24],
            topics: (0..n_topics).map(|_| [HashMap::default(), HashMap::default()]).collect(),
            ..Acc::default()
        }
    }

    /// Add every 16-bit category row that holds counts into its 32-bit row.
    pub(super) fn flush_cats(&mut self) {
        let n_cats = self.cat16_cats;
        for (t, table) in [&mut self.cat_place, &mut self.cat_unit].into_iter().enumerate() {
            let stride = self.cat16_shape[t].1;
            let spare = self.cat16_count[t].len().saturating_sub(1);
            for (u, count) in self.cat16_count[t].iter_mut().enumerate() {
                if *count > 0 {
                    let row = &mut self.cat16[t][u * stride..][..n_cats];
                    if u == spare {
                        // the rows of no unit ([`rows`]): dropped
                        row.fill([0; 4]);
                    } else {
                        flush_cat_row(slot(table, u), row);
                    }
                    *count = 0;
                }
            }
        }
    }

    pub(super) fn merge(mut self, b: Acc) -> Acc {
        self.rows += b.rows;
        self.row_groups += b.row_groups;
        merge_vec(&mut self.units, b.units);
        merge_vec(&mut self.places, b.places);
        merge_nested(&mut self.cat_place, b.cat_place);
        self.durations.extend(b.durations);
        merge_nested(&mut self.cat_unit, b.cat_unit);
        merge_vec(&mut self.channel, b.channel);
        merge_vec(&mut self.request_type, b.request_type);
        merge_vec(&mut self.hour, b.hour);
        merge_vec(&mut self.raw_month, b.raw_month);
        for k in 0..self.quality.len() {
            self.quality[k] += b.quality[k];
        }
        for (a, b) in self.topics.iter_mut().zip(b.topics) {
            for (pa, pb) in a.iter_mut().zip(b) {
                for (m, v) in pb {
                    let e = pa.entry(m).or_insert([0; 6]);
                    for k in 0..6 {
                        e[k] += v[k];
                    }
                }
            }
        }
        merge_i64(&mut self.checked_days, b.checked_days);
        self.hashes.extend(b.hashes);
        for (a, b) in self.suspects.iter_mut().zip(b.suspects) {
            if a.rows <= self.cap {
                a.rows += b.rows;
                a.batches.extend(b.batches);
            }
            if a.rows > self.cap {
                a.batches.clear();
            }
        }
        self
    }
}

pub(super) fn merge_i64(a: &mut Vec<i64>, b: Vec<i64>) {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}
