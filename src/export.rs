//! Score tables: the same rows as `scores.csv`, `scores.json`, `scores.parquet` and `scores.xlsx`.
//!
//! One column list ([`COLUMNS`]) drives all four: the spec's columns first (§3), then hotline's.
//! CSV and JSON carry every float in its shortest exact form (it reads back as the same f64).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use crate::metrics::UnitScore;

/// How a column is typed (Parquet) and shown (XLSX).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Text,
    Int,
    /// A rate or share in [0, 1]: `0.00%` in XLSX.
    Rate,
    /// A relative change (0.05 = +5 %): `+0.00%` in XLSX.
    Change,
    /// Score points, hours, per-1000 figures: two decimals in XLSX.
    Number,
    Bool,
}

pub struct Column {
    pub name: &'static str,
    /// Header of the XLSX sheets.
    pub zh: &'static str,
    pub kind: Kind,
}

const fn col(name: &'static str, zh: &'static str, kind: Kind) -> Column {
    Column { name, zh, kind }
}

/// Every column of the score tables, in order. The first nine are the spec's (§3).
pub const COLUMNS: &[Column] = &[
    col("period", "统计期", Kind::Text),
    col("unit_type", "单位类型", Kind::Text),
    col("unit", "单位名称", Kind::Text),
    col("scored_tickets", "考核工单量", Kind::Int),
    col("response_rate", "响应率", Kind::Rate),
    col("resolution_rate", "解决率", Kind::Rate),
    col("satisfaction_rate", "满意率", Kind::Rate),
    col("score", "综合得分", Kind::Number),
    col("rank", "排名", Kind::Int),
    col("unit_group", "排名组", Kind::Text),
    col("parent", "所属区", Kind::Text),
    col("on_time_rate", "按时办结率", Kind::Rate),
    col("score_reweighted", "得分权重重算", Kind::Bool),
    col("tickets", "受理量", Kind::Int),
    col("dispatched", "派单量", Kind::Int),
    col("responded_on_time", "按时响应量", Kind::Int),
    col("closed_on_time", "按时办结量", Kind::Int),
    col("resolved_yes", "已解决量", Kind::Int),
    col("resolved_answered", "解决情况有效回访量", Kind::Int),
    col("satisfied", "满意量", Kind::Int),
    col("basically_satisfied", "基本满意量", Kind::Int),
    col("dissatisfied", "不满意量", Kind::Int),
    col("population", "常住人口", Kind::Int),
    col("tickets_per_1000", "千人诉求量", Kind::Number),
    col("respond_hours_median", "响应时长中位数(小时)", Kind::Number),
    col("respond_hours_p90", "响应时长P90(小时)", Kind::Number),
    col("close_hours_median", "办结时长中位数(小时)", Kind::Number),
    col("close_hours_p90", "办结时长P90(小时)", Kind::Number),
    col("previous_period", "上期", Kind::Text),
    col("tickets_previous", "上期受理量", Kind::Int),
    col("tickets_change_prev", "受理量环比", Kind::Change),
    col("score_previous", "上期得分", Kind::Number),
    col("score_change_prev", "得分环比(分)", Kind::Number),
    col("rank_previous", "上期排名", Kind::Int),
    col("rank_movement", "排名变化(升为正)", Kind::Int),
    col("tickets_year_earlier", "去年同期受理量", Kind::Int),
    col("tickets_change_yoy", "受理量同比", Kind::Change),
    col("score_year_earlier", "去年同期得分", Kind::Number),
    col("score_change_yoy", "得分同比(分)", Kind::Number),
    col("bottom_months", "月度后N名次数", Kind::Int),
    col("bottom_longest_run", "最长连续后N名月数", Kind::Int),
    col("watch_list", "治理类候选", Kind::Bool),
];

/// One cell of a score row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(bool),
}

