//! All integration tests in one binary (one link step, shared helpers).

mod chaos;
mod cli;
mod common;
mod context;
mod difftest;
mod exports;
mod import;
mod intervals;
mod metrics;
mod report;
mod run;
mod scan;
mod sql;
mod units;
