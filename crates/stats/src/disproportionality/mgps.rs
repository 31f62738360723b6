//! MGPS (DuMouchel 1999): the relative reporting rate λ of each pair has a two-gamma mixture prior
//! p·Γ(α₁, β₁) + (1−p)·Γ(α₂, β₂); the count n ~ Poisson(λE) makes the marginal a negative-binomial
//! mixture. The prior is fitted by maximum likelihood over the pairs with n ≥ N*, truncated at N*
//! (openEBGM's convention); EBGM = exp E[ln λ | n], EB05/EB95 are posterior quantiles.

use super::optimise::{self, Bounds, DIM, Matrix, Vector};
use super::special::{digamma_ratio, gamma_p_q, gamma_quantile, ln_gamma_ratio};
use crate::StatsError;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma};

/// The two-gamma mixture prior; `p` is the weight of the first component, β the rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    pub alpha1: f64,
    pub beta1: f64,
    pub alpha2: f64,
    pub beta2: f64,
    pub p: f64,
}

impl Prior {
    /// DuMouchel's published FDA prior, the usual starting point (also vigipy's default).
    pub const DUMOUCHEL: Prior = Prior {
        alpha1: 0.2041,
        beta1: 0.05816,
        alpha2: 1.415,
        beta2: 1.838,
        p: 0.0969,
    };

    pub fn validate(&self) -> Result<(), StatsError> {
        for (name, v) in [
            ("alpha1", self.alpha1),
            ("beta1", self.beta1),
            ("alpha2", self.alpha2),
            ("beta2", self.beta2),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(StatsError::invalid(
                    format!("prior.{name}"),
                    format!("must be positive and finite, got {v}"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.p) {
            return Err(StatsError::invalid(
                "prior.p",
                format!("must lie in [0, 1], got {}", self.p),
            ));
        }
        Ok(())
    }

    /// The optimiser works on (ln α₁, ln β₁, ln α₂, ln β₂, logit p), unconstrained but boxed.
    fn to_theta(self) -> Vector {
        let p = self.p.clamp(1e-12, 1.0 - 1e-12);
        [
            self.alpha1.ln(),
            self.beta1.ln(),
            self.alpha2.ln(),
            self.beta2.ln(),
            (p / (1.0 - p)).ln(),
        ]
    }

    fn from_theta(theta: &Vector) -> Prior {
        Prior {
            alpha1: theta[0].exp(),
            beta1: theta[1].exp(),
            alpha2: theta[2].exp(),
            beta2: theta[3].exp(),
            p: 1.0 / (1.0 + (-theta[4]).exp()),
        }
    }
}

/// Shapes and rates from e⁻²⁵ to e²⁵ (a component of shape e²⁵ is a point mass for any count in a
/// spontaneous-report database) and weights from 1.4e-11 to 1 − 1.4e-11.
const BOUNDS: Bounds = Bounds {
    lower: [-25.0; DIM],
    upper: [25.0; DIM],
};

/// How to fit the prior.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Pairs with fewer reports than N* are left out and the likelihood is truncated at N*.
    pub n_star: u64,
    /// Starting points of the multi-start search.
    pub starts: Vec<Prior>,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        let p = |alpha1, beta1, alpha2, beta2, p| Prior {
            alpha1,
            beta1,
            alpha2,
            beta2,
            p,
        };
        FitOptions {
            n_star: 1,
            // DuMouchel's prior, openEBGM's suggested grid corners, and two that start with the
            // components the other way round, so a label-swapped basin is not missed.
            starts: vec![
                Prior::DUMOUCHEL,
                p(0.2, 0.1, 2.0, 4.0, 1.0 / 3.0),
                p(0.1, 0.1, 10.0, 10.0, 0.2),
                p(0.5, 0.5, 5.0, 5.0, 0.5),
                p(2.0, 2.0, 0.5, 0.2, 0.8),
                p(5.0, 5.0, 0.1, 0.02, 0.9),
            ],
        }
    }
}

/// A fitted prior and how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorFit {
    pub prior: Prior,
    /// The maximised truncated log-likelihood over the pairs with n ≥ N*.
    pub log_likelihood: f64,
    pub n_star: u64,
    /// Pairs with n ≥ N* and the number of distinct (n, E) combinations among them.
    pub pairs: u64,
    pub distinct: usize,
    pub evaluations: usize,
    /// The final quasi-Newton run met its tolerance; false means it stopped at its iteration limit.
    pub converged: bool,
}

