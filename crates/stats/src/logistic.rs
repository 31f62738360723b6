//! Logistic regression by iteratively reweighted least squares, as R's `glm(family = binomial)`
//! fits it (same start, same deviance convergence test, same standard errors), plus the model
//! checks a risk model is judged by: the c-statistic and the Hosmer–Lemeshow test.
//! Reference: R 4.2.2 `glm`; fixtures from tests/fixtures/riskadj/make.R.

use crate::StatsError;
use crate::funnel::{average_ranks, quantile_sorted};
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// A model matrix stored row-major (one patient's covariates contiguous), so that one pass over
/// memory builds X'WX; the first column is normally the intercept.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Column names as R prints them: `(Intercept)`, `age`, `sexM`.
    pub names: Vec<String>,
    pub rows: usize,
    /// `rows × names.len()` values, row after row.
    pub values: Vec<f64>,
}

impl Design {
    pub fn columns(&self) -> usize {
        self.names.len()
    }

    fn row(&self, i: usize) -> &[f64] {
        let p = self.columns();
        &self.values[i * p..(i + 1) * p]
    }
}

/// Convergence settings; the defaults are `glm.control()`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticOptions {
    pub max_iterations: usize,
    /// Converged when |deviance − previous| / (|deviance| + 0.1) < epsilon.
    pub epsilon: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            max_iterations: 25,
            epsilon: 1e-8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    pub term: String,
    pub estimate: f64,
    pub se: f64,
    /// Wald z = estimate / se.
    pub z: f64,
    /// Two-sided normal p-value of z.
    pub p: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticFit {
    pub coefficients: Vec<Coefficient>,
    pub deviance: f64,
    pub null_deviance: f64,
    pub iterations: usize,
    /// Fitted probabilities, one per row.
    #[serde(skip)]
    pub fitted: Vec<f64>,
}

/// Fits P(y = 1) = logistic(Xβ). `y` holds 0 or 1 per row. Perfect separation, a singular
/// design and non-convergence are errors that say which, never coefficients that look fitted.
pub fn fit_logistic(
    design: &Design,
    y: &[f64],
    options: LogisticOptions,
) -> Result<LogisticFit, StatsError> {
    let (n, p) = (design.rows, design.columns());
    if design.values.len() != n * p || y.len() != n {
        return Err(StatsError::invalid(
            "design",
            "rows of covariates and outcomes differ in number",
        ));
    }
    if n <= p {
        return Err(StatsError::invalid(
            "rows",
            format!("{n} rows cannot estimate {p} coefficients"),
        ));
    }
    if let Some(i) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(StatsError::invalid(
            format!("outcome, row {}", i + 1),
            format!("must be 0 or 1, got {}", y[i]),
        ));
    }
    let events: f64 = y.iter().sum();
    if events == 0.0 || events == n as f64 {
        return Err(StatsError::invalid(
            "outcome",
            "every row has the same outcome; there is nothing to model",
        ));
    }

    // The normal equations are formed on centred and scaled columns: Newton's method is
    // unchanged by an affine change of parameters (same steps, same deviances), but X'WX is far
    // better conditioned than with, say, ages in days beside an intercept.
    let standard = Standardisation::of(design);
    // glm's start: μ = (y + ½) / 2, then Newton steps on the deviance.
    let mut pass = weighted_pass(design, &standard, y, Linear::Start);
    let mut deviance_old = pass.deviance;
    let mut beta_old: Option<Vec<f64>> = None;
    for iteration in 1..=options.max_iterations {
        let factor = match Cholesky::new(&pass.xtwx, p) {
            Ok(factor) => factor,
            Err(column) => {
                if pass.extreme > 0 {
                    return Err(separation(design, beta_old.as_deref(), pass.extreme));
                }
                return Err(StatsError::invalid(
                    design.names[column].clone(),
                    "is a linear combination of the columns before it (collinear, or a category with no rows); drop it",
                ));
            }
        };
        let mut beta = standard.original(&factor.solve(&pass.xtwz));
        let mut next = weighted_pass(design, &standard, y, Linear::Coefficients(&beta));
        // glm halves the step while the deviance is not finite.
        let mut halvings = 0;
        while !next.deviance.is_finite() {
            let Some(old) = beta_old.as_deref() else {
                break;
            };
            halvings += 1;
            if halvings > options.max_iterations {
                break;
            }
            beta.iter_mut()
                .zip(old)
                .for_each(|(b, o)| *b = (*b + o) / 2.0);
            next = weighted_pass(design, &standard, y, Linear::Coefficients(&beta));
        }
        if !next.deviance.is_finite() {
            return Err(StatsError::NoConvergence {
                method: "logistic regression",
                reason: "the deviance is not finite even after halving the step".into(),
            });
        }
        if (next.deviance - deviance_old).abs() / (next.deviance.abs() + 0.1) < options.epsilon {
            if next.extreme > 0 {
                return Err(separation(design, Some(&beta), next.extreme));
            }
            // As glm, the standard errors come from the weights of the last step taken.
            let covariance_diagonal = standard.original_variances(&factor);
            return Ok(LogisticFit {
                coefficients: coefficients(design, &beta, &covariance_diagonal),
                deviance: next.deviance,
                null_deviance: null_deviance(y, events),
                iterations: iteration,
                fitted: fitted(design, &beta),
            });
        }
        deviance_old = next.deviance;
        beta_old = Some(beta);
        pass = next;
    }
    if pass.extreme > 0 {
        return Err(separation(design, beta_old.as_deref(), pass.extreme));
    }
    Err(StatsError::NoConvergence {
        method: "logistic regression",
        reason: format!(
            "the deviance was still changing after {} iterations",
            options.max_iterations
        ),
    })
}

