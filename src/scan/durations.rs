//! The exact time percentiles: histograms per place and department, then the order statistics
//! selected among the durations of the buckets that hold them.

use super::*;

/// Hours of a duration in µs, as unit_durations.sql computes them.
pub(super) fn hours(us: u64) -> f64 {
    us as f64 / MICROS_PER_HOUR as f64
}

/// Where the type-7 quantile p of `known` values lies: (p·(known − 1), the order statistics
/// below and above it).
pub(super) fn rank(p: f64, known: usize) -> (f64, usize, usize) {
    let r = p * (known - 1) as f64;
    (r, r.floor() as usize, r.ceil() as usize)
}

/// The quantile in hours from its two order statistics, as `quantile_exact` interpolates.
pub(super) fn interpolate((r, lo, hi): (f64, usize, usize), a: u64, b: u64) -> f64 {
    let (a, b) = (hours(a), hours(b));
    if hi == lo { a } else { a + (r - lo as f64) * (b - a) }
}

/// The bucket of a duration in the percentiles' histograms, in the order of the durations: one
/// per µs below 32, then 16 per power of two, each at most 1/16 of its values wide.
pub(super) fn bucket(v: u64) -> usize {
    if v < 32 {
        v as usize
    } else {
        let e = 63 - v.leading_zeros() as usize;
        32 + (e - 5) * 16 + ((v >> (e - 4)) & 15) as usize
    }
}

/// Where the order statistics of one group's known durations lie: the buckets of the ranks
/// p·(known − 1) rounded down and up for the median and the P90, and how many known durations
/// lie in the buckets below each.
#[derive(Clone, Copy, Default)]
pub(super) struct Ranks {
    pub(super) known: usize,
    pub(super) bucket: [usize; 4],
    pub(super) below: [usize; 4],
}

impl Ranks {
    /// From the group's histogram.
    pub(super) fn of(hist: &[u32]) -> Ranks {
        let known = hist.iter().map(|&h| h as usize).sum();
        let mut r = Ranks { known, ..Ranks::default() };
        if known == 0 {
            return r;
        }
        let ranks = Ranks::ranks(known);
        let (mut sum, mut j) = (0, 0);
        for (b, &h) in hist.iter().enumerate() {
            let h = h as usize;
            // the ranks ascend: each one's bucket is the first whose running count passes it
            while j < 4 && ranks[j] < sum + h {
                (r.bucket[j], r.below[j]) = (b, sum);
                j += 1;
            }
            if j == 4 {
                break;
            }
            sum += h;
        }
        r
    }

    pub(super) fn ranks(known: usize) -> [usize; 4] {
        let (p50, p90) = (rank(0.5, known), rank(0.9, known));
        [p50.1, p50.2, p90.1, p90.2]
    }

    pub(super) fn wants(&self, b: usize) -> bool {
        self.known > 0 && self.bucket.contains(&b)
    }

    /// (median, P90) in hours, as `quantile_exact` computes them, from `cand`: the group's
    /// known durations in the buckets [`Ranks::wants`] (reordered here).
    pub(super) fn quantiles(&self, cand: &mut [u64]) -> [Option<f64>; 2] {
        if self.known == 0 {
            return [None, None];
        }
        // each rank's place among the candidates in order: the candidates of the buckets
        // below its bucket, then its rank within the bucket
        let mut under = [0usize; 4];
        for &v in cand.iter() {
            let b = bucket(v);
            for (u, &k) in under.iter_mut().zip(&self.bucket) {
                *u += usize::from(b < k);
            }
        }
        let ranks = Ranks::ranks(self.known);
        let at: [usize; 4] = std::array::from_fn(|j| under[j] + ranks[j] - self.below[j]);
        // P90 first: its order statistic and the next (ranks round up by one at most, so the
        // next is the smallest above it); everything before it is no larger
        let (_, &mut a90, rest) = cand.select_nth_unstable(at[2]);
        let b90 = if at[3] == at[2] { a90 } else { rest.iter().copied().min().expect("a candidate above") };
        // the median among cand[..at[2]] (and a90 itself when the ranks meet)
        let (a50, b50) = if at[0] == at[2] {
            (a90, if at[1] == at[0] { a90 } else { b90 })
        } else {
            let (_, &mut a, rest) = cand[..at[2]].select_nth_unstable(at[0]);
            (a, if at[1] == at[0] { a } else { rest.iter().copied().min().unwrap_or(a90).min(a90) })
        };
        let (p50, p90) = (rank(0.5, self.known), rank(0.9, self.known));
        [Some(interpolate(p50, a50, b50)), Some(interpolate(p90, a90, b90))]
    }
}

