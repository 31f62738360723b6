//! Farrington flexible and its Noufaily variant, as `surveillance::farringtonFlexible`: for each
//! period, a quasi-Poisson model over the same weeks of `b` past years (±`w` weeks), optionally
//! with a trend and with seasonal groups in between (Noufaily), downweighted outliers by Anscombe
//! residuals, and an upper bound from the 2/3-power transform ("delta") or a negative binomial
//! quantile ("nbPlugin", "muan").

use super::glm::{self, Design, Fit};
use super::{Evaluation, NoThreshold, check_series};
use crate::StatsError;
use statrs::distribution::{ContinuousCDF, Normal};
use std::ops::Range;

/// Periods per year: "the same week k years ago" is 52·k periods earlier.
const FREQUENCY: usize = 52;

/// How the upper bound is computed from the fitted model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMethod {
    /// Farrington (1996): normal approximation on the power-transformed scale.
    Delta,
    /// Noufaily (2013): negative binomial quantile at the fitted mean.
    NbPlugin,
    /// Noufaily: negative binomial quantile at the upper (1 − α) bound of the fitted mean.
    Muan,
}

/// The skewness-correcting power of the "delta" threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerTransform {
    None,
    Half,
    TwoThirds,
}

/// The settings of `farringtonFlexible`; `Default` is its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FarringtonControl {
    /// Years of history.
    pub b: usize,
    /// Half-width of the window around the same week in past years.
    pub w: usize,
    pub reweight: bool,
    pub weights_threshold: f64,
    pub alpha: f64,
    pub trend: bool,
    pub p_threshold_trend: f64,
    /// No threshold unless the last `.1` periods hold at least `.0` cases.
    pub limit54: (u32, usize),
    pub power_transform: PowerTransform,
    /// Seasonal groups: 1 keeps only the windows; more adds groups covering the rest of the year.
    pub no_periods: usize,
    /// Recent periods left out of the model; `None` means `w`.
    pub past_weeks_not_included: Option<usize>,
    pub threshold_method: ThresholdMethod,
}

impl Default for FarringtonControl {
    fn default() -> Self {
        FarringtonControl {
            b: 5,
            w: 3,
            reweight: true,
            weights_threshold: 2.58,
            alpha: 0.05,
            trend: true,
            p_threshold_trend: 0.05,
            limit54: (5, 4),
            power_transform: PowerTransform::TwoThirds,
            no_periods: 1,
            past_weeks_not_included: None,
            threshold_method: ThresholdMethod::Delta,
        }
    }
}

impl FarringtonControl {
    /// The improved Farrington of Noufaily et al. (2013), as the `surveillance` documentation
    /// sets it up: ten seasonal groups, the last 26 weeks left out, negative binomial threshold.
    pub fn noufaily() -> Self {
        FarringtonControl {
            no_periods: 10,
            past_weeks_not_included: Some(26),
            threshold_method: ThresholdMethod::NbPlugin,
            ..FarringtonControl::default()
        }
    }

    /// Earlier periods a period needs before it can be evaluated.
    pub fn history_needed(&self) -> usize {
        (FREQUENCY * self.b + self.w)
            .max(self.limit54.1 - 1)
            .max(self.past_weeks_not_included())
    }

    fn past_weeks_not_included(&self) -> usize {
        self.past_weeks_not_included.unwrap_or(self.w)
    }

