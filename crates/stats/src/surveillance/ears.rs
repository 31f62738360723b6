//! EARS C1, C2 and C3 as `surveillance::earsC`: the count is compared with mean + z·sd of a short
//! moving baseline — the previous `baseline` periods (C1), the same lagged by two (C2), or C2
//! accumulated over the last three periods (C3).

use super::{Evaluation, NoThreshold, check_series};
use crate::StatsError;
use statrs::distribution::{ContinuousCDF, Normal};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarsMethod {
    C1,
    C2,
    C3,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EarsControl {
    pub method: EarsMethod,
    /// Periods in the baseline (at least 3).
    pub baseline: usize,
    /// Lower bound on the baseline standard deviation.
    pub min_sigma: f64,
    pub alpha: f64,
}

impl EarsControl {
    /// `earsC`'s defaults for `method`: baseline 7, minSigma 0, and α = 0.001 for C1 and C2 but
    /// 0.025 for C3 (what `earsC` uses when no α is given).
    pub fn new(method: EarsMethod) -> Self {
        let alpha = if method == EarsMethod::C3 {
            0.025
        } else {
            0.001
        };
        EarsControl {
            method,
            baseline: 7,
            min_sigma: 0.0,
            alpha,
        }
    }

    /// Earlier periods a period needs before it can be evaluated.
    pub fn history_needed(&self) -> usize {
        match self.method {
            EarsMethod::C1 => self.baseline,
            EarsMethod::C2 => self.baseline + 2,
            EarsMethod::C3 => self.baseline + 4,
        }
    }
}

/// Mean and sample standard deviation (n − 1) of the baseline ending `lag` periods before `t`.
fn baseline_moments(counts: &[f64], t: usize, lag: usize, baseline: usize) -> (f64, f64) {
    let values = &counts[t + 1 - lag - baseline..=t - lag];
    let n = baseline as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// R's `pmax(0, x)`: a NaN stays NaN (a flat baseline gives 0/0), where `f64::max` would hide it.
fn pmax0(x: f64) -> f64 {
    if x.is_nan() { x } else { x.max(0.0) }
}

/// Runs `earsC` on one series over `range` (0-based period indices). The expected value reported
/// is the baseline mean (`earsC` itself stores none).
pub fn ears_c(
    counts: &[f64],
    range: Range<usize>,
    control: &EarsControl,
) -> Result<Vec<Evaluation>, StatsError> {
    check_series(counts, &range)?;
    if control.baseline < 3 {
        return Err(StatsError::invalid(
            "baseline",
            "the minimum baseline is 3 periods",
        ));
    }
    if control.min_sigma.is_nan() || control.min_sigma < 0.0 {
        return Err(StatsError::invalid("minSigma", "must be non-negative"));
    }
    if !(control.alpha > 0.0 && control.alpha < 1.0) {
        return Err(StatsError::invalid(
            "alpha",
            format!("{} is not in (0, 1)", control.alpha),
        ));
    }
    let z = Normal::standard().inverse_cdf(1.0 - control.alpha);
    let b = control.baseline;
    let sigma = |sd: f64| sd.max(control.min_sigma);
    // The C2 statistic at s: how many baseline standard deviations the count lies above the mean.
    let c2 = |s: usize| {
        let (mean, sd) = baseline_moments(counts, s, 3, b);
        (counts[s] - mean) / sigma(sd)
    };
    let needed = control.history_needed();
    Ok(range
        .map(|t| {
            let y = counts[t];
            if t < needed {
                return Evaluation::without_threshold(
                    t,
                    y,
                    NoThreshold::HistoryTooShort { needed },
                );
            }
            let (expected, upper) = match control.method {
                EarsMethod::C1 | EarsMethod::C2 => {
                    let lag = if control.method == EarsMethod::C1 {
                        1
                    } else {
                        3
                    };
                    let (mean, sd) = baseline_moments(counts, t, lag, b);
                    (mean, mean + z * sigma(sd))
                }
                EarsMethod::C3 => {
                    // C3 = Σ max(0, C2 − 1) over t−2, t−1, t; the bound is the count at t that
                    // brings it to z (surveillance's form, floored at 0).
                    let (mean, sd) = baseline_moments(counts, t, 3, b);
                    let earlier = pmax0(c2(t - 2) - 1.0) + pmax0(c2(t - 1) - 1.0);
                    (mean, pmax0(y + sigma(sd) * (z - earlier)))
                }
            };
            if !upper.is_finite() {
                return Evaluation::without_threshold(t, y, NoThreshold::DegenerateBaseline);
            }
            Evaluation {
                index: t,
                count: y,
                expected: Some(expected),
                threshold: Some(upper),
                alarm: y > upper,
                no_threshold: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_bound_is_the_mean_of_the_last_seven_plus_z_standard_deviations() {
        let counts = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 20.0];
        let out = ears_c(&counts, 7..9, &EarsControl::new(EarsMethod::C1)).unwrap();
        // Baseline 2,4,4,4,5,5,7: mean 31/7, sd from Σ(x − mean)² / 6.
        let mean = 31.0 / 7.0;
        let sd = ([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0f64]
            .iter()
            .map(|x| (x - mean).powi(2))
            .sum::<f64>()
            / 6.0)
            .sqrt();
        let z = 3.090232306167813;
        assert!((out[0].threshold.unwrap() - (mean + z * sd)).abs() < 1e-12);
        assert!(!out[0].alarm);
    }

    #[test]
    fn c2_skips_the_two_most_recent_periods() {
        let mut counts = vec![5.0; 12];
        counts[9] = 50.0; // a guard-band period does not enter the baseline at t = 11
        counts[10] = 50.0;
        let out = ears_c(&counts, 11..12, &EarsControl::new(EarsMethod::C2)).unwrap();
        assert_eq!(out[0].threshold, Some(5.0));
        assert_eq!(out[0].expected, Some(5.0));
    }

    #[test]
    fn a_period_before_the_baseline_is_complete_has_no_threshold() {
        let counts = vec![1.0; 20];
        let out = ears_c(&counts, 0..20, &EarsControl::new(EarsMethod::C3)).unwrap();
        assert!(
            out[..11]
                .iter()
                .all(|e| e.no_threshold == Some(NoThreshold::HistoryTooShort { needed: 11 }))
        );
        assert!(out[..11].iter().all(|e| !e.alarm));
    }

    #[test]
    fn c3_on_a_flat_baseline_has_no_threshold_rather_than_a_nan() {
        let mut counts = vec![2.0; 20];
        counts[18] = 3.0;
        let out = ears_c(&counts, 19..20, &EarsControl::new(EarsMethod::C3)).unwrap();
        assert_eq!(out[0].no_threshold, Some(NoThreshold::DegenerateBaseline));
        assert!(!out[0].alarm);
    }
}
