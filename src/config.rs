//! Metric settings (spec §2 defaults). Issue #3 adds hotline.toml on top of these.

use std::sync::Arc;

use anyhow::Result;
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
mod tests {
    use super::*;

    #[test]
    fn departments_fall_into_three_ranking_groups() {
        assert_eq!(unit_group("department", "东华门街道办事处"), "street_office");
        assert_eq!(unit_group("department", "长沟镇人民政府"), "street_office");
        assert_eq!(unit_group("department", "市热力集团"), "enterprise");
        assert_eq!(unit_group("department", "国网北京市电力公司"), "enterprise");
        assert_eq!(unit_group("department", "市水务局"), "municipal");
        assert_eq!(unit_group("street", "东华门街道"), "street");
        assert_eq!(unit_group("district", "东城区"), "district");
    }
}