/// The fit's data: the distinct (n, E) with their multiplicities, grouped by E so the terms that
/// depend on E alone (including the truncation) are computed once per distinct E.
#[derive(Debug, Clone)]
struct FitData {
    n_star: u64,
    n_values: Vec<f64>,
    ln_factorial: Vec<f64>,
    e: Vec<f64>,
    ln_e: Vec<f64>,
    e_weight: Vec<f64>,
    start: Vec<usize>,
    obs_n: Vec<u32>,
    obs_w: Vec<f64>,
    total: f64,
}

impl FitData {
    fn new(pairs: &[(u64, f64)], n_star: u64) -> Result<FitData, StatsError> {
        let mut keys: Vec<(u64, u64)> = Vec::with_capacity(pairs.len());
        for &(n, e) in pairs {
            if !(e > 0.0 && e.is_finite()) {
                return Err(StatsError::invalid(
                    "expected",
                    format!("must be positive and finite, got {e}"),
                ));
            }
            if n >= n_star {
                keys.push((e.to_bits(), n));
            }
        }
        // Positive floats order as their bit patterns.
        keys.par_sort_unstable();
        let grouped: Vec<(f64, u64, f64)> = group_runs(&keys)
            .map(|(k, w)| (f64::from_bits(k.0), k.1, w))
            .collect();
        FitData::from_grouped(grouped, n_star)
    }

    /// `grouped`: (E, n, weight) sorted by E.
    fn from_grouped(grouped: Vec<(f64, u64, f64)>, n_star: u64) -> Result<FitData, StatsError> {
        if grouped.is_empty() {
            return Err(StatsError::invalid(
                "pairs",
                format!("no pair has at least N* = {n_star} reports"),
            ));
        }
        let mut n_values: Vec<u64> = grouped.iter().map(|g| g.1).collect();
        n_values.sort_unstable();
        n_values.dedup();
        let mut data = FitData {
            n_star,
            ln_factorial: n_values.iter().map(|&n| ln_gamma(n as f64 + 1.0)).collect(),
            n_values: n_values.iter().map(|&n| n as f64).collect(),
            e: Vec::new(),
            ln_e: Vec::new(),
            e_weight: Vec::new(),
            start: vec![0],
            obs_n: Vec::with_capacity(grouped.len()),
            obs_w: Vec::with_capacity(grouped.len()),
            total: 0.0,
        };
        for (e, n, w) in grouped {
            if data.e.last() != Some(&e) {
                if !data.e.is_empty() {
                    data.start.push(data.obs_n.len());
                }
                data.e.push(e);
                data.ln_e.push(e.ln());
                data.e_weight.push(0.0);
            }
            *data.e_weight.last_mut().unwrap() += w;
            data.obs_n.push(n_values.binary_search(&n).unwrap() as u32);
            data.obs_w.push(w);
            data.total += w;
        }
        data.start.push(data.obs_n.len());
        Ok(data)
    }

    fn distinct(&self) -> usize {
        self.obs_n.len()
    }

