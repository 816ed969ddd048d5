//! Mappings: how an export's columns and values become the canonical schema (a TOML file, or
//! one of the built-in presets in data/mappings/).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{self, UserError};
use crate::schema::COLUMNS;

pub const PRESETS: &[(&str, &str)] = &[
    ("canonical", include_str!("../../data/mappings/canonical.toml")),
    ("beijing-zh", include_str!("../../data/mappings/beijing-zh.toml")),
    ("nyc311", include_str!("../../data/mappings/nyc311.toml")),
    ("boston311", include_str!("../../data/mappings/boston311.toml")),
    ("open311", include_str!("../../data/mappings/open311.toml")),
];

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `auto` (UTF-8 with or without BOM, else GB18030), `utf-8` or `gb18030` (also `gbk`).
    #[serde(default)]
    pub encoding: Option<String>,
    /// chrono formats tried in order for every timestamp column.
    #[serde(default)]
    pub timestamp_formats: Vec<String>,
    /// The plausible times (`YYYY-MM-DD`, from inclusive, to exclusive): a time outside them is a
    /// typo or a placeholder and its row is quarantined. Default: 2000-01-01 to a year after today.
    #[serde(default)]
    pub plausible_from: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub plausible_to: Option<chrono::NaiveDate>,
}

/// A mapping file. Every section is optional except `columns`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(skip)]
    pub name: String,
    #[serde(default)]
    pub source: Source,
    /// canonical column = source header
    pub columns: BTreeMap<String, String>,
    /// canonical column → (source value → canonical value)
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// canonical column = value, for every row
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// canonical column = value, when the row's own value is empty
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// canonical column = another canonical column, copied when the row's own value is empty
    #[serde(default)]
    pub derive: BTreeMap<String, String>,
    /// canonical column = { from = source header, pattern = regular expression }: the first
    /// capture group of the pattern in that source column, when the row's own value is empty
    /// (then `[defaults]` when the pattern does not match)
    #[serde(default)]
    pub extract: BTreeMap<String, Extract>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    pub from: String,
    pub pattern: String,
    #[serde(skip)]
    pub regex: Option<regex::Regex>,
}

impl Mapping {
    /// A preset by name, or a TOML file by path.
    pub fn load(spec: &str) -> Result<Mapping, UserError> {
        if let Some((name, text)) = PRESETS.iter().find(|(n, _)| *n == spec) {
            return Mapping::parse(name, text);
        }
        let path = Path::new(spec);
        if !path.is_file() {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            return Err(error::usage(format!("no mapping `{spec}`: not a built-in preset and not a file"))
                .hint(format!("presets: {}; or a mapping .toml (docs/importing.md)", names.join(", "))));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| error::usage(format!("cannot read the mapping {}: {e}", path.display())))?;
        Mapping::parse(&path.display().to_string(), &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Mapping, UserError> {
        let mut m: Mapping = toml::from_str(text)
            .map_err(|e| error::usage(format!("invalid mapping {name}: {}", e.to_string().trim_end())))?;
        m.name = name.to_string();
        let known = |c: &str| COLUMNS.iter().any(|k| k.name == c);
        let sections = [
            ("columns", m.columns.keys().collect::<Vec<_>>()),
            ("values", m.values.keys().collect()),
            ("constants", m.constants.keys().collect()),
            ("defaults", m.defaults.keys().collect()),
            ("derive", m.derive.keys().chain(m.derive.values()).collect()),
            ("extract", m.extract.keys().collect()),
        ];
        for (section, keys) in sections {
            for k in keys {
                if !known(k) {
                    let hint = crate::schema::closest(k).map(|c| format!("did you mean `{c}`?")).unwrap_or_default();
                    return Err(error::usage(format!("mapping {name}: `{section}.{k}` is not a canonical column"))
                        .hint(if hint.is_empty() {
                            "the canonical columns are listed in README \"The archive\"".into()
                        } else {
                            hint
                        }));
                }
            }
        }
        for (column, x) in m.extract.iter_mut() {
            let re = regex::Regex::new(&x.pattern)
                .map_err(|e| error::usage(format!("mapping {name}: `extract.{column}` has an invalid pattern: {e}")))?;
            if re.captures_len() < 2 {
                return Err(error::usage(format!(
                    "mapping {name}: the pattern of `extract.{column}` has no capture group"
                ))
                .hint("put the part to keep in parentheses, e.g. pattern = \"(\\S+区)\""));
            }
            x.regex = Some(re);
        }
        for c in COLUMNS.iter().filter(|c| !c.nullable) {
            let covered = m.columns.contains_key(c.name)
                || m.extract.contains_key(c.name)
                || m.constants.contains_key(c.name)
                || m.derive.contains_key(c.name)
                || m.defaults.contains_key(c.name);
            if !covered {
                return Err(error::usage(format!(
                    "mapping {name} gives no source for the required column `{}`",
                    c.name
                ))
                .hint("map it under [columns], or set it under [constants] or [defaults]"));
            }
        }
        if m.source.timestamp_formats.is_empty() {
            m.source.timestamp_formats = vec!["%Y-%m-%d %H:%M:%S".into(), "%Y-%m-%dT%H:%M:%S".into()];
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_covers_the_required_columns() {
        for (name, _) in PRESETS {
            let m = Mapping::load(name).unwrap_or_else(|e| panic!("{name}: {}", e.message));
            assert!(!m.source.timestamp_formats.is_empty(), "{name}");
        }
    }

    #[test]
    fn mapping_errors_name_the_key() {
        let e = Mapping::parse("m.toml", "[columns]\nticket_idd = \"id\"\n").unwrap_err();
        assert!(e.message.contains("`columns.ticket_idd` is not a canonical column"), "{}", e.message);
        let e = Mapping::parse("m.toml", "[columns]\nticket_id = \"id\"\n").unwrap_err();
        assert!(e.message.contains("no source for the required column `received_at`"), "{}", e.message);
        assert!(Mapping::load("nyc-311").unwrap_err().message.contains("not a built-in preset"));
        let base = "[columns]\nticket_id = \"id\"\nreceived_at = \"t\"\nrequest_type = \"k\"\ncategory_l1 = \"c\"\n";
        let e = Mapping::parse(
            "m.toml",
            &format!("{base}[extract]\ndistrict = {{ from = \"s\", pattern = \"A\\\\d+区\" }}\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("the pattern of `extract.district` has no capture group"), "{}", e.message);
        let e =
            Mapping::parse("m.toml", &format!("{base}[extract]\ndistrict = {{ from = \"s\", pattern = \"(A\" }}\n"))
                .unwrap_err();
        assert!(e.message.contains("`extract.district` has an invalid pattern"), "{}", e.message);
        let ok = Mapping::parse(
            "m.toml",
            &format!("{base}[extract]\ndistrict = {{ from = \"s\", pattern = \"(A\\\\d+区)\" }}\n"),
        )
        .unwrap();
        assert_eq!(ok.extract["district"].regex.as_ref().unwrap().as_str(), "(A\\d+区)");
    }
}
