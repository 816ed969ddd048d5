//! Settings: the metric rules (spec §2 defaults) and the city, read from `hotline.toml`.
//! Every key is optional; unknown keys and impossible values are errors naming the key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde::Deserialize;

use crate::error::{self, UserError};
use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

pub const UNIT_TYPES: [&str; 3] = ["district", "street", "department"];

/// Groups that are ranked separately within the department unit type: municipal departments
/// (委办局), public-service enterprises (国有企业) and street offices / township governments.
pub const DEPARTMENT_GROUPS: [&str; 3] = ["municipal", "enterprise", "street_office"];

/// The ranking group of a unit. Districts and streets are one group each; a department is a
/// street office when its name ends in 办事处 or 人民政府, an enterprise when it contains 集团
/// or 公司, else a municipal department.
pub fn unit_group(unit_type: &str, unit: &str) -> &'static str {
    match unit_type {
        "district" => "district",
        "street" => "street",
        _ if unit.ends_with("办事处") || unit.ends_with("人民政府") => "street_office",
        _ if unit.contains("集团") || unit.contains("公司") => "enterprise",
        _ => "municipal",
    }
}

/// Deadlines in seconds per urgency class: emergency, utility, general, complex.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Deadlines {
    pub emergency: u64,
    pub utility: u64,
    pub general: u64,
    pub complex: u64,
}

/// Composite-score weights of one unit type.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Weights {
    pub response: f64,
    pub resolution: f64,
    pub satisfaction: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricSettings {
    pub response_deadline: Deadlines,
    pub close_limit: Deadlines,
    /// Weight of satisfied, basically_satisfied, dissatisfied.
    pub satisfaction_weights: [f64; 3],
    /// Composite weights for district, street, department (same order as [`UNIT_TYPES`]).
    pub weights: [Weights; 3],
    pub min_scored_tickets: u64,
    /// Values of `excluded_reason` that take a ticket out of scoring.
    pub excluded_reasons: Vec<String>,
    /// The 治理类 watch list: monthly bottom-N per ranking group of these unit types.
    pub watch_list: WatchList,
    /// Population per district (and street) for per-capita volume.
    pub population: Population,
    /// 每月一题 topics: the report compares their categories before and after the topic month.
    pub topics: Vec<Topic>,
}

/// A 每月一题 topic: taken up in `month` (first day), covering categories of any level.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Topic {
    pub name: String,
    pub month: chrono::NaiveDate,
    pub categories: Vec<String>,
}

/// Months before the topic month, and from it on, that topic_effect.sql compares.
pub const TOPIC_WINDOW_MONTHS: i32 = 6;

/// The `topics` table (topic, category, before_start, before_end, after_start, after_end).
pub fn topics_batch(topics: &[Topic]) -> Result<RecordBatch> {
    use datafusion::arrow::array::TimestampMicrosecondArray;
    let micros = crate::period::micros;
    let ts = DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None);
    let schema = Arc::new(Schema::new(vec![
        Field::new("topic", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("before_start", ts.clone(), false),
        Field::new("before_end", ts.clone(), false),
        Field::new("after_start", ts.clone(), false),
        Field::new("after_end", ts, false),
    ]));
    let rows: Vec<(&Topic, &String)> = topics.iter().flat_map(|t| t.categories.iter().map(move |c| (t, c))).collect();
    let col = |f: &dyn Fn(&Topic) -> i64| -> Arc<dyn datafusion::arrow::array::Array> {
        Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|(t, _)| f(t))))
    };
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(t, _)| t.name.as_str()))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(_, c)| c.as_str()))),
            col(&|t| micros(crate::period::add_months(t.month, -TOPIC_WINDOW_MONTHS))),
            col(&|t| micros(t.month)),
            col(&|t| micros(t.month)),
            col(&|t| micros(crate::period::add_months(t.month, TOPIC_WINDOW_MONTHS))),
        ],
    )?)
}

/// Which units are watched for a monthly bottom-N place, and for how many months in a row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WatchList {
    pub unit_types: Vec<String>,
    pub bottom: u64,
    pub months: u64,
}