/// Each place's (district unit, street unit), NONE for none, as the scan counts them (the
/// units exist: the scan made them when it first saw the place).
pub(super) fn place_targets(shared: &Shared) -> Vec<(u32, u32)> {
    shared
        .places
        .all()
        .iter()
        .map(|&(d, s)| {
            let du = if d != 0 { shared.units.id((0, d, 0)) } else { NONE };
            let su = if s != 0 { shared.units.id((1, d, s)) } else { NONE };
            (du, su)
        })
        .collect()
}

/// (median, P90) of the hours to respond, then of the hours to close, per unit.
pub(super) type UnitQuantiles = Vec<(usize, [Option<f64>; 4])>;

/// How many buckets [`bucket`] has.
pub(super) const BUCKETS: usize = 976;

/// A duration's place in a histogram row: its bucket, or one past the last for unknown.
#[inline(always)]
pub(super) fn hist_slot(v: u64) -> usize {
    std::hint::select_unpredictable(v == NO_TIME, BUCKETS, bucket(v))
}

/// Quantiles of one grouping: per report group, None without tickets, else the (median, P90)
/// of the hours to respond, then to close.
pub(super) type GroupQuantiles = Vec<Option<[Option<f64>; 4]>>;

/// A histogram row: the buckets and the unknown slot.
pub(super) const STRIDE: usize = BUCKETS + 1;
/// 64-bit words of a row of wanted buckets.
pub(super) const WORDS: usize = STRIDE.div_ceil(64);

/// Which base group each id of a unit column counts in, as the first of its two histogram rows
/// (to respond, to close): [id + 1] → (base group + 1) × 2, and 0 for the tickets of no base
/// group (NONE, whose id + 1 wraps to 0, or an id that is no base group's).
pub(super) struct BaseRows(pub(super) Vec<u32>);

impl BaseRows {
    /// Every id below n its own base group (the places).
    pub(super) fn identity(n: usize) -> BaseRows {
        BaseRows((0..=n as u32).map(|b| b * 2).collect())
    }
    /// The ids `ids` the base groups 0, 1, … in that order, any other id below n none's (the
    /// department units among all units: the histograms have rows for those only).
    pub(super) fn of(n: usize, ids: &[usize]) -> BaseRows {
        let mut rows = vec![0; n + 1];
        for (b, &u) in ids.iter().enumerate() {
            rows[u + 1] = (b as u32 + 1) * 2;
        }
        BaseRows(rows)
    }
    /// How many base groups there are.
    pub(super) fn bases(&self) -> usize {
        self.0.iter().max().map_or(0, |&r| r as usize / 2)
    }
    #[inline(always)]
    pub(super) fn row(&self, u: u32) -> usize {
        self.0[u.wrapping_add(1) as usize] as usize
    }
}

/// The first histogram row of base group `b`.
#[inline(always)]
pub(super) fn base_row(b: u32) -> usize {
    (b as usize + 1) * 2
}

/// The period's scored tickets' durations counted by bucket, for both groupings (by place, by
/// department unit): [grouping][row × 2 + duration][bucket, then unknown], the rows of each
/// base group after row 0, the tickets of none's ([`BaseRows`]). (Counting each batch in the
/// scan, while its durations are in the cache, cost more: the histograms then compete for the
/// cache with the scan's tables.)
pub(super) struct DurationHist(pub(super) [Vec<u32>; 2]);

impl DurationHist {
    /// Empty histograms of the base groups of `rows`.
    pub(super) fn new(rows: [&BaseRows; 2]) -> DurationHist {
        DurationHist(rows.map(|r| vec![0; (r.bases() + 1) * 2 * STRIDE]))
    }

    /// Count a chunk, whose unit columns' ids `rows` (those of [`DurationHist::new`]) knows.
    pub(super) fn add(&mut self, c: &DurationChunk, rows: [&BaseRows; 2]) {
        let [ha, hb] = &mut self.0;
        let [ua, ub] = &c.units;
        for (((&u, &w), &r), &cl) in ua.iter().zip(ub).zip(&c.respond).zip(&c.close) {
            let (kr, kc) = (hist_slot(r), hist_slot(cl));
            for (h, rows, u) in [(&mut *ha, rows[0], u), (&mut *hb, rows[1], w)] {
                let row = rows.row(u) * STRIDE;
                h[row + kr] += 1;
                h[row + STRIDE + kc] += 1;
            }
        }
    }
}