/// Centring and scaling of the design's columns for the normal equations: x′ = (x − c) / s.
/// Columns are centred only when the design has an intercept (a column of ones) to absorb it.
struct Standardisation {
    centre: Vec<f64>,
    inverse_scale: Vec<f64>,
    intercept: Option<usize>,
}

impl Standardisation {
    fn of(design: &Design) -> Self {
        let (n, p) = (design.rows, design.columns());
        // Column sums and "all ones" flags, then sums of squares about the centre, over row
        // blocks in parallel, summed in block order.
        let blocks = || {
            (0..n.div_ceil(BLOCK))
                .into_par_iter()
                .map(|b| b * BLOCK..((b + 1) * BLOCK).min(n))
        };
        let sums: Vec<(Vec<f64>, Vec<bool>)> = blocks()
            .map(|rows| {
                let (mut sum, mut ones) = (vec![0.0; p], vec![true; p]);
                for i in rows {
                    for (j, &x) in design.row(i).iter().enumerate() {
                        sum[j] += x;
                        ones[j] &= x == 1.0;
                    }
                }
                (sum, ones)
            })
            .collect();
        let (mut sum, mut ones) = (vec![0.0; p], vec![true; p]);
        for (s, o) in &sums {
            (0..p).for_each(|j| (sum[j], ones[j]) = (sum[j] + s[j], ones[j] && o[j]));
        }
        let intercept = ones.iter().position(|&one| one);
        let centre: Vec<f64> = (0..p)
            .map(|j| {
                if intercept.is_some() && Some(j) != intercept {
                    sum[j] / n as f64
                } else {
                    0.0
                }
            })
            .collect();
        let squares: Vec<Vec<f64>> = blocks()
            .map(|rows| {
                let mut squares = vec![0.0; p];
                for i in rows {
                    for (j, &x) in design.row(i).iter().enumerate() {
                        squares[j] += (x - centre[j]) * (x - centre[j]);
                    }
                }
                squares
            })
            .collect();
        // A column with no spread keeps scale 1, so that the factorisation can name it.
        let inverse_scale = (0..p)
            .map(|j| {
                let rms = (squares.iter().map(|s| s[j]).sum::<f64>() / n as f64).sqrt();
                if rms > 0.0 { 1.0 / rms } else { 1.0 }
            })
            .collect();
        Standardisation {
            centre,
            inverse_scale,
            intercept,
        }
    }

