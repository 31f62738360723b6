//! The instantaneous reproduction number Rt as `EpiEstim::estimate_R` (2.2.4) computes it with a
//! parametric serial interval (Cori et al. 2013): a gamma serial interval discretised as
//! `discr_si`, a Gamma(mean 5, sd 5) prior, and a gamma posterior per sliding window.

use crate::StatsError;
use statrs::distribution::{ContinuousCDF, Gamma, Normal};
use statrs::function::gamma::{gamma_lr, ln_gamma};

/// The prior on R: EpiEstim's default Gamma with mean 5 and standard deviation 5.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaPrior {
    pub mean: f64,
    pub sd: f64,
}

impl Default for GammaPrior {
    fn default() -> Self {
        GammaPrior { mean: 5.0, sd: 5.0 }
    }
}

/// The posterior of R over one window. Days are 1-based, as in EpiEstim.
#[derive(Debug, Clone, PartialEq)]
pub struct RtWindow {
    pub t_start: usize,
    pub t_end: usize,
    /// `None` when the window ends before the mean serial interval, where EpiEstim reports NA.
    pub posterior: Option<RtPosterior>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RtPosterior {
    pub shape: f64,
    pub scale: f64,
    pub mean: f64,
    pub sd: f64,
    pub q025: f64,
    pub q50: f64,
    pub q975: f64,
}

/// `discr_si(k, mu, sigma)`: the probability of a serial interval of k days, k = 0..len, for a
/// gamma distribution of mean `mean` and sd `sd` shifted by one day and discretised by linear
/// interpolation of its distribution function (Cori et al. 2013, Web Appendix 11).
pub fn discretised_serial_interval(len: usize, mean: f64, sd: f64) -> Result<Vec<f64>, StatsError> {
    if !(mean > 1.0 && mean.is_finite()) {
        return Err(StatsError::invalid(
            "si_mean",
            format!("{mean} must be greater than 1 day"),
        ));
    }
    if !(sd > 0.0 && sd.is_finite()) {
        return Err(StatsError::invalid(
            "si_sd",
            format!("{sd} must be positive"),
        ));
    }
    let shape = ((mean - 1.0) / sd).powi(2);
    let scale = sd * sd / (mean - 1.0);
    // The distribution functions of Gamma(shape) and Gamma(shape + 1) at 0, 1, 2, … days, each
    // computed once (every k uses k, k − 1 and k − 2); once both reach 1 the rest are 1.
    let cdf_table = |shape: f64| {
        let g = Gamma::new(shape, 1.0 / scale).expect("positive shape and rate");
        let mut table = Vec::with_capacity(len);
        let mut last = 0.0;
        for k in 0..len {
            last = if k == 0 {
                0.0
            } else if last == 1.0 {
                1.0
            } else {
                g.cdf(k as f64)
            };
            table.push(last);
        }
        move |k: i64| if k <= 0 { 0.0 } else { table[k as usize] }
    };
    let (f, f1) = (cdf_table(shape), cdf_table(shape + 1.0));
    Ok((0..len as i64)
        .map(|k| {
            let x = k as f64;
            let p = x * f(k) + (x - 2.0) * f(k - 2) - 2.0 * (x - 1.0) * f(k - 1)
                + shape * scale * (2.0 * f1(k - 1) - f1(k - 2) - f1(k));
            p.max(0.0)
        })
        .collect())
}

/// `estimate_R(incid, method = "parametric_si")` on daily incidence with windows
/// [t, t + window − 1] for t = 2 ..= T − window + 1. Cases of day 1 count as imported: they
/// infect but are never explained by earlier days.
pub fn estimate_rt(
    incidence: &[f64],
    si_mean: f64,
    si_sd: f64,
    window: usize,
    prior: GammaPrior,
) -> Result<Vec<RtWindow>, StatsError> {
    if let Some((i, c)) = incidence
        .iter()
        .enumerate()
        .find(|(_, c)| !(c.is_finite() && **c >= 0.0))
    {
        return Err(StatsError::invalid(
            format!("incidence[{i}]"),
            format!("{c} is not a non-negative count"),
        ));
    }
    if window < 2 {
        return Err(StatsError::invalid("window", "must be at least 2 days"));
    }
    let days = incidence.len();
    if days < window + 1 {
        return Err(StatsError::invalid(
            "incidence",
            format!("{days} days is too short for a {window}-day window after day 1"),
        ));
    }
    if !(prior.mean > 0.0 && prior.sd > 0.0) {
        return Err(StatsError::invalid("prior", "mean and sd must be positive"));
    }
    let si = discretised_serial_interval(days, si_mean, si_sd)?;
    let si_mean_discrete: f64 = si.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
    // Total infectiousness Λₜ = Σₛ Iₜ₋ₛ wₛ (0-based day t; undefined on day 1).
    let lambda: Vec<f64> = (0..days)
        .map(|t| (0..=t).map(|s| si[s] * incidence[t - s]).sum())
        .collect();
    let a_prior = (prior.mean / prior.sd).powi(2);
    let b_prior = prior.sd * prior.sd / prior.mean;

    let mut out = Vec::with_capacity(days - window);
    // Windows cover 0-based days [end − window + 1, end]; day 0 is never inside one.
    for end in window..days {
        let days_in = end + 1 - window..=end;
        let cases: f64 = incidence[days_in.clone()].iter().sum();
        let infectiousness: f64 = lambda[days_in].iter().sum();
        let (t_start, t_end) = (end - window + 2, end + 1);
        let posterior = (t_end as f64 > si_mean_discrete).then(|| {
            let shape = a_prior + cases;
            let scale = 1.0 / (1.0 / b_prior + infectiousness);
            RtPosterior {
                shape,
                scale,
                mean: shape * scale,
                sd: shape.sqrt() * scale,
                q025: gamma_quantile(0.025, shape, scale),
                q50: gamma_quantile(0.5, shape, scale),
                q975: gamma_quantile(0.975, shape, scale),
            }
        });
        out.push(RtWindow {
            t_start,
            t_end,
            posterior,
        });
    }
    Ok(out)
}

/// The p-quantile of Gamma(shape, scale) (R's `qgamma`): Halley steps on statrs' regularised
/// incomplete gamma from the Wilson–Hilferty approximation (relative error ~1e-3, so two or three
/// steps reach machine precision: the error cubes each step); statrs' bracketing search (tens of
/// evaluations) if they do not converge.
fn gamma_quantile(p: f64, shape: f64, scale: f64) -> f64 {
    let z = Normal::standard().inverse_cdf(p);
    let c = 1.0 / (9.0 * shape);
    let mut x = shape * (1.0 - c + z * c.sqrt()).powi(3);
    let log_norm = ln_gamma(shape);
    for _ in 0..30 {
        if !(x > 0.0 && x.is_finite()) {
            break;
        }
        let density = ((shape - 1.0) * x.ln() - x - log_norm).exp();
        let newton = (gamma_lr(shape, x) - p) / density;
        // f''/f' = (shape − 1)/x − 1 for the gamma density.
        let step = newton / (1.0 - 0.5 * newton * ((shape - 1.0) / x - 1.0));
        if !step.is_finite() {
            break;
        }
        x -= step;
        // The remaining error is of the order of step³.
        if step.abs() <= 1e-6 * x.abs() {
            return x * scale;
        }
    }
    Gamma::new(shape, 1.0 / scale).map_or(f64::NAN, |g| g.inverse_cdf(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_discretised_serial_interval_is_a_distribution_with_the_given_mean() {
        let si = discretised_serial_interval(100, 4.8, 2.3).unwrap();
        assert_eq!(si[0], 0.0);
        assert!((si.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let mean: f64 = si.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
        assert!((mean - 4.8).abs() < 1e-6);
    }

    #[test]
    fn gamma_quantiles_agree_with_statrs_bracketing_search() {
        for (shape, scale) in [(1.0, 5.0), (3.5, 0.02), (250.0, 0.004), (40000.0, 2.5e-5)] {
            let g = Gamma::new(shape, 1.0 / scale).unwrap();
            for p in [0.025, 0.5, 0.975] {
                let (ours, theirs) = (gamma_quantile(p, shape, scale), g.inverse_cdf(p));
                assert!(
                    (ours - theirs).abs() <= 1e-9 * theirs,
                    "shape {shape} p {p}: {ours} vs {theirs}"
                );
            }
        }
    }

    #[test]
    fn windows_slide_by_one_day_from_day_two() {
        let incidence = vec![10.0; 30];
        let out = estimate_rt(&incidence, 4.8, 2.3, 7, GammaPrior::default()).unwrap();
        assert_eq!(out.len(), 23);
        assert_eq!((out[0].t_start, out[0].t_end), (2, 8));
        assert_eq!((out[22].t_start, out[22].t_end), (24, 30));
    }

    #[test]
    fn constant_incidence_once_established_has_r_near_one() {
        let incidence = vec![50.0; 60];
        let out = estimate_rt(&incidence, 4.8, 2.3, 7, GammaPrior::default()).unwrap();
        let last = out.last().unwrap().posterior.clone().unwrap();
        assert!((last.mean - 1.0).abs() < 0.01, "{}", last.mean);
        assert!(last.q025 < last.q50 && last.q50 < last.q975);
    }

    #[test]
    fn a_window_ending_before_the_mean_serial_interval_has_no_estimate() {
        let out = estimate_rt(&[5.0; 10], 6.5, 2.0, 3, GammaPrior::default()).unwrap();
        assert_eq!((out[0].t_start, out[0].t_end), (2, 4));
        assert!(out[0].posterior.is_none());
        assert!(out.last().unwrap().posterior.is_some());
    }
}
