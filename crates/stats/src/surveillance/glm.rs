//! The quasi-Poisson log-linear model Farrington fits at every period, by IRLS exactly as R's
//! `glm.fit` runs it (start at y + 0.1, deviance criterion 1e-8, at most 25 iterations, μ floored
//! at machine epsilon), for the designs `farringtonFlexible` uses: one intercept per seasonal
//! group (R's intercept + factor, reparametrised), an optional linear trend and an optional offset.
//!
//! The design is block-diagonal apart from the trend column, so each weighted least-squares step
//! is solved in closed form from group means and within-group deviations in O(n), which is what
//! makes thousands of series per second possible.

/// R's `.Machine$double.eps`: the log link's inverse never returns less (`pmax(exp(eta), eps)`).
const EPS: f64 = f64::EPSILON;
const MAX_ITERATIONS: usize = 25;
const TOLERANCE: f64 = 1e-8;

/// Observations and design of one fit.
pub(crate) struct Design<'a> {
    pub y: &'a [f64],
    /// Seasonal group of each observation, `0..n_groups`; every group has an observation.
    pub group: &'a [usize],
    pub n_groups: usize,
    /// Time of each observation (R's `wtime`).
    pub time: &'a [f64],
    /// Log-population offset of each observation.
    pub offset: Option<&'a [f64]>,
}

/// A converged or abandoned fit with what the threshold, the trend test and the reweighting need.
pub(crate) struct Fit {
    pub converged: bool,
    pub trend: bool,
    pub intercept: Vec<f64>,
    pub slope: f64,
    /// Fitted means.
    pub mu: Vec<f64>,
    /// Working weights of the last iteration (R's `weights(fit, "working")`).
    pub w: Vec<f64>,
    /// Weighted size and mean time of each group, and the within-group Σ w (t − t̄)²: together
    /// they are (X'WX)⁻¹.
    s0: Vec<f64>,
    tbar: Vec<f64>,
    sxx: f64,
    pub df_residual: usize,
    /// Pearson χ² / residual df, as `summary.glm` estimates it (not floored at 1).
    pub dispersion: f64,
}

/// Σ ωᵢ rᵢ² / df with working residuals rᵢ = (yᵢ − μᵢ)/μᵢ: what `summary.glm` computes once the
/// fit's working weights have been replaced by the prior weights ω (see `farrington.rs`).
pub(crate) fn prior_weighted_dispersion(fit: &Fit, y: &[f64], prior: &[f64]) -> f64 {
    if fit.df_residual == 0 {
        return f64::NAN;
    }
    let sum: f64 = (0..y.len())
        .filter(|&i| prior[i] > 0.0)
        .map(|i| prior[i] * ((y[i] - fit.mu[i]) / fit.mu[i]).powi(2))
        .sum();
    sum / fit.df_residual as f64
}

impl Fit {
    /// Leverages (diagonal of the hat matrix) of the observations.
    pub fn hat_values(&self, d: &Design) -> Vec<f64> {
        (0..d.y.len())
            .map(|i| {
                let g = d.group[i];
                let mut h = 1.0 / self.s0[g];
                if self.trend {
                    h += (d.time[i] - self.tbar[g]).powi(2) / self.sxx;
                }
                self.w[i] * h
            })
            .collect()
    }

    /// Linear predictor and its unscaled variance x₀'(X'WX)⁻¹x₀ at a new point.
    pub fn predict_link(&self, group: usize, time: f64, offset: f64) -> (f64, f64) {
        let mut eta = self.intercept[group] + offset;
        let mut var = 1.0 / self.s0[group];
        if self.trend {
            eta += self.slope * time;
            var += (time - self.tbar[group]).powi(2) / self.sxx;
        }
        (eta, var)
    }