    fn check(&self) -> Result<(), StatsError> {
        let gap = FREQUENCY as i64 - 2 * self.w as i64 - 1;
        if self.b == 0 {
            return Err(StatsError::invalid(
                "b",
                "at least one year of history is needed",
            ));
        }
        if gap < 0 {
            return Err(StatsError::invalid(
                "w",
                format!("a window of ±{} weeks overlaps the next year", self.w),
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(StatsError::invalid(
                "alpha",
                format!("{} is not in (0, 1)", self.alpha),
            ));
        }
        if self.limit54.1 == 0 {
            return Err(StatsError::invalid(
                "limit54",
                "the period must be positive",
            ));
        }
        if self.no_periods == 0 || (self.no_periods > 1 && self.no_periods as i64 - 1 > gap) {
            return Err(StatsError::invalid(
                "noPeriods",
                format!(
                    "{} seasonal groups do not fit in the {gap} weeks between windows",
                    self.no_periods
                ),
            ));
        }
        Ok(())
    }
}

/// Runs `farringtonFlexible` on one series over `range` (0-based period indices). `population`
/// adds R's `populationOffset = TRUE`: an offset log(population) in the model.
pub fn farrington_flexible(
    counts: &[f64],
    population: Option<&[f64]>,
    range: Range<usize>,
    control: &FarringtonControl,
) -> Result<Vec<Evaluation>, StatsError> {
    check_series(counts, &range)?;
    control.check()?;
    let log_population = match population {
        None => None,
        Some(p) if p.len() != counts.len() => {
            return Err(StatsError::invalid(
                "population",
                "must have one value per period",
            ));
        }
        Some(p) => {
            if let Some((i, v)) = p
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v > 0.0))
            {
                return Err(StatsError::invalid(
                    format!("population[{i}]"),
                    format!("{v} is not positive"),
                ));
            }
            Some(p.iter().map(|v| v.ln()).collect::<Vec<_>>())
        }
    };
    let (y_log_y, log_start) = Design::series_terms(counts);
    let two_thirds = counts.iter().map(|y| y.powf(2.0 / 3.0)).collect();
    let terms = SeriesTerms {
        y_log_y,
        log_start,
        two_thirds,
    };
    let mut scratch = Scratch::default();
    let log_population = log_population.as_deref();
    Ok(range
        .map(|now| evaluate(counts, &terms, log_population, now, control, &mut scratch))
        .collect())
}

/// Per-count terms computed once per series rather than once per fit.
struct SeriesTerms {
    y_log_y: Vec<f64>,
    log_start: Vec<f64>,
    /// y^(2/3), for the Anscombe residuals.
    two_thirds: Vec<f64>,
}

/// Buffers reused from one period to the next.
#[derive(Default)]
struct Scratch {
    y: Vec<f64>,
    y_log_y: Vec<f64>,
    log_start: Vec<f64>,
    two_thirds: Vec<f64>,
    group: Vec<usize>,
    time: Vec<f64>,
    offset: Vec<f64>,
}

/// Seasonal group label (1..=noPeriods) of every period from `start` to `now`, or `None` for
/// periods outside the model, as `surveillance`'s `blocks()` lays them out.
fn block_labels(now: usize, start: usize, c: &FarringtonControl) -> Vec<Option<usize>> {
    let p = c.no_periods;
    let mut labels = vec![None; now - start + 1];
    let mut set = |from: usize, to: usize, label: usize| {
        for t in from..=to {
            labels[t - start] = Some(label);
        }
    };
    set(now - c.w, now, p);
    for i in 1..=c.b {
        let reference = now - FREQUENCY * i;
        set(reference - c.w, reference + c.w, p);
        if p != 1 {
            // The weeks between this window and the next year's are split into p − 1 groups,
            // the first `rest` of them one week longer.
            let between = FREQUENCY - 2 * c.w - 1;
            let (len, rest) = (between / (p - 1), between % (p - 1));
            let mut from = reference + c.w + 1;
            for j in 1..p {
                let size = len + usize::from(j <= rest);
                if size > 0 {
                    set(from, from + size - 1, j);
                }
                from += size;
            }
        }
    }
    let excluded_from = now.saturating_sub(c.past_weeks_not_included());
    for t in excluded_from.max(start)..=now {
        labels[t - start] = None;
    }
    labels
}

