//! `quantile_exact(x, p)`: an exact continuous quantile, registered on every session.
//!
//! DataFusion's `percentile_cont` rounds the interpolation weight down to a multiple of 10⁻⁶,
//! which moves a P90 of hours by up to 10⁻⁶ × the gap between two neighbouring values. The
//! report promises figures an independent computation reproduces, so this aggregate does the
//! textbook computation (DuckDB's `quantile_cont`, type 7): with the n non-null values sorted,
//! r = p·(n − 1), result = x[⌊r⌋] + (r − ⌊r⌋)·(x[⌈r⌉] − x[⌊r⌋]). Null for no values; NaN
//! values are left out.
//!
//! It is an [`AggregateUDFImpl`] with a [`GroupsAccumulator`] (DataFusion's own
//! `percentile_cont` is the model): a GROUP BY over millions of rows and thousands of groups
//! appends each batch's values to its groups' vectors in one pass, instead of one
//! `Accumulator` per group fed a `take` of the batch per group. The values are charged to the
//! session's memory pool through `size()`; `p` must be a literal in [0, 1].
//!
//! `quantile_exact(x, [p1, p2, …])` gives the list of those quantiles from one copy of the
//! values (a median and a P90 of the same column hold and sort the values once, not twice).
//!
//! `quantile_values(x)` gives the values themselves, a list per group (nulls and NaN left out),
//! and `quantile_exact` takes such lists as its x: the quantile of the values of every list.
//! So the values are read from the tickets once, per the finest unit (a street's place and a
//! department), and the quantiles of every coarser unit (a district, a department, the city)
//! are taken from those lists: the same values, so the same quantiles, without reading the
//! tickets once per unit type (unit_duration_values.sql, unit_durations.sql).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, ListArray};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;

/// The aggregate, for `ctx.register_udaf`.
pub fn quantile_exact() -> AggregateUDF {
    AggregateUDF::from(QuantileExact::new())
}

