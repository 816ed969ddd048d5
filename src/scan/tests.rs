use super::*;
use std::hash::BuildHasher;

fn hasher() -> impl std::hash::BuildHasher + Clone {
    datafusion::common::HashMap::<u8, u8>::default().hasher().clone()
}

/// Batch k's id chunk as the scan makes it from its Arrow column.
fn chunk(k: usize, ids: &[Option<&str>], h: &impl std::hash::BuildHasher) -> IdChunk {
    let col = Ids::Column(StringViewArray::from(ids.to_vec()));
    IdChunk::new((0, 0, k), &col, || 0..ids.len(), h)
}

/// The repeated ids of these batches, and how many batches had to be hashed again.
fn found(batches: &[&[Option<&str>]]) -> (Vec<String>, usize) {
    let h = hasher();
    let all: Vec<&str> = batches.iter().flat_map(|b| b.iter().flatten().copied()).collect();
    let chunks = batches.iter().enumerate().map(|(k, b)| chunk(k, b, &h)).collect();
    let mut again = 0;
    let hashes = searched_hashes(chunks, |at| {
        again = at.len();
        Ok(at
            .iter()
            .map(|&(_, _, k)| {
                (
                    (0, 0, k),
                    hashes_of(&Ids::Column(StringViewArray::from(batches[k].to_vec())), 0..batches[k].len(), &h),
                )
            })
            .collect())
    })
    .expect("hashes");
    let repeated = repeated_hashes(hashes);
    let mut out: Vec<String> =
        all.iter().filter(|v| repeated.contains(&h.hash_one(**v))).map(|v| v.to_string()).collect();
    out.sort();
    out.dedup();
    (out, again)
}

#[test]
fn increasing_batches_in_disjoint_ranges_are_not_searched() {
    let h = hasher();
    let a = chunk(0, &[Some("T01"), None, Some("T02"), Some("T05")], &h);
    assert!(a.hashes.is_none(), "increasing ids are not hashed");
    assert_eq!(a.range, Some(("T01".to_string(), "T05".to_string())));
    let b = chunk(1, &[Some("T07"), None, Some("T06")], &h);
    assert_eq!(b.hashes.as_ref().map(Vec::len), Some(2), "null ids are not hashed");
    assert_eq!(b.range, Some(("T06".to_string(), "T07".to_string())));
    assert_eq!(to_search(&[a, b]), [false, true]);
    // no id repeats: nothing found, nothing read again, whichever way the batches come
    assert_eq!(found(&[&[Some("T01"), Some("T02")], &[Some("T03"), Some("T09")]]), (vec![], 0));
    assert_eq!(found(&[&[Some("T03"), Some("T09")], &[Some("T01"), Some("T02")]]), (vec![], 0));
}

#[test]
fn a_repeated_id_is_found_wherever_it_hides() {
    let one = |v: &str| vec![v.to_string()];
    // twice in one batch, not adjacent
    assert_eq!(found(&[&[Some("T1"), Some("T3"), Some("T2"), Some("T1")]]), (one("T1"), 0));
    // twice in a row: not strictly increasing
    assert_eq!(found(&[&[Some("T1"), Some("T1")]]), (one("T1"), 0));
    // two increasing batches whose ranges overlap in the repeated id (the first one's
    // largest is the second one's smallest): both are read again
    assert_eq!(found(&[&[Some("T1"), Some("T4")], &[Some("T4"), Some("T9")]]), (one("T4"), 2));
    // an increasing batch and an unordered one inside its range
    assert_eq!(found(&[&[Some("T1"), Some("T5"), Some("T9")], &[Some("T6"), Some("T5")]]), (one("T5"), 1));
    // a chain of overlaps: the first and third batches share T2, the middle one spans both
    assert_eq!(
        found(&[&[Some("T2"), Some("T3")], &[Some("T1"), Some("T8")], &[Some("T0"), Some("T2")]]),
        (one("T2"), 3)
    );
    // a batch of nulls only has no range and no hashes
    assert_eq!(found(&[&[None, None], &[Some("T1"), Some("T1")]]), (one("T1"), 0));
}

