//! The analysts' SQL tool behind `hotline sql`: a read-only session over the archive with the
//! reference tables and (for a period) the report's own metric tables, personal data masked,
//! queries cancellable and bounded in time and memory, and errors that point at the problem.

pub mod mask;
pub mod output;
pub mod repl;
pub mod saved;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

use crate::error::{self, UserError};
use crate::metrics::register;

/// Personal-data columns (spec §1) and how `tickets` shows them unless personal data is allowed.
pub const PERSONAL: [&str; 3] = ["caller_id", "caller_phone", "content"];

/// Set by the SIGINT handler of the interactive shell: cancel the running query.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Replace the registered `tickets` table by a view that masks personal data (src/sqltool/mask.rs):
/// phone numbers keep at most their first 3 and last 4 digits (138****5678), caller ids become a
/// keyed hash under a key drawn per session (the same caller still groups together within one
/// run), content has every number of 3+ digits hidden and is cut to 30 characters. The functions
/// are placed in the view's plan, not registered by name: SQL cannot call them (to probe the keyed
/// hash with guesses) and no plan or error shows the key.
pub async fn mask_personal_data(ctx: &SessionContext) -> Result<()> {
    let view = masked(ctx.table("tickets").await?)?.into_view();
    // the view's plan holds the archive itself; the unmasked table is no longer reachable by name
    ctx.deregister_table("tickets")?;
    ctx.register_table("tickets", view)?;
    Ok(())
}

/// The rows of `tickets` (all the canonical columns) with the personal-data columns masked as
/// [`mask_personal_data`] says, under a key of its own.
pub fn masked(tickets: datafusion::prelude::DataFrame) -> Result<datafusion::prelude::DataFrame> {
    use datafusion::prelude::col;
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&rand_salt().to_le_bytes());
    }
    let [caller_key, phone, text] = mask::functions(key);
    let columns: Vec<datafusion::prelude::Expr> = crate::schema::COLUMNS
        .iter()
        .map(|c| match c.name {
            "caller_phone" => phone.call(vec![col("caller_phone")]).alias("caller_phone"),
            "caller_id" => caller_key.call(vec![col("caller_id")]).alias("caller_id"),
            "content" => text.call(vec![col("content")]).alias("content"),
            other => col(other),
        })
        .collect();
    Ok(tickets.select(columns)?)
}

fn rand_salt() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        return t.as_nanos() as u64 ^ std::process::id() as u64;
    }
    u64::from_le_bytes(bytes)
}

/// The reference tables: `districts`, `streets` (embedded) and `population` (the configured table).
pub fn register_reference(ctx: &SessionContext, population: &crate::config::Population) -> Result<()> {
    let districts = crate::reference::districts();
    let schema = Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("district", DataType::Utf8, false),
        Field::new("district_en", DataType::Utf8, false),
        Field::new("population_2020", DataType::Int64, false),
        Field::new("area_km2", DataType::Float64, false),
        Field::new("type", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(districts.iter().map(|d| d.code.as_str()))),
            Arc::new(StringArray::from_iter_values(districts.iter().map(|d| d.name.as_str()))),
            Arc::new(StringArray::from_iter_values(districts.iter().map(|d| d.name_en.as_str()))),
            Arc::new(Int64Array::from_iter_values(districts.iter().map(|d| d.population as i64))),
            Arc::new(Float64Array::from_iter_values(districts.iter().map(|d| d.area_km2))),
            Arc::new(StringArray::from_iter_values(districts.iter().map(|d| d.kind.as_str()))),
        ],
    )?;
    register(ctx, "districts", vec![batch])?;
    let streets = crate::reference::streets();
    let schema = Arc::new(Schema::new(vec![
        Field::new("district", DataType::Utf8, false),
        Field::new("street", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(streets.iter().map(|s| s.district.as_str()))),
            Arc::new(StringArray::from_iter_values(streets.iter().map(|s| s.name.as_str()))),
            Arc::new(StringArray::from_iter_values(streets.iter().map(|s| s.kind.as_str()))),
        ],
    )?;
    register(ctx, "streets", vec![batch])?;
    register(ctx, "ticket_columns", vec![ticket_columns()?])?;
    register(ctx, "population", vec![crate::config::population_batch(population)?])
}