/// `quantile_values(x)`, for `ctx.register_udaf`.
pub fn quantile_values() -> AggregateUDF {
    AggregateUDF::from(QuantileValues { signature: Signature::user_defined(Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct QuantileExact {
    signature: Signature,
}

impl QuantileExact {
    fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct QuantileValues {
    signature: Signature,
}

/// x's type as the accumulators take it: a number as DOUBLE, a list of numbers (the values
/// `quantile_values` collected) as a list of DOUBLE.
fn coerce_x(name: &str, x: &DataType) -> Result<DataType> {
    match x {
        t if t.is_numeric() || t.is_null() => Ok(DataType::Float64),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
            if f.data_type().is_numeric() || f.data_type().is_null() =>
        {
            Ok(float_list())
        }
        t => plan_err!("{name}: x must be a number (or a list of numbers from quantile_values), not {t}"),
    }
}

/// What an accumulator gives: the quantiles asked for, or (`quantile_values`) the values.
#[derive(Debug)]
enum Out {
    Quantiles(Ps),
    Values,
}

/// The list type of `quantile_exact(x, [p, …])`'s second argument and result.
fn float_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

/// The quantiles asked for: the second argument, a literal number in [0, 1] or a literal list of
/// them (then the result is a list).
#[derive(Debug)]
struct Ps {
    ps: Vec<f64>,
    list: bool,
}

fn literal_ps(args: &AccumulatorArgs) -> Result<Ps> {
    let Some(lit) = args.exprs.get(1).and_then(|e| e.downcast_ref::<Literal>()) else {
        return plan_err!("quantile_exact(x, p): p must be a literal number in [0, 1] (or a list of them)");
    };
    let number = |v: ScalarValue| -> Result<f64> {
        let p = match v {
            ScalarValue::Float64(Some(p)) => p,
            ScalarValue::Float32(Some(p)) => p as f64,
            ScalarValue::Int64(Some(p)) => p as f64,
            other => return plan_err!("quantile_exact(x, p): p must be a number in [0, 1], not {other}"),
        };
        if !(0.0..=1.0).contains(&p) {
            return exec_err!("quantile_exact: p = {p} is outside [0, 1]");
        }
        Ok(p)
    };
    match lit.value().clone() {
        ScalarValue::List(list) => {
            if list.is_empty() || list.is_null(0) {
                return plan_err!("quantile_exact(x, [p, …]): the list of p is empty");
            }
            let items = list.value(0);
            let ps =
                (0..items.len()).map(|i| number(ScalarValue::try_from_array(&items, i)?)).collect::<Result<_>>()?;
            Ok(Ps { ps, list: true })
        }
        v => Ok(Ps { ps: vec![number(v)?], list: false }),
    }
}

/// The quantiles `ps` of `values` (reordered in place): one value, or a list when `list`.
fn quantiles(values: &mut [f64], ps: &Ps) -> ScalarValue {
    if !ps.list {
        return ScalarValue::Float64(quantile(values, ps.ps[0]));
    }
    let out: Float64Array = ps.ps.iter().map(|p| quantile(values, *p)).collect();
    ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        OffsetBuffer::from_lengths([out.len()]),
        Arc::new(out),
        None,
    )))
}

impl AggregateUDFImpl for QuantileExact {
    fn name(&self) -> &str {
        "quantile_exact"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(if matches!(arg_types.get(1), Some(DataType::List(_))) { float_list() } else { DataType::Float64 })
    }

    /// x as DOUBLE; p as DOUBLE, or a list of numbers as a list of DOUBLE.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [x, p] = arg_types else {
            return plan_err!("quantile_exact takes two arguments: a value and p (or a list of p)");
        };
        let x = coerce_x("quantile_exact(x, p)", x)?;
        let p = match p {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if f.data_type().is_numeric() =>
            {
                float_list()
            }
            t if t.is_numeric() => DataType::Float64,
            t => return plan_err!("quantile_exact(x, p): p must be a number in [0, 1] or a list of them, not {t}"),
        };
        Ok(vec![x, p])
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)));
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "values"), list, true))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Quantile { values: Vec::new(), out: Out::Quantiles(literal_ps(&args)?) }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(QuantileGroups::new(Out::Quantiles(literal_ps(&args)?))))
    }
}

impl AggregateUDFImpl for QuantileValues {
    fn name(&self) -> &str {
        "quantile_values"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(float_list())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [x] = arg_types else {
            return plan_err!("quantile_values takes one argument: the values");
        };
        Ok(vec![coerce_x("quantile_values(x)", x)?])
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "values"), float_list(), true))])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Quantile { values: Vec::new(), out: Out::Values }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(QuantileGroups::new(Out::Values)))
    }
}

/// Calls `f` with the values row `row` of `x` adds (x a DOUBLE or a list of DOUBLE column), in
/// runs of consecutive values: never a null or a NaN.
fn each_run(x: &ArrayRef, row: usize, mut f: impl FnMut(&[f64])) {
    if !x.is_valid(row) {
        return;
    }
    let (flat, range) = match x.as_list_opt::<i32>() {
        Some(lists) => {
            let offsets = lists.value_offsets();
            (lists.values().as_primitive::<Float64Type>(), offsets[row] as usize..offsets[row + 1] as usize)
        }
        None => (x.as_primitive::<Float64Type>(), row..row + 1),
    };
    let values = &flat.values()[range.clone()];
    if flat.null_count() == 0 && !values.iter().any(|v| v.is_nan()) {
        f(values);
        return;
    }
    for (i, v) in range.zip(values) {
        if flat.is_valid(i) && !v.is_nan() {
            f(std::slice::from_ref(v));
        }
    }
}

/// The type-7 quantile of `values` (reordered in place); None when empty.
pub fn quantile(values: &mut [f64], p: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let r = p * (n - 1) as f64;
    let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
    let (_, &mut lo_v, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if hi == lo {
        return Some(lo_v);
    }
    // the next order statistic is the smallest value above position lo
    let hi_v = rest.iter().copied().min_by(f64::total_cmp).unwrap_or(lo_v);
    Some(lo_v + (r - lo as f64) * (hi_v - lo_v))
}

/// One state row per group: the groups' values as a list column.
fn state_list(groups: Vec<Vec<f64>>) -> ArrayRef {
    let mut offsets = Vec::with_capacity(groups.len() + 1);
    offsets.push(0i32);
    let mut end = 0i32;
    for g in &groups {
        end += g.len() as i32;
        offsets.push(end);
    }
    let flat: Vec<f64> = groups.into_iter().flatten().collect();
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(Float64Array::from(flat)),
        None,
    ))
}

