//! The pharma/biotech slice of Rounds: drug-safety data. For now the readers of spontaneous-report
//! databases (FDA FAERS quarterly ASCII extracts, or a plain report/drug/event table) that feed
//! disproportionality screening in `stats::disproportionality`.

pub mod error;
pub mod faers;
pub mod job;
pub mod migrations;
pub mod reports;
pub mod runs;
pub mod screening;
pub mod signals;
pub mod web;

pub use error::PharmaError;
pub use reports::{Interner, ReportPairs};