    /// A coarse copy for the multi-start search: E rounded to bins of `width` on the log scale
    /// (represented by the bin's weighted mean E), counts kept exact.
    fn binned(&self, width: f64) -> FitData {
        let mut keys: Vec<(i64, u64, f64, f64)> = Vec::with_capacity(self.distinct());
        for (u, &e) in self.e.iter().enumerate() {
            let bin = (e.ln() / width).floor() as i64;
            for o in self.start[u]..self.start[u + 1] {
                let w = self.obs_w[o];
                keys.push((bin, self.n_values[self.obs_n[o] as usize] as u64, w * e, w));
            }
        }
        keys.sort_unstable_by_key(|k| (k.0, k.1));
        let mut grouped: Vec<(i64, u64, f64, f64)> = Vec::new();
        for k in keys {
            match grouped.last_mut() {
                Some(g) if g.0 == k.0 && g.1 == k.1 => {
                    g.2 += k.2;
                    g.3 += k.3;
                }
                _ => grouped.push(k),
            }
        }
        let mut triples: Vec<(f64, u64, f64)> =
            grouped.into_iter().map(|g| (g.2 / g.3, g.1, g.3)).collect();
        triples.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        FitData::from_grouped(triples, self.n_star).expect("binning keeps every pair")
    }

    /// The truncated log-likelihood and its gradient in θ = (ln α₁, ln β₁, ln α₂, ln β₂, logit p).
    fn evaluate(&self, theta: &Vector) -> (f64, Vector) {
        let prior = Prior::from_theta(theta);
        let comps = [
            Component::new(prior.alpha1, prior.beta1, self),
            Component::new(prior.alpha2, prior.beta2, self),
        ];
        let p = prior.p;
        // ln p and ln(1 − p) from the logit without rounding p to 0 or 1 first.
        let ln_p = -(-theta[4]).exp().ln_1p();
        let ln_q = -theta[4].exp().ln_1p();
        const CHUNK: usize = 4096;
        let parts: Vec<(f64, Vector)> = (0..self.e.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|chunk| {
                let mut ll = 0.0;
                let mut g = [0.0; DIM];
                for u in chunk * CHUNK..((chunk + 1) * CHUNK).min(self.e.len()) {
                    let e = self.e[u];
                    let lp = [-(e / comps[0].beta).ln_1p(), -(e / comps[1].beta).ln_1p()];
                    // ln(E/(β+E)) = ln(β/(β+E)) + ln E − ln β: no second log per component.
                    let ln_e = self.ln_e[u];
                    let lq = [
                        lp[0] + ln_e - comps[0].ln_beta,
                        lp[1] + ln_e - comps[1].ln_beta,
                    ];
                    // Truncation: T = P(n ≥ N*) under the mixture, from each component's
                    // P(n < N*) and survival, written with expm1 so E ≪ β keeps its digits.
                    let mut below = [0.0; 2];
                    let mut survival = [0.0; 2];
                    let mut d_below = [[0.0; 2]; 2]; // [component][∂ln α, ∂ln β]
                    for k in 0..2 {
                        let c = &comps[k];
                        survival[k] = -(c.alpha * lp[k]).exp_m1();
                        for j in 0..self.n_star as usize {
                            let f = (c.trunc_g[j] + c.alpha * lp[k] + j as f64 * lq[k]).exp();
                            below[k] += f;
                            if j > 0 {
                                survival[k] -= f;
                            }
                            d_below[k][0] += f * c.alpha * (c.trunc_d[j] + lp[k]);
                            d_below[k][1] +=
                                f * (c.alpha - c.beta * (c.alpha + j as f64) / (c.beta + e));
                        }
                    }
                    let t = p * survival[0] + (1.0 - p) * survival[1];
                    let we = self.e_weight[u];
                    ll -= we * t.ln();
                    g[0] += we * p * d_below[0][0] / t;
                    g[1] += we * p * d_below[0][1] / t;
                    g[2] += we * (1.0 - p) * d_below[1][0] / t;
                    g[3] += we * (1.0 - p) * d_below[1][1] / t;
                    g[4] += we * p * (1.0 - p) * (below[0] - below[1]) / t;
                    for o in self.start[u]..self.start[u + 1] {
                        let i = self.obs_n[o] as usize;
                        let n = self.n_values[i];
                        let w = self.obs_w[o];
                        let a1 = ln_p + comps[0].g[i] + comps[0].alpha * lp[0] + n * lq[0];
                        let a2 = ln_q + comps[1].g[i] + comps[1].alpha * lp[1] + n * lq[1];
                        // ln(e^a1 + e^a2) and the responsibilities from one exponential.
                        let t = (-(a1 - a2).abs()).exp();
                        ll += w * (a1.max(a2) + t.ln_1p());
                        let (big, small) = (1.0 / (1.0 + t), t / (1.0 + t));
                        let (r1, r2) = if a1 >= a2 { (big, small) } else { (small, big) };
                        g[0] += w * r1 * comps[0].alpha * (comps[0].d[i] + lp[0]);
                        g[1] += w
                            * r1
                            * (comps[0].alpha
                                - comps[0].beta * (comps[0].alpha + n) / (comps[0].beta + e));
                        g[2] += w * r2 * comps[1].alpha * (comps[1].d[i] + lp[1]);
                        g[3] += w
                            * r2
                            * (comps[1].alpha
                                - comps[1].beta * (comps[1].alpha + n) / (comps[1].beta + e));
                        g[4] += w * (r1 - p);
                    }
                }
                (ll, g)
            })
            .collect();
        let mut ll = 0.0;
        let mut g = [0.0; DIM];
        for (l, gp) in parts {
            ll += l;
            for i in 0..DIM {
                g[i] += gp[i];
            }
        }
        (ll, g)
    }