#[derive(Debug)]
struct Quantile {
    values: Vec<f64>,
    out: Out,
}

impl Accumulator for Quantile {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for row in 0..values[0].len() {
            each_run(&values[0], row, |v| self.values.extend_from_slice(v));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.out {
            Out::Quantiles(ps) => Ok(quantiles(&mut self.values, ps)),
            Out::Values => {
                let list = state_list(vec![self.values.clone()]);
                Ok(ScalarValue::List(Arc::new(list.as_list::<i32>().clone())))
            }
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = state_list(vec![std::mem::take(&mut self.values)]);
        Ok(vec![ScalarValue::List(Arc::new(list.as_list::<i32>().clone()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for row in 0..states[0].len() {
            each_run(&states[0], row, |v| self.values.extend_from_slice(v));
        }
        Ok(())
    }
}

/// Each group's values, appended batch by batch.
#[derive(Debug)]
struct QuantileGroups {
    groups: Vec<Vec<f64>>,
    out: Out,
    /// the capacity of the groups' vectors in values, kept up to date (size() is asked after
    /// every batch: summing thousands of groups each time would cost more than the work)
    capacity: usize,
}

impl QuantileGroups {
    fn new(out: Out) -> QuantileGroups {
        QuantileGroups { groups: Vec::new(), out, capacity: 0 }
    }

    fn push(&mut self, g: usize, v: f64) {
        let group = &mut self.groups[g];
        let before = group.capacity();
        group.push(v);
        self.capacity += group.capacity() - before;
    }

    fn extend(&mut self, g: usize, values: &[f64]) {
        let group = &mut self.groups[g];
        let before = group.capacity();
        group.extend_from_slice(values);
        self.capacity += group.capacity() - before;
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<f64>> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.capacity -= taken.iter().map(Vec::capacity).sum::<usize>();
        taken
    }
}

impl GroupsAccumulator for QuantileGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        let keep = |row: usize| opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
        let Some(x) = values[0].as_primitive_opt::<Float64Type>() else {
            // lists of values (quantile_values' output)
            for (row, &g) in group_indices.iter().enumerate() {
                if keep(row) {
                    each_run(&values[0], row, |v| self.extend(g, v));
                }
            }
            return Ok(());
        };
        let data = x.values();
        for (row, &g) in group_indices.iter().enumerate() {
            if x.is_valid(row) && keep(row) && !data[row].is_nan() {
                self.push(g, data[row]);
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        for (row, &g) in group_indices.iter().enumerate() {
            each_run(&values[0], row, |v| self.extend(g, v));
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        let ps = match &self.out {
            Out::Values => return Ok(state_list(groups)),
            Out::Quantiles(ps) => ps,
        };
        if !ps.list {
            let out: Float64Array = groups.into_iter().map(|mut v| quantile(&mut v, ps.ps[0])).collect();
            return Ok(Arc::new(out));
        }
        // one list of the quantiles per group
        let n = ps.ps.len();
        let flat: Float64Array = groups
            .into_iter()
            .flat_map(|mut v| ps.ps.iter().map(|p| quantile(&mut v, *p)).collect::<Vec<_>>())
            .collect();
        let lengths = std::iter::repeat_n(n, flat.len() / n.max(1));
        Ok(Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(flat),
            None,
        )))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![state_list(self.take(emit_to))])
    }

    /// Each row as a group of its own (the partial aggregation passes rows through when there
    /// are nearly as many groups as rows): a list of its value, empty when it does not count.
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let rows = (0..values[0].len()).map(|row| {
            let mut kept = Vec::new();
            if opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row)) {
                each_run(&values[0], row, |v| kept.extend_from_slice(v));
            }
            kept
        });
        Ok(vec![state_list(rows.collect())])
    }

