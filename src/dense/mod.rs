//! Dense grouping: the first (partial) stage of DataFusion's hash aggregation, for the GROUP BYs
//! of hotline's SQL files, whose keys have a few thousand distinct values (district, street,
//! department, month, category, hour …).
//!
//! DataFusion's `AggregateExec` hashes and compares every key column of every row against its
//! group table; with four text keys and 88,704 groups that was 8 s of the 20M-ticket
//! `ticket_facts.sql` (docs/engine.md). [`DenseAggregateExec`] runs the same partial aggregation
//! another way: each key column's values are numbered once (a text value whose Arrow view is
//! inline is looked up by its 16 bytes, a longer one by its bytes once per batch and then by its
//! view), a row's group is found from the small integers of its keys, and DataFusion's own
//! `GroupsAccumulator`s (sum, count, min, max, `quantile_exact` …) add the rows, so every
//! aggregate function keeps DataFusion's semantics. Grouping sets, FILTER clauses and the
//! `__grouping_id` column are DataFusion's (`evaluate_group_by`). The output is the partial
//! stage's: the same schema, consumed by DataFusion's final aggregation, which merges states.
//!
//! [`DenseAggregate`], a physical optimizer rule registered in every session (engine.rs), puts
//! it in place of each partial `AggregateExec` it can run: at most [`MAX_KEYS`] key columns of
//! text, integer, boolean, date or timestamp type, no empty grouping set, aggregates with a
//! `GroupsAccumulator` and no ORDER BY, and an input sorted on some keys only without grouping
//! sets. So `hotline sql`, EXPLAIN ANALYZE and the report see the
//! same plans.
//!
//! Memory stays bounded: the state is registered with the session's memory pool, and when the
//! pool refuses more (or a partition holds more than [`MAX_GROUPS`] groups) the partial state
//! is emitted and the stage starts again, which the final stage merges. When the keys barely
//! repeat (a GROUP BY ticket_id), the stage passes rows through as states, as DataFusion's
//! skip-partial-aggregation does, with the same thresholds. A key column with more than
//! [`MAX_VALUES`] distinct values in a partition (a GROUP BY content) is not dense: the stage
//! emits what it has and passes the rest through (with grouping sets, it emits and starts
//! again), leaving the grouping to DataFusion's final stage; numbering such a column would hold
//! each value twice more.

use std::collections::VecDeque;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::aggregates::{
    AggregateExec, AggregateMode, aggregate_expressions, evaluate_group_by, evaluate_many,
};
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, Time};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;

mod keys;
#[cfg(test)]
mod tests;

use keys::{Keys, Kind};

/// Key columns (with `__grouping_id`) a dense aggregation handles.
pub const MAX_KEYS: usize = 8;
/// Groups one partition holds before it emits its partial state and starts again.
pub const MAX_GROUPS: usize = 1 << 20;
/// Distinct values of one key column in a partition beyond which the column is not dense.
pub const MAX_VALUES: usize = 1 << 16;

/// The physical optimizer rule that runs eligible partial aggregations densely.
#[derive(Debug)]
pub struct DenseAggregate {
    /// groups a partition holds before it emits its partial state ([`MAX_GROUPS`])
    pub max_groups: usize,
    /// distinct values of a key column beyond which it is not dense ([`MAX_VALUES`])
    pub max_values: usize,
}

impl Default for DenseAggregate {
    fn default() -> Self {
        DenseAggregate { max_groups: MAX_GROUPS, max_values: MAX_VALUES }
    }
}

impl datafusion::physical_optimizer::PhysicalOptimizerRule for DenseAggregate {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|p| {
            if let Some(agg) = p.downcast_ref::<AggregateExec>()
                && eligible(agg)
            {
                let dense = DenseAggregateExec::new(Arc::clone(&p), self.max_groups, self.max_values);
                return Ok(Transformed::yes(Arc::new(dense) as Arc<dyn ExecutionPlan>));
            }
            Ok(Transformed::no(p))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "dense_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether [`DenseAggregateExec`] computes exactly what `agg` computes.
fn eligible(agg: &AggregateExec) -> bool {
    let group_by = agg.group_expr();
    if *agg.mode() != AggregateMode::Partial
        || group_by.expr().is_empty()
        || group_by.groups().iter().any(|g| g.iter().all(|null| *null))
        || agg.limit_options().is_some()
        || !agg.dynamic_expressions_produced().is_empty()
    {
        return false;
    }
    // Groups are emitted in the order they were first seen, so an input sorted on some keys
    // gives output sorted on them, as the plan's properties say; with grouping sets the rows of
    // each set come after each other per batch, which would not be.
    if !matches!(agg.input_order_mode(), InputOrderMode::Linear) && !group_by.is_single() {
        return false;
    }
    if !agg.aggr_expr().iter().all(|a| a.groups_accumulator_supported() && a.order_bys().is_empty()) {
        return false;
    }
    let Ok(keys) = group_by.group_schema(&agg.input_schema()) else { return false };
    keys.fields().len() <= MAX_KEYS && keys.fields().iter().all(|f| Kind::of(f.data_type()).is_some())
}

/// A partial `AggregateExec` run with dense group numbers (module docs).
#[derive(Debug)]
pub struct DenseAggregateExec {
    /// The aggregation it replaces: its expressions, schema and properties are this node's.
    inner: Arc<dyn ExecutionPlan>,
    max_groups: usize,
    max_values: usize,
    metrics: ExecutionPlanMetricsSet,
}

impl DenseAggregateExec {
    fn new(inner: Arc<dyn ExecutionPlan>, max_groups: usize, max_values: usize) -> Self {
        DenseAggregateExec { inner, max_groups, max_values, metrics: ExecutionPlanMetricsSet::new() }
    }

