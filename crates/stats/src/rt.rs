//! The instantaneous reproduction number Rt as `EpiEstim::estimate_R` (2.2.4) computes it with a
//! parametric serial interval (Cori et al. 2013): a gamma serial interval discretised as
//! `discr_si`, a Gamma(mean 5, sd 5) prior, and a gamma posterior per sliding window.

use crate::StatsError;
use statrs::distribution::{ContinuousCDF, Gamma};

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
    let cdf = |shape: f64| {
        let g = Gamma::new(shape, 1.0 / scale).expect("positive shape and rate");
        move |x: f64| if x <= 0.0 { 0.0 } else { g.cdf(x) }
    };
    let (f, f1) = (cdf(shape), cdf(shape + 1.0));
    Ok((0..len)
        .map(|k| {
            let k = k as f64;
            let p = k * f(k) + (k - 2.0) * f(k - 2.0) - 2.0 * (k - 1.0) * f(k - 1.0)
                + shape * scale * (2.0 * f1(k - 1.0) - f1(k - 2.0) - f1(k));
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
            let g = Gamma::new(shape, 1.0 / scale).expect("positive shape and rate");
            RtPosterior {
                shape,
                scale,
                mean: shape * scale,
                sd: shape.sqrt() * scale,
                q025: g.inverse_cdf(0.025),
                q50: g.inverse_cdf(0.5),
                q975: g.inverse_cdf(0.975),
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
