//! The one error type of the statistics crate.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum StatsError {
    /// The input cannot be analysed by this method; `field` names the offending input.
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// One input row cannot be used; `row` counts data rows from 1 and `field` names the input
    /// (`x`, `y` or `n`) so that a caller can name the file's own line and column.
    #[error("row {row}, {field}: {reason}")]
    InvalidObservation {
        row: usize,
        field: &'static str,
        reason: String,
    },
    /// An iterative method did not converge.
    #[error("{method} did not converge: {reason}")]
    NoConvergence {
        method: &'static str,
        reason: String,
    },
    /// The outcome is perfectly predicted by the covariates, so a model has no finite estimate.
    #[error("perfect separation: {reason}")]
    Separation { reason: String },
}

impl StatsError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StatsError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