/// One grouping of the durations by a unit column, as [`grouped_quantiles`] works through it.
/// Its rows are [`DurationHist`]'s.
pub(super) struct Grouping<'a> {
    /// the report groups' base groups
    pub(super) members: &'a [Vec<u32>],
    /// the base group of each id of the unit column
    pub(super) rows: &'a BaseRows,
    /// [row × 2 + duration][bucket, unknown]
    pub(super) hist: Vec<u32>,
    pub(super) ranks: Vec<[Ranks; 2]>,
    pub(super) tickets: Vec<usize>,
    /// the report groups of each row's base group
    pub(super) groups: Vec<Vec<u32>>,
    /// [row × 2 + duration]: the buckets any of the base group's report groups wants, as bits
    pub(super) wanted: Vec<u64>,
    /// each group's known durations in the buckets it wants
    pub(super) cand: Vec<[Vec<u64>; 2]>,
    /// one chunk's durations in wanted buckets: (row × 2 + duration, µs)
    pub(super) found: Vec<(u32, u64)>,
}

impl Grouping<'_> {
    /// `hist` the grouping's histogram, of `rows`' base groups.
    pub(super) fn new<'a>((rows, members): (&'a BaseRows, &'a [Vec<u32>]), hist: Vec<u32>) -> Grouping<'a> {
        Grouping {
            members,
            rows,
            hist,
            ranks: Vec::new(),
            tickets: Vec::new(),
            groups: Vec::new(),
            wanted: Vec::new(),
            cand: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Each report group's ranks (its histogram the sum of its members'), its tickets, and the
    /// buckets each base group's durations are wanted in (never the unknown slot, nor row 0's).
    pub(super) fn rank(&mut self) {
        let hist = &self.hist;
        let rows = hist.len() / (2 * STRIDE);
        let mut sum = vec![0u32; BUCKETS];
        for g in self.members {
            let mut r = [Ranks::default(); 2];
            for (m, r) in r.iter_mut().enumerate() {
                sum.fill(0);
                for &b in g {
                    let h = &hist[(base_row(b) + m) * STRIDE..][..BUCKETS];
                    for (s, &h) in sum.iter_mut().zip(h) {
                        *s += h;
                    }
                }
                *r = Ranks::of(&sum);
            }
            self.ranks.push(r);
            // each ticket is counted once in its base's respond row, known or not
            let of = |&b: &u32| hist[base_row(b) * STRIDE..][..STRIDE].iter().map(|&h| h as usize).sum::<usize>();
            self.tickets.push(g.iter().map(of).sum::<usize>());
        }
        self.groups = vec![Vec::new(); rows];
        for (g, bases) in self.members.iter().enumerate() {
            for &b in bases {
                self.groups[base_row(b) / 2].push(g as u32);
            }
        }
        self.wanted = vec![0; rows * 2 * WORDS];
        for (row, gs) in self.groups.iter().enumerate() {
            for &g in gs {
                for m in 0..2 {
                    let r = &self.ranks[g as usize][m];
                    if r.known > 0 {
                        for &k in &r.bucket {
                            self.wanted[(row * 2 + m) * WORDS + k / 64] |= 1 << (k % 64);
                        }
                    }
                }
            }
        }
        self.cand = vec![[Vec::new(), Vec::new()]; self.members.len()];
    }

    /// Whether a duration in slot `k` of histogram row `row` is wanted.
    #[inline(always)]
    pub(super) fn wants(&self, row: usize, k: usize) -> usize {
        (self.wanted[row * WORDS + k / 64] >> (k % 64) & 1) as usize
    }

    /// Hand the first `f` durations found to the groups that want them.
    pub(super) fn hand_out(&mut self, f: usize) {
        for &(row, v) in &self.found[..f] {
            let (b, m, k) = (row as usize / 2, row as usize % 2, bucket(v));
            for &g in &self.groups[b] {
                if self.ranks[g as usize][m].wants(k) {
                    self.cand[g as usize][m].push(v);
                }
            }
        }
    }

    pub(super) fn quantiles(mut self) -> GroupQuantiles {
        self.cand
            .iter_mut()
            .zip(&self.ranks)
            .zip(&self.tickets)
            .map(|(([cr, cc], [rr, rc]), &n)| {
                (n > 0).then(|| {
                    let [r50, r90] = rr.quantiles(cr);
                    let [c50, c90] = rc.quantiles(cc);
                    [r50, r90, c50, c90]
                })
            })
            .collect()
    }
}