    /// Two-sided p-value of the trend coefficient (t test on the residual df, as `summary.glm`
    /// does for a quasi family) under the given dispersion.
    pub fn trend_p_value(&self, dispersion: f64) -> f64 {
        use statrs::distribution::{ContinuousCDF, StudentsT};
        let se = (dispersion / self.sxx).sqrt();
        let t = self.slope / se;
        match StudentsT::new(0.0, 1.0, self.df_residual as f64) {
            Ok(dist) if t.is_finite() => 2.0 * dist.cdf(-t.abs()),
            _ => f64::NAN,
        }
    }
}

fn deviance(y: &[f64], mu: &[f64], prior: Option<&[f64]>) -> f64 {
    let mut dev = 0.0;
    for i in 0..y.len() {
        let wt = prior.map_or(1.0, |p| p[i]);
        let r = if y[i] > 0.0 {
            y[i] * (y[i] / mu[i]).ln()
        } else {
            0.0
        } - (y[i] - mu[i]);
        dev += 2.0 * wt * r;
    }
    dev
}

/// Fits the model with optional prior weights. `trend` adds the time column.
pub(crate) fn fit(d: &Design, trend: bool, prior: Option<&[f64]>) -> Fit {
    let n = d.y.len();
    let ng = d.n_groups;
    let off = |i: usize| d.offset.map_or(0.0, |o| o[i]);
    // glm.fit starts from mustart = y + 0.1 and eta = log(mustart), whatever the offset.
    let mut mu: Vec<f64> = d.y.iter().map(|y| y + 0.1).collect();
    let mut eta: Vec<f64> = mu.iter().map(|m| m.ln()).collect();
    let mut dev_old = deviance(d.y, &mu, prior);
    let mut w = vec![0.0; n];
    let mut z = vec![0.0; n];
    let mut s0 = vec![0.0; ng];
    let mut tbar = vec![0.0; ng];
    let mut zbar = vec![0.0; ng];
    let mut sxx = 0.0;
    let mut coef = vec![0.0; ng];
    let mut slope = 0.0;
    let mut coef_old: Option<(Vec<f64>, f64)> = None;
    let mut converged = false;

    for _ in 0..MAX_ITERATIONS {
        for i in 0..n {
            // mu.eta(eta) = mu for the log link (both floored at eps); variance(mu) = mu.
            z[i] = (eta[i] - off(i)) + (d.y[i] - mu[i]) / mu[i];
            w[i] = prior.map_or(1.0, |p| p[i]) * mu[i];
        }
        // Weighted least squares of z on the design.
        s0.iter_mut().for_each(|v| *v = 0.0);
        tbar.iter_mut().for_each(|v| *v = 0.0);
        zbar.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            let g = d.group[i];
            s0[g] += w[i];
            zbar[g] += w[i] * z[i];
            tbar[g] += w[i] * d.time[i];
        }
        for g in 0..ng {
            zbar[g] /= s0[g];
            tbar[g] /= s0[g];
        }
        slope = 0.0;
        if trend {
            let (mut xx, mut xz) = (0.0, 0.0);
            for i in 0..n {
                let g = d.group[i];
                let dt = d.time[i] - tbar[g];
                xx += w[i] * dt * dt;
                xz += w[i] * dt * (z[i] - zbar[g]);
            }
            sxx = xx;
            slope = xz / xx;
        }
        for g in 0..ng {
            coef[g] = zbar[g] - slope * tbar[g];
        }
        let mut dev = update_mu(d, trend, &coef, slope, &mut eta, &mut mu, prior);
        // glm.fit halves the step towards the previous coefficients while the fit is invalid.
        let mut halvings = 0;
        while !dev.is_finite() || mu.iter().any(|m| !m.is_finite()) {
            let Some((old, old_slope)) = &coef_old else {
                return abandoned(d, trend, n);
            };
            if halvings == MAX_ITERATIONS {
                return abandoned(d, trend, n);
            }
            halvings += 1;
            for g in 0..ng {
                coef[g] = (coef[g] + old[g]) / 2.0;
            }
            slope = (slope + old_slope) / 2.0;
            dev = update_mu(d, trend, &coef, slope, &mut eta, &mut mu, prior);
        }
        if (dev - dev_old).abs() / (dev.abs() + 0.1) < TOLERANCE {
            converged = true;
            break;
        }
        dev_old = dev;
        coef_old = Some((coef.clone(), slope));
    }

    let rank = ng + usize::from(trend);
    let df_residual = n.saturating_sub(rank);
    let pearson: f64 = (0..n)
        .map(|i| w[i] * ((d.y[i] - mu[i]) / mu[i]).powi(2))
        .sum();
    let dispersion = if df_residual > 0 {
        pearson / df_residual as f64
    } else {
        f64::NAN
    };
    Fit {
        converged,
        trend,
        intercept: coef,
        slope,
        mu,
        w,
        s0,
        tbar,
        sxx,
        df_residual,
        dispersion,
    }
}