/// One row of the population table: a district (street none) or a street of a district.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationRow {
    pub district: String,
    pub street: Option<String>,
    pub population: u64,
}

/// The population table and where it came from (`builtin`, a file path, or none).
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub source: String,
    pub sha256: Option<String>,
    pub rows: Vec<PopulationRow>,
}

impl serde::Serialize for Population {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Population", 3)?;
        st.serialize_field("source", &self.source)?;
        st.serialize_field("sha256", &self.sha256)?;
        st.serialize_field("rows", &self.rows.len())?;
        st.end()
    }
}

/// Beijing's 16 districts, 2020 census (data/reference/population.csv).
pub const BUILTIN_POPULATION_CSV: &str = include_str!("../../data/reference/population.csv");

impl Population {
    pub fn builtin() -> Population {
        let rows = parse_population(BUILTIN_POPULATION_CSV, "builtin population table").expect("valid builtin table");
        Population {
            source: "builtin".into(),
            sha256: Some(crate::hash::sha256_hex(BUILTIN_POPULATION_CSV.as_bytes())),
            rows,
        }
    }

    pub fn none() -> Population {
        Population { source: String::new(), sha256: None, rows: Vec::new() }
    }

    /// Read a population CSV (`district,street,population`; UTF-8, optional BOM): a regular file
    /// of at most [`POPULATION_MAX_BYTES`] (a device or a huge file is refused before reading).
    pub fn from_file(path: &Path) -> Result<Population, UserError> {
        use std::io::Read;
        let hint = "set `population.file` in hotline.toml to a CSV with columns district,street,population, or to \"builtin\" or \"\"";
        let cannot =
            |e: String| error::usage(format!("cannot read the population table {}: {e}", path.display())).hint(hint);
        let file = std::fs::File::open(path).map_err(|e| cannot(e.to_string()))?;
        let meta = file.metadata().map_err(|e| cannot(e.to_string()))?;
        if !meta.is_file() {
            return Err(cannot("not a regular file".into()));
        }
        let mut bytes = Vec::new();
        file.take(POPULATION_MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| cannot(e.to_string()))?;
        if bytes.len() as u64 > POPULATION_MAX_BYTES {
            return Err(cannot(format!("larger than {} MiB", POPULATION_MAX_BYTES >> 20)));
        }
        let sha256 = Some(crate::hash::sha256_hex(&bytes));
        let text = String::from_utf8(bytes)
            .map_err(|_| error::data(format!("{}: not UTF-8 text", path.display())).hint("save the CSV as UTF-8"))?;
        let rows = parse_population(text.trim_start_matches('\u{feff}'), &path.display().to_string())?;
        Ok(Population { source: path.display().to_string(), sha256, rows })
    }
}

/// Parse `district,street,population` rows; errors name the source, line and column.
pub fn parse_population(text: &str, source: &str) -> Result<Vec<PopulationRow>, UserError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| error::data(format!("{source}: cannot read the header: {e}")))?.clone();
    let want = ["district", "street", "population"];
    if headers.iter().collect::<Vec<_>>() != want {
        // the line itself is not quoted: a path pointed at the wrong file must not print its content
        return Err(error::data(format!(
            "{source}: the first line ({} fields) is not the header `district,street,population`",
            headers.len()
        ))
        .hint("one row per district (street empty) and/or per street; population a whole number"));
    }
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| error::data(format!("{source}: {e}")))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let at = |col: &str| format!("{source}, line {line}, column `{col}`");
        let district = record.get(0).unwrap_or("").to_string();
        if district.is_empty() {
            return Err(error::data(format!("{}: the district is empty", at("district"))));
        }
        let street = record.get(1).filter(|s| !s.is_empty()).map(str::to_string);
        let raw = record.get(2).unwrap_or("");
        let population: u64 = raw
            .replace(['_', ','], "")
            .parse()
            .map_err(|_| error::data(format!("{}: `{raw}` is not a whole number of people", at("population"))))?;
        if !seen.insert((district.clone(), street.clone())) {
            return Err(error::data(format!(
                "{source}, line {line}: {district} {} appears twice",
                street.as_deref().unwrap_or("(district row)")
            )));
        }
        rows.push(PopulationRow { district, street, population });
    }
    Ok(rows)
}

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