/// A ticket's base group: one of 0..6 (a group's or not), 6 (none's), or NONE.
fn unit() -> impl proptest::strategy::Strategy<Value = u32> {
    proptest::prop_oneof![0u32..7, proptest::strategy::Just(NONE)]
}

/// Durations in µs as the scan keeps them: unknown, ties, seconds to decades, the largest.
fn duration() -> impl proptest::strategy::Strategy<Value = u64> {
    proptest::prop_oneof![
        proptest::strategy::Just(NO_TIME),
        0u64..4,
        proptest::sample::select(vec![1_000_000u64, 3_600_000_000, 7_200_000_000]),
        0u64..3_600_000_000,
        0u64..(1u64 << 50),
        (NO_TIME - 3)..NO_TIME,
    ]
}

proptest::proptest! {
    /// The percentiles by histogram and candidates give quantile_exact's result for every
    /// group of both groupings, bit for bit: any mix of unknown durations, ties and
    /// magnitudes, groups that share base groups, tickets of no group, groups without
    /// tickets, base groups that differ between the two unit columns, and a column whose
    /// ids map to base groups in another order.
    #[test]
    fn grouped_quantiles_are_quantile_exact(
        rows in proptest::collection::vec((unit(), unit(), duration(), duration()), 0..800),
        cut in 0usize..800,
        members in proptest::array::uniform2(
            proptest::collection::vec(proptest::collection::btree_set(0u32..6, 0..4), 1..5),
        ),
    ) {
        let members = members.map(|m| m.into_iter().map(|g| g.into_iter().collect()).collect::<Vec<Vec<u32>>>());
        // two chunks
        let cut = cut.min(rows.len());
        let chunk = |rows: &[(u32, u32, u64, u64)]| DurationChunk {
            units: [rows.iter().map(|r| r.0).collect(), rows.iter().map(|r| r.1).collect()],
            respond: rows.iter().map(|r| r.2).collect(),
            close: rows.iter().map(|r| r.3).collect(),
        };
        let chunks = [chunk(&rows[..cut]), chunk(&rows[cut..])];
        // the first column's ids are their own base groups (6 is no group's); the second's
        // base groups are the ids 5, 0, 3, 1, 4, 6 in that order (2 is none's); NONE none's
        let second = [5usize, 0, 3, 1, 4, 6];
        let base_rows = [BaseRows::identity(7), BaseRows::of(7, &second)];
        let mut hist = DurationHist::new([&base_rows[0], &base_rows[1]]);
        for c in &chunks {
            hist.add(c, [&base_rows[0], &base_rows[1]]);
        }
        let got = grouped_quantiles(&chunks, hist, [(&base_rows[0], &members[0]), (&base_rows[1], &members[1])]);
        let base = |t: usize, id: u32| -> Option<u32> {
            if t == 0 {
                (id < 7).then_some(id)
            } else {
                second.iter().position(|&u| u as u32 == id).map(|b| b as u32)
            }
        };
        for t in 0..2 {
            for (g, bases) in members[t].iter().enumerate() {
                let of: Vec<&(u32, u32, u64, u64)> = rows
                    .iter()
                    .filter(|r| base(t, if t == 0 { r.0 } else { r.1 }).is_some_and(|b| bases.contains(&b)))
                    .collect();
                let hours_of = |f: fn(&(u32, u32, u64, u64)) -> u64| -> Vec<f64> {
                    of.iter().map(|r| f(r)).filter(|&v| v != NO_TIME).map(hours).collect()
                };
                let (mut r, mut c) = (hours_of(|r| r.2), hours_of(|r| r.3));
                let expected = (!of.is_empty()).then(|| {
                    [
                        crate::udf::quantile(&mut r.clone(), 0.5),
                        crate::udf::quantile(&mut r, 0.9),
                        crate::udf::quantile(&mut c.clone(), 0.5),
                        crate::udf::quantile(&mut c, 0.9),
                    ]
                });
                let bits = |q: Option<[Option<f64>; 4]>| q.map(|q| q.map(|v| v.map(f64::to_bits)));
                proptest::prop_assert_eq!(bits(got[t][g]), bits(expected), "grouping {} group {}", t, g);
            }
        }
    }

    /// Buckets keep the order of the durations, and every duration has one of the 976.
    #[test]
    fn buckets_keep_the_order(a in duration(), b in duration()) {
        let (a, b) = (a.min(b), a.max(b));
        proptest::prop_assert!(bucket(a) <= bucket(b));
        proptest::prop_assert!(bucket(b) < 976);
    }

    /// The inline comparison of ids is the slices' order: any lengths, long common
    /// prefixes (one side a prefix of the other too), bytes above 0x7f.
    #[test]
    fn less_is_the_order_of_bytes(
        prefix in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
        a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
    ) {
        // and b cut or padded to a's length (ids of one length take another path)
        let same: Vec<u8> = b.iter().copied().chain(std::iter::repeat(0)).take(a.len()).collect();
        let (a, b, same) = ([&prefix[..], &a].concat(), [&prefix[..], &b].concat(), [&prefix[..], &same].concat());
        proptest::prop_assert_eq!(less(&a, &same), a < same);
        proptest::prop_assert_eq!(less(&same, &a), same < a);
        proptest::prop_assert_eq!(less(&a, &b), a < b);
        proptest::prop_assert_eq!(less(&b, &a), b < a);
        proptest::prop_assert!(!less(&a, &a));
    }

    /// The block readers give each row what reading the row alone gives: nulls anywhere, a
    /// column sliced at any bit offset, any number of blocks and a partial last one.
    #[test]
    fn blocks_read_as_rows(
        rows in proptest::collection::vec(
            (
                proptest::option::weighted(0.8, -5i64..5),
                proptest::option::weighted(0.8, 0i32..6),
                proptest::option::weighted(0.8, proptest::bool::ANY),
            ),
            0..5000,
        ),
        offset in 0usize..130,
    ) {
        let offset = offset.min(rows.len());
        let n = rows.len() - offset;
        let times = TimestampMicrosecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()).slice(offset, n);
        let keys = datafusion::arrow::array::Int32Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()).slice(offset, n);
        let flags = BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()).slice(offset, n);
        let time = Time { values: times.values().clone(), valid: times.nulls().map(|v| v.inner().clone()) };
        // key 5 is past the map: read as null, as a null row's key may be anything
        let text = Text {
            keys: keys.values().clone(),
            valid: keys.nulls().map(|v| v.inner().clone()),
            map: (0..5u32).map(|k| 10 * k + 1).collect(),
        };
        let flag = Flag {
            values: flags.values().clone(),
            valid: flags.nulls().map_or_else(|| BooleanBuffer::new_set(n), |v| v.inner().clone()),
        };
        let (mut tb, mut xb, mut fb) = (vec![0i64; BLOCK], vec![0u32; BLOCK], vec![0u8; BLOCK]);
        for base in (0..n).step_by(BLOCK) {
            let m = BLOCK.min(n - base);
            let t = TimeRef::of(&time).block(base, m, &mut tb).to_vec();
            let x = TextRef::of(&text).block(base, m, &mut xb).to_vec();
            let f = flag.block(base, m, &mut fb).to_vec();
            for j in 0..m {
                let i = base + j;
                let want_t = if times.is_valid(i) { times.value(i) } else { NULL_TIME };
                let want_x = if keys.is_valid(i) && keys.value(i) < 5 { 10 * keys.value(i) as u32 + 1 } else { 0 };
                let want_f = if flags.is_valid(i) { 1 + u8::from(flags.value(i)) } else { 0 };
                proptest::prop_assert_eq!((t[j], x[j], f[j]), (want_t, want_x, want_f), "row {}", i);
            }
        }
    }
}
