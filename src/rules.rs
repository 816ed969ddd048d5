//! `duration_intervals`: an analyzer rule of every session that makes comparisons and arithmetic
//! between durations and interval literals mean what they say.
//!
//! `closed_at - dispatched_at` is a `Duration`; DataFusion 55 casts it to an
//! `Interval(MonthDayNano)` to compare it with `INTERVAL '1 day'`, and compares intervals field
//! by field (months, then days, then nanoseconds): five days as a duration become
//! {0 months, 0 days, 432,000 s}, which is "less than" {0 months, 1 day, 0 s}. So
//! `closed_at - dispatched_at <= INTERVAL '1 day'` is true for every ticket, without a warning.
//!
//! After type coercion this rule takes such casts away and turns the interval literal into a
//! duration of the same length (a day is 24 hours: the archive's times are wall-clock times
//! without a time zone), so the comparison is between two durations. It does the same for
//! `=`, `<>`, `<`, `<=`, `>`, `>=`, `BETWEEN`, `+` and `-`, with the duration on either side. An
//! interval with months, whose length depends on the date, or an interval that is not a
//! literal, cannot be compared with a duration: the rule refuses the query and says how to
//! write it.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, plan_err};
use datafusion::logical_expr::expr::Cast;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;

/// The rule, for `SessionContext::add_analyzer_rule`.
#[derive(Debug, Default)]
pub struct DurationIntervals;

impl AnalyzerRule for DurationIntervals {
    fn name(&self) -> &str {
        "duration_intervals"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let schema = merge_schema(&plan.inputs());
            let names = NamePreserver::new(&plan);
            let rewritten = plan.map_expressions(|e| {
                let name = names.save(&e);
                let out = e.transform_up(|e| rewrite(e, &schema))?;
                Ok(if out.transformed { out.update_data(|e| name.restore(e)) } else { out })
            })?;
            if rewritten.transformed { rewritten.map_data(|p| p.recompute_schema()) } else { Ok(rewritten) }
        })
        .map(|t| t.data)
    }
}

/// The duration inside `e` and its unit: `e` itself when it is a duration, or the duration a
/// cast to an interval was made from.
fn duration_of(e: &Expr, schema: &DFSchema) -> Option<(Expr, TimeUnit)> {
    if let Ok(DataType::Duration(unit)) = e.get_type(schema) {
        return Some((e.clone(), unit));
    }
    if let Expr::Cast(Cast { expr, field }) = e
        && matches!(field.data_type(), DataType::Interval(_))
        && let Ok(DataType::Duration(unit)) = expr.get_type(schema)
    {
        return Some((expr.as_ref().clone(), unit));
    }
    None
}

fn is_interval(e: &Expr, schema: &DFSchema) -> bool {
    matches!(e.get_type(schema), Ok(DataType::Interval(_)))
}

/// An interval literal's length in nanoseconds; an error for months or a non-literal interval.
fn interval_nanos(e: &Expr) -> Result<Option<i128>> {
    let value = match e {
        Expr::Literal(v, _) => v,
        Expr::Cast(Cast { expr, .. }) => return interval_nanos(expr),
        _ => {
            return plan_err!(
                "a duration (such as closed_at - dispatched_at) can only be compared with an interval literal \
                 of fixed length, e.g. INTERVAL '3 days'; `{e}` is not one"
            );
        }
    };
    const DAY: i128 = 86_400_000_000_000;
    let (months, nanos) = match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => (v.months, v.days as i128 * DAY + v.nanoseconds as i128),
        ScalarValue::IntervalDayTime(Some(v)) => (0, v.days as i128 * DAY + v.milliseconds as i128 * 1_000_000),
        ScalarValue::IntervalYearMonth(Some(m)) => (*m, 0),
        v if v.is_null() => return Ok(None),
        other => return plan_err!("`{other}` is not an interval"),
    };
    if months != 0 {
        return plan_err!(
            "an interval of {months} month(s) has no fixed length (it depends on the date): a duration (such as \
             closed_at - dispatched_at) cannot be compared with it; write the interval in days or hours, e.g. \
             INTERVAL '30 days'"
        );
    }
    Ok(Some(nanos))
}