/// The cells of one unit's row, in [`COLUMNS`] order.
pub fn cells(period: &str, previous_period: &str, s: &UnitScore) -> Vec<Cell> {
    use Cell::*;
    let t = |v: &str| Text(Some(v.to_string()));
    vec![
        t(period),
        t(&s.unit_type),
        t(&s.unit),
        Int(Some(s.scored_tickets)),
        Float(s.response_rate),
        Float(s.resolution_rate),
        Float(s.satisfaction_rate),
        Float(s.score),
        Int(s.rank),
        t(&s.unit_group),
        Text(s.parent.clone()),
        Float(s.on_time_rate),
        Bool(s.score_reweighted),
        Int(Some(s.tickets)),
        Int(Some(s.dispatched)),
        Int(Some(s.responded_on_time)),
        Int(Some(s.closed_on_time)),
        Int(Some(s.resolved_yes)),
        Int(Some(s.resolved_answered)),
        Int(Some(s.satisfied)),
        Int(Some(s.basically_satisfied)),
        Int(Some(s.dissatisfied)),
        Int(s.population),
        Float(s.tickets_per_1000),
        Float(s.respond_hours_median),
        Float(s.respond_hours_p90),
        Float(s.close_hours_median),
        Float(s.close_hours_p90),
        t(previous_period),
        Int(s.tickets_previous),
        Float(s.tickets_change_prev),
        Float(s.score_previous),
        Float(s.score_change_prev),
        Int(s.rank_previous),
        Int(s.rank_movement),
        Int(s.tickets_year_earlier),
        Float(s.tickets_change_yoy),
        Float(s.score_year_earlier),
        Float(s.score_change_yoy),
        Int(s.bottom_months),
        Int(s.bottom_longest_run),
        Bool(s.watch_list),
    ]
}

/// The score table of one period.
pub struct ScoreTable<'a> {
    pub period: &'a str,
    pub previous_period: &'a str,
    pub scores: &'a [UnitScore],
}

