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
//! skip-partial-aggregation does, with the same thresholds.

use std::collections::VecDeque;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{HashMap, Result, ScalarValue};
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

/// Key columns (with `__grouping_id`) a dense aggregation handles.
pub const MAX_KEYS: usize = 8;
/// Groups one partition holds before it emits its partial state and starts again.
pub const MAX_GROUPS: usize = 1 << 20;

/// The physical optimizer rule that runs eligible partial aggregations densely.
#[derive(Debug)]
pub struct DenseAggregate {
    /// groups a partition holds before it emits its partial state ([`MAX_GROUPS`])
    pub max_groups: usize,
}

impl Default for DenseAggregate {
    fn default() -> Self {
        DenseAggregate { max_groups: MAX_GROUPS }
    }
}

impl datafusion::physical_optimizer::PhysicalOptimizerRule for DenseAggregate {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|p| {
            if let Some(agg) = p.downcast_ref::<AggregateExec>()
                && eligible(agg)
            {
                let dense = DenseAggregateExec::new(Arc::clone(&p), self.max_groups);
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

/// How a key column's values are numbered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Utf8View: inline values by their view, others by their bytes
    View,
    /// Utf8 / LargeUtf8: by their bytes
    Text,
    /// integers, booleans, dates and timestamps: by their value as i64
    Int,
}

impl Kind {
    fn of(t: &DataType) -> Option<Kind> {
        use DataType::*;
        match t {
            Utf8View => Some(Kind::View),
            Utf8 | LargeUtf8 => Some(Kind::Text),
            Null
            | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | Date32
            | Date64
            | Timestamp(_, _) => Some(Kind::Int),
            _ => None,
        }
    }
}

/// A partial `AggregateExec` run with dense group numbers (module docs).
#[derive(Debug)]
pub struct DenseAggregateExec {
    /// The aggregation it replaces: its expressions, schema and properties are this node's.
    inner: Arc<dyn ExecutionPlan>,
    max_groups: usize,
    metrics: ExecutionPlanMetricsSet,
}

impl DenseAggregateExec {
    fn new(inner: Arc<dyn ExecutionPlan>, max_groups: usize) -> Self {
        DenseAggregateExec { inner, max_groups, metrics: ExecutionPlanMetricsSet::new() }
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
            Some(agg) if eligible(agg) => Ok(Arc::new(DenseAggregateExec::new(inner, self.max_groups))),
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

/// The groups of one partition: each key column's values numbered from 1 (0 = null), and each
/// group's numbers. While the numbers of all key columns fit in 64 bits together (each column
/// takes the bits its count of values needs), a row's group is found by one lookup of that
/// packed integer; beyond, by the numbers themselves.
struct Keys {
    columns: Vec<KeyColumn>,
    group_keys: Vec<[u32; MAX_KEYS]>,
    /// bits of each column in the packed key; None once they no longer fit in 64
    bits: Option<Vec<u32>>,
    packed: HashMap<u64, u32, BuildHasherDefault<MulHash>>,
    wide: HashMap<[u32; MAX_KEYS], u32>,
    ids: Vec<Vec<u32>>,
    codes: Vec<u64>,
}

struct KeyColumn {
    kind: Kind,
    data_type: DataType,
    /// inline views (Utf8View values of at most 12 bytes) and, per batch, the views of longer ones
    views: HashMap<u128, u32>,
    batch_views: HashMap<u128, u32>,
    bytes: HashMap<Box<[u8]>, u32>,
    ints: HashMap<i64, u32>,
    /// the value of number i + 1
    values: Vec<ScalarValue>,
    /// bytes held by the text values
    held: usize,
}

/// A hash for packed keys: one folded multiplication (the keys are small integers, not
/// attacker-chosen text; a collision costs a comparison, not a wrong result).
#[derive(Default, Clone, Copy)]
struct MulHash(u64);

impl Hasher for MulHash {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0 ^ u64::from(*b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        let m = u128::from(v ^ self.0) * 0x9E37_79B9_7F4A_7C15u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Bits that numbers up to `n` need.
fn bits_for(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

impl Keys {
    fn new(schema: &SchemaRef) -> Result<Keys> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let kind = Kind::of(f.data_type()).ok_or_else(|| {
                    datafusion::error::DataFusionError::Internal(format!(
                        "dense aggregation of a {} key",
                        f.data_type()
                    ))
                })?;
                Ok(KeyColumn {
                    kind,
                    data_type: f.data_type().clone(),
                    views: HashMap::default(),
                    batch_views: HashMap::default(),
                    bytes: HashMap::default(),
                    ints: HashMap::default(),
                    values: Vec::new(),
                    held: 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let n = columns.len();
        Ok(Keys {
            columns,
            group_keys: Vec::new(),
            bits: Some(vec![0; n]),
            packed: HashMap::default(),
            wide: HashMap::default(),
            ids: vec![Vec::new(); n],
            codes: Vec::new(),
        })
    }

    fn len(&self) -> usize {
        self.group_keys.len()
    }

    fn size(&self) -> usize {
        let groups = self.group_keys.capacity() * std::mem::size_of::<[u32; MAX_KEYS]>()
            + self.packed.capacity() * 13
            + self.wide.capacity() * 37;
        let cols: usize = self
            .columns
            .iter()
            .map(|c| c.held + (c.views.len() + c.bytes.len() + c.ints.len()) * 32 + c.values.len() * 48)
            .sum();
        groups + cols
    }

    fn clear(&mut self) {
        self.group_keys = Vec::new();
        self.bits = Some(vec![0; self.columns.len()]);
        self.packed = HashMap::default();
        self.wide = HashMap::default();
        for c in &mut self.columns {
            c.views = HashMap::default();
            c.bytes = HashMap::default();
            c.ints = HashMap::default();
            c.values = Vec::new();
            c.held = 0;
        }
    }

    /// The packed key of `key` under `bits`.
    fn pack(key: &[u32; MAX_KEYS], bits: &[u32]) -> u64 {
        let mut code = 0u64;
        let mut shift = 0;
        for (id, b) in key.iter().zip(bits) {
            code |= u64::from(*id) << shift;
            shift += b;
        }
        code
    }

    /// Widens the packed keys when a column has outgrown its bits (each column then gets one
    /// bit more than it needs, so that growth re-packs seldom), or gives them up for the wide
    /// keys when they no longer fit in 64 bits.
    fn fit(&mut self) {
        let Some(bits) = &self.bits else { return };
        let need: Vec<u32> = self.columns.iter().map(|c| bits_for(c.values.len())).collect();
        if need.iter().zip(bits).all(|(n, b)| n <= b) {
            return;
        }
        let grown: Vec<u32> = need.iter().zip(bits).map(|(n, b)| if n > b { n + 1 } else { *b }).collect();
        let fits = grown.iter().sum::<u32>() <= 64;
        let tight = need.iter().sum::<u32>() <= 64;
        let bits = if fits {
            Some(grown)
        } else if tight {
            Some(need)
        } else {
            None
        };
        self.packed = HashMap::default();
        self.wide = HashMap::default();
        match &bits {
            Some(bits) => {
                self.packed.reserve(self.group_keys.len());
                for (g, key) in self.group_keys.iter().enumerate() {
                    self.packed.insert(Keys::pack(key, bits), g as u32);
                }
            }
            None => {
                for (g, key) in self.group_keys.iter().enumerate() {
                    self.wide.insert(*key, g as u32);
                }
            }
        }
        self.bits = bits;
    }

    /// The group number of every row of `set` (one array per key column) into `indices`.
    fn intern(&mut self, set: &[ArrayRef], indices: &mut Vec<usize>, numbering: &Time) -> Result<()> {
        let rows = set.first().map_or(0, |a| a.len());
        let timer = numbering.timer();
        for ((column, array), ids) in self.columns.iter_mut().zip(set).zip(&mut self.ids) {
            column.number(array, ids)?;
        }
        timer.done();
        self.fit();
        let k = self.columns.len();
        indices.clear();
        indices.reserve(rows);
        let key_of = |ids: &[Vec<u32>], r: usize| {
            let mut key = [0u32; MAX_KEYS];
            for (c, slot) in key.iter_mut().take(k).enumerate() {
                *slot = ids[c][r];
            }
            key
        };
        let Keys { group_keys, bits, packed, wide, ids, codes, .. } = self;
        match bits {
            Some(bits) => {
                codes.clear();
                codes.resize(rows, 0);
                let mut shift = 0;
                for (column, b) in ids.iter().zip(bits.iter()) {
                    for (code, id) in codes.iter_mut().zip(column) {
                        *code |= u64::from(*id) << shift;
                    }
                    shift += b;
                }
                for (r, code) in codes.iter().enumerate() {
                    let next = group_keys.len() as u32;
                    let g = *packed.entry(*code).or_insert_with(|| {
                        group_keys.push(key_of(ids, r));
                        next
                    });
                    indices.push(g as usize);
                }
            }
            None => {
                for r in 0..rows {
                    let key = key_of(ids, r);
                    let next = group_keys.len() as u32;
                    let g = *wide.entry(key).or_insert_with(|| {
                        group_keys.push(key);
                        next
                    });
                    indices.push(g as usize);
                }
            }
        }
        Ok(())
    }

    /// The key columns of every group, in group order, with the types of `schema`'s first fields.
    fn columns(&self, schema: &SchemaRef) -> Result<Vec<ArrayRef>> {
        self.columns
            .iter()
            .enumerate()
            .map(|(c, column)| {
                let null = ScalarValue::try_from(&column.data_type)?;
                let array = ScalarValue::iter_to_array(self.group_keys.iter().map(|key| match key[c] {
                    0 => null.clone(),
                    id => column.values[id as usize - 1].clone(),
                }))?;
                let want = schema.field(c).data_type();
                if array.data_type() == want { Ok(array) } else { Ok(cast(&array, want)?) }
            })
            .collect()
    }
}

impl KeyColumn {
    /// The number of the text `text` (row `i` of `array`), numbering it when new.
    fn text_id(&mut self, text: &[u8], array: &ArrayRef, i: usize) -> Result<u32> {
        if let Some(id) = self.bytes.get(text) {
            return Ok(*id);
        }
        self.values.push(ScalarValue::try_from_array(array, i)?);
        let id = self.values.len() as u32;
        self.bytes.insert(text.into(), id);
        self.held += text.len() * 2;
        Ok(id)
    }

    /// The number of each value of `array` (0 for null) into `ids`, numbering new values.
    fn number(&mut self, array: &ArrayRef, ids: &mut Vec<u32>) -> Result<()> {
        ids.clear();
        ids.resize(array.len(), 0);
        if array.null_count() == array.len() {
            return Ok(());
        }
        let nulls = array.logical_nulls();
        let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
        match self.kind {
            Kind::View => {
                let a = array.as_string_view();
                self.batch_views.clear();
                for (i, view) in a.views().iter().enumerate() {
                    if !valid(i) {
                        continue;
                    }
                    let long = (*view as u32) > 12;
                    let map = if long { &mut self.batch_views } else { &mut self.views };
                    if let Some(id) = map.get(view) {
                        ids[i] = *id;
                        continue;
                    }
                    let id = if long {
                        self.text_id(a.value(i).as_bytes(), array, i)?
                    } else {
                        self.values.push(ScalarValue::try_from_array(array, i)?);
                        self.values.len() as u32
                    };
                    let map = if long { &mut self.batch_views } else { &mut self.views };
                    map.insert(*view, id);
                    ids[i] = id;
                }
            }
            Kind::Text => {
                let texts: Box<dyn Iterator<Item = Option<&[u8]>>> = match array.data_type() {
                    DataType::LargeUtf8 => Box::new(array.as_string::<i64>().iter().map(|s| s.map(str::as_bytes))),
                    _ => Box::new(array.as_string::<i32>().iter().map(|s| s.map(str::as_bytes))),
                };
                for (i, text) in texts.enumerate() {
                    let Some(text) = text else { continue };
                    ids[i] = self.text_id(text, array, i)?;
                }
            }
            Kind::Int => {
                let ints = cast(array, &DataType::Int64)?;
                let ints = ints.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                let mut last: Option<(i64, u32)> = None;
                for (i, v) in ints.values().iter().enumerate() {
                    if !valid(i) {
                        continue;
                    }
                    if let Some((lv, id)) = last
                        && lv == *v
                    {
                        ids[i] = id;
                        continue;
                    }
                    let id = match self.ints.get(v) {
                        Some(id) => *id,
                        None => {
                            self.values.push(ScalarValue::try_from_array(array, i)?);
                            let id = self.values.len() as u32;
                            self.ints.insert(*v, id);
                            id
                        }
                    };
                    last = Some((*v, id));
                    ids[i] = id;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The dense aggregation against DataFusion's own hash aggregation, on random tables whose
    //! keys cover every key kind, nulls, growth past the packed bits, the wide keys, grouping
    //! sets, FILTER clauses, early emission and pass-through.
    use super::*;
    use datafusion::arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, StringViewArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn maybe<T>(&mut self, null_in: u64, v: impl FnOnce(&mut Rng) -> T) -> Option<T> {
            if self.next(null_in) == 0 { None } else { Some(v(self)) }
        }
    }

    fn table(seed: u64, rows: usize) -> Vec<Vec<RecordBatch>> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("short", DataType::Utf8View, true),
            Field::new("long", DataType::Utf8View, true),
            Field::new("text", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("d", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("id", DataType::Utf8, false),
            Field::new("x", DataType::Int64, true),
            Field::new("v", DataType::Float64, true),
        ]));
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let shorts = ["东城区", "西城区", "a", "", "朝阳区"];
        let mut parts = vec![Vec::new(), Vec::new(), Vec::new()];
        let mut at = 0;
        while at < rows {
            let n = (rows - at).min(1 + rng.next(900) as usize);
            let mut cols: Vec<ArrayRef> = Vec::new();
            let short: Vec<Option<&str>> = (0..n).map(|_| rng.maybe(7, |r| shorts[r.next(5) as usize])).collect();
            cols.push(Arc::new(StringViewArray::from(short)));
            let long: Vec<Option<String>> =
                (0..n).map(|_| rng.maybe(9, |r| format!("某某街道办事处第{}社区", r.next(40)))).collect();
            cols.push(Arc::new(StringViewArray::from(long)));
            let text: Vec<Option<String>> = (0..n).map(|_| rng.maybe(11, |r| format!("类{}", r.next(300)))).collect();
            cols.push(Arc::new(StringArray::from(text)));
            cols.push(Arc::new(Int64Array::from(
                (0..n).map(|_| rng.maybe(13, |r| r.next(2000) as i64)).collect::<Vec<_>>(),
            )));
            cols.push(Arc::new(BooleanArray::from(
                (0..n).map(|_| rng.maybe(5, |r| r.next(2) == 0)).collect::<Vec<_>>(),
            )));
            cols.push(Arc::new(Date32Array::from(
                (0..n).map(|_| rng.maybe(17, |r| 20_000 + r.next(400) as i32)).collect::<Vec<_>>(),
            )));
            let ts = (0..n).map(|_| rng.maybe(19, |r| 1_735_689_600_000_000 + r.next(400 * 86_400) as i64 * 1_000_000));
            cols.push(Arc::new(TimestampMicrosecondArray::from(ts.collect::<Vec<_>>())));
            cols.push(Arc::new(StringArray::from((at..at + n).map(|i| format!("T{i:07}")).collect::<Vec<_>>())));
            cols.push(Arc::new(Int64Array::from(
                (0..n).map(|_| rng.maybe(6, |r| r.next(1000) as i64 - 300)).collect::<Vec<_>>(),
            )));
            cols.push(Arc::new(Float64Array::from(
                (0..n).map(|_| rng.maybe(6, |r| r.next(1000) as f64 / 7.0)).collect::<Vec<_>>(),
            )));
            let part = rng.next(3) as usize;
            parts[part].push(RecordBatch::try_new(Arc::clone(&schema), cols).unwrap());
            at += n;
        }
        parts
    }

    fn ctx(dense: Option<DenseAggregate>, probe_rows: usize, parts: Vec<Vec<RecordBatch>>) -> SessionContext {
        let mut config = SessionConfig::new().with_target_partitions(2).with_batch_size(700);
        config.options_mut().execution.skip_partial_aggregation_probe_rows_threshold = probe_rows;
        let mut state = SessionStateBuilder::new().with_config(config).with_default_features();
        if let Some(rule) = dense {
            state = state.with_physical_optimizer_rule(Arc::new(rule));
        }
        let ctx = SessionContext::new_with_state(state.build());
        ctx.register_udaf(crate::udf::quantile_exact());
        let schema = parts.iter().flatten().next().unwrap().schema();
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, parts).unwrap())).unwrap();
        ctx
    }

    /// (query, whether the dense plan must use DenseAggregateExec)
    const QUERIES: [(&str, bool); 10] = [
        (
            "SELECT short, long, count(*) AS c, sum(x) AS s, min(v) AS lo, max(long) AS hi, avg(x) AS a
          FROM t GROUP BY short, long",
            true,
        ),
        ("SELECT text, n, b, count(x) AS c, sum(x) FILTER (WHERE v > 50) AS s FROM t GROUP BY text, n, b", true),
        (
            "SELECT d, date_trunc('month', ts) AS m, n % 7 AS r, count(*) AS c, quantile_exact(v, 0.5) AS q
          FROM t GROUP BY d, date_trunc('month', ts), n % 7",
            true,
        ),
        // more than 64 bits of numbers: the wide keys
        (
            "SELECT id, n, text, ts, d, long, short, b, count(*) AS c FROM t GROUP BY id, n, text, ts, d, long, short, b",
            true,
        ),
        (
            "SELECT short, n, d, b, grouping(n) AS gn, count(*) AS c, sum(x) FILTER (WHERE b) AS s FROM t
          GROUP BY GROUPING SETS ((short), (short, n), (d, b), (n))",
            true,
        ),
        ("SELECT short, long, count(*) AS c FROM t GROUP BY ROLLUP (short, long)", false),
        ("SELECT id, count(*) AS c, min(x) AS lo FROM t GROUP BY id HAVING count(*) >= 1", true),
        ("SELECT NULL AS z, short, count(*) AS c FROM t GROUP BY 1, 2", true),
        // DataFusion turns a single DISTINCT into two GROUP BYs: both dense
        ("SELECT short, count(DISTINCT n) AS c FROM t GROUP BY short", true),
        // an aggregate with ORDER BY stays DataFusion's
        ("SELECT short, first_value(x ORDER BY id) AS f FROM t GROUP BY short", false),
    ];

    async fn answer(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        // the rows in order (a GROUP BY's order is not defined), after the header
        let mut rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).skip(1).collect();
        rows.sort_unstable();
        rows.join("\n")
    }

    async fn plan(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(&format!("EXPLAIN {sql}")).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dense_equals_hash_aggregation() {
        // (seed, rows, max_groups, probe rows): the default; early emission every 50 groups;
        // pass-through after 500 rows when the keys barely repeat
        let runs =
            [(1, 5_000, MAX_GROUPS, 100_000), (2, 12_000, 50, 100_000), (3, 9_000, MAX_GROUPS, 500), (4, 3, 1, 1)];
        for (seed, rows, max_groups, probe) in runs {
            let parts = table(seed, rows);
            let hash = ctx(None, probe, parts.clone());
            let dense = ctx(Some(DenseAggregate { max_groups }), probe, parts);
            for (sql, uses) in QUERIES {
                let expected = answer(&hash, sql).await;
                assert_eq!(answer(&dense, sql).await, expected, "seed {seed}, max_groups {max_groups}: {sql}");
                assert_eq!(plan(&dense, sql).await.contains("DenseAggregateExec"), uses, "{sql}");
                assert!(!plan(&hash, sql).await.contains("DenseAggregateExec"));
                assert!(expected.lines().count() > 2 || rows < 10, "{sql} gave too little to compare:\n{expected}");
            }
        }
    }
}
