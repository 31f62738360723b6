//! The quasi-Poisson log-linear model Farrington fits at every period, by IRLS exactly as R's
//! `glm.fit` runs it (start at y + 0.1, deviance criterion 1e-8, at most 25 iterations, μ floored
//! at machine epsilon), for the designs `farringtonFlexible` uses: one intercept per seasonal
//! group (R's intercept + factor, reparametrised), an optional linear trend and an optional offset.
//!
//! The design is block-diagonal apart from the trend column, so each weighted least-squares step
//! is solved in closed form from per-group sums (see `fit`), which is what makes thousands of
//! series per second possible.

/// R's `.Machine$double.eps`: the log link's inverse never returns less (`pmax(exp(eta), eps)`).
const EPS: f64 = f64::EPSILON;
const MAX_ITERATIONS: usize = 25;
const TOLERANCE: f64 = 1e-8;

/// Observations and design of one fit.
pub(crate) struct Design<'a> {
    pub y: &'a [f64],
    /// y·ln y (0 for y = 0) and ln(y + 0.1), the deviance and start terms, computed once per series.
    pub y_log_y: &'a [f64],
    pub log_start: &'a [f64],
    /// Seasonal group of each observation, `0..n_groups`; every group has an observation.
    pub group: &'a [usize],
    pub n_groups: usize,
    /// Time of each observation (R's `wtime`).
    pub time: &'a [f64],
    /// Log-population offset of each observation.
    pub offset: Option<&'a [f64]>,
}

impl<'a> Design<'a> {
    /// The per-observation terms `Design` needs, for a whole series.
    pub fn series_terms(y: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let y_log_y = y
            .iter()
            .map(|&v| if v > 0.0 { v * v.ln() } else { 0.0 })
            .collect();
        let log_start = y.iter().map(|&v| (v + 0.1).ln()).collect();
        (y_log_y, log_start)
    }
}

/// A converged or abandoned fit with what the threshold, the trend test and the reweighting need.
pub(crate) struct Fit {
    pub converged: bool,
    pub trend: bool,
    /// Group intercepts and slope, in time centred at `time_centre`.
    intercept: Vec<f64>,
    pub slope: f64,
    time_centre: f64,
    /// Fitted means.
    pub mu: Vec<f64>,
    /// Working weights of the last iteration (R's `weights(fit, "working")`).
    pub w: Vec<f64>,
    /// Weighted size and mean (centred) time of each group, and the within-group Σ w (t − t̄)²:
    /// together they are (X'WX)⁻¹.
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
    /// Leverage (diagonal element of the hat matrix) of observation `i`.
    pub fn leverage(&self, d: &Design, i: usize) -> f64 {
        let g = d.group[i];
        let mut h = 1.0 / self.s0[g];
        if self.trend {
            h += (d.time[i] - self.time_centre - self.tbar[g]).powi(2) / self.sxx;
        }
        self.w[i] * h
    }