    /// The row of T in β = T β′ for coefficient j: β_j = β′_j / s_j, and the intercept takes
    /// back the centring, β₀ = β′₀ − Σ β′_k c_k / s_k.
    fn transform_row(&self, j: usize) -> Vec<f64> {
        let mut row = vec![0.0; self.centre.len()];
        row[j] = self.inverse_scale[j];
        if Some(j) == self.intercept {
            for (k, r) in row.iter_mut().enumerate() {
                if k != j {
                    *r -= self.centre[k] * self.inverse_scale[k];
                }
            }
        }
        row
    }

    /// Coefficients on the original columns from those on the standardised ones.
    fn original(&self, standardised: &[f64]) -> Vec<f64> {
        (0..standardised.len())
            .map(|j| dot(&self.transform_row(j), standardised))
            .collect()
    }

    /// Variances of the original coefficients: diag(T (X′ᵀWX′)⁻¹ Tᵀ).
    fn original_variances(&self, factor: &Cholesky) -> Vec<f64> {
        (0..self.centre.len())
            .map(|j| {
                let t = self.transform_row(j);
                dot(&t, &factor.solve(&t))
            })
            .collect()
    }
}

/// The linear predictor for a pass: glm's starting values, or Xβ.
#[derive(Clone, Copy)]
enum Linear<'a> {
    Start,
    Coefficients(&'a [f64]),
}

/// One pass over the rows at the current linear predictor: the deviance, and the normal
/// equations X'WX, X'Wz of the next Newton step.
struct Pass {
    deviance: f64,
    /// Lower triangle of X'WX, packed by rows: (j, k ≤ j) at j(j+1)/2 + k.
    xtwx: Vec<f64>,
    xtwz: Vec<f64>,
    /// Rows whose fitted probability is numerically 0 or 1 (glm's warning threshold).
    extreme: usize,
}

/// Rows per parallel block. Fixed, and blocks summed in order, so the result does not depend on
/// the number of threads.
const BLOCK: usize = 4096;
/// Rows per tile inside a block: a tile's √w-scaled rows, stored column by column, stay in the
/// L1 cache while every entry of X'WX takes its contiguous (vectorisable) dot product over them.
const TILE: usize = 64;

fn weighted_pass(design: &Design, standard: &Standardisation, y: &[f64], linear: Linear) -> Pass {
    let p = design.columns();
    let empty = || Pass {
        deviance: 0.0,
        xtwx: vec![0.0; p * (p + 1) / 2],
        xtwz: vec![0.0; p],
        extreme: 0,
    };
    let blocks: Vec<Pass> = (0..design.rows.div_ceil(BLOCK))
        .into_par_iter()
        .map(|block| {
            let mut acc = empty();
            // Column j of the tile holds √w·x_j of its rows; `sz` holds √w·z. Rows past the end
            // of the data stay zero and add nothing.
            let mut tile = vec![0.0; p * TILE];
            let mut sz = [0.0; TILE];
            let end = ((block + 1) * BLOCK).min(design.rows);
            for first in (block * BLOCK..end).step_by(TILE) {
                let rows = TILE.min(end - first);
                if rows < TILE {
                    tile.fill(0.0);
                    sz.fill(0.0);
                }
                for t in 0..rows {
                    let i = first + t;
                    let x = design.row(i);
                    let eta = match linear {
                        Linear::Start => logit((y[i] + 0.5) / 2.0),
                        Linear::Coefficients(beta) => dot(x, beta),
                    };
                    let (mu, d_mu) = logit_link(eta);
                    acc.deviance += binomial_deviance(y[i], mu);
                    if !(EXTREME..=1.0 - EXTREME).contains(&mu) {
                        acc.extreme += 1;
                    }
                    // Working weight and response of the Newton step (glm.fit's w² and z).
                    let sqrt_w = d_mu / (mu * (1.0 - mu)).sqrt();
                    let z = eta + (y[i] - mu) / d_mu;
                    for (j, &xj) in x.iter().enumerate() {
                        tile[j * TILE + t] =
                            sqrt_w * (xj - standard.centre[j]) * standard.inverse_scale[j];
                    }
                    sz[t] = sqrt_w * z;
                }
                add_tile(&mut acc, &tile, &sz, p);
            }
            acc
        })
        .collect();
    blocks.into_iter().fold(empty(), |mut total, block| {
        total.deviance += block.deviance;
        total.extreme += block.extreme;
        total
            .xtwx
            .iter_mut()
            .zip(&block.xtwx)
            .for_each(|(t, b)| *t += b);
        total
            .xtwz
            .iter_mut()
            .zip(&block.xtwz)
            .for_each(|(t, b)| *t += b);
        total
    })
}