    fn size(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<Vec<f64>>() + self.capacity * std::mem::size_of::<f64>()
    }
}

/// `hash64(text)`: a 64-bit hash of a text value as BIGINT (null for null), registered on every
/// session. `checks/duplicate_ticket_id.sql` groups these integers to find the few hashes seen
/// more than once, then only the ids with those hashes: grouping 20M integers takes about half
/// the time and memory of grouping 20M texts. Equal texts have equal hashes in every run (foldhash
/// with a fixed seed); two different texts sharing one (about 1 in 10⁵ for 20M ids) only cost
/// the second step a few more rows.
pub fn hash64() -> datafusion::logical_expr::ScalarUDF {
    datafusion::logical_expr::ScalarUDF::from(Hash64 {
        signature: Signature::one_of(
            vec![
                datafusion::logical_expr::TypeSignature::Exact(vec![DataType::Utf8View]),
                datafusion::logical_expr::TypeSignature::Exact(vec![DataType::Utf8]),
                datafusion::logical_expr::TypeSignature::Exact(vec![DataType::LargeUtf8]),
            ],
            Volatility::Immutable,
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Hash64 {
    signature: Signature,
}

impl datafusion::logical_expr::ScalarUDFImpl for Hash64 {
    fn name(&self) -> &str {
        "hash64"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<datafusion::logical_expr::ColumnarValue> {
        use std::hash::BuildHasher;
        let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(&args.args)?;
        // the text's bytes are hashed, whatever the Arrow type holding them
        let text = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8View)?;
        let text = text.as_string_view();
        let state = datafusion::common::hash_utils::QualityRandomState::with_seed(0x1234_5678);
        let values: ScalarBuffer<i64> =
            (0..text.len()).map(|i| state.hash_one(text.value(i).as_bytes()) as i64).collect();
        let out = datafusion::arrow::array::Int64Array::new(values, text.logical_nulls());
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_7_quantiles() {
        // 1, 2, 3, 4, 10: median at r = 2 → 3; P90 at r = 3.6 → 4 + 0.6 × 6 = 7.6
        assert_eq!(quantile(&mut [10.0, 2.0, 4.0, 1.0, 3.0], 0.5), Some(3.0));
        let p90 = quantile(&mut [10.0, 2.0, 4.0, 1.0, 3.0], 0.9).unwrap();
        assert!((p90 - 7.6).abs() < 1e-12, "{p90}");
        // even count: median halfway between the middle two
        assert_eq!(quantile(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        // ends and degenerate inputs
        assert_eq!(quantile(&mut [5.0, 1.0, 9.0], 0.0), Some(1.0));
        assert_eq!(quantile(&mut [5.0, 1.0, 9.0], 1.0), Some(9.0));
        assert_eq!(quantile(&mut [7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&mut [], 0.9), None);
        // duplicates
        assert_eq!(quantile(&mut [2.0, 2.0, 2.0, 8.0], 0.5), Some(2.0));
    }

    /// The grouped accumulator gives each group the quantile of its own values, whatever the
    /// batches, nulls, filter and merges; its state round-trips.
    #[test]
    fn groups_accumulator_matches_the_sorted_values() {
        let mut acc = QuantileGroups::new(Out::Quantiles(Ps { ps: vec![0.9], list: false }));
        // group 0: 1, 2, 3, 4, 10 (P90 7.6); group 1: 5 (and a null, a NaN, a filtered 100)
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(5.0), None, Some(2.0), Some(10.0)]));
        acc.update_batch(&[a], &[0, 1, 1, 0, 0], None, 2).unwrap();
        let b: ArrayRef = Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(3.0), Some(100.0)]));
        let keep = BooleanArray::from(vec![true, true, false]);
        acc.update_batch(&[b], &[1, 0, 1], Some(&keep), 2).unwrap();
        // group 0's 4 arrives as another partition's state
        let mut other = QuantileGroups::new(Out::Quantiles(Ps { ps: vec![0.9], list: false }));
        let c: ArrayRef = Arc::new(Float64Array::from(vec![4.0]));
        other.update_batch(&[c], &[0], None, 1).unwrap();
        let state = other.state(EmitTo::All).unwrap();
        assert_eq!(other.size(), 0);
        acc.merge_batch(&state, &[0], 2).unwrap();
        assert!(acc.size() >= 6 * 8);
        let out = acc.evaluate(EmitTo::All).unwrap();
        let out = out.as_primitive::<Float64Type>();
        assert!((out.value(0) - 7.6).abs() < 1e-12, "{}", out.value(0));
        assert_eq!(out.value(1), 5.0);
        assert_eq!(acc.size(), 0);
    }

    /// The list form gives each group the same quantiles as one call per p, from one copy of
    /// its values: [0.5, 0.9] of 1, 2, 3, 4, 10 is [3, 7.6]; an empty group gives nulls.
    #[test]
    fn a_list_of_p_gives_each_quantile() {
        let mut acc = QuantileGroups::new(Out::Quantiles(Ps { ps: vec![0.5, 0.9], list: true }));
        let a: ArrayRef =
            Arc::new(Float64Array::from(vec![Some(1.0), Some(10.0), Some(2.0), Some(4.0), Some(3.0), None]));
        acc.update_batch(&[a], &[0, 0, 0, 0, 0, 1], None, 2).unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        let out = out.as_list::<i32>();
        assert_eq!(out.len(), 2);
        let g0 = out.value(0);
        let g0 = g0.as_primitive::<Float64Type>();
        assert_eq!(g0.value(0), 3.0);
        assert!((g0.value(1) - 7.6).abs() < 1e-12, "{}", g0.value(1));
        let g1 = out.value(1);
        assert_eq!((g1.len(), g1.null_count()), (2, 2));
        // the row-wise accumulator agrees
        let mut row = Quantile {
            values: vec![4.0, 1.0, 10.0, 3.0, 2.0],
            out: Out::Quantiles(Ps { ps: vec![0.5, 0.9], list: true }),
        };
        let ScalarValue::List(l) = row.evaluate().unwrap() else { panic!("a list") };
        let v = l.value(0);
        let v = v.as_primitive::<Float64Type>();
        assert_eq!(v.value(0), 3.0);
        assert!((v.value(1) - 7.6).abs() < 1e-12);
        // the argument types: a list of numbers becomes a list of DOUBLE, and so does the result
        let f = QuantileExact::new();
        let list_of_ints = DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)));
        assert_eq!(f.coerce_types(&[DataType::Int32, list_of_ints]).unwrap(), vec![DataType::Float64, float_list()]);
        assert_eq!(f.return_type(&[DataType::Float64, float_list()]).unwrap(), float_list());
        assert_eq!(f.return_type(&[DataType::Float64, DataType::Float64]).unwrap(), DataType::Float64);
        assert!(f.coerce_types(&[DataType::Float64, DataType::Utf8]).is_err());
    }

    /// quantile_values keeps each group's values (no null, no NaN) as a list, and quantile_exact
    /// over such lists is the quantile of all their values: lists [1, 10] and [2, NaN, 4, 3]
    /// (and a null list) hold 1, 2, 3, 4, 10, whose median is 3 and P90 4 + 0.6 × 6 = 7.6 — the
    /// figures of the same values given one by one.
    #[test]
    fn quantiles_of_collected_values_equal_those_of_the_values() {
        let mut collect = QuantileGroups::new(Out::Values);
        let x: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(2.0),
            Some(f64::NAN),
            Some(10.0),
            None,
            Some(4.0),
            Some(3.0),
        ]));
        collect.update_batch(&[x], &[0, 1, 1, 0, 1, 1, 1], None, 2).unwrap();
        let lists = collect.evaluate(EmitTo::All).unwrap();
        let l = lists.as_list::<i32>();
        let got = |i: usize| l.value(i).as_primitive::<Float64Type>().values().to_vec();
        assert_eq!((got(0), got(1)), (vec![1.0, 10.0], vec![2.0, 4.0, 3.0]));
        // with a null list: quantile_exact over the lists, grouped into one group
        let with_null = datafusion::arrow::compute::concat(&[lists.as_ref(), new_null_list().as_ref()]).unwrap();
        let mut acc = QuantileGroups::new(Out::Quantiles(Ps { ps: vec![0.5, 0.9], list: true }));
        acc.update_batch(std::slice::from_ref(&with_null), &[0, 0, 0], None, 1).unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        let q = out.as_list::<i32>().value(0);
        let q = q.as_primitive::<Float64Type>();
        assert_eq!(q.value(0), 3.0);
        assert!((q.value(1) - 7.6).abs() < 1e-12, "{}", q.value(1));
        // the row-wise accumulator and the pass-through state agree
        let mut row = Quantile { values: Vec::new(), out: Out::Quantiles(Ps { ps: vec![0.9], list: false }) };
        row.update_batch(std::slice::from_ref(&with_null)).unwrap();
        let ScalarValue::Float64(Some(p90)) = row.evaluate().unwrap() else { panic!("a number") };
        assert!((p90 - 7.6).abs() < 1e-12, "{p90}");
        let state = acc.convert_to_state(&[with_null], None).unwrap();
        let per_row: Vec<usize> = (0..3).map(|i| state[0].as_list::<i32>().value(i).len()).collect();
        assert_eq!(per_row, vec![2, 3, 0]);
        // the types: a list of numbers is taken as a list of DOUBLE by both
        let list_of_ints = DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)));
        let f = QuantileExact::new();
        assert_eq!(f.coerce_types(&[list_of_ints.clone(), float_list()]).unwrap(), vec![float_list(), float_list()]);
        let v = QuantileValues { signature: Signature::user_defined(Volatility::Immutable) };
        assert_eq!(v.coerce_types(&[DataType::Int32]).unwrap(), vec![DataType::Float64]);
        assert_eq!(v.return_type(&[DataType::Float64]).unwrap(), float_list());
        assert!(v.coerce_types(&[DataType::Utf8]).is_err());
    }

    fn new_null_list() -> ArrayRef {
        datafusion::arrow::array::new_null_array(&float_list(), 1)
    }

    /// hash64: null stays null, equal texts hash equal whatever their Arrow type, and the ids of
    /// a year (here 100,000 of them) do not collide.
    #[test]
    fn hash64_is_null_preserving_and_type_independent() {
        use datafusion::arrow::array::{Int64Array, StringViewArray};
        use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};
        let f = Hash64 { signature: Signature::any(1, Volatility::Immutable) };
        let run = |a: ArrayRef| -> Int64Array {
            let args = ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(a.clone())],
                arg_fields: vec![Arc::new(Field::new("x", a.data_type().clone(), true))],
                number_rows: a.len(),
                return_field: Arc::new(Field::new("h", DataType::Int64, true)),
                config_options: Arc::new(Default::default()),
            };
            let ColumnarValue::Array(out) = f.invoke_with_args(args).unwrap() else { panic!("an array") };
            out.as_primitive::<datafusion::arrow::datatypes::Int64Type>().clone()
        };
        let texts = vec![Some("T2025010014720"), None, Some("T2025010014720"), Some("T2025010014721"), Some("")];
        let utf8 = run(Arc::new(datafusion::arrow::array::StringArray::from(texts.clone())));
        let view = run(Arc::new(StringViewArray::from(texts)));
        assert_eq!(utf8, view);
        assert!(utf8.is_null(1) && utf8.null_count() == 1);
        assert_eq!(utf8.value(0), utf8.value(2));
        assert_ne!(utf8.value(0), utf8.value(3));
        let ids: Vec<String> = (0..100_000).map(|i| format!("T2025{i:09}")).collect();
        let h = run(Arc::new(datafusion::arrow::array::StringArray::from(ids)));
        let distinct: std::collections::HashSet<i64> = h.values().iter().copied().collect();
        assert_eq!(distinct.len(), 100_000);
    }
}