    /// Linear predictor and its unscaled variance x₀'(X'WX)⁻¹x₀ at a new point.
    pub fn predict_link(&self, group: usize, time: f64, offset: f64) -> (f64, f64) {
        let mut eta = self.intercept[group] + offset;
        let mut var = 1.0 / self.s0[group];
        if self.trend {
            let t = time - self.time_centre;
            eta += self.slope * t;
            var += (t - self.tbar[group]).powi(2) / self.sxx;
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

/// The log link's inverse as R's `poisson()$linkinv`, and the η the deviance must then use.
fn inverse_link(eta: f64) -> (f64, f64) {
    let mu = eta.exp();
    if mu < EPS { (EPS, EPS.ln()) } else { (mu, eta) }
}

/// One observation's share of the deviance, 2·p·(y ln(y/μ) − (y − μ)), from y ln y and ln μ.
fn unit_deviance(prior: f64, y: f64, y_log_y: f64, mu: f64, log_mu: f64) -> f64 {
    2.0 * prior * (y_log_y - y * log_mu - (y - mu))
}

/// Per-group sums of one weighted least-squares step: Σw, Σwt, Σwt², Σwz, Σwtz.
#[derive(Clone)]
struct Sums {
    w: Vec<f64>,
    wt: Vec<f64>,
    wtt: Vec<f64>,
    wz: Vec<f64>,
    wtz: Vec<f64>,
}

impl Sums {
    fn zero(groups: usize) -> Sums {
        Sums {
            w: vec![0.0; groups],
            wt: vec![0.0; groups],
            wtt: vec![0.0; groups],
            wz: vec![0.0; groups],
            wtz: vec![0.0; groups],
        }
    }

    fn reset(&mut self) {
        for v in [
            &mut self.w,
            &mut self.wt,
            &mut self.wtt,
            &mut self.wz,
            &mut self.wtz,
        ] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    fn add(&mut self, g: usize, w: f64, t: f64, z: f64) {
        self.w[g] += w;
        self.wt[g] += w * t;
        self.wtt[g] += w * t * t;
        self.wz[g] += w * z;
        self.wtz[g] += w * t * z;
    }

    /// The weighted least-squares coefficients (group intercepts, slope), the group mean times
    /// and the within-group Σ w (t − t̄)².
    /// Writes the group intercepts and mean times; returns the slope and Σ w (t − t̄)².
    fn solve(&self, trend: bool, intercept: &mut [f64], tbar: &mut [f64]) -> (f64, f64) {
        let groups = self.w.len();
        for g in 0..groups {
            // The intercept is z̄ until the slope is known.
            intercept[g] = self.wz[g] / self.w[g];
            tbar[g] = if trend { self.wt[g] / self.w[g] } else { 0.0 };
        }
        if !trend {
            return (0.0, f64::NAN);
        }
        let sxx: f64 = (0..groups)
            .map(|g| self.wtt[g] - self.wt[g] * tbar[g])
            .sum();
        let sxz: f64 = (0..groups)
            .map(|g| self.wtz[g] - self.wt[g] * intercept[g])
            .sum();
        let slope = sxz / sxx;
        for g in 0..groups {
            intercept[g] -= slope * tbar[g];
        }
        (slope, sxx)
    }
}

/// Sums of the prior weights and prior-weighted counts per group, which do not change between
/// iterations.
struct Constant {
    p: Vec<f64>,
    pt: Vec<f64>,
    ptt: Vec<f64>,
    py: Vec<f64>,
    pyt: Vec<f64>,
    py_log_y: Vec<f64>,
    t_min: Vec<f64>,
    t_max: Vec<f64>,
}

/// Fits the model with optional prior weights. `trend` adds the time column.
///
/// Each iteration needs the sums of w = p·μ, w·t, w·t², w·z, w·t·z per group. Without an offset,
/// μᵢ = e^{a_g} e^{b tᵢ} and zᵢ = ηᵢ + (yᵢ − μᵢ)/μᵢ, so those sums follow from Σ p e^{b t}·{1, t, t²}
/// per group (a running product over consecutive weeks, no exp per observation, and nothing
/// per observation at all without trend) and the constant Σ p·y, Σ p·y·t. The observations are
/// visited one by one only at the start (μ = y + 0.1), at the end, with an offset, or when μ
/// would fall to R's floor of machine epsilon.
pub(crate) fn fit(d: &Design, trend: bool, prior: Option<&[f64]>) -> Fit {
    let n = d.y.len();
    let ng = d.n_groups;
    let p = |i: usize| prior.map_or(1.0, |p| p[i]);
    let off = |i: usize| d.offset.map_or(0.0, |o| o[i]);
    // Time is centred for the sums of t², which the slope is computed from.
    let time_centre = d.time.iter().sum::<f64>() / n as f64;
    let t = |i: usize| d.time[i] - time_centre;

    let mut k = Constant {
        p: vec![0.0; ng],
        pt: vec![0.0; ng],
        ptt: vec![0.0; ng],
        py: vec![0.0; ng],
        pyt: vec![0.0; ng],
        py_log_y: vec![0.0; ng],
        t_min: vec![f64::INFINITY; ng],
        t_max: vec![f64::NEG_INFINITY; ng],
    };
    // glm.fit starts from mustart = y + 0.1 and eta = log(mustart), whatever the offset.
    let mut sums = Sums::zero(ng);
    let mut dev_old = 0.0;
    for i in 0..n {
        let (g, ti, pi, y) = (d.group[i], t(i), p(i), d.y[i]);
        k.p[g] += pi;
        k.pt[g] += pi * ti;
        k.ptt[g] += pi * ti * ti;
        k.py[g] += pi * y;
        k.pyt[g] += pi * y * ti;
        k.py_log_y[g] += pi * d.y_log_y[i];
        k.t_min[g] = k.t_min[g].min(ti);
        k.t_max[g] = k.t_max[g].max(ti);
        let mu = y + 0.1;
        let eta = d.log_start[i];
        dev_old += unit_deviance(pi, y, d.y_log_y[i], mu, eta);
        sums.add(g, pi * mu, ti, (eta - off(i)) + (y - mu) / mu);
    }

    // The sums and deviance at given coefficients.
    let evaluate = |next: &mut Sums, intercept: &[f64], slope: f64| -> f64 {
        let lowest = (0..ng).map(|g| intercept[g] + (slope * k.t_min[g]).min(slope * k.t_max[g]));
        let floored = lowest.fold(f64::INFINITY, f64::min) < EPS.ln();
        next.reset();
        let mut dev = 0.0;
        if d.offset.is_some() || floored {
            for i in 0..n {
                let eta = intercept[d.group[i]] + slope * t(i) + off(i);
                let (mu, log_mu) = inverse_link(eta);
                dev += unit_deviance(p(i), d.y[i], d.y_log_y[i], mu, log_mu);
                next.add(
                    d.group[i],
                    p(i) * mu,
                    t(i),
                    (eta - off(i)) + (d.y[i] - mu) / mu,
                );
            }
            return dev;
        }
        // Σ p e^{b t}·{1, t, t²} per group, then scaled by e^{a_g}.
        if slope == 0.0 {
            next.w.copy_from_slice(&k.p);
            next.wt.copy_from_slice(&k.pt);
            next.wtt.copy_from_slice(&k.ptt);
        } else {
            let step = slope.exp();
            let (mut r, mut previous) = (0.0, f64::NAN);
            for i in 0..n {
                let ti = t(i);
                r = if d.time[i] - previous == 1.0 {
                    r * step
                } else {
                    (slope * ti).exp()
                };
                previous = d.time[i];
                let (g, pr) = (d.group[i], p(i) * r);
                next.w[g] += pr;
                next.wt[g] += pr * ti;
                next.wtt[g] += pr * ti * ti;
            }
        }
        for (g, &a) in intercept.iter().enumerate() {
            let e = a.exp();
            next.w[g] *= e;
            next.wt[g] *= e;
            next.wtt[g] *= e;
            // Σ w z = Σ p μ η + Σ p (y − μ), with η = a + b t.
            next.wz[g] = a * next.w[g] + slope * next.wt[g] + k.py[g] - next.w[g];
            next.wtz[g] = a * next.wt[g] + slope * next.wtt[g] + k.pyt[g] - next.wt[g];
            dev += 2.0 * (k.py_log_y[g] - a * k.py[g] - slope * k.pyt[g] - k.py[g] + next.w[g]);
        }
        dev
    };

    let mut converged = false;
    let mut next = Sums::zero(ng);
    // Coefficients behind the working weights of the current iteration (None: μ = y + 0.1).
    let mut start: Option<(Vec<f64>, f64)> = None;
    let (mut intercept, mut slope, mut tbar, mut sxx) =
        (vec![0.0; ng], 0.0, vec![0.0; ng], f64::NAN);
    let mut weights_of_last_step = sums.w.clone();
    for _ in 0..MAX_ITERATIONS {
        (slope, sxx) = sums.solve(trend, &mut intercept, &mut tbar);
        weights_of_last_step.clone_from(&sums.w);
        let mut dev = evaluate(&mut next, &intercept, slope);
        // glm.fit halves the step towards the previous coefficients while the fit is invalid.
        let mut halvings = 0;
        while !dev.is_finite() {
            let Some((old, old_slope)) = &start else {
                return abandoned(d, trend, n);
            };
            if halvings == MAX_ITERATIONS {
                return abandoned(d, trend, n);
            }
            halvings += 1;
            for (a, old) in intercept.iter_mut().zip(old) {
                *a = (*a + old) / 2.0;
            }
            slope = (slope + old_slope) / 2.0;
            dev = evaluate(&mut next, &intercept, slope);
        }
        if (dev - dev_old).abs() / (dev.abs() + 0.1) < TOLERANCE {
            converged = true;
            break;
        }
        dev_old = dev;
        std::mem::swap(&mut sums, &mut next);
        start = Some((intercept.clone(), slope));
    }

    // Per observation: the fitted μ, and the working weights of the last step (from the μ the
    // step started from), as glm.fit leaves them for the leverages and the dispersion; both in
    // one pass, by running products unless an offset or the floor at ε needs exp per observation.
    let per_observation = |a: &[f64], b: f64| {
        let lowest = (0..ng).map(|g| a[g] + (b * k.t_min[g]).min(b * k.t_max[g]));
        d.offset.is_some() || lowest.fold(f64::INFINITY, f64::min) < EPS.ln()
    };
    let (start_coef, start_slope) = start
        .as_ref()
        .map_or((None, 0.0), |(a, b)| (Some(a.as_slice()), *b));
    let exact = per_observation(&intercept, slope)
        || start_coef.is_some_and(|a| per_observation(a, start_slope));
    let scale: Vec<f64> = intercept.iter().map(|a| a.exp()).collect();
    let start_scale: Vec<f64> =
        start_coef.map_or(Vec::new(), |a| a.iter().map(|a| a.exp()).collect());
    let (step, start_step) = (slope.exp(), start_slope.exp());
    let (mut r, mut r_start, mut previous) = (0.0, 0.0, f64::NAN);
    let (mut mu, mut w) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut pearson = 0.0;
    for i in 0..n {
        let g = d.group[i];
        let (m, m_start) = if exact {
            let m_start = match start_coef {
                Some(a) => inverse_link(a[g] + start_slope * t(i) + off(i)).0,
                None => d.y[i] + 0.1,
            };
            (
                inverse_link(intercept[g] + slope * t(i) + off(i)).0,
                m_start,
            )
        } else {
            if d.time[i] - previous == 1.0 {
                r *= step;
                r_start *= start_step;
            } else {
                r = (slope * t(i)).exp();
                r_start = (start_slope * t(i)).exp();
            }
            previous = d.time[i];
            let m_start = if start_coef.is_some() {
                start_scale[g] * r_start
            } else {
                d.y[i] + 0.1
            };
            (scale[g] * r, m_start)
        };
        let wi = p(i) * m_start;
        pearson += wi * ((d.y[i] - m) / m).powi(2);
        mu.push(m);
        w.push(wi);
    }
    let rank = ng + usize::from(trend);
    let df_residual = n.saturating_sub(rank);
    let dispersion = if df_residual > 0 {
        pearson / df_residual as f64
    } else {
        f64::NAN
    };
    Fit {
        converged,
        trend,
        intercept,
        slope,
        time_centre,
        mu,
        w,
        s0: weights_of_last_step,
        tbar,
        sxx,
        df_residual,
        dispersion,
    }
}

fn abandoned(d: &Design, trend: bool, n: usize) -> Fit {
    Fit {
        converged: false,
        trend,
        intercept: vec![f64::NAN; d.n_groups],
        slope: f64::NAN,
        time_centre: f64::NAN,
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
        terms: &'a (Vec<f64>, Vec<f64>),
        group: &'a [usize],
        time: &'a [f64],
        n_groups: usize,
    ) -> Design<'a> {
        Design {
            y,
            y_log_y: &terms.0,
            log_start: &terms.1,
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
        let terms = Design::series_terms(&y);
        let f = fit(&design(&y, &terms, &group, &time, 2), false, None);
        assert!(f.converged);
        assert!((f.intercept[0].exp() - 4.0).abs() < 1e-7);
        assert!((f.intercept[1].exp() - 15.0).abs() < 1e-7);
        // Pearson χ²/df is (4+0+4)/4 + 50/15 over 3 df = 1.7777…; R weighs the residuals with the
        // working weights of its last iteration and reports 1.7777828420511359
        // (`summary(glm(y ~ factor(g), quasipoisson))$dispersion`, 4 iterations).
        assert!(
            (f.dispersion - 1.777_782_842_051_136).abs() < 1e-12,
            "{}",
            f.dispersion
        );
    }

    #[test]
    fn a_log_linear_series_is_recovered_exactly() {
        let time: Vec<f64> = (1..=20).map(f64::from).collect();
        let y: Vec<f64> = time.iter().map(|t| (0.5 + 0.1 * t).exp()).collect();
        let group = vec![0; 20];
        let terms = Design::series_terms(&y);
        let f = fit(&design(&y, &terms, &group, &time, 1), true, None);
        assert!(f.converged);
        assert!((f.slope - 0.1).abs() < 1e-9);
        assert!((f.predict_link(0, 0.0, 0.0).0 - 0.5).abs() < 1e-8);
    }

    #[test]
    fn leverages_sum_to_the_number_of_parameters() {
        let y = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let group = [0, 0, 0, 1, 1, 1, 1, 0];
        let time: Vec<f64> = (1..=8).map(f64::from).collect();
        let terms = Design::series_terms(&y);
        let d = design(&y, &terms, &group, &time, 2);
        let f = fit(&d, true, None);
        let trace: f64 = (0..y.len()).map(|i| f.leverage(&d, i)).sum();
        assert!((trace - 3.0).abs() < 1e-10);
    }
}
