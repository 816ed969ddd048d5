//! Score tables: `scores.csv` (spec §3 columns first, then the numerators and denominators).

use std::io::Write;

use anyhow::Result;

use crate::metrics::UnitScore;

/// The spec's columns, in its order, then hotline's extra columns.
pub const SCORE_COLUMNS: &[&str] = &[
    "period",
    "unit_type",
    "unit",
    "scored_tickets",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "score",
    "rank",
    "unit_group",
    "parent",
    "on_time_rate",
    "score_reweighted",
    "tickets",
    "dispatched",
    "responded_on_time",
    "closed_on_time",
    "resolved_yes",
    "resolved_answered",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
];

/// A float in its shortest exact form (round-trips to the same f64); empty for null.
fn float(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

pub fn write_scores_csv<W: Write>(w: W, period: &str, scores: &[UnitScore]) -> Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(SCORE_COLUMNS)?;
    for s in scores {
        out.write_record([
            period.to_string(),
            s.unit_type.clone(),
            s.unit.clone(),
            s.scored_tickets.to_string(),
            float(s.response_rate),
            float(s.resolution_rate),
            float(s.satisfaction_rate),
            float(s.score),
            s.rank.map(|r| r.to_string()).unwrap_or_default(),
            s.unit_group.clone(),
            s.parent.clone().unwrap_or_default(),
            float(s.on_time_rate),
            s.score_reweighted.to_string(),
            s.tickets.to_string(),
            s.dispatched.to_string(),
            s.responded_on_time.to_string(),
            s.closed_on_time.to_string(),
            s.resolved_yes.to_string(),
            s.resolved_answered.to_string(),
            s.satisfied.to_string(),
            s.basically_satisfied.to_string(),
            s.dissatisfied.to_string(),
        ])?;
    }
    out.flush()?;
    Ok(())
}