    /// The objective the optimiser minimises: minus the mean log-likelihood per pair.
    fn objective(&self, theta: &Vector) -> (f64, Vector) {
        let (ll, g) = self.evaluate(theta);
        (-ll / self.total, g.map(|v| -v / self.total))
    }
}

/// The per-count terms of one mixture component under the current parameters.
struct Component {
    alpha: f64,
    beta: f64,
    ln_beta: f64,
    /// ln Γ(α + n) − ln Γ(α) − ln n! for each distinct n.
    g: Vec<f64>,
    /// ψ(α + n) − ψ(α) for each distinct n.
    d: Vec<f64>,
    /// The same for j = 0 … N* − 1, the counts the truncation removes.
    trunc_g: Vec<f64>,
    trunc_d: Vec<f64>,
}

impl Component {
    fn new(alpha: f64, beta: f64, data: &FitData) -> Component {
        let trunc: Vec<f64> = (0..data.n_star).map(|j| j as f64).collect();
        Component {
            alpha,
            beta,
            ln_beta: beta.ln(),
            g: data
                .n_values
                .iter()
                .zip(&data.ln_factorial)
                .map(|(&n, lf)| ln_gamma_ratio(alpha, n) - lf)
                .collect(),
            d: data
                .n_values
                .iter()
                .map(|&n| digamma_ratio(alpha, n))
                .collect(),
            trunc_g: trunc
                .iter()
                .map(|&j| ln_gamma_ratio(alpha, j) - ln_gamma(j + 1.0))
                .collect(),
            trunc_d: trunc.iter().map(|&j| digamma_ratio(alpha, j)).collect(),
        }
    }
}

/// Run-length groups of a sorted slice: each distinct value with its multiplicity.
fn group_runs<T: PartialEq + Copy>(sorted: &[T]) -> impl Iterator<Item = (T, f64)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = *sorted.get(i)?;
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == first {
            j += 1;
        }
        let w = (j - i) as f64;
        i = j;
        Some((first, w))
    })
}

/// The truncated log-likelihood of `prior` over the (n, E) pairs with n ≥ N*.
pub fn log_likelihood(prior: &Prior, pairs: &[(u64, f64)], n_star: u64) -> Result<f64, StatsError> {
    prior.validate()?;
    if n_star == 0 {
        return Err(StatsError::invalid(
            "n_star",
            "must be at least 1: unobserved pairs are not enumerated",
        ));
    }
    let data = FitData::new(pairs, n_star)?;
    Ok(data.evaluate(&prior.to_theta()).0)
}