/// Symmetric rank-TILE update of the packed lower triangle of X'WX, and of X'Wz, from one tile.
/// Where the CPU has AVX2 and FMA (checked once, at run time) the dot products use them.
fn add_tile(acc: &mut Pass, tile: &[f64], sz: &[f64; TILE], p: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has just been checked for the features the function is compiled for.
        return unsafe { add_tile_avx2_fma(acc, tile, sz, p) };
    }
    add_tile_with(acc, tile, sz, p, tile_dot);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_tile_avx2_fma(acc: &mut Pass, tile: &[f64], sz: &[f64; TILE], p: usize) {
    // SAFETY: this function only runs where AVX2 and FMA are present.
    add_tile_with(acc, tile, sz, p, |a, b| unsafe { tile_dot_avx2_fma(a, b) });
}

#[inline(always)]
fn add_tile_with(
    acc: &mut Pass,
    tile: &[f64],
    sz: &[f64; TILE],
    p: usize,
    dot: impl Fn(&[f64; TILE], &[f64; TILE]) -> f64,
) {
    let column = |j: usize| -> &[f64; TILE] { tile[j * TILE..(j + 1) * TILE].try_into().unwrap() };
    let mut at = 0;
    for j in 0..p {
        let uj = column(j);
        for k in 0..=j {
            acc.xtwx[at] += dot(uj, column(k));
            at += 1;
        }
        acc.xtwz[j] += dot(uj, sz);
    }
}

/// Dot product of two tile columns in eight independent lanes, which the compiler turns into
/// SIMD (a single running sum would force one addition after another).
#[inline(always)]
fn tile_dot(a: &[f64; TILE], b: &[f64; TILE]) -> f64 {
    let mut lanes = [0.0; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            lanes[l] += ca[l] * cb[l];
        }
    }
    lanes.iter().sum()
}

/// `tile_dot` with 256-bit fused multiply-adds in two accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_dot_avx2_fma(a: &[f64; TILE], b: &[f64; TILE]) -> f64 {
    use std::arch::x86_64::*;
    let (a, b) = (a.as_ptr(), b.as_ptr());
    let (mut even, mut odd) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    for c in (0..TILE).step_by(8) {
        // SAFETY: c + 8 ≤ TILE, so both 4-wide loads stay inside the arrays.
        unsafe {
            even = _mm256_fmadd_pd(_mm256_loadu_pd(a.add(c)), _mm256_loadu_pd(b.add(c)), even);
            odd = _mm256_fmadd_pd(
                _mm256_loadu_pd(a.add(c + 4)),
                _mm256_loadu_pd(b.add(c + 4)),
                odd,
            );
        }
    }
    let mut sum = [0.0; 4];
    // SAFETY: `sum` holds four f64.
    unsafe { _mm256_storeu_pd(sum.as_mut_ptr(), _mm256_add_pd(even, odd)) };
    (sum[0] + sum[1]) + (sum[2] + sum[3])
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

// R's logit link clamps, so that fits agree where |η| is large (family.c: THRESH, MTHRESH).
const THRESH: f64 = 30.0;
const INV_EPS: f64 = 1.0 / f64::EPSILON;
/// glm warns "fitted probabilities numerically 0 or 1" beyond this.
const EXTREME: f64 = 10.0 * f64::EPSILON;

fn logit(mu: f64) -> f64 {
    (mu / (1.0 - mu)).ln()
}

/// μ = 1 / (1 + e^−η) and dμ/dη, from one exponential.
fn logit_link(eta: f64) -> (f64, f64) {
    let odds = if eta < -THRESH {
        f64::EPSILON
    } else if eta > THRESH {
        INV_EPS
    } else {
        eta.exp()
    };
    let mu = odds / (1.0 + odds);
    let d_mu = if eta.abs() > THRESH {
        f64::EPSILON
    } else {
        odds / ((1.0 + odds) * (1.0 + odds))
    };
    (mu, d_mu)
}