fn evaluate(
    counts: &[f64],
    terms: &SeriesTerms,
    log_population: Option<&[f64]>,
    now: usize,
    c: &FarringtonControl,
    s: &mut Scratch,
) -> Evaluation {
    let y_now = counts[now];
    let needed = c.history_needed();
    if now < needed {
        return Evaluation::without_threshold(now, y_now, NoThreshold::HistoryTooShort { needed });
    }
    // limit54: surveillance reports neither threshold nor expected value without enough recent
    // cases, whatever the model says, so the model is not even fitted.
    let (cases, periods) = c.limit54;
    let recent: f64 = counts[now + 1 - periods..=now].iter().sum();
    if recent < f64::from(cases) {
        return Evaluation::without_threshold(
            now,
            y_now,
            NoThreshold::TooFewRecentCases { cases, periods },
        );
    }
    let start = now - FREQUENCY * c.b - c.w;
    let labels = block_labels(now, start, c);
    // Factor levels are the labels present, in order; the current window's label is the
    // level predicted at.
    let mut level_of = vec![usize::MAX; c.no_periods + 1];
    for label in labels.iter().flatten() {
        level_of[*label] = 0;
    }
    let mut levels = 0;
    for level in level_of.iter_mut().filter(|l| **l == 0) {
        *level = levels;
        levels += 1;
    }
    let current = level_of[c.no_periods];
    if current == usize::MAX {
        return Evaluation::without_threshold(now, y_now, NoThreshold::HistoryTooShort { needed });
    }
    s.y.clear();
    s.y_log_y.clear();
    s.log_start.clear();
    s.two_thirds.clear();
    s.group.clear();
    s.time.clear();
    s.offset.clear();
    for (i, label) in labels.iter().enumerate() {
        if let Some(label) = label {
            let t = start + i;
            s.y.push(counts[t]);
            s.y_log_y.push(terms.y_log_y[t]);
            s.log_start.push(terms.log_start[t]);
            s.two_thirds.push(terms.two_thirds[t]);
            s.group.push(level_of[*label]);
            // R's `wtime` is the 1-based position in the series.
            s.time.push((t + 1) as f64);
            if let Some(lp) = log_population {
                s.offset.push(lp[t]);
            }
        }
    }
    let design = Design {
        y: &s.y,
        y_log_y: &s.y_log_y,
        log_start: &s.log_start,
        group: &s.group,
        n_groups: levels,
        time: &s.time,
        offset: log_population.map(|_| s.offset.as_slice()),
    };
    let time_now = (now + 1) as f64;
    let offset_now = log_population.map_or(0.0, |lp| lp[now]);

    let Some(Flexible {
        mut model,
        mut phi,
        mut dispersion,
    }) = fit_flexible(&design, &s.two_thirds, c.trend, c)
    else {
        return Evaluation::without_threshold(now, y_now, NoThreshold::ModelDidNotConverge);
    };
    if model.trend {
        // Keep the trend only if significant, over at least three years, and not extrapolating
        // beyond the largest count in the baseline.
        let (eta, _) = model.predict_link(current, time_now, offset_now);
        let fitted = eta.exp().max(f64::EPSILON);
        let max_y = s.y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let keep =
            c.b >= 3 && model.trend_p_value(dispersion) < c.p_threshold_trend && fitted <= max_y;
        if !keep {
            let Some(refit) = fit_flexible(&design, &s.two_thirds, false, c) else {
                return Evaluation::without_threshold(now, y_now, NoThreshold::ModelDidNotConverge);
            };
            Flexible {
                model,
                phi,
                dispersion,
            } = refit;
        }
    }
    let (eta0, unscaled_var) = model.predict_link(current, time_now, offset_now);
    // predict.glm scales by the summary's dispersion (see `Flexible`), not the floored phi.
    let se_eta0 = (unscaled_var * dispersion).sqrt();
    let z = Normal::standard().inverse_cdf(1.0 - c.alpha);

    let (expected, upper, score) = match c.threshold_method {
        ThresholdMethod::Delta => {
            let mu0 = eta0.exp().max(f64::EPSILON);
            let se_mu0 = se_eta0 * mu0;
            let tau = phi + se_mu0 * se_mu0 / mu0;
            let (se, exponent) = match c.power_transform {
                PowerTransform::None => ((mu0 * tau).sqrt(), 1.0),
                PowerTransform::Half => ((0.25 * tau).sqrt(), 0.5),
                PowerTransform::TwoThirds => {
                    ((4.0 / 9.0 * mu0.powf(1.0 / 3.0) * tau).sqrt(), 2.0 / 3.0)
                }
            };
            let upper = (mu0.powf(exponent) + z * se).powf(1.0 / exponent);
            (mu0, upper, (y_now - mu0) / (upper - mu0))
        }
        ThresholdMethod::NbPlugin | ThresholdMethod::Muan => {
            let mu_q = if c.threshold_method == ThresholdMethod::NbPlugin {
                eta0.exp()
            } else {
                (eta0 + z * se_eta0).exp()
            };
            let upper = if !mu_q.is_finite() {
                f64::NAN
            } else if phi > 1.0 {
                super::discrete::qnbinom(1.0 - c.alpha, mu_q / (phi - 1.0), 1.0 / phi)
            } else {
                super::discrete::qpois(1.0 - c.alpha, mu_q)
            };
            // surveillance scores Noufaily thresholds against the linear predictor; kept for
            // identical alarms.
            (eta0.exp(), upper, (y_now - eta0) / (upper - eta0))
        }
    };
    if !upper.is_finite() || !expected.is_finite() {
        return Evaluation::without_threshold(now, y_now, NoThreshold::NoFiniteBound);
    }
    Evaluation {
        index: now,
        count: y_now,
        expected: Some(expected),
        threshold: Some(upper),
        alarm: score > 1.0 && y_now != 0.0,
        no_threshold: None,
    }
}