/// Fits the prior by maximum likelihood over (n, E) pairs: a Nelder–Mead then BFGS search from
/// every starting point on a binned copy of the data, then BFGS on the exact data from the best,
/// started with the binned Hessian so it needs only a few passes over millions of pairs.
pub fn fit_prior(pairs: &[(u64, f64)], options: &FitOptions) -> Result<PriorFit, StatsError> {
    if options.n_star == 0 {
        return Err(StatsError::invalid(
            "n_star",
            "must be at least 1: unobserved pairs are not enumerated",
        ));
    }
    if options.starts.is_empty() {
        return Err(StatsError::invalid(
            "starts",
            "at least one starting point is needed",
        ));
    }
    for start in &options.starts {
        start.validate()?;
    }
    let data = FitData::new(pairs, options.n_star)?;
    const EXACT_SEARCH_LIMIT: usize = 20_000;
    let coarse = if data.distinct() > EXACT_SEARCH_LIMIT {
        Some(data.binned(0.05))
    } else {
        None
    };
    let search = coarse.as_ref().unwrap_or(&data);

    // The starts are independent searches on a small copy: run them side by side.
    let searches: Vec<(optimise::Minimum, usize)> = options
        .starts
        .par_iter()
        .map(|start| {
            let mut f = |theta: &Vector| search.objective(theta).0;
            let (x, _, evals) =
                optimise::nelder_mead(&mut f, &start.to_theta(), 0.5, &BOUNDS, 1e-9, 300);
            let m = optimise::bfgs(&mut |t| search.objective(t), &x, None, &BOUNDS, 1e-13, 200);
            (m, evals + m.evaluations)
        })
        .collect();
    let mut evaluations: usize = searches.iter().map(|s| s.1).sum();
    // The best start; the first of equals, so the result does not depend on scheduling.
    let best = searches
        .into_iter()
        .map(|s| s.0)
        .reduce(|b, m| if m.value < b.value { m } else { b });
    let mut best = best.expect("at least one start");
    if let Some(coarse) = coarse.as_ref() {
        // Refine through finer binnings to the exact data, each stage started from the previous
        // optimum with the previous stage's Hessian, so the passes over millions of pairs are
        // few. The final tolerance is 1e-11 per pair in mean log-likelihood.
        let fine = data.binned(0.002);
        let mut previous = coarse;
        for (stage, tol, max_iter) in [(&fine, 1e-12, 100), (&data, 1e-11, 30)] {
            let hessian = finite_difference_hessian(previous, &best.x);
            evaluations += 2 * DIM;
            let m = optimise::bfgs(
                &mut |t| stage.objective(t),
                &best.x,
                optimise::regularised_inverse(&hessian),
                &BOUNDS,
                tol,
                max_iter,
            );
            evaluations += m.evaluations;
            best = m;
            previous = stage;
        }
    }
    if !best.value.is_finite() {
        return Err(StatsError::NoConvergence {
            method: "MGPS prior fit",
            reason: "the likelihood is not finite at any start".into(),
        });
    }
    Ok(PriorFit {
        prior: Prior::from_theta(&best.x),
        log_likelihood: -best.value * data.total,
        n_star: options.n_star,
        pairs: data.total as u64,
        distinct: data.distinct(),
        evaluations,
        converged: best.converged,
    })
}

/// Central differences of the analytic gradient, symmetrised.
fn finite_difference_hessian(data: &FitData, x: &Vector) -> Matrix {
    const H: f64 = 1e-4;
    let mut m = [[0.0; DIM]; DIM];
    for i in 0..DIM {
        let mut up = *x;
        let mut down = *x;
        up[i] += H;
        down[i] -= H;
        let (_, gu) = data.objective(&up);
        let (_, gd) = data.objective(&down);
        for j in 0..DIM {
            m[i][j] = (gu[j] - gd[j]) / (2.0 * H);
        }
    }
    std::array::from_fn(|i| std::array::from_fn(|j| 0.5 * (m[i][j] + m[j][i])))
}

