//! The interactive shell of `hotline sql`: line editing and history (rustyline), statements
//! that end with `;` over several lines, `\d` / `\d NAME` / `\q`, and Ctrl-C that cancels the
//! running query instead of the shell. Without a terminal it reads the same input from stdin.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Result;
use datafusion::prelude::SessionContext;
use rustyline::error::ReadlineError;

use super::{INTERRUPTED, output};
use crate::args::SqlFormat;

extern "C" fn on_sigint(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// While a query runs the terminal is in cooked mode and Ctrl-C is a SIGINT: catch it.
fn catch_ctrl_c() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(SigHandler::Handler(on_sigint), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let _ = sigaction(Signal::SIGINT, &action);
    }
}

fn history_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let dir = base.join("hotline");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("sql_history"))
}

pub struct Shell<'a> {
    pub rt: &'a tokio::runtime::Runtime,
    pub ctx: &'a SessionContext,
    pub format: SqlFormat,
    pub max_rows: usize,
    pub timeout: Option<std::time::Duration>,
}

impl Shell<'_> {
    pub fn run(&self) -> Result<()> {
        catch_ctrl_c();
        let mut editor = rustyline::DefaultEditor::new()?;
        let history = history_file();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        eprintln!("hotline sql — end a statement with ;   \\d tables   \\d NAME columns   \\q quit");
        let mut buffer = String::new();
        loop {
            let prompt = if buffer.is_empty() { "hotline> " } else { "     ..> " };
            match editor.readline(prompt) {
                Ok(line) => {
                    let trimmed = line.trim();
                    if trimmed.starts_with('\\') {
                        // a command, even in the middle of a statement (which it drops, saying so)
                        if !buffer.is_empty() {
                            eprintln!(
                                "(the unfinished statement `{}` was dropped: a statement ends with ;)",
                                buffer.trim()
                            );
                            buffer.clear();
                        }
                        let _ = editor.add_history_entry(trimmed);
                        if !self.command(trimmed)? {
                            break;
                        }
                        continue;
                    }
                    // the habits of other shells (psql's help and quit, sqlite's and DuckDB's dot
                    // commands) are answered, not taken as the start of a statement
                    if buffer.is_empty() {
                        let word = trimmed.trim_end_matches(';').to_ascii_lowercase();
                        match word.as_str() {
                            "help" | "?" | ".help" => {
                                self.command("\\?")?;
                                continue;
                            }
                            "exit" | "quit" | ".exit" | ".quit" => break,
                            w if w.starts_with('.') => {
                                eprintln!(
                                    "`{trimmed}`: this shell has no dot commands; \\? lists its commands, and the output \
                                     format is chosen when it starts (hotline sql --format csv|json|…)"
                                );
                                continue;
                            }
                            _ => {}
                        }
                    }
                    if trimmed.is_empty() && buffer.is_empty() {
                        continue;
                    }
                    buffer.push_str(&line);
                    buffer.push('\n');
                    if trimmed.ends_with(';') {
                        let sql = buffer.trim().trim_end_matches(';').to_string();
                        buffer.clear();
                        let _ = editor.add_history_entry(sql.clone() + ";");
                        self.query(&sql);
                    }
                }
                // Ctrl-C at the prompt drops the statement being typed
                Err(ReadlineError::Interrupted) => buffer.clear(),
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        Ok(())
    }

    /// A backslash command; false = quit.
    fn command(&self, line: &str) -> Result<bool> {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("\\q"), _) => return Ok(false),
            (Some("\\d"), None) => self.query(
                "SELECT table_name, table_type FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY table_type, table_name",
            ),
            // the archive's columns with their meaning (受理时间 …) and whether every ticket has them
            (Some("\\d"), Some("tickets")) => self.query("SELECT * FROM ticket_columns"),
            (Some("\\d"), Some(name)) => {
                // the types as SQL names them, not Arrow's (Utf8View, Timestamp(µs))
                let sql = "SELECT column_name, CASE WHEN data_type LIKE '%Utf8%' THEN 'text' \
                           WHEN data_type LIKE 'Timestamp%' THEN 'timestamp' WHEN data_type = 'Date32' THEN 'date' \
                           WHEN data_type = 'Int64' THEN 'bigint' WHEN data_type = 'Float64' THEN 'double' \
                           ELSE lower(data_type) END AS type, is_nullable FROM information_schema.columns \
                           WHERE table_schema = 'public' AND table_name = $name ORDER BY ordinal_position";
                let params = vec![("name".to_string(), datafusion::common::ScalarValue::Utf8(Some(name.to_string())))];
                self.show(sql, params);
            }
            (Some("\\?"), _) | (Some("\\h"), _) => {
                eprintln!(
                    "\\d         list tables and views\n\\d NAME    columns of a table\n\\q         quit\nSQL ends with ; and may span lines; Ctrl-C cancels a running query."
                )
            }
            _ => eprintln!("unknown command {line}; \\? lists the commands"),
        }
        Ok(true)
    }

    fn query(&self, sql: &str) {
        self.show(sql, Vec::new());
    }

    fn show(&self, sql: &str, params: Vec<(String, datafusion::common::ScalarValue)>) {
        let started = Instant::now();
        match super::run(self.rt, self.ctx, sql, params, self.timeout) {
            Ok((schema, batches)) => {
                let mut out = std::io::stdout();
                let format = match self.format {
                    SqlFormat::Parquet | SqlFormat::Xlsx => SqlFormat::Table,
                    f => f,
                };
                match output::write(&mut out, &schema, &batches, format, self.max_rows) {
                    Ok(shown) => {
                        let _ = out.flush();
                        let total = output::rows(&batches);
                        let footer = if format == SqlFormat::Table {
                            output::footer(total, shown)
                        } else {
                            output::footer(total, total)
                        };
                        eprintln!("{footer} in {:.3} s", started.elapsed().as_secs_f64());
                    }
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
            Err(e) => crate::error::print(&e),
        }
    }
}