impl Default for MetricSettings {
    fn default() -> Self {
        let w = Weights { response: 0.10, resolution: 0.45, satisfaction: 0.45 };
        MetricSettings {
            response_deadline: Deadlines { emergency: 2 * HOUR, utility: DAY, general: DAY, complex: DAY },
            close_limit: Deadlines { emergency: 2 * HOUR, utility: DAY, general: 7 * DAY, complex: 15 * DAY },
            satisfaction_weights: [1.0, 1.0, 0.0],
            weights: [w, w, w],
            min_scored_tickets: 30,
            excluded_reasons: crate::schema::EXCLUDED_REASONS.iter().map(|s| s.to_string()).collect(),
            watch_list: WatchList { unit_types: vec!["street".into()], bottom: 10, months: 3 },
            population: Population::builtin(),
            topics: Vec::new(),
        }
    }
}

/// The `unit_groups` table (unit_type, unit, unit_group) for the given units.
pub fn unit_groups_batch(units: &[(String, String)]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("unit_type", DataType::Utf8, false),
        Field::new("unit", DataType::Utf8, false),
        Field::new("unit_group", DataType::Utf8, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(units.iter().map(|(t, _)| t.as_str()))),
            Arc::new(StringArray::from_iter_values(units.iter().map(|(_, u)| u.as_str()))),
            Arc::new(StringArray::from_iter_values(units.iter().map(|(t, u)| unit_group(t, u)))),
        ],
    )?)
}

/// The `population` table (district, street, population) that unit_report.sql joins.
pub fn population_batch(p: &Population) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("district", DataType::Utf8, false),
        Field::new("street", DataType::Utf8, true),
        Field::new("population", DataType::Int64, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(p.rows.iter().map(|r| r.district.as_str()))),
            Arc::new(StringArray::from_iter(p.rows.iter().map(|r| r.street.as_deref()))),
            Arc::new(Int64Array::from_iter_values(p.rows.iter().map(|r| r.population as i64))),
        ],
    )?)
}

/// The `watch_types` table (unit_type) that monthly_bottom.sql and unit_report.sql join.
pub fn watch_types_batch(w: &WatchList) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![Field::new("unit_type", DataType::Utf8, false)]));
    Ok(RecordBatch::try_new(schema, vec![Arc::new(StringArray::from_iter_values(w.unit_types.iter()))])?)
}

/// The `excluded_reasons` table that ticket_facts.sql joins.
pub fn excluded_reasons_batch(reasons: &[String]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![Field::new("reason", DataType::Utf8, false)]));
    Ok(RecordBatch::try_new(schema, vec![Arc::new(StringArray::from_iter_values(reasons.iter()))])?)
}

/// Everything `hotline.toml` sets.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Config {
    /// City name as printed in the report (北京市), and in English reports.
    pub city: String,
    pub city_en: String,
    /// IANA time zone of the archive's wall-clock timestamps; `last-*` periods use today there.
    pub time_zone: String,
    pub metrics: MetricSettings,
    /// What `hotline run` does.
    pub run: RunSettings,
}