fn update_mu(
    d: &Design,
    trend: bool,
    coef: &[f64],
    slope: f64,
    eta: &mut [f64],
    mu: &mut [f64],
    prior: Option<&[f64]>,
) -> f64 {
    for i in 0..d.y.len() {
        let mut e = coef[d.group[i]] + d.offset.map_or(0.0, |o| o[i]);
        if trend {
            e += slope * d.time[i];
        }
        eta[i] = e;
        mu[i] = e.exp().max(EPS);
    }
    deviance(d.y, mu, prior)
}

fn abandoned(d: &Design, trend: bool, n: usize) -> Fit {
    Fit {
        converged: false,
        trend,
        intercept: vec![f64::NAN; d.n_groups],
        slope: f64::NAN,
        mu: vec![f64::NAN; n],
        w: vec![f64::NAN; n],
        s0: vec![f64::NAN; d.n_groups],
        tbar: vec![f64::NAN; d.n_groups],
        sxx: f64::NAN,
        df_residual: 0,
        dispersion: f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design<'a>(
        y: &'a [f64],
        group: &'a [usize],
        time: &'a [f64],
        n_groups: usize,
    ) -> Design<'a> {
        Design {
            y,
            group,
            n_groups,
            time,
            offset: None,
        }
    }

    #[test]
    fn without_trend_each_group_is_fitted_by_its_mean() {
        let y = [2.0, 4.0, 6.0, 10.0, 20.0];
        let group = [0, 0, 0, 1, 1];
        let time = [1.0, 2.0, 3.0, 4.0, 5.0];
        let f = fit(&design(&y, &group, &time, 2), false, None);
        assert!(f.converged);
        assert!((f.intercept[0].exp() - 4.0).abs() < 1e-7);
        assert!((f.intercept[1].exp() - 15.0).abs() < 1e-7);
        // Pearson χ²/df is (4+0+4)/4 + 50/15 over 3 df = 1.7777…; R weighs the residuals with the
        // working weights of its last iteration and reports 1.7777828420511359
        // (`summary(glm(y ~ factor(g), quasipoisson))$dispersion`, 4 iterations).
        assert!(
            (f.dispersion - 1.7777828420511359).abs() < 1e-12,
            "{}",
            f.dispersion
        );
    }

    #[test]
    fn a_log_linear_series_is_recovered_exactly() {
        let time: Vec<f64> = (1..=20).map(f64::from).collect();
        let y: Vec<f64> = time.iter().map(|t| (0.5 + 0.1 * t).exp()).collect();
        let group = vec![0; 20];
        let f = fit(&design(&y, &group, &time, 1), true, None);
        assert!(f.converged);
        assert!((f.slope - 0.1).abs() < 1e-9);
        assert!((f.intercept[0] - 0.5).abs() < 1e-8);
    }

    #[test]
    fn leverages_sum_to_the_number_of_parameters() {
        let y = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let group = [0, 0, 0, 1, 1, 1, 1, 0];
        let time: Vec<f64> = (1..=8).map(f64::from).collect();
        let d = design(&y, &group, &time, 2);
        let f = fit(&d, true, None);
        let trace: f64 = f.hat_values(&d).iter().sum();
        assert!((trace - 3.0).abs() < 1e-10);
    }
}