/// A fitted Farrington model with its two dispersions.
struct Flexible {
    model: Fit,
    /// max(1, Pearson χ²/df): the overdispersion used in the threshold.
    phi: f64,
    /// The dispersion R's `summary.glm` and `predict.glm` see for this model, which scales the
    /// standard errors of the trend test and of the prediction. surveillance overwrites the
    /// fit's working weights with the outlier weights ω after reweighting, so `summary.glm` then
    /// computes Σ ωᵢ rᵢ² / df from working residuals rᵢ = (yᵢ − μᵢ)/μᵢ instead of Pearson χ²/df.
    /// Replicated, because it moves thresholds and trend decisions well beyond 1e-6.
    dispersion: f64,
}

/// `algo.farrington.fitGLM.flexible`: fit (dropping the trend if that fit fails), then refit
/// with outliers downweighted.
fn fit_flexible(
    d: &Design,
    two_thirds: &[f64],
    trend: bool,
    c: &FarringtonControl,
) -> Option<Flexible> {
    let mut model = glm::fit(d, trend, None);
    let mut trend = trend;
    if !model.converged && trend {
        trend = false;
        model = glm::fit(d, false, None);
    }
    if !model.converged {
        return None;
    }
    let phi = floor_at_one(model.dispersion);
    if !c.reweight {
        let dispersion = model.dispersion;
        return Some(Flexible {
            model,
            phi,
            dispersion,
        });
    }
    let weights = outlier_weights(
        &anscombe_residuals(&model, d, two_thirds, phi),
        c.weights_threshold,
    );
    // surveillance does not check convergence of the reweighted fit.
    let model = glm::fit(d, trend, Some(&weights));
    let phi = floor_at_one(model.dispersion);
    let dispersion = glm::prior_weighted_dispersion(&model, d.y, &weights);
    Some(Flexible {
        model,
        phi,
        dispersion,
    })
}

/// R's `max(dispersion, 1)`, which keeps a NaN.
fn floor_at_one(dispersion: f64) -> f64 {
    if dispersion.is_nan() {
        dispersion
    } else {
        dispersion.max(1.0)
    }
}

