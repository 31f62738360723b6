//! CUSUM for counts as `surveillance::cusum` with its "standard" transform: counts are
//! standardised against a Poisson in-control mean m, (x − m)/√m, and accumulated as
//! Sₜ = max(0, Sₜ₋₁ + zₜ − k), alarming when Sₜ ≥ h. Defaults are surveillance's: reference value
//! k = 1.04 and decision interval h = 2.26 (in standard deviations), m = the mean of every count
//! before the evaluated range.

use super::{Evaluation, NoThreshold, check_series};
use crate::StatsError;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub struct CusumControl {
    /// Reference value: the shift (in standard deviations) the CUSUM is tuned to detect, halved.
    pub k: f64,
    /// Decision interval: the CUSUM alarms when it reaches h.
    pub h: f64,
    /// In-control mean; `None` takes the mean of the counts before the range.
    pub m: Option<f64>,
}

impl Default for CusumControl {
    fn default() -> Self {
        CusumControl {
            k: 1.04,
            h: 2.26,
            m: None,
        }
    }
}

/// Runs the CUSUM over `range` (0-based period indices), starting from S = 0 at its first period.
/// The threshold is the smallest count that raises the alarm, ⌈m + √m (h + k − Sₜ₋₁)⌉ (floored at 0);
/// an alarm means count ≥ threshold.
pub fn cusum(
    counts: &[f64],
    range: Range<usize>,
    control: &CusumControl,
) -> Result<Vec<Evaluation>, StatsError> {
    check_series(counts, &range)?;
    if !(control.k.is_finite() && control.h.is_finite() && control.h > 0.0) {
        return Err(StatsError::invalid(
            "k, h",
            "the reference value must be finite and the decision interval positive",
        ));
    }
    let m = match control.m {
        Some(m) if !(m.is_finite() && m >= 0.0) => {
            return Err(StatsError::invalid("m", format!("{m} is not a mean count")));
        }
        Some(m) => m,
        None if range.start == 0 => {
            let why = NoThreshold::HistoryTooShort { needed: 1 };
            return Ok(range
                .map(|t| Evaluation::without_threshold(t, counts[t], why))
                .collect());
        }
        None => counts[..range.start].iter().sum::<f64>() / range.start as f64,
    };
    if m == 0.0 {
        // A Poisson mean of zero has no spread to standardise by: every case would alarm.
        return Ok(range
            .map(|t| Evaluation::without_threshold(t, counts[t], NoThreshold::DegenerateBaseline))
            .collect());
    }
    let sd = m.sqrt();
    let mut s = 0.0;
    Ok(range
        .map(|t| {
            let y = counts[t];
            let threshold = (sd * (control.h + control.k - s) + m).ceil().max(0.0);
            s = (s + (y - m) / sd - control.k).max(0.0);
            Evaluation {
                index: t,
                count: y,
                expected: Some(m),
                threshold: Some(threshold),
                alarm: s >= control.h,
                no_threshold: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sustained_rise_of_two_standard_deviations_alarms_on_its_third_period() {
        // m = 4, sd = 2: counts of 8 add (8 − 4)/2 − 1.04 = 0.96 each; 0.96·3 ≥ 2.26 on the third.
        let mut counts = vec![4.0; 10];
        counts.extend([8.0, 8.0, 8.0, 8.0]);
        let out = cusum(&counts, 10..14, &CusumControl::default()).unwrap();
        let alarms: Vec<bool> = out.iter().map(|e| e.alarm).collect();
        assert_eq!(alarms, [false, false, true, true]);
        assert_eq!(out[0].expected, Some(4.0));
        // First threshold: ⌈4 + 2·(2.26 + 1.04)⌉ = ⌈10.6⌉ = 11.
        assert_eq!(out[0].threshold, Some(11.0));
    }

    #[test]
    fn an_all_zero_baseline_gives_no_threshold_instead_of_alarming_on_any_case() {
        let mut counts = vec![0.0; 10];
        counts.push(1.0);
        let out = cusum(&counts, 10..11, &CusumControl::default()).unwrap();
        assert_eq!(out[0].no_threshold, Some(NoThreshold::DegenerateBaseline));
        assert!(!out[0].alarm);
    }
}