/// The `ticket_columns` table: each column of `tickets` with its type as SQL names it, whether
/// every ticket has it, whether it is personal data (masked here) and what it holds (受理时间 …).
fn ticket_columns() -> Result<RecordBatch> {
    let cols = crate::schema::COLUMNS;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let schema = Arc::new(Schema::new(vec![
        Field::new("column_name", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("required", DataType::Utf8, false),
        Field::new("personal", DataType::Utf8, false),
        Field::new("meaning", DataType::Utf8, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(cols.iter().map(|c| c.name))),
            Arc::new(StringArray::from_iter_values(cols.iter().map(|c| c.ty.sql_name()))),
            Arc::new(StringArray::from_iter_values(cols.iter().map(|c| yes_no(!c.nullable)))),
            Arc::new(StringArray::from_iter_values(cols.iter().map(|c| yes_no(c.personal)))),
            Arc::new(StringArray::from_iter_values(cols.iter().map(|c| c.zh))),
        ],
    )?)
}

/// Only queries: DDL, DML (INSERT, COPY …) and statements (SET …) are refused by DataFusion.
pub fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

/// The deepest nesting of expressions a statement may have (`1+1+…` with 1,000 terms is 1,000
/// deep); deeper ones are refused with a clear error instead of exhausting the stack.
pub const MAX_NESTING: usize = 1000;

/// How deeply the expressions of `sql` nest (0 when it does not parse: the planner reports that).
pub fn nesting(sql: &str) -> usize {
    use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use std::ops::ControlFlow;
    struct Depth {
        now: usize,
        max: usize,
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.now += 1;
            self.max = self.max.max(self.now);
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    // on a thread with the workers' stack: a long chain such as 1+1+… parses in a loop, but its
    // tree is visited (and dropped) recursively
    let sql = sql.to_string();
    let count = move || {
        let Ok(statements) = Parser::parse_sql(&GenericDialect {}, &sql) else { return 0 };
        let mut d = Depth { now: 0, max: 0 };
        let _ = statements.visit(&mut d);
        d.max
    };
    std::thread::Builder::new()
        .stack_size(crate::commands::WORKER_STACK_BYTES)
        .spawn(count)
        .ok()
        .and_then(|t| t.join().ok())
        .unwrap_or(usize::MAX)
}

/// Run one statement with bound parameters and collect its answer; Ctrl-C (in the shell) or the
/// timeout cancels it.
pub fn run(
    rt: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    sql: &str,
    params: Vec<(String, ScalarValue)>,
    timeout: Option<Duration>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut batches = Vec::new();
    let schema = run_each(rt, ctx, sql, params, timeout, &mut |_, b| {
        batches.push(b);
        Ok(())
    })?;
    Ok((schema, batches))
}

/// What the query's task sends: its answer's schema first, then the batches as they come.
enum Piece {
    Schema(SchemaRef),
    Batch(RecordBatch),
}

/// Run one statement with bound parameters, handing each batch of its answer to `each` as the
/// plan produces it (nothing is collected here); Ctrl-C (in the shell) or the timeout cancels
/// it, and so does an error of `each`. Returns the answer's schema.
pub fn run_each(
    rt: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    sql: &str,
    params: Vec<(String, ScalarValue)>,
    timeout: Option<Duration>,
    each: &mut dyn FnMut(&SchemaRef, RecordBatch) -> Result<()>,
) -> Result<SchemaRef> {
    let depth = nesting(sql);
    if depth > MAX_NESTING {
        return Err(error::usage(format!(
            "the statement nests its expressions {depth} levels deep; at most {MAX_NESTING} are planned"
        ))
        .hint("split the expression (a CTE per part), or use an aggregate such as sum() over rows instead of one long sum")
        .into());
    }
    if let Some(e) = crate::rules::misread_distinct_from(sql) {
        return Err(error::usage(format!(
            "`{e}` would be read as a comparison with everything after DISTINCT FROM (DataFusion's parser does \
             not stop at AND / OR there), which is not what it says"
        ))
        .hint("put the comparison in parentheses: (a IS DISTINCT FROM b) OR …")
        .into());
    }
    // for the hint of an unknown table
    let tables = table_names(ctx);
    let ctx = ctx.clone();
    let text = sql.to_string();
    // two batches in flight at most: the plan waits while the output is being written
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(2);
    let task = rt.spawn(async move {
        use futures::StreamExt;
        let df = ctx.sql_with_options(&text, read_only()).await?;
        let df = if params.is_empty() { df } else { df.with_param_values(params)? };
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        if tx.send(Piece::Schema(schema)).await.is_err() {
            return Ok(());
        }
        let mut stream = df.execute_stream().await?;
        while let Some(b) = stream.next().await {
            if tx.send(Piece::Batch(b?)).await.is_err() {
                break; // the receiving side stopped (an error while writing)
            }
        }
        Ok::<_, datafusion::error::DataFusionError>(())
    });
    let started = Instant::now();
    INTERRUPTED.store(false, Ordering::SeqCst);
    let mut schema: Option<SchemaRef> = None;
    loop {
        // whether a piece came (then the next is asked for at once; Ctrl-C and the timeout are
        // checked between pieces too, so a query that never stops producing can be stopped)
        let mut got = true;
        match rx.try_recv() {
            Ok(Piece::Schema(s)) => schema = Some(s),
            Ok(Piece::Batch(b)) => {
                let s = schema.clone().expect("the schema comes first");
                if let Err(e) = each(&s, b) {
                    task.abort();
                    return Err(e);
                }
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                // the task has ended: its outcome says whether the answer is whole
                let result = match rt.block_on(task) {
                    Ok(r) => r,
                    // a reader that panics on a damaged file (arrow-rs, docs/upstream.md): the caller
                    // names the file (engine::name_damage)
                    Err(e) if e.is_panic() => {
                        return Err(anyhow::anyhow!("the query failed: a reader panicked on the archive"));
                    }
                    Err(e) => return Err(anyhow::Error::from(e).context("the query task failed")),
                };
                return match result {
                    Ok(()) => schema.context("internal: the query ended without a schema"),
                    Err(e) if crate::engine::is_damaged_input(&e) => {
                        // the caller names the damaged file (engine::name_damage); exit 3, not a usage error
                        Err(anyhow::Error::from(e).context("the query failed reading the archive"))
                    }
                    Err(e) => Err(explain(sql, &e.to_string(), &tables).into()),
                };
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => got = false,
        }
        if INTERRUPTED.swap(false, Ordering::SeqCst) {
            task.abort();
            return Err(error::usage("query cancelled (Ctrl-C)").into());
        }
        if let Some(t) = timeout
            && started.elapsed() >= t
        {
            task.abort();
            return Err(error::data(format!("query cancelled after the --timeout of {:.1} s", t.as_secs_f64()))
                .hint("narrow the query (a shorter period, fewer columns) or raise --timeout")
                .into());
        }
        if !got {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The tables a query can name (the session's own, not `information_schema`'s).
fn table_names(ctx: &SessionContext) -> Vec<String> {
    ctx.catalog("datafusion").and_then(|c| c.schema("public")).map(|s| s.table_names()).unwrap_or_default()
}

/// The (at most three) names of `names` closest to `name`, closest first, as `` `a`, `b` ``.
fn closest(name: &str, names: &[String]) -> Vec<String> {
    let mut by_distance: Vec<(usize, &String)> =
        names.iter().map(|v| (crate::schema::edit_distance(name, v), v)).collect();
    by_distance.sort();
    by_distance.dedup_by(|a, b| a.1 == b.1);
    by_distance.iter().take(3).map(|(_, v)| format!("`{v}`")).collect()
}

/// A SQL error as the user should see it: read-only refusals said plainly, the position of a
/// syntax error shown under the statement, and the closest names for an unknown column or table
/// (of `tables`, the tables the session has).
pub fn explain(sql: &str, message: &str, tables: &[String]) -> UserError {
    // an error of one of our rules comes wrapped in the rule's name ("duration_intervals\ncaused by\n…")
    let message = message.rsplit("\ncaused by\n").next().unwrap_or(message);
    let first = message.lines().next().unwrap_or(message);
    if message.contains("DDL not supported")
        || message.contains("DML not supported")
        || message.contains("Statement not supported")
        || message.contains("Unsupported logical plan: Dml")
    {
        return error::usage(format!("refused: `hotline sql` is read-only ({})", first.trim()))
            .hint("only queries run here (SELECT, WITH, VALUES, EXPLAIN, SHOW); nothing can be created, changed or copied out");
    }
    if message.contains("Resources exhausted") || message.contains("Not enough memory") {
        return error::data(format!("the query needs more memory than --memory-limit allows ({first})"))
            .hint("raise --memory-limit (default 4G), or sort / group fewer and narrower columns (long text such as `content` costs the most)");
    }
    if message.contains("Physical plan does not support logical expression InSubquery")
        || message.contains("Physical plan does not support logical expression Exists")
        || message.contains("Physical plan does not support logical expression ScalarSubquery")
    {
        return error::usage(
            "a subquery (IN (SELECT …), EXISTS (…)) can stand only as a condition of WHERE, alone or joined by AND; \
             here it is inside an expression (CASE, OR, NOT, an aggregate or the select list)",
        )
        .hint("join the subquery instead: LEFT JOIN (SELECT DISTINCT street FROM streets WHERE …) s ON s.street = tickets.street, then test s.street IS NOT NULL");
    }
    if message.contains("only supports a single SQL statement") {
        return error::usage("one statement at a time: the SQL holds more than one (separated by `;`)").hint(
            "run each on its own: one `hotline sql \"…\"` per statement, or in the shell one statement, then the next",
        );
    }
    // DataFusion lists every column of the tables after an unknown one: the hint names the closest
    let shown = message.split("Valid fields are ").next().unwrap_or(message);
    let mut text = format!("query failed: {}", shown.trim());
    if let Some((line, col)) = position(message)
        && let Some(src) = sql.lines().nth(line.saturating_sub(1))
    {
        let caret = " ".repeat(col.saturating_sub(1));
        text.push_str(&format!("\n  {src}\n  {caret}^"));
    }
    let mut e = error::usage(text);
    if let Some(name) = between(message, "No field named ", ".").or_else(|| between(message, "No field named ", " ")) {
        let name = name.trim_matches(|c| c == '"' || c == '`');
        let valid: Vec<String> = message
            .split("Valid fields are ")
            .nth(1)
            .map(|rest| {
                rest.trim_end_matches('.')
                    .split(", ")
                    .map(|f| f.rsplit('.').next().unwrap_or(f).trim_matches('"').to_string())
                    .collect()
            })
            .unwrap_or_default();
        let near = closest(name, &valid);
        if !near.is_empty() {
            e = e.hint(format!("unknown column `{name}`; closest: {}", near.join(", ")));
        }
    } else if let Some(t) = between(message, "table '", "' not found") {
        // DataFusion names it in full (datafusion.public.ticket); the user wrote the last part
        let name = t.rsplit('.').next().unwrap_or(t);
        let near = closest(name, tables);
        let near = if near.is_empty() { String::new() } else { format!("; closest: {}", near.join(", ")) };
        e = e.hint(format!("unknown table `{name}`{near}; `\\d` in the shell or `SHOW TABLES` lists the tables"));
    }
    e
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = &text[from..];
    Some(&rest[..rest.find(end).unwrap_or(rest.len())])
}

/// `Line: 3, Column: 15` in a parser error.
fn position(message: &str) -> Option<(usize, usize)> {
    let digits = |s: &str| s.trim_start().chars().take_while(|c| c.is_ascii_digit()).collect::<String>();
    let line = digits(&message[message.find("Line: ")? + 6..]).parse().ok()?;
    let col = digits(&message[message.find("Column: ")? + 8..]).parse().ok()?;
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_parser_errors() {
        let e = explain(
            "SELECT * FORM tickets",
            "SQL error: ParserError(\"Expected: end of statement, found: tickets at Line: 1, Column: 15\")",
            &[],
        );
        assert!(e.message.contains("SELECT * FORM tickets\n                ^"), "{}", e.message);
    }

    #[test]
    fn unknown_columns_get_the_closest_names() {
        let e = explain(
            "SELECT distrct FROM tickets",
            "Schema error: No field named distrct. Valid fields are tickets.ticket_id, tickets.district, tickets.street.",
            &[],
        );
        assert_eq!(e.hint.as_deref(), Some("unknown column `distrct`; closest: `district`, `street`, `ticket_id`"));
        // the list of every column is left to the hint
        assert_eq!(e.message, "query failed: Schema error: No field named distrct.");
    }

    #[test]
    fn unknown_tables_get_the_closest_names_and_two_statements_a_plain_refusal() {
        let tables = ["tickets", "streets", "districts", "population"].map(String::from);
        let e = explain(
            "SELECT count(*) FROM ticket",
            "Error during planning: table 'datafusion.public.ticket' not found",
            &tables,
        );
        assert_eq!(
            e.hint.as_deref(),
            Some(
                "unknown table `ticket`; closest: `tickets`, `streets`, `districts`; `\\d` in the shell or `SHOW TABLES` lists the tables"
            )
        );
        let e = explain(
            "SELECT 1; SELECT 2",
            "This feature is not implemented: The context currently only supports a single SQL statement",
            &tables,
        );
        assert!(e.message.starts_with("one statement at a time"), "{}", e.message);
    }
}
