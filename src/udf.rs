//! `quantile_exact(x, p)`: an exact continuous quantile, registered on every session.
//!
//! DataFusion's `percentile_cont` rounds the interpolation weight down to a multiple of 10⁻⁶,
//! which moves a P90 of hours by up to 10⁻⁶ × the gap between two neighbouring values. The
//! report promises figures an independent computation reproduces, so this aggregate does the
//! textbook computation (DuckDB's `quantile_cont`, type 7): with the n non-null values sorted,
//! r = p·(n − 1), result = x[⌊r⌋] + (r − ⌊r⌋)·(x[⌈r⌉] − x[⌊r⌋]). Null for no values.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{Accumulator, AggregateUDF, Volatility, create_udaf};

/// The aggregate, for `ctx.register_udaf`.
pub fn quantile_exact() -> AggregateUDF {
    create_udaf(
        "quantile_exact",
        vec![DataType::Float64, DataType::Float64],
        Arc::new(DataType::Float64),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(Quantile::default()))),
        Arc::new(vec![DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))), DataType::Float64]),
    )
}

#[derive(Debug, Default)]
struct Quantile {
    values: Vec<f64>,
    p: Option<f64>,
}

impl Quantile {
    fn set_p(&mut self, ps: &Float64Array) -> Result<()> {
        for p in ps.iter().flatten() {
            if !(0.0..=1.0).contains(&p) {
                return exec_err!("quantile_exact: p = {p} is outside [0, 1]");
            }
            match self.p {
                Some(q) if q != p => return exec_err!("quantile_exact: p must be the same for every row"),
                _ => self.p = Some(p),
            }
        }
        Ok(())
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

impl Accumulator for Quantile {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let x = values[0].as_primitive::<Float64Type>();
        self.values.extend(x.iter().flatten().filter(|v| !v.is_nan()));
        self.set_p(values[1].as_primitive::<Float64Type>())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let p = self.p.unwrap_or(0.5);
        Ok(ScalarValue::Float64(quantile(&mut self.values, p)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = ListArray::from_iter_primitive::<Float64Type, _, _>([Some(self.values.iter().map(|v| Some(*v)))]);
        Ok(vec![ScalarValue::List(Arc::new(list)), ScalarValue::Float64(self.p)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                let v = lists.value(i);
                self.values.extend(v.as_primitive::<Float64Type>().iter().flatten());
            }
        }
        self.set_p(states[1].as_primitive::<Float64Type>())
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
}
