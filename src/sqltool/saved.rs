//! Saved, parameterised queries: SQL files whose header says what they do and which `$name`
//! parameters they take. Built-in ones live in `queries/saved/`; users add their own folder.
//!
//! ```sql
//! -- streets_by_category: the streets with the most tickets of one category in a period
//! -- param category: a category name at any level
//! -- param period: 2025, 2025Q4, 2025-12 (binds $period_start and $period_end)
//! SELECT … WHERE $category IN (category_l1, category_l2, category_l3) …
//! ```
//!
//! Values are bound as parameters (text), never pasted into the SQL. A parameter called
//! `period` (or ending in `period`) is parsed as a period and binds `$<name>_start` and
//! `$<name>_end` (timestamps) instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use datafusion::common::ScalarValue;

use crate::error;
use crate::period::Period;

pub const BUILTIN: &[(&str, &str)] = &[
    ("category_trend", include_str!("../../queries/saved/category_trend.sql")),
    ("repeat_callers", include_str!("../../queries/saved/repeat_callers.sql")),
    ("streets_by_category", include_str!("../../queries/saved/streets_by_category.sql")),
    ("unit_scores", include_str!("../../queries/saved/unit_scores.sql")),
];

#[derive(Debug, Clone)]
pub struct Saved {
    pub name: String,
    pub description: String,
    /// (name, description) in header order.
    pub params: Vec<(String, String)>,
    pub sql: String,
    /// Where it came from: `built-in` or the file.
    pub source: String,
}

pub fn parse(name: &str, sql: &str, source: &str) -> Saved {
    let mut description = String::new();
    let mut params = Vec::new();
    for line in sql.lines() {
        let Some(c) = line.strip_prefix("--") else { break };
        let c = c.trim();
        if let Some(p) = c.strip_prefix("param ") {
            let (n, d) = p.split_once(':').unwrap_or((p, ""));
            params.push((n.trim().to_string(), d.trim().to_string()));
        } else if description.is_empty() {
            description = c.split_once(':').map(|(_, d)| d.trim()).unwrap_or(c).to_string();
        }
    }
    // placeholders used but not declared still count as parameters
    for p in placeholders(sql) {
        let declared = period_base(&p).unwrap_or(&p);
        if !params.iter().any(|(n, _)| n == declared) {
            params.push((declared.to_string(), String::new()));
        }
    }
    Saved { name: name.to_string(), description, params, sql: sql.to_string(), source: source.to_string() }
}

/// `period` for the placeholders `$period_start` / `$period_end` (any name ending in `period`):
/// they are bound from one `--param period=…`.
fn period_base(placeholder: &str) -> Option<&str> {
    placeholder.strip_suffix("_start").or_else(|| placeholder.strip_suffix("_end")).filter(|b| b.ends_with("period"))
}

/// `$name` placeholders in the SQL text, outside string literals and comments.
pub fn placeholders(sql: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[start..j].iter().collect();
                if !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()) && !out.contains(&name) {
                    out.push(name);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Built-in saved queries and those in `dir` (a user's file overrides a built-in of that name).
pub fn all(dir: Option<&Path>) -> Result<Vec<Saved>> {
    let mut by_name: BTreeMap<String, Saved> =
        BUILTIN.iter().map(|(n, sql)| (n.to_string(), parse(n, sql, "built-in"))).collect();
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            error::usage(format!("cannot read the saved-query folder {}: {e}", dir.display()))
                .hint("--queries-dir (or HOTLINE_QUERIES) must be a folder of .sql files")
        })?;
        let mut files: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "sql")).collect();
        files.sort();
        for f in files {
            let name = f.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            let sql =
                std::fs::read_to_string(&f).map_err(|e| error::usage(format!("cannot read {}: {e}", f.display())))?;
            by_name.insert(name.clone(), parse(&name, &sql, &f.display().to_string()));
        }
    }
    Ok(by_name.into_values().collect())
}

/// Parse `NAME=VALUE` arguments.
pub fn parse_params(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| {
            a.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())).ok_or_else(|| {
                error::usage(format!("--param `{a}` is not NAME=VALUE"))
                    .hint("for example --param category=冬季采暖 --param period=2025Q4")
                    .into()
            })
        })
        .collect()
}

/// The values to bind for `sql`: each placeholder gets its parameter (text), periods expand
/// to `_start` / `_end` timestamps. Missing or unknown parameters are usage errors.
pub fn bind(
    sql: &str,
    what: &str,
    given: &[(String, String)],
    today: chrono::NaiveDate,
) -> Result<Vec<(String, ScalarValue)>> {
    let wanted = placeholders(sql);
    let mut values = Vec::new();
    let mut used = vec![false; given.len()];
    let mut missing = Vec::new();
    for p in &wanted {
        let period_base = period_base(p);
        let key = period_base.unwrap_or(p);
        let Some(i) = given.iter().position(|(k, _)| k == key) else {
            if !missing.contains(&key.to_string()) {
                missing.push(key.to_string());
            }
            continue;
        };
        used[i] = true;
        let raw = &given[i].1;
        let value = match period_base {
            Some(_) => {
                let period = Period::parse(raw, today).map_err(|mut e| {
                    e.message = format!("--param {key}: {}", e.message);
                    e
                })?;
                let d = if p.ends_with("_start") { period.start } else { period.end };
                crate::queries::ts(d)
            }
            None => ScalarValue::Utf8(Some(raw.clone())),
        };
        values.push((p.clone(), value));
    }
    if !missing.is_empty() {
        return Err(error::usage(format!(
            "{what} needs --param {}",
            missing.iter().map(|m| format!("{m}=…")).collect::<Vec<_>>().join(" --param ")
        ))
        .hint("`hotline sql --list` shows every saved query with its parameters")
        .into());
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(error::usage(format!("{what} has no parameter `{}`", given[i].0))
            .hint(format!("its parameters: {}", if wanted.is_empty() { "none".to_string() } else { wanted.join(", ") }))
            .into());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_strings_and_comments() {
        let sql = "-- $not_this\nSELECT '$nor_this', $a FROM t WHERE x = $b_period_start AND y = $a AND z = $1";
        assert_eq!(placeholders(sql), vec!["a", "b_period_start"]);
    }

    #[test]
    fn the_header_documents_the_parameters() {
        let s = parse("streets_by_category", BUILTIN[2].1, "built-in");
        assert_eq!(s.description, "the streets with the most tickets of one category in a period");
        let names: Vec<&str> = s.params.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["category", "period"]);
    }

    #[test]
    fn periods_bind_two_timestamps_and_values_stay_text() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let given = vec![
            ("category".to_string(), "'; DROP TABLE tickets; --".to_string()),
            ("period".to_string(), "2025Q4".to_string()),
        ];
        let v = bind("SELECT $category, $period_start, $period_end", "q", &given, today).unwrap();
        assert_eq!(v[0], ("category".to_string(), ScalarValue::Utf8(Some("'; DROP TABLE tickets; --".into()))));
        assert_eq!(v[1].1, crate::queries::ts(chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap()));
        assert_eq!(v[2].1, crate::queries::ts(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
        let err = bind("SELECT $category", "q", &[], today).unwrap_err().to_string();
        assert!(err.contains("needs --param category=…"), "{err}");
        let err = bind("SELECT 1", "q", &given[..1], today).unwrap_err().to_string();
        assert!(err.contains("has no parameter `category`"), "{err}");
    }
}