/// The exact (median, P90) of both durations of each report group of two groupings, one by
/// each unit column (places, department units). A report group is the scored tickets of a set
/// of base groups (`members[g]`; the base group of a ticket is the one its unit column's id
/// names in the grouping's [`BaseRows`], or none).
/// `hist` counts each base group's durations by bucket; its sums per report group find the
/// bucket of each order statistic. One read of the durations then keeps only those in these
/// buckets, among which the order statistics are selected. None for a report group without
/// tickets.
pub(super) fn grouped_quantiles(
    durations: &[DurationChunk],
    hist: DurationHist,
    sets: [(&BaseRows, &[Vec<u32>]); 2],
) -> [GroupQuantiles; 2] {
    let [ha, hb] = hist.0;
    let (mut a, mut b) = (Grouping::new(sets[0], ha), Grouping::new(sets[1], hb));
    a.rank();
    b.rank();
    // the durations in wanted buckets: each is written to `found`, which moves on only when it
    // is wanted (no branch: a few in a hundred are), then handed to the groups that want them
    for c in durations {
        let n = c.respond.len();
        for g in [&mut a, &mut b] {
            g.found.resize(2 * n, (0, 0));
        }
        let (mut fa, mut fb) = (0, 0);
        let [ua, ub] = &c.units;
        for (((&u, &w), &r), &cl) in ua.iter().zip(ub).zip(&c.respond).zip(&c.close) {
            let (kr, kc) = (hist_slot(r), hist_slot(cl));
            for (g, u, f) in [(&mut a, u, &mut fa), (&mut b, w, &mut fb)] {
                let row = g.rows.row(u);
                g.found[*f] = (row as u32, r);
                *f += g.wants(row, kr);
                g.found[*f] = (row as u32 + 1, cl);
                *f += g.wants(row + 1, kc);
            }
        }
        a.hand_out(fa);
        b.hand_out(fb);
    }
    [a.quantiles(), b.quantiles()]
}

/// The districts', streets' and the city's report groups, the places being the base groups: a
/// street is one place, a district its places, the city every place. (report kind, unit) of
/// each, and its places.
pub(super) fn place_groups(targets: &[(u32, u32)]) -> (Vec<(usize, u32)>, Vec<Vec<u32>>) {
    let mut units: Vec<(usize, u32)> = Vec::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut district_of: HashMap<u32, usize> = HashMap::default();
    for (p, &(du, su)) in targets.iter().enumerate() {
        if su != NONE {
            units.push((1, su));
            members.push(vec![p as u32]);
        }
        if du != NONE {
            let g = *district_of.entry(du).or_insert_with(|| {
                units.push((0, du));
                members.push(Vec::new());
                members.len() - 1
            });
            members[g].push(p as u32);
        }
    }
    units.push((2, 0));
    members.push((0..targets.len() as u32).collect());
    (units, members)
}

pub(super) fn durations(chunks: &[DurationChunk], names: &Names, targets: &[(u32, u32)]) -> Result<RecordBatch> {
    // each place a base group of the districts, streets and the city; each department unit
    // its own (the department column holds no other units)
    let (places, place_members) = place_groups(targets);
    let place_rows = BaseRows::identity(targets.len());
    let departments: Vec<usize> = (0..names.units.len()).filter(|&u| names.units[u].0 == 2).collect();
    let department_rows = BaseRows::of(names.units.len(), &departments);
    let department_members: Vec<Vec<u32>> = (0..departments.len() as u32).map(|b| vec![b]).collect();
    // one read of the durations counts them for both groupings
    let mut hist = DurationHist::new([&place_rows, &department_rows]);
    for c in chunks {
        hist.add(c, [&place_rows, &department_rows]);
    }
    let [by_place, by_department] =
        grouped_quantiles(chunks, hist, [(&place_rows, &place_members), (&department_rows, &department_members)]);
    // districts, streets, departments, the city; each in unit order
    let mut results: [UnitQuantiles; 4] = Default::default();
    for ((kind, unit), q) in places.into_iter().zip(by_place) {
        if let Some(q) = q {
            results[[0, 1, 3][kind]].push((unit as usize, q));
        }
    }
    results[2] = departments.into_iter().zip(by_department).filter_map(|(u, q)| q.map(|q| (u, q))).collect();
    for r in &mut results {
        r.sort_by_key(|u| u.0);
    }
    let (mut ut, mut un, mut up) = (Vec::new(), Vec::new(), Vec::new());
    let mut q: [Vec<Option<f64>>; 4] = Default::default();
    for (t, rows) in results.iter().enumerate() {
        for (u, values) in rows {
            if t == 3 {
                ut.push(Some("city".to_string()));
                un.push(Some("city".to_string()));
                up.push(None);
            } else {
                let (name, parent) = names.unit(*u);
                ut.push(names.unit_type(*u));
                un.push(name);
                up.push(parent);
            }
            for (k, v) in values.iter().enumerate() {
                q[k].push(*v);
            }
        }
    }
    let [a, b, c, d] = q;
    let f = |v: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("unit", DataType::Utf8, true),
            Field::new("parent", DataType::Utf8, true),
            Field::new("respond_hours_median", DataType::Float64, true),
            Field::new("respond_hours_p90", DataType::Float64, true),
            Field::new("close_hours_median", DataType::Float64, true),
            Field::new("close_hours_p90", DataType::Float64, true),
            Field::new("unit_type", DataType::Utf8, true),
        ])),
        vec![text(un), text(up), f(a), f(b), f(c), f(d), text(ut)],
    )?)
}
