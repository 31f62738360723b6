//! Quantiles of the Poisson and negative binomial distributions as R's `qpois` / `qnbinom` define
//! them: the smallest count whose distribution function reaches p (with R's fuzz of 64 ulps, so a
//! probability that rounds just below p still counts as reaching it).

use statrs::function::beta::beta_reg;
use statrs::function::gamma::gamma_ur;

/// R's left-continuity fuzz in its discrete quantile search.
const FUZZ: f64 = 1.0 - 64.0 * f64::EPSILON;

/// Smallest x ≥ 0 with cdf(x) ≥ p, searched from a normal-approximation start.
fn search(p: f64, mean: f64, sd: f64, cdf: impl Fn(f64) -> f64) -> f64 {
    let target = p * FUZZ;
    let z = statrs::function::erf::erfc_inv(2.0 * (1.0 - p)) * std::f64::consts::SQRT_2;
    let mut x = (mean + z * sd).floor().max(0.0);
    if !x.is_finite() {
        return f64::NAN;
    }
    if cdf(x) >= target {
        while x > 0.0 && cdf(x - 1.0) >= target {
            x -= 1.0;
        }
    } else {
        while cdf(x) < target {
            x += 1.0;
        }
    }
    x
}

/// `qpois(p, lambda)`.
pub(crate) fn qpois(p: f64, lambda: f64) -> f64 {
    if lambda == 0.0 {
        return 0.0;
    }
    search(p, lambda, lambda.sqrt(), |x| gamma_ur(x + 1.0, lambda))
}

/// `qnbinom(p, size, prob)`: failures before `size` successes of probability `prob`.
pub(crate) fn qnbinom(p: f64, size: f64, prob: f64) -> f64 {
    if prob == 1.0 || size == 0.0 {
        return 0.0;
    }
    let mean = size * (1.0 - prob) / prob;
    search(p, mean, (mean / prob).sqrt(), |x| {
        beta_reg(size, x + 1.0, prob)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from R 4.2.2: qpois(0.95, 3.2) = 6, qpois(0.95, 0.01) = 0, qpois(0.95, 120) = 138,
    // qnbinom(0.95, size = 2, prob = 0.25) = 16, qnbinom(0.95, 0.5, 0.1) = 18.
    #[test]
    fn poisson_quantiles_match_r() {
        assert_eq!(qpois(0.95, 3.2), 6.0);
        assert_eq!(qpois(0.95, 0.01), 0.0);
        assert_eq!(qpois(0.95, 120.0), 138.0);
    }

    #[test]
    fn negative_binomial_quantiles_match_r() {
        assert_eq!(qnbinom(0.95, 2.0, 0.25), 16.0);
        assert_eq!(qnbinom(0.95, 0.5, 0.1), 18.0);
    }
}