/// Standardised Anscombe residuals of a Poisson fit.
fn anscombe_residuals(model: &Fit, d: &Design, two_thirds: &[f64], phi: f64) -> Vec<f64> {
    (0..d.y.len())
        .map(|i| {
            let mu = model.mu[i];
            // μ^(−1/6) as 1/√∛μ: the same value as powf to an ulp, several times cheaper.
            let a = 1.5 * (two_thirds[i] / mu.cbrt().sqrt() - mu.sqrt());
            a / (phi * (1.0 - model.leverage(d, i))).sqrt()
        })
        .collect()
}

/// Weights ∝ s⁻² for residuals above the threshold, scaled so they average 1.
fn outlier_weights(s: &[f64], threshold: f64) -> Vec<f64> {
    let total: f64 = s
        .iter()
        .map(|&r| if r > threshold { r.powi(-2) } else { 1.0 })
        .sum();
    let gamma = s.len() as f64 / total;
    s.iter()
        .map(|&r| {
            if r > threshold {
                gamma * r.powi(-2)
            } else {
                gamma
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_sees_the_same_weeks_of_past_years_and_not_the_current_ones() {
        let c = FarringtonControl::default();
        let now = 300;
        let start = now - 52 * 5 - 3;
        let labels = block_labels(now, start, &c);
        let used: Vec<usize> = (start..=now)
            .filter(|t| labels[t - start].is_some())
            .collect();
        let expected: Vec<usize> = (1..=5)
            .rev()
            .flat_map(|i| now - 52 * i - 3..=now - 52 * i + 3)
            .collect();
        assert_eq!(used, expected);
    }

    #[test]
    fn noufaily_splits_the_rest_of_each_year_into_nine_groups_of_five_weeks() {
        let c = FarringtonControl::noufaily();
        let now = 300;
        let start = now - 52 * 5 - 3;
        let labels = block_labels(now, start, &c);
        // Two years back, clear of the weeks left out.
        let reference = now - 104;
        for j in 1..=9 {
            let first = reference + 3 + 1 + 5 * (j - 1);
            assert!((first..first + 5).all(|t| labels[t - start] == Some(j)));
        }
        // The last 26 weeks and the current week are left out.
        assert!((now - 26..=now).all(|t| labels[t - start].is_none()));
        assert_eq!(labels[now - 27 - start], Some(5));
    }

    #[test]
    fn outliers_get_weight_proportional_to_inverse_squared_residual_and_weights_average_one() {
        let w = outlier_weights(&[0.0, 1.0, 3.0, 6.0], 2.58);
        assert!((w.iter().sum::<f64>() / 4.0 - 1.0).abs() < 1e-12);
        assert!((w[2] / w[0] - 1.0 / 9.0).abs() < 1e-12);
        assert!((w[3] / w[0] - 1.0 / 36.0).abs() < 1e-12);
        assert_eq!(w[0], w[1]);
    }

    #[test]
    fn a_period_without_five_years_of_history_has_no_threshold() {
        let counts = vec![3.0; 263 + 10];
        let out =
            farrington_flexible(&counts, None, 260..265, &FarringtonControl::default()).unwrap();
        assert_eq!(
            out[0].no_threshold,
            Some(NoThreshold::HistoryTooShort { needed: 263 })
        );
        assert!(out[3].threshold.is_some());
        assert!(
            out.iter()
                .all(|e| e.threshold.is_none() == e.no_threshold.is_some())
        );
    }

    #[test]
    fn fewer_than_five_cases_in_four_weeks_gives_no_threshold_and_no_alarm() {
        let mut counts = vec![0.0; 320];
        counts[310] = 4.0;
        let out =
            farrington_flexible(&counts, None, 310..311, &FarringtonControl::default()).unwrap();
        assert!(!out[0].alarm);
        assert_eq!(
            out[0].no_threshold,
            Some(NoThreshold::TooFewRecentCases {
                cases: 5,
                periods: 4
            })
        );
    }
}