    fn agg(&self) -> &AggregateExec {
        self.inner.downcast_ref::<AggregateExec>().expect("built from an AggregateExec")
    }
}

impl DisplayAs for DenseAggregateExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // the AggregateExec's own line, under this operator's name
        struct Inner<'a>(&'a AggregateExec, DisplayFormatType);
        impl std::fmt::Display for Inner<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                self.0.fmt_as(self.1, f)
            }
        }
        let inner = Inner(self.agg(), t).to_string();
        write!(f, "DenseAggregateExec: {}", inner.strip_prefix("AggregateExec: ").unwrap_or(&inner))
    }
}

impl ExecutionPlan for DenseAggregateExec {
    fn name(&self) -> &str {
        "DenseAggregateExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.agg().input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let inner = Arc::clone(&self.inner)
            .replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))?;
        match inner.downcast_ref::<AggregateExec>() {
            Some(agg) if eligible(agg) => {
                Ok(Arc::new(DenseAggregateExec::new(inner, self.max_groups, self.max_values)))
            }
            _ => Ok(inner),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let agg = self.agg();
        let input = agg.input().execute(partition, Arc::clone(&context))?;
        let options = context.session_config().options();
        let state = Dense {
            schema: agg.schema(),
            group_by: agg.group_expr().clone(),
            arguments: aggregate_expressions(agg.aggr_expr(), agg.mode(), 0)?,
            filters: agg.filter_expr().to_vec(),
            accumulators: agg.aggr_expr().iter().map(|a| a.create_groups_accumulator()).collect::<Result<_>>()?,
            keys: Keys::new(&agg.group_expr().group_schema(&agg.input_schema())?)?,
            reservation: MemoryConsumer::new(format!("DenseAggregateExec[{partition}]"))
                .with_can_spill(true)
                .register(context.memory_pool()),
            batch_size: context.session_config().batch_size(),
            max_groups: self.max_groups,
            max_values: self.max_values,
            probe_rows: options.execution.skip_partial_aggregation_probe_rows_threshold,
            probe_ratio: options.execution.skip_partial_aggregation_probe_ratio_threshold,
            rows_in: 0,
            groups_seen: 0,
            decided: false,
            pass_through: false,
            indices: Vec::new(),
            timers: Timers::new(&self.metrics, partition),
        };
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        let run = Run { input, state, metrics, queue: VecDeque::new(), done: false };
        let stream = futures::stream::unfold(run, |mut run| async move {
            loop {
                if let Some(batch) = run.queue.pop_front() {
                    let polled = run.metrics.record_poll(std::task::Poll::Ready(Some(Ok(batch))));
                    let std::task::Poll::Ready(Some(batch)) = polled else { unreachable!("ready") };
                    return Some((batch, run));
                }
                if run.done {
                    run.metrics.done();
                    return None;
                }
                let step = match run.input.next().await {
                    Some(Ok(batch)) => {
                        let _timer = run.metrics.elapsed_compute().timer();
                        run.state.add(&batch, &mut run.queue)
                    }
                    Some(Err(e)) => Err(e),
                    None => {
                        run.done = true;
                        let _timer = run.metrics.elapsed_compute().timer();
                        run.state.emit(&mut run.queue)
                    }
                };
                if let Err(e) = step {
                    run.done = true;
                    run.queue.clear();
                    return Some((Err(e), run));
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(agg.schema(), stream)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

struct Run {
    input: SendableRecordBatchStream,
    state: Dense,
    metrics: BaselineMetrics,
    queue: VecDeque<RecordBatch>,
    done: bool,
}

/// One partition's partial aggregation.
struct Dense {
    schema: SchemaRef,
    group_by: datafusion::physical_plan::aggregates::PhysicalGroupBy,
    arguments: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    keys: Keys,
    reservation: MemoryReservation,
    batch_size: usize,
    max_groups: usize,
    max_values: usize,
    probe_rows: usize,
    probe_ratio: f64,
    rows_in: usize,
    /// groups created so far, over every emission (for the pass-through decision)
    groups_seen: usize,
    decided: bool,
    pass_through: bool,
    indices: Vec<usize>,
    timers: Timers,
}

/// Where a dense aggregation spends its time (EXPLAIN ANALYZE and HOTLINE_PROFILE show them).
struct Timers {
    /// evaluating the key and argument expressions
    arguments: Time,
    /// finding each row's group (numbering included)
    grouping: Time,
    /// numbering the key columns' values
    numbering: Time,
    /// the accumulators' update_batch
    accumulating: Time,
}

impl Timers {
    fn new(metrics: &ExecutionPlanMetricsSet, partition: usize) -> Timers {
        let time = |name: &'static str| MetricBuilder::new(metrics).subset_time(name, partition);
        Timers {
            arguments: time("time_evaluating_arguments"),
            grouping: time("time_calculating_group_ids"),
            numbering: time("time_numbering_keys"),
            accumulating: time("time_accumulating"),
        }
    }
}

impl Dense {
    fn add(&mut self, batch: &RecordBatch, out: &mut VecDeque<RecordBatch>) -> Result<()> {
        let time = self.timers.arguments.clone();
        let timer = time.timer();
        let sets = evaluate_group_by(&self.group_by, batch)?;
        let values = evaluate_many(&self.arguments, batch)?;
        let filters: Vec<Option<ArrayRef>> = self
            .filters
            .iter()
            .map(|f| f.as_ref().map(|f| f.evaluate(batch).and_then(|v| v.into_array(batch.num_rows()))).transpose())
            .collect::<Result<_>>()?;
        timer.done();
        if self.pass_through {
            return self.pass(&sets, &values, &filters, out);
        }
        for set in &sets {
            let before = self.keys.len();
            let time = self.timers.grouping.clone();
            let timer = time.timer();
            self.keys.intern(set, &mut self.indices, &self.timers.numbering)?;
            timer.done();
            let time = self.timers.accumulating.clone();
            let timer = time.timer();
            self.groups_seen += self.keys.len() - before;
            let total = self.keys.len();
            for ((acc, values), filter) in self.accumulators.iter_mut().zip(&values).zip(&filters) {
                acc.update_batch(values, &self.indices, filter.as_ref().map(|f| f.as_boolean()), total)?;
            }
            timer.done();
        }
        self.rows_in += batch.num_rows();
        if !self.decided && self.rows_in >= self.probe_rows {
            self.decided = true;
            if self.groups_seen as f64 >= self.probe_ratio * self.rows_in as f64
                && self.group_by.is_single()
                && self.probe_ratio < 1.0
            {
                self.pass_through = true;
                return self.emit(out);
            }
        }
        if self.keys.most_values() > self.max_values {
            // a key column that is not dense: DataFusion's final stage groups the rest
            self.pass_through = self.group_by.is_single();
            return self.emit(out);
        }
        let size = self.keys.size() + self.accumulators.iter().map(|a| a.size()).sum::<usize>();
        if self.keys.len() > self.max_groups || self.reservation.try_resize(size).is_err() {
            self.emit(out)?;
        }
        Ok(())
    }

    /// Every row as its own partial state (DataFusion's skip-partial-aggregation).
    fn pass(
        &mut self,
        sets: &[Vec<ArrayRef>],
        values: &[Vec<ArrayRef>],
        filters: &[Option<ArrayRef>],
        out: &mut VecDeque<RecordBatch>,
    ) -> Result<()> {
        for set in sets {
            let mut columns = Vec::with_capacity(self.schema.fields().len());
            for (a, f) in set.iter().zip(self.schema.fields()) {
                columns.push(if a.data_type() == f.data_type() { Arc::clone(a) } else { cast(a, f.data_type())? });
            }
            for ((acc, values), filter) in self.accumulators.iter_mut().zip(values).zip(filters) {
                columns.extend(acc.convert_to_state(values, filter.as_ref().map(|f| f.as_boolean()))?);
            }
            out.push_back(RecordBatch::try_new(Arc::clone(&self.schema), columns)?);
        }
        Ok(())
    }

    /// The partial state of every group so far, in batches; the stage starts again empty.
    fn emit(&mut self, out: &mut VecDeque<RecordBatch>) -> Result<()> {
        if self.keys.len() == 0 {
            return Ok(());
        }
        let mut columns = self.keys.columns(&self.schema)?;
        for acc in self.accumulators.iter_mut() {
            columns.extend(acc.state(EmitTo::All)?);
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        self.keys.clear();
        let size = self.accumulators.iter().map(|a| a.size()).sum::<usize>();
        let _ = self.reservation.try_resize(size);
        let mut at = 0;
        while at < batch.num_rows() {
            let n = self.batch_size.min(batch.num_rows() - at);
            out.push_back(batch.slice(at, n));
            at += n;
        }
        Ok(())
    }
}