/// The literal as a duration of `unit`: exact, or in nanoseconds (with the duration cast to them)
/// when the interval has a finer part than `unit`.
fn as_duration(duration: Expr, unit: TimeUnit, interval: &Expr, schema: &DFSchema) -> Result<(Expr, Expr)> {
    let per = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let nanos = interval_nanos(interval)?;
    let too_big = || datafusion::common::plan_datafusion_err!("`{interval}` is too long to compare with a duration");
    let literal = |n: Option<i128>, unit: TimeUnit| -> Result<ScalarValue> {
        let n = n.map(|n| i64::try_from(n).map_err(|_| too_big())).transpose()?;
        Ok(match unit {
            TimeUnit::Second => ScalarValue::DurationSecond(n),
            TimeUnit::Millisecond => ScalarValue::DurationMillisecond(n),
            TimeUnit::Microsecond => ScalarValue::DurationMicrosecond(n),
            TimeUnit::Nanosecond => ScalarValue::DurationNanosecond(n),
        })
    };
    if nanos.is_none_or(|n| n % per == 0) {
        Ok((duration, Expr::Literal(literal(nanos.map(|n| n / per), unit)?, None)))
    } else {
        let ns = DataType::Duration(TimeUnit::Nanosecond);
        Ok((duration.cast_to(&ns, schema)?, Expr::Literal(literal(nanos, TimeUnit::Nanosecond)?, None)))
    }
}

const OPERATORS: [Operator; 8] = [
    Operator::Eq,
    Operator::NotEq,
    Operator::Lt,
    Operator::LtEq,
    Operator::Gt,
    Operator::GtEq,
    Operator::Plus,
    Operator::Minus,
];

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match &e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if OPERATORS.contains(op) => {
            let (l, r) = (duration_of(left, schema), duration_of(right, schema));
            let op = *op;
            let binary =
                |left: Expr, right: Expr| Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right)));
            match (l, r) {
                // two durations cast to intervals to meet: compare (or add) them as durations
                (Some((a, ua)), Some((b, ub)))
                    if matches!(**left, Expr::Cast(_)) || matches!(**right, Expr::Cast(_)) =>
                {
                    let (a, b) = if ua == ub {
                        (a, b)
                    } else {
                        let ns = DataType::Duration(TimeUnit::Nanosecond);
                        (a.cast_to(&ns, schema)?, b.cast_to(&ns, schema)?)
                    };
                    Ok(Transformed::yes(binary(a, b)))
                }
                (Some((d, unit)), None) if is_interval(right, schema) => {
                    let (d, lit) = as_duration(d, unit, right, schema)?;
                    Ok(Transformed::yes(binary(d, lit)))
                }
                (None, Some((d, unit))) if is_interval(left, schema) && op != Operator::Minus => {
                    let (d, lit) = as_duration(d, unit, left, schema)?;
                    Ok(Transformed::yes(binary(lit, d)))
                }
                _ => Ok(Transformed::no(e)),
            }
        }
        Expr::Between(Between { expr, negated, low, high }) => {
            let Some((d, unit)) = duration_of(expr, schema) else { return Ok(Transformed::no(e)) };
            if !is_interval(low, schema) && !is_interval(high, schema) {
                return Ok(Transformed::no(e));
            }
            let bounds = |d: &Expr, unit: TimeUnit| -> Result<[(Expr, Expr); 2]> {
                let bound = |b: &Expr| {
                    if is_interval(b, schema) {
                        as_duration(d.clone(), unit, b, schema)
                    } else {
                        Ok((d.clone(), b.clone()))
                    }
                };
                Ok([bound(low)?, bound(high)?])
            };
            let [(d_low, low), (d_high, high)] = bounds(&d, unit)?;
            // both bounds in the duration's unit; when one needed nanoseconds, both in nanoseconds
            let [(d, low), (_, high)] = if d_low == d_high {
                [(d_low, low), (d_high, high)]
            } else {
                let ns = d.cast_to(&DataType::Duration(TimeUnit::Nanosecond), schema)?;
                bounds(&ns, TimeUnit::Nanosecond)?
            };
            Ok(Transformed::yes(Expr::Between(Between::new(Box::new(d), *negated, Box::new(low), Box::new(high)))))
        }
        _ => Ok(Transformed::no(e)),
    }
}

/// Register the rule on a session (after DataFusion's own analyzer rules, type coercion among them).
pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.add_analyzer_rule(Arc::new(DurationIntervals));
}
