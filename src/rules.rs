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
//!
//! The same rule computes `extract(epoch FROM <duration>)` as the duration's count divided by its
//! unit: DataFusion 55 drops the fractional second of any duration longer than 2.1 s there (the
//! nanoseconds of the duration overflow an i32 and are taken as 0), so the average closing time
//! in seconds was short by half a second. Found by the differential tests against DuckDB.

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
        // DataFusion 55's date_part('epoch', duration) adds the sub-second part only while the
        // duration's nanoseconds fit in an i32 (2.1 s): a duration of 4127.515 s came out 4127.0
        Expr::ScalarFunction(f) if f.func.name() == "date_part" && f.args.len() == 2 => {
            let epoch = matches!(&f.args[0], Expr::Literal(v, _)
                if v.try_as_str().flatten().is_some_and(|p| p.trim().eq_ignore_ascii_case("epoch")));
            let Ok(DataType::Duration(unit)) = f.args[1].get_type(schema) else { return Ok(Transformed::no(e)) };
            if !epoch {
                return Ok(Transformed::no(e));
            }
            let per_second = match unit {
                TimeUnit::Second => 1.0,
                TimeUnit::Millisecond => 1e3,
                TimeUnit::Microsecond => 1e6,
                TimeUnit::Nanosecond => 1e9,
            };
            let count = f.args[1].clone().cast_to(&DataType::Int64, schema)?.cast_to(&DataType::Float64, schema)?;
            let seconds = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(count),
                Operator::Divide,
                Box::new(Expr::Literal(ScalarValue::Float64(Some(per_second)), None)),
            ));
            Ok(Transformed::yes(seconds))
        }
        _ => Ok(Transformed::no(e)),
    }
}

/// Register the rule on a session (after DataFusion's own analyzer rules, type coercion among them).
pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.add_analyzer_rule(Arc::new(DurationIntervals));
}

/// `joins_yield`: a physical optimizer rule of every session that makes joins stoppable.
///
/// A query is cancelled (Ctrl-C, `--timeout`, a closed connection) by dropping its task, which
/// takes effect only when the task yields. DataFusion 55 yields through tokio's cooperative
/// budget, which only its leaves (the scans) consume; a join emits many batches for each batch it
/// reads, so an aggregate over a large join polled it in a loop that never yielded, and
/// `SELECT count(*) FROM tickets a JOIN tickets b ON a.category_l1 = b.category_l1` kept a core
/// busy after "query cancelled". Each join is wrapped in DataFusion's own `CooperativeExec`, so
/// every batch it emits spends budget and the task yields (and can be dropped) within a batch.
#[derive(Debug, Default)]
pub struct JoinsYield;

impl datafusion::physical_optimizer::PhysicalOptimizerRule for JoinsYield {
    fn optimize(
        &self,
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::physical_plan::coop::CooperativeExec;
        plan.transform_up(|p| {
            let join = matches!(
                p.name(),
                "HashJoinExec"
                    | "NestedLoopJoinExec"
                    | "CrossJoinExec"
                    | "SortMergeJoinExec"
                    | "SymmetricHashJoinExec"
                    | "PiecewiseMergeJoinExec"
            );
            if join {
                Ok(Transformed::yes(
                    Arc::new(CooperativeExec::new(p)) as Arc<dyn datafusion::physical_plan::ExecutionPlan>
                ))
            } else {
                Ok(Transformed::no(p))
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "joins_yield"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `a IS [NOT] DISTINCT FROM x OR y`, as the user wrote it, when DataFusion 55's parser
/// (sqlparser 0.62) would read it wrongly. That parser takes everything after `DISTINCT FROM` up
/// to the end of the condition as the right side, so the statement would compare `a` with
/// `(x OR y)`: `resolved IS DISTINCT FROM true OR district = '东城区'` counted 732,898 tickets of
/// the demo where the SQL means 752,885 (found by the differential tests against DuckDB). Such a
/// statement is refused with this text; written with parentheses it runs. None when the
/// statement does not parse (the planner reports that) or has no such comparison.
pub fn misread_distinct_from(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as Sql, visit_expressions};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let statements = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    let mut found = None;
    let _ = visit_expressions(&statements, |e| {
        if let Sql::IsDistinctFrom(_, right) | Sql::IsNotDistinctFrom(_, right) = e
            && let Sql::BinaryOp { op: BinaryOperator::And | BinaryOperator::Or | BinaryOperator::Xor, .. } =
                right.as_ref()
        {
            found = Some(e.to_string());
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::misread_distinct_from;

    #[test]
    fn distinct_from_followed_by_and_or_is_caught_parentheses_are_not() {
        let q = "SELECT count(*) FROM tickets WHERE resolved IS DISTINCT FROM true OR district = 'a'";
        assert_eq!(misread_distinct_from(q).as_deref(), Some("resolved IS DISTINCT FROM true OR district = 'a'"));
        let q = "SELECT 1 FROM t a JOIN t b ON a.p IS NOT DISTINCT FROM b.p AND a.u = b.u";
        assert!(misread_distinct_from(q).is_some());
        for fine in [
            "SELECT count(*) FROM tickets WHERE (resolved IS DISTINCT FROM true) OR district = 'a'",
            "SELECT count(*) FROM tickets WHERE district = 'a' AND resolved IS DISTINCT FROM true",
            "SELECT count(*) FROM tickets WHERE resolved IS DISTINCT FROM (true OR false)",
            "SELECT 1 FROM t a JOIN t b ON a.u = b.u AND a.p IS NOT DISTINCT FROM b.p ORDER BY 1",
            "SELECT nonsense FROM",
        ] {
            assert_eq!(misread_distinct_from(fine), None, "{fine}");
        }
    }

    #[test]
    fn no_metric_or_check_file_of_ours_is_misread() {
        for (name, text) in crate::queries::FILES {
            assert_eq!(misread_distinct_from(text), None, "queries/{name}.sql");
        }
    }
}