impl ScoreTable<'_> {
    fn rows(&self) -> impl Iterator<Item = (&UnitScore, Vec<Cell>)> + '_ {
        self.scores.iter().map(|s| (s, cells(self.period, self.previous_period, s)))
    }

    pub fn write_csv<W: Write>(&self, w: W) -> Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(COLUMNS.iter().map(|c| c.name))?;
        for (_, row) in self.rows() {
            out.write_record(row.iter().map(|c| match c {
                Cell::Text(v) => v.clone().unwrap_or_default(),
                Cell::Int(v) => v.map(|x| x.to_string()).unwrap_or_default(),
                Cell::Float(v) => v.map(|x| format!("{x}")).unwrap_or_default(),
                Cell::Bool(b) => b.to_string(),
            }))?;
        }
        out.flush()?;
        Ok(())
    }

    /// A JSON array of objects, keys in column order, null for missing values.
    pub fn write_json<W: Write>(&self, mut w: W) -> Result<()> {
        writeln!(w, "[")?;
        let n = self.scores.len();
        for (i, (_, row)) in self.rows().enumerate() {
            let fields: Vec<String> = COLUMNS
                .iter()
                .zip(&row)
                .map(|(c, cell)| {
                    let v = match cell {
                        Cell::Text(v) => serde_json::to_string(v),
                        Cell::Int(v) => serde_json::to_string(v),
                        Cell::Float(v) => serde_json::to_string(v),
                        Cell::Bool(b) => serde_json::to_string(b),
                    };
                    format!("\"{}\": {}", c.name, v.expect("a JSON value"))
                })
                .collect();
            writeln!(w, "  {{{}}}{}", fields.join(", "), if i + 1 < n { "," } else { "" })?;
        }
        writeln!(w, "]")?;
        Ok(())
    }

    /// The rows as one Arrow batch (also what scores.parquet holds).
    pub fn batch(&self) -> Result<RecordBatch> {
        let rows: Vec<Vec<Cell>> = self.rows().map(|(_, r)| r).collect();
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (i, c) in COLUMNS.iter().enumerate() {
            let (ty, array): (DataType, ArrayRef) = match c.kind {
                Kind::Text => (
                    DataType::Utf8,
                    Arc::new(StringArray::from_iter(rows.iter().map(|r| match &r[i] {
                        Cell::Text(v) => v.clone(),
                        _ => None,
                    }))),
                ),
                Kind::Int => (
                    DataType::Int64,
                    Arc::new(Int64Array::from_iter(rows.iter().map(|r| match &r[i] {
                        Cell::Int(v) => *v,
                        _ => None,
                    }))),
                ),
                Kind::Rate | Kind::Change | Kind::Number => (
                    DataType::Float64,
                    Arc::new(Float64Array::from_iter(rows.iter().map(|r| match &r[i] {
                        Cell::Float(v) => *v,
                        _ => None,
                    }))),
                ),
                Kind::Bool => (
                    DataType::Boolean,
                    Arc::new(BooleanArray::from_iter(rows.iter().map(|r| match &r[i] {
                        Cell::Bool(b) => Some(*b),
                        _ => None,
                    }))),
                ),
            };
            fields.push(Field::new(c.name, ty, true));
            arrays.push(array);
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }

    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let batch = self.batch()?;
        let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
        w.write(&batch)?;
        w.close()?;
        Ok(())
    }

    /// One sheet per unit type (区 / 街道乡镇 / 部门单位), Chinese headers, rates as percentages.
    /// `created` (Unix seconds) is the document's creation time, so the bytes are reproducible.
    pub fn write_xlsx(&self, path: &Path, created: i64) -> Result<()> {
        use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
        let mut book = Workbook::new();
        let when = ExcelDateTime::from_timestamp(created)?;
        book.set_properties(&DocProperties::new().set_creation_datetime(&when).set_title("hotline scores"));
        let header = Format::new().set_bold().set_text_wrap();
        let formats = |k: Kind| match k {
            Kind::Rate => Some(Format::new().set_num_format("0.00%")),
            Kind::Change => Some(Format::new().set_num_format("+0.00%;-0.00%;0.00%")),
            Kind::Number => Some(Format::new().set_num_format("0.00")),
            _ => None,
        };
        for (unit_type, sheet_name) in [("district", "区"), ("street", "街道乡镇"), ("department", "部门单位")]
        {
            let sheet = book.add_worksheet();
            sheet.set_name(sheet_name)?;
            for (j, c) in COLUMNS.iter().enumerate() {
                sheet.write_string_with_format(0, j as u16, c.zh, &header)?;
                let width = match c.kind {
                    Kind::Text if c.name == "unit" => 26.0,
                    Kind::Text => 12.0,
                    _ => 11.0,
                };
                sheet.set_column_width(j as u16, width)?;
            }
            sheet.set_freeze_panes(1, 3)?;
            let mut r = 1u32;
            for (s, row) in self.rows() {
                if s.unit_type != unit_type {
                    continue;
                }
                for (j, (c, cell)) in COLUMNS.iter().zip(&row).enumerate() {
                    let j = j as u16;
                    match cell {
                        Cell::Text(Some(v)) => {
                            sheet.write_string(r, j, v)?;
                        }
                        Cell::Int(Some(v)) => {
                            sheet.write_number(r, j, *v as f64)?;
                        }
                        Cell::Float(Some(v)) => match formats(c.kind) {
                            Some(f) => {
                                sheet.write_number_with_format(r, j, *v, &f)?;
                            }
                            None => {
                                sheet.write_number(r, j, *v)?;
                            }
                        },
                        Cell::Bool(b) => {
                            sheet.write_boolean(r, j, *b)?;
                        }
                        _ => {}
                    }
                }
                r += 1;
            }
        }
        book.save(path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// `monthly_bottom.csv`: each month's bottom-N per ranking group of the watch-list unit types
/// (monthly_bottom.sql), for the months of the period.
pub fn write_monthly_bottom<W: Write>(w: W, rows: &[crate::metrics::BottomEntry]) -> Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["month", "unit_type", "unit_group", "unit", "parent", "score", "scored_tickets", "bottom_rank"])?;
    for b in rows {
        out.write_record([
            b.month.format("%Y-%m").to_string(),
            b.unit_type.clone(),
            b.unit_group.clone(),
            b.unit.clone(),
            b.parent.clone().unwrap_or_default(),
            b.score.map(|x| format!("{x}")).unwrap_or_default(),
            b.scored_tickets.to_string(),
            b.bottom_rank.to_string(),
        ])?;
    }
    out.flush()?;
    Ok(())
}