/// The `[run]` section: what a scheduled `hotline run` reads, writes and reports on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSettings {
    /// Archive folder or file; relative paths are read from the config file's folder.
    pub archive: PathBuf,
    /// Parent folder of the report folders.
    pub out: PathBuf,
    /// The period to report: usually `last-quarter` (also `last-month`, `last-year`, or fixed).
    pub period: String,
    /// `zh` or `en`.
    pub lang: String,
    pub pdf: bool,
    /// Unit types that also get one PDF per unit (district, street, department); empty: none.
    pub units: Vec<String>,
    /// A file that every run appends its progress and summary to.
    pub log: Option<PathBuf>,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            archive: PathBuf::from(crate::args::DEFAULT_ARCHIVE),
            out: PathBuf::from("output"),
            period: "last-quarter".into(),
            lang: "zh".into(),
            pdf: true,
            units: Vec::new(),
            log: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            city: "北京市".into(),
            city_en: "Beijing".into(),
            time_zone: "Asia/Shanghai".into(),
            metrics: MetricSettings::default(),
            run: RunSettings::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    city: Option<RawCity>,
    response_deadline: Option<RawDeadlines>,
    close_limit: Option<RawDeadlines>,
    satisfaction_weights: Option<RawSatisfaction>,
    weights: Option<RawUnitWeights>,
    ranking: Option<RawRanking>,
    exclusions: Option<RawExclusions>,
    watch_list: Option<RawWatchList>,
    population: Option<RawPopulation>,
    topics: Option<Vec<RawTopic>>,
    run: Option<RawRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    name: String,
    month: String,
    categories: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    archive: Option<String>,
    out: Option<String>,
    period: Option<String>,
    lang: Option<String>,
    pdf: Option<bool>,
    units: Option<Vec<String>>,
    log: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatchList {
    unit_types: Option<Vec<String>>,
    bottom: Option<u64>,
    months: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCity {
    name: Option<String>,
    name_en: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadlines {
    emergency: Option<String>,
    utility: Option<String>,
    general: Option<String>,
    complex: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSatisfaction {
    satisfied: Option<f64>,
    basically_satisfied: Option<f64>,
    dissatisfied: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnitWeights {
    district: Option<RawWeights>,
    street: Option<RawWeights>,
    department: Option<RawWeights>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    response: f64,
    resolution: f64,
    satisfaction: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRanking {
    min_scored_tickets: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclusions {
    reasons: Vec<String>,
}

/// The largest population table read (a district and street table is a few kilobytes).
pub const POPULATION_MAX_BYTES: u64 = 16 << 20;

/// The longest deadline or limit a setting may have: a year (366 days).
pub const MAX_DURATION_SECONDS: u64 = 366 * 86400;

/// The largest `ranking.min_scored_tickets`.
pub const MAX_MIN_SCORED_TICKETS: u64 = 1_000_000_000;

/// `2h`, `24h`, `7d`, `90m`, `3600s` → seconds; must be positive and at most a year.
pub fn parse_duration(key: &str, text: &str) -> Result<u64, UserError> {
    let bad = || {
        error::usage(format!("`{key}` = \"{text}\" is not a valid duration"))
            .hint("write a positive whole number with a unit: 90m, 2h, 7d (s, m, h, d)")
    };
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    match n.checked_mul(factor) {
        Some(secs) if secs <= MAX_DURATION_SECONDS => Ok(secs),
        _ => Err(error::usage(format!("`{key}` = \"{text}\" is longer than a year"))
            .hint("deadlines and time limits are at most 366d")),
    }
}

impl Config {
    /// Read `path`; none → `./hotline.toml` when it exists, else the defaults.
    /// Returns the config and the file it came from.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>)> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("hotline.toml")).filter(|p| p.is_file()),
        };
        let Some(path) = path else { return Ok((Config::default(), None)) };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            error::usage(format!("cannot read the config file {}: {e}", path.display()))
                .hint("pass an existing file with --config, or leave it out to use the defaults")
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let config = Config::parse_in(&text, &base).map_err(|mut e| {
            e.message = format!("{}: {}", path.display(), e.message);
            e
        })?;
        Ok((config, Some(path)))
    }

    /// Parse settings; relative file paths in them are taken from the current folder.
    pub fn parse(text: &str) -> Result<Config, UserError> {
        Config::parse_in(text, Path::new(""))
    }

    /// Parse settings; relative file paths in them (the population table) are taken from `base`,
    /// the folder of the config file.
    pub fn parse_in(text: &str, base: &Path) -> Result<Config, UserError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            error::usage(format!("invalid configuration: {}", e.to_string().trim_end()))
                .hint("the keys and their defaults are documented in hotline.toml at the top of the repository")
        })?;
        let mut c = Config::default();
        if let Some(city) = raw.city {
            if let Some(name) = city.name {
                c.city = name;
            }
            if let Some(name) = city.name_en {
                c.city_en = name;
            }
            if let Some(tz) = city.time_zone {
                tz.parse::<chrono_tz::Tz>().map_err(|_| {
                    error::usage(format!("`city.time_zone` = \"{tz}\" is not a known time zone"))
                        .hint("use an IANA name such as Asia/Shanghai or America/New_York")
                })?;
                c.time_zone = tz;
            }
        }
        let m = &mut c.metrics;
        for (section, raw, target) in [
            ("response_deadline", raw.response_deadline, &mut m.response_deadline),
            ("close_limit", raw.close_limit, &mut m.close_limit),
        ] {
            if let Some(d) = raw {
                for (name, value, slot) in [
                    ("emergency", d.emergency, &mut target.emergency),
                    ("utility", d.utility, &mut target.utility),
                    ("general", d.general, &mut target.general),
                    ("complex", d.complex, &mut target.complex),
                ] {
                    if let Some(v) = value {
                        *slot = parse_duration(&format!("{section}.{name}"), &v)?;
                    }
                }
            }
        }
        if let Some(sw) = raw.satisfaction_weights {
            for (i, (name, v)) in [
                ("satisfied", sw.satisfied),
                ("basically_satisfied", sw.basically_satisfied),
                ("dissatisfied", sw.dissatisfied),
            ]
            .into_iter()
            .enumerate()
            {
                if let Some(v) = v {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(error::usage(format!("`satisfaction_weights.{name}` = {v} is outside [0, 1]")));
                    }
                    m.satisfaction_weights[i] = v;
                }
            }
        }
        if let Some(w) = raw.weights {
            for (i, (name, v)) in
                [("district", w.district), ("street", w.street), ("department", w.department)].into_iter().enumerate()
            {
                if let Some(v) = v {
                    let parts = [v.response, v.resolution, v.satisfaction];
                    if parts.iter().any(|x| !(0.0..=1.0).contains(x)) {
                        return Err(error::usage(format!("`weights.{name}`: each weight must be in [0, 1]")));
                    }
                    let sum: f64 = parts.iter().sum();
                    if (sum - 1.0).abs() > 1e-9 {
                        return Err(error::usage(format!(
                            "`weights.{name}`: response + resolution + satisfaction = {sum}, must be 1"
                        )));
                    }
                    m.weights[i] =
                        Weights { response: v.response, resolution: v.resolution, satisfaction: v.satisfaction };
                }
            }
        }
        if let Some(n) = raw.ranking.and_then(|r| r.min_scored_tickets) {
            if n > MAX_MIN_SCORED_TICKETS {
                return Err(error::usage(format!(
                    "`ranking.min_scored_tickets` = {n} is above {MAX_MIN_SCORED_TICKETS}"
                ))
                .hint("the number of scored tickets a unit needs to be ranked, e.g. 30"));
            }
            m.min_scored_tickets = n;
        }
        if let Some(x) = raw.exclusions {
            for r in &x.reasons {
                if !crate::schema::EXCLUDED_REASONS.contains(&r.as_str()) {
                    return Err(error::usage(format!("`exclusions.reasons`: unknown reason `{r}`"))
                        .hint(format!("known reasons: {}", crate::schema::EXCLUDED_REASONS.join(", "))));
                }
            }
            m.excluded_reasons = x.reasons;
        }
        if let Some(w) = raw.watch_list {
            if let Some(types) = w.unit_types {
                for t in &types {
                    if !UNIT_TYPES.contains(&t.as_str()) {
                        return Err(error::usage(format!("`watch_list.unit_types`: unknown unit type `{t}`"))
                            .hint(format!("unit types: {}", UNIT_TYPES.join(", "))));
                    }
                }
                m.watch_list.unit_types = types;
            }
            if let Some(n) = w.bottom {
                if n == 0 {
                    return Err(error::usage("`watch_list.bottom` = 0: must be at least 1"));
                }
                m.watch_list.bottom = n;
            }
            if let Some(n) = w.months {
                if !(1..=12).contains(&n) {
                    return Err(error::usage(format!("`watch_list.months` = {n}: must be between 1 and 12")));
                }
                m.watch_list.months = n;
            }
        }
        if let Some(r) = raw.run {
            let path = |p: String| if p.is_empty() { PathBuf::new() } else { base.join(p) };
            if let Some(a) = r.archive {
                c.run.archive = path(a);
            }
            if let Some(o) = r.out {
                c.run.out = path(o);
            }
            if let Some(p) = r.period {
                // checked now, so a scheduler learns of a typo before the first run
                crate::period::Period::parse(&p, chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("date")).map_err(
                    |e| {
                        error::usage(format!("`run.period` = \"{p}\": {}", e.message))
                            .hint("2025, 2025Q3, 2025-07, last-year, last-quarter or last-month")
                    },
                )?;
                c.run.period = p;
            }
            if let Some(l) = r.lang {
                if l != "zh" && l != "en" {
                    return Err(error::usage(format!("`run.lang` = \"{l}\": must be \"zh\" or \"en\"")));
                }
                c.run.lang = l;
            }
            if let Some(p) = r.pdf {
                c.run.pdf = p;
            }
            if let Some(u) = r.units {
                c.run.units = if u.is_empty() {
                    Vec::new()
                } else {
                    crate::render::units::parse_unit_types(&u.join(","))
                        .map_err(|e| error::usage(format!("`run.units`: {e}")))?
                };
            }
            c.run.log = r.log.filter(|l| !l.is_empty()).map(|l| base.join(l));
        }
        let m = &mut c.metrics;
        for (i, t) in raw.topics.unwrap_or_default().into_iter().enumerate() {
            let key = format!("topics[{}] ({})", i + 1, t.name);
            let month = chrono::NaiveDate::parse_from_str(&format!("{}-01", t.month.trim()), "%Y-%m-%d")
                .map_err(|_| error::usage(format!("`{key}.month` = \"{}\": use YYYY-MM", t.month)))?;
            if t.categories.iter().all(|c| c.trim().is_empty()) {
                return Err(error::usage(format!("`{key}.categories` is empty: name at least one category")));
            }
            m.topics.push(Topic { name: t.name, month, categories: t.categories });
        }
        if let Some(p) = raw.population {
            m.population = match p.file.as_str() {
                "builtin" => Population::builtin(),
                "" => Population::none(),
                f => Population::from_file(&base.join(f)).map_err(|mut e| {
                    e.message = format!("`population.file`: {}", e.message);
                    e
                })?,
            };
        }
        Ok(c)
    }

    /// Today's date in the configured time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        let tz: chrono_tz::Tz = self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        chrono::Utc::now().with_timezone(&tz).date_naive()
    }
}