/// A row's contribution to the binomial deviance.
fn binomial_deviance(y: f64, mu: f64) -> f64 {
    if y == 1.0 {
        -2.0 * mu.ln()
    } else {
        -2.0 * (1.0 - mu).ln()
    }
}

fn null_deviance(y: &[f64], events: f64) -> f64 {
    let mean = events / y.len() as f64;
    y.iter().map(|&y| binomial_deviance(y, mean)).sum()
}

fn fitted(design: &Design, beta: &[f64]) -> Vec<f64> {
    (0..design.rows)
        .into_par_iter()
        .map(|i| logit_link(dot(design.row(i), beta)).0)
        .collect()
}

fn coefficients(design: &Design, beta: &[f64], variance: &[f64]) -> Vec<Coefficient> {
    let normal = Normal::standard();
    design
        .names
        .iter()
        .zip(beta)
        .zip(variance)
        .map(|((term, &estimate), &variance)| {
            let se = variance.sqrt();
            let z = estimate / se;
            Coefficient {
                term: term.clone(),
                estimate,
                se,
                z,
                p: 2.0 * normal.cdf(-z.abs()),
            }
        })
        .collect()
}

/// The error for a perfectly (or quasi-perfectly) separated outcome, naming the coefficients that
/// run away: those whose effect per standard deviation of their column exceeds 10 on the logit
/// scale (an odds ratio above 22,000 per SD, which a fit that exists does not produce).
fn separation(design: &Design, beta: Option<&[f64]>, extreme: usize) -> StatsError {
    let mut runaway = Vec::new();
    if let Some(beta) = beta {
        let n = design.rows as f64;
        for (j, (name, &b)) in design.names.iter().zip(beta).enumerate() {
            let mean = (0..design.rows).map(|i| design.row(i)[j]).sum::<f64>() / n;
            let var = (0..design.rows)
                .map(|i| (design.row(i)[j] - mean).powi(2))
                .sum::<f64>()
                / n;
            if var > 0.0 && (b * var.sqrt()).abs() > 10.0 {
                runaway.push(format!("{name} (coefficient {b:.3})"));
            }
        }
    }
    let named = if runaway.is_empty() {
        String::new()
    } else {
        format!("; diverging: {}", runaway.join(", "))
    };
    StatsError::Separation {
        reason: format!(
            "{extreme} rows have a fitted probability numerically 0 or 1: the covariates predict the outcome perfectly and the coefficients have no finite estimate{named}"
        ),
    }
}

/// Cholesky factor L (packed lower triangle) of a small symmetric positive definite matrix.
struct Cholesky {
    l: Vec<f64>,
    p: usize,
}

/// A pivot below this share of its diagonal entry means the column is (numerically) a linear
/// combination of the columns before it.
const SINGULAR: f64 = 1e-10;

impl Cholesky {
    /// Factorises the packed lower triangle `a`, or names the first column that makes it singular.
    fn new(a: &[f64], p: usize) -> Result<Self, usize> {
        let at = |j: usize, k: usize| j * (j + 1) / 2 + k;
        let mut l = vec![0.0; a.len()];
        for j in 0..p {
            for k in 0..=j {
                let s: f64 = (0..k).map(|m| l[at(j, m)] * l[at(k, m)]).sum();
                if j == k {
                    let pivot = a[at(j, j)] - s;
                    // A NaN pivot is as singular as a small one.
                    let floor = SINGULAR * a[at(j, j)];
                    if pivot.partial_cmp(&floor) != Some(std::cmp::Ordering::Greater) {
                        return Err(j);
                    }
                    l[at(j, j)] = pivot.sqrt();
                } else {
                    l[at(j, k)] = (a[at(j, k)] - s) / l[at(k, k)];
                }
            }
        }
        Ok(Cholesky { l, p })
    }

    fn at(j: usize, k: usize) -> usize {
        j * (j + 1) / 2 + k
    }