/// A pair's empirical-Bayes estimates under a prior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EbEstimate {
    /// Posterior probability that λ comes from the first component.
    pub q: f64,
    pub ebgm: f64,
    pub eb05: f64,
    pub eb95: f64,
}

/// The terms of the posterior that depend on the prior and the count only, not on E.
#[derive(Debug, Clone, Copy)]
pub struct CountTerms {
    n: f64,
    /// ln Γ(α + n) − ln Γ(α) − ln n!, ln Γ(α + n), ψ(α + n), and the 5% and 95% quantiles of
    /// Gamma(α + n, 1), for each component.
    g: [f64; 2],
    ln_gamma_shape: [f64; 2],
    digamma_shape: [f64; 2],
    q05: [f64; 2],
    q95: [f64; 2],
}

impl CountTerms {
    pub fn new(prior: &Prior, n: u64) -> CountTerms {
        let n = n as f64;
        let alphas = [prior.alpha1, prior.alpha2];
        let ln_fact = ln_gamma(n + 1.0);
        CountTerms {
            n,
            g: alphas.map(|a| ln_gamma_ratio(a, n) - ln_fact),
            ln_gamma_shape: alphas.map(|a| ln_gamma(a + n)),
            digamma_shape: alphas.map(|a| digamma(a + n)),
            q05: alphas.map(|a| gamma_quantile(a + n, 0.05)),
            q95: alphas.map(|a| gamma_quantile(a + n, 0.95)),
        }
    }
}

/// EBGM, EB05 and EB95 of a pair with `n` reports and `expected` under `prior`.
pub fn posterior(prior: &Prior, n: u64, expected: f64) -> EbEstimate {
    posterior_with(prior, &CountTerms::new(prior, n), expected)
}

/// As [`posterior`], with the count's terms computed once for all pairs of that count.
pub fn posterior_with(prior: &Prior, terms: &CountTerms, expected: f64) -> EbEstimate {
    let e = expected;
    let n = terms.n;
    let betas = [prior.beta1, prior.beta2];
    let alphas = [prior.alpha1, prior.alpha2];
    let log_marginal: [f64; 2] = std::array::from_fn(|k| {
        terms.g[k] - alphas[k] * (e / betas[k]).ln_1p() - n * (betas[k] / e).ln_1p()
    });
    // Q = p f₁ / (p f₁ + (1 − p) f₂), as a logistic of the log ratio so neither f underflows.
    let q = 1.0
        / (1.0 + ((1.0 - prior.p).ln() - prior.p.ln() + log_marginal[1] - log_marginal[0]).exp());
    let rates = [betas[0] + e, betas[1] + e];
    let e_ln_lambda = q * (terms.digamma_shape[0] - rates[0].ln())
        + (1.0 - q) * (terms.digamma_shape[1] - rates[1].ln());
    let mix = Mixture {
        q,
        shape: alphas.map(|a| a + n),
        ln_gamma_shape: terms.ln_gamma_shape,
        rate: rates,
    };
    EbEstimate {
        q,
        ebgm: e_ln_lambda.exp(),
        eb05: mix.quantile(0.05, [terms.q05[0] / rates[0], terms.q05[1] / rates[1]]),
        eb95: mix.quantile(0.95, [terms.q95[0] / rates[0], terms.q95[1] / rates[1]]),
    }
}

/// The posterior of λ: q·Γ(shape₁, rate₁) + (1 − q)·Γ(shape₂, rate₂).
struct Mixture {
    q: f64,
    shape: [f64; 2],
    ln_gamma_shape: [f64; 2],
    rate: [f64; 2],
}