impl MetricSettings {
    /// The `score_settings` table that unit_scores.sql joins: one row per unit type.
    pub fn score_settings_batch(&self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("unit_type", DataType::Utf8, false),
            Field::new("w_response", DataType::Float64, false),
            Field::new("w_resolution", DataType::Float64, false),
            Field::new("w_satisfaction", DataType::Float64, false),
            Field::new("weight_satisfied", DataType::Float64, false),
            Field::new("weight_basically_satisfied", DataType::Float64, false),
            Field::new("weight_dissatisfied", DataType::Float64, false),
            Field::new("min_scored_tickets", DataType::Int64, false),
        ]));
        let [ws, wb, wd] = self.satisfaction_weights;
        let n = UNIT_TYPES.len();
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(UNIT_TYPES.to_vec())),
                Arc::new(Float64Array::from_iter_values(self.weights.iter().map(|w| w.response))),
                Arc::new(Float64Array::from_iter_values(self.weights.iter().map(|w| w.resolution))),
                Arc::new(Float64Array::from_iter_values(self.weights.iter().map(|w| w.satisfaction))),
                Arc::new(Float64Array::from(vec![ws; n])),
                Arc::new(Float64Array::from(vec![wb; n])),
                Arc::new(Float64Array::from(vec![wd; n])),
                Arc::new(Int64Array::from(vec![self.min_scored_tickets as i64; n])),
            ],
        )?)
    }
}

#[cfg(test)]
mod tests;