    /// Solves L Lᵀ x = b.
    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let p = self.p;
        let mut x = b.to_vec();
        for j in 0..p {
            let s: f64 = (0..j).map(|k| self.l[Self::at(j, k)] * x[k]).sum();
            x[j] = (x[j] - s) / self.l[Self::at(j, j)];
        }
        for j in (0..p).rev() {
            let s: f64 = (j + 1..p).map(|k| self.l[Self::at(k, j)] * x[k]).sum();
            x[j] = (x[j] - s) / self.l[Self::at(j, j)];
        }
        x
    }
}

/// The c-statistic (area under the ROC curve): the probability that a random patient with the
/// outcome has a higher fitted risk than one without, ties counting one half.
pub fn c_statistic(y: &[f64], fitted: &[f64]) -> f64 {
    let ranks = average_ranks(fitted);
    let events = y.iter().filter(|&&v| v == 1.0).count() as f64;
    let non_events = y.len() as f64 - events;
    let rank_sum: f64 = y
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v == 1.0)
        .map(|(_, r)| r)
        .sum();
    (rank_sum - events * (events + 1.0) / 2.0) / (events * non_events)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HosmerLemeshow {
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
    /// Risk groups actually formed (fewer than asked when fitted risks tie across a cut).
    pub groups: usize,
}