impl Mixture {
    /// The `prob` quantile, given each component's own quantile (the mixture's lies between them).
    /// Safeguarded Newton on ln x, on the tail probability of the side being sought, so both
    /// EB05 and EB95 are solved where the CDF still has resolution.
    fn quantile(&self, prob: f64, component: [f64; 2]) -> f64 {
        let (mut lo, mut hi) = (
            component[0].min(component[1]),
            component[0].max(component[1]),
        );
        if self.q >= 1.0 || hi - lo <= 1e-15 * hi {
            return if self.q >= 1.0 {
                component[0]
            } else {
                component[1]
            };
        }
        if self.q <= 0.0 {
            return component[1];
        }
        let upper = prob > 0.5;
        let target = if upper { 1.0 - prob } else { prob };
        // h(u) = tail(eᵘ) − target, increasing in u for the lower tail, decreasing for the upper.
        let h = |x: f64| -> (f64, f64) {
            let mut tail = 0.0;
            let mut density = 0.0;
            for k in 0..2 {
                let w = if k == 0 { self.q } else { 1.0 - self.q };
                let (p, q) = gamma_p_q(self.shape[k], self.ln_gamma_shape[k], self.rate[k] * x);
                tail += w * if upper { q } else { p };
                let d = (self.shape[k] * (self.rate[k] * x).ln()
                    - self.rate[k] * x
                    - self.ln_gamma_shape[k])
                    .exp();
                density += w * d; // x·f(x): the derivative in u = ln x
            }
            if upper {
                (target - tail, density)
            } else {
                (tail - target, density)
            }
        };
        let mut x = if self.q >= 0.5 {
            component[0]
        } else {
            component[1]
        };
        for _ in 0..100 {
            let (value, slope) = h(x);
            if value == 0.0 {
                return x;
            }
            if value > 0.0 {
                hi = x
            } else {
                lo = x
            }
            let step = -value / slope;
            let mut next = x * step.exp();
            if !(next > lo && next < hi && next.is_finite()) {
                next = (lo * hi).sqrt();
            } else if step.abs() < 1e-8 {
                // Newton converges quadratically: after a step this small the error left is of
                // order step² ≈ 1e-16, so the step's result is final without another evaluation.
                return next;
            }
            if (next - x).abs() <= 1e-14 * x {
                return next;
            }
            x = next;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIOR: Prior = Prior {
        alpha1: 0.2,
        beta1: 0.1,
        alpha2: 2.0,
        beta2: 4.0,
        p: 0.3,
    };

    #[test]
    fn with_a_single_component_ebgm_is_the_exponential_of_the_gamma_posterior_log_mean() {
        // p = 1: λ | n ~ Γ(α₁ + n, β₁ + E), so E[ln λ] = ψ(α₁ + n) − ln(β₁ + E).
        let prior = Prior { p: 1.0, ..PRIOR };
        let eb = posterior(&prior, 5, 2.0);
        assert!((eb.ebgm - (digamma(5.2) - 2.1f64.ln()).exp()).abs() < 1e-12);
        // and EB05 is that gamma's 5% quantile.
        let (p, _) = gamma_p_q(5.2, ln_gamma(5.2), 2.1 * eb.eb05);
        assert!((p - 0.05).abs() < 1e-12);
    }

    #[test]
    fn the_mixture_quantiles_have_the_stated_posterior_probability() {
        let eb = posterior(&PRIOR, 3, 0.4);
        assert!(eb.q > 0.0 && eb.q < 1.0);
        let cdf = |x: f64| {
            eb.q * gamma_p_q(3.2, ln_gamma(3.2), 0.5 * x).0
                + (1.0 - eb.q) * gamma_p_q(5.0, ln_gamma(5.0), 4.4 * x).0
        };
        assert!((cdf(eb.eb05) - 0.05).abs() < 1e-12);
        assert!((cdf(eb.eb95) - 0.95).abs() < 1e-12);
        assert!(eb.eb05 < eb.ebgm && eb.ebgm < eb.eb95);
    }

    #[test]
    fn a_pair_reported_far_more_than_expected_is_pulled_towards_but_not_to_n_over_e() {
        let eb = posterior(&PRIOR, 20, 1.0);
        assert!(eb.ebgm > 5.0 && eb.ebgm < 20.0, "{}", eb.ebgm);
    }

    #[test]
    fn the_zero_truncated_likelihood_of_one_pair_is_its_conditional_probability() {
        // One component (p = 1): P(n = 2 | n ≥ 1) = NB(2) / (1 − NB(0)).
        let prior = Prior { p: 1.0, ..PRIOR };
        let (a, b, e) = (0.2f64, 0.1f64, 1.5f64);
        let nb = |n: f64| {
            (ln_gamma(a + n) - ln_gamma(a) - ln_gamma(n + 1.0)
                + a * (b / (b + e)).ln()
                + n * (e / (b + e)).ln())
            .exp()
        };
        let expected = (nb(2.0) / (1.0 - nb(0.0))).ln();
        let ll = log_likelihood(&prior, &[(2, e)], 1).unwrap();
        assert!((ll - expected).abs() < 1e-12, "{ll} vs {expected}");
        // Truncated at N* = 2 it is conditional on n ≥ 2.
        let ll2 = log_likelihood(&prior, &[(2, e)], 2).unwrap();
        // (p is held 1e-12 inside 1 by the logit, hence 1e-10.)
        assert!((ll2 - (nb(2.0) / (1.0 - nb(0.0) - nb(1.0))).ln()).abs() < 1e-10);
    }

    #[test]
    fn the_analytic_gradient_matches_finite_differences_for_both_truncations() {
        let pairs: Vec<(u64, f64)> = (0..200)
            .map(|i| (1 + (i * 7 % 13) as u64, 0.05 + (i % 17) as f64 * 0.3))
            .collect();
        for n_star in [1, 2] {
            let data = FitData::new(&pairs, n_star).unwrap();
            let theta = PRIOR.to_theta();
            let (_, g) = data.evaluate(&theta);
            for i in 0..DIM {
                let h = 1e-6;
                let mut up = theta;
                let mut down = theta;
                up[i] += h;
                down[i] -= h;
                let fd = (data.evaluate(&up).0 - data.evaluate(&down).0) / (2.0 * h);
                assert!(
                    (g[i] - fd).abs() < 1e-5 * fd.abs().max(1.0),
                    "N*={n_star} θ{i}: {} vs {fd}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn the_fit_recovers_the_prior_that_generated_the_counts() {
        // Deterministic pseudo-random draws from a known mixture, then the ML fit.
        let truth = Prior {
            alpha1: 0.5,
            beta1: 0.5,
            alpha2: 8.0,
            beta2: 2.0,
            p: 0.7,
        };
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pairs = Vec::new();
        for i in 0..20_000 {
            let e = 0.5 + (i % 40) as f64 * 0.25;
            let (a, b) = if uniform() < truth.p {
                (truth.alpha1, truth.beta1)
            } else {
                (truth.alpha2, truth.beta2)
            };
            let lambda = gamma_quantile(a, uniform().max(1e-300)) / b;
            // Poisson(λE) by inversion.
            let mean = lambda * e;
            let (mut n, mut pmf, u) = (0u64, (-mean).exp(), uniform());
            let mut cdf = pmf;
            while cdf < u && n < 10_000 {
                n += 1;
                pmf *= mean / n as f64;
                cdf += pmf;
            }
            if n >= 1 {
                pairs.push((n, e));
            }
        }
        let fit = fit_prior(&pairs, &FitOptions::default()).unwrap();
        let at_truth = log_likelihood(&truth, &pairs, 1).unwrap();
        assert!(
            fit.log_likelihood >= at_truth,
            "{} < {}",
            fit.log_likelihood,
            at_truth
        );
        // The fitted prior's mean of λ is close to the truth's.
        let mean = |p: &Prior| p.p * p.alpha1 / p.beta1 + (1.0 - p.p) * p.alpha2 / p.beta2;
        assert!(
            (mean(&fit.prior) - mean(&truth)).abs() < 0.1 * mean(&truth),
            "{:?}",
            fit.prior
        );
    }
}
