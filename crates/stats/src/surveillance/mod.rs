//! Outbreak detection on count series: Farrington flexible and Noufaily, EARS C1–C3 and a
//! CUSUM for counts. Reference: R package `surveillance` 1.20.3 (`farringtonFlexible`, `earsC`,
//! `cusum`); `tests/parity/surveillance.rs` checks every method against its output.
//!
//! A series is a slice of counts at consecutive periods (weeks, or days for EARS/CUSUM); "the same
//! week k years ago" is 52·k periods earlier, as in `surveillance` for a series of frequency 52.
//! Every method returns one [`Evaluation`] per evaluated period. Where the method has no
//! threshold (too little history, too few recent cases, a degenerate baseline) the evaluation says
//! why instead of carrying a NaN, and it never alarms.

mod cusum;
mod discrete;
mod ears;
mod farrington;
mod glm;

pub use cusum::{CusumControl, cusum};
pub use ears::{EarsControl, EarsMethod, ears_c};
pub use farrington::{FarringtonControl, PowerTransform, ThresholdMethod, farrington_flexible};

use crate::StatsError;
use std::ops::Range;

/// The verdict of a method for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Index of the period in the series (0-based).
    pub index: usize,
    /// The observed count.
    pub count: f64,
    /// The expected count, where the method defines one and `surveillance` reports it.
    pub expected: Option<f64>,
    /// The upper bound: a count above it raises the alarm.
    pub threshold: Option<f64>,
    pub alarm: bool,
    /// Why there is no threshold (`None` when there is one).
    pub no_threshold: Option<NoThreshold>,
}

/// Why a period has no threshold. These rows never alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoThreshold {
    /// The period lacks the history the method needs (`needed` earlier periods).
    HistoryTooShort { needed: usize },
    /// Farrington's "limit54": fewer than `cases` cases in the last `periods` periods.
    TooFewRecentCases { cases: u32, periods: usize },
    /// The quasi-Poisson model did not converge, with or without trend.
    ModelDidNotConverge,
    /// The baseline has no variation (EARS) or no cases (CUSUM), so no finite bound exists.
    DegenerateBaseline,
    /// The fitted model gives no finite bound (e.g. an infinite upper quantile of the mean).
    NoFiniteBound,
}

impl NoThreshold {
    /// A short human-readable reason, for reports and JSON output.
    pub fn reason(&self) -> String {
        match self {
            NoThreshold::HistoryTooShort { needed } => {
                format!("no threshold: needs {needed} earlier periods")
            }
            NoThreshold::TooFewRecentCases { cases, periods } => {
                format!("no threshold: fewer than {cases} cases in the last {periods} periods")
            }
            NoThreshold::ModelDidNotConverge => {
                "no threshold: the model did not converge".to_string()
            }
            NoThreshold::DegenerateBaseline => {
                "no threshold: the baseline has no variation".to_string()
            }
            NoThreshold::NoFiniteBound => "no threshold: the bound is not finite".to_string(),
        }
    }
}

impl Evaluation {
    fn without_threshold(index: usize, count: f64, why: NoThreshold) -> Self {
        Evaluation {
            index,
            count,
            expected: None,
            threshold: None,
            alarm: false,
            no_threshold: Some(why),
        }
    }
}

/// Checks a series before any method runs: counts must be finite and non-negative, and the range
/// must lie inside the series.
fn check_series(counts: &[f64], range: &Range<usize>) -> Result<(), StatsError> {
    if let Some((i, c)) = counts
        .iter()
        .enumerate()
        .find(|(_, c)| !c.is_finite() || **c < 0.0)
    {
        return Err(StatsError::invalid(
            format!("count[{i}]"),
            format!("{c} is not a non-negative count"),
        ));
    }
    if range.start > range.end || range.end > counts.len() {
        return Err(StatsError::invalid(
            "range",
            format!(
                "{}..{} is outside the series of {} periods",
                range.start,
                range.end,
                counts.len()
            ),
        ));
    }
    Ok(())
}