/// Hosmer–Lemeshow goodness of fit as `ResourceSelection::hoslem.test(y, fitted, g)`: patients
/// cut into groups at the type-7 quantiles of fitted risk (duplicate cuts merged; each group
/// (a, b], the first [a, b]); χ² over events and non-events of every group; df = groups − 2.
/// df counts the groups formed (hoslem.test keeps g − 2 when tied cuts merge groups); groups
/// left empty by interpolated cuts are dropped (hoslem.test returns NaN there);
/// `None` when fewer than three non-empty risk groups remain.
pub fn hosmer_lemeshow(y: &[f64], fitted: &[f64], groups: usize) -> Option<HosmerLemeshow> {
    let mut sorted = fitted.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (0..=groups)
        .map(|k| quantile_sorted(&sorted, k as f64 / groups as f64))
        .collect();
    cuts.dedup();
    if cuts.len() < 4 {
        return None;
    }
    // Per group: patients, observed events, expected events.
    let mut tally = vec![(0.0, 0.0, 0.0); cuts.len() - 1];
    for (&y, &p) in y.iter().zip(fitted) {
        let upper = cuts[1..]
            .partition_point(|&cut| cut < p)
            .min(cuts.len() - 2);
        let t = &mut tally[upper];
        *t = (t.0 + 1.0, t.1 + y, t.2 + p);
    }
    // Interpolated cuts can bound a group no patient falls in; R would return NaN, we drop it.
    tally.retain(|&(n, _, _)| n > 0.0);
    let formed = tally.len();
    if formed < 3 {
        return None;
    }
    let statistic: f64 = tally
        .iter()
        .map(|&(n, o, e)| (o - e).powi(2) / e + ((n - o) - (n - e)).powi(2) / (n - e))
        .sum();
    let df = formed - 2;
    let p_value = ChiSquared::new(df as f64).expect("df ≥ 1").sf(statistic);
    Some(HosmerLemeshow {
        statistic,
        df,
        p_value,
        groups: formed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(names: &[&str], rows: &[&[f64]]) -> Design {
        Design {
            names: names.iter().map(|s| s.to_string()).collect(),
            rows: rows.len(),
            values: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    #[test]
    fn a_tile_adds_the_lower_triangle_of_x_transpose_w_x_and_x_transpose_w_z() {
        // Two rows (1, 2) and (3, 4) with √w = 1 and √w·z = 1, 2: X'X = [[10, 14], [14, 20]].
        let mut tile = vec![0.0; 2 * TILE];
        (tile[0], tile[1], tile[TILE], tile[TILE + 1]) = (1.0, 3.0, 2.0, 4.0);
        let mut sz = [0.0; TILE];
        (sz[0], sz[1]) = (1.0, 2.0);
        let mut acc = Pass {
            deviance: 0.0,
            xtwx: vec![0.0; 3],
            xtwz: vec![0.0; 2],
            extreme: 0,
        };
        add_tile(&mut acc, &tile, &sz, 2);
        assert_eq!(acc.xtwx, [10.0, 14.0, 20.0]);
        assert_eq!(acc.xtwz, [7.0, 10.0]);
    }

    #[test]
    fn cholesky_solves_and_inverts_a_symmetric_positive_definite_matrix() {
        // A = [[4, 2], [2, 3]]: A⁻¹ = [[3, -2], [-2, 4]] / 8.
        let factor = Cholesky::new(&[4.0, 2.0, 3.0], 2).unwrap();
        let x = factor.solve(&[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15);
        let d: Vec<f64> = (0..2)
            .map(|j| {
                let mut unit = [0.0; 2];
                unit[j] = 1.0;
                factor.solve(&unit)[j]
            })
            .collect();
        assert!((d[0] - 3.0 / 8.0).abs() < 1e-15 && (d[1] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn an_intercept_only_model_recovers_the_log_odds_of_the_event_rate() {
        let rows: Vec<[f64; 1]> = vec![[1.0]; 10];
        let rows: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let y = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let fit = fit_logistic(
            &design(&["(Intercept)"], &rows),
            &y,
            LogisticOptions::default(),
        )
        .unwrap();
        assert!((fit.coefficients[0].estimate - (0.3f64 / 0.7).ln()).abs() < 1e-10);
        // Var(logit p̂) = 1 / (n p (1 − p)), up to glm's use of the weights before the last step.
        assert!((fit.coefficients[0].se - (1.0f64 / (10.0 * 0.3 * 0.7)).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn a_covariate_that_splits_the_outcomes_perfectly_is_reported_as_separation() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let rows: Vec<[f64; 2]> = xs.iter().map(|&x| [1.0, x]).collect();
        let rows: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let y = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let err = fit_logistic(
            &design(&["(Intercept)", "dose"], &rows),
            &y,
            LogisticOptions::default(),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, StatsError::Separation { .. }), "{message}");
        assert!(message.contains("dose"), "{message}");
    }

    #[test]
    fn a_fit_still_moving_when_the_iterations_run_out_is_reported_not_returned() {
        let rows: Vec<[f64; 2]> = (0..30).map(|i| [1.0, (i % 10) as f64]).collect();
        let rows: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let y: Vec<f64> = (0..30).map(|i| ((i * 7) % 4 == 0) as u8 as f64).collect();
        let one_step = LogisticOptions {
            max_iterations: 1,
            ..LogisticOptions::default()
        };
        let err = fit_logistic(&design(&["(Intercept)", "x"], &rows), &y, one_step).unwrap_err();
        assert!(matches!(err, StatsError::NoConvergence { .. }), "{err}");
        assert!(
            fit_logistic(
                &design(&["(Intercept)", "x"], &rows),
                &y,
                LogisticOptions::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn a_column_that_copies_another_is_named_as_collinear() {
        let rows: Vec<[f64; 3]> = (0..20).map(|i| [1.0, i as f64, 2.0 * i as f64]).collect();
        let rows: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let y: Vec<f64> = (0..20).map(|i| ((i * 7) % 3 == 0) as u8 as f64).collect();
        let err = fit_logistic(
            &design(&["(Intercept)", "a", "twice_a"], &rows),
            &y,
            LogisticOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("twice_a:"), "{err}");
    }

    #[test]
    fn an_outcome_other_than_zero_or_one_is_refused_with_its_row() {
        let rows: Vec<[f64; 1]> = vec![[1.0]; 3];
        let rows: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let err = fit_logistic(
            &design(&["(Intercept)"], &rows),
            &[0.0, 2.0, 1.0],
            LogisticOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("row 2"), "{err}");
    }

    #[test]
    fn the_c_statistic_is_one_for_perfect_ranking_and_one_half_for_ties() {
        assert_eq!(
            c_statistic(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.2, 0.3, 0.4]),
            1.0
        );
        assert_eq!(c_statistic(&[0.0, 1.0, 0.0, 1.0], &[0.5; 4]), 0.5);
    }

    #[test]
    fn hosmer_lemeshow_is_undefined_with_fewer_than_three_risk_groups() {
        assert_eq!(
            hosmer_lemeshow(&[0.0, 1.0, 0.0, 1.0], &[0.2, 0.2, 0.7, 0.7], 10),
            None
        );
    }
}
