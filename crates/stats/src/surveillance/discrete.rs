//! Quantiles of the Poisson and negative binomial distributions as R's `qpois` / `qnbinom` define
//! them: the smallest count whose distribution function reaches p (with a fuzz of 64 ulps as R's
//! search uses, so a probability that rounds just below p still counts as reaching it).

use statrs::function::beta::beta_reg;
use statrs::function::gamma::gamma_ur;

/// R's left-continuity fuzz in its discrete quantile search.
const FUZZ: f64 = 1.0 - 64.0 * f64::EPSILON;

/// Counts beyond this are not representable one by one in an f64.
const LARGEST_COUNT: f64 = 9_007_199_254_740_992.0;

/// Smallest x ≥ 0 with cdf(x) ≥ p: bracketed by doubling steps from a normal-approximation
/// guess, then bisected, so a far-off guess or a huge quantile costs O(log) evaluations.
/// NaN where no such count is representable.
fn search(p: f64, mean: f64, sd: f64, cdf: impl Fn(f64) -> f64) -> f64 {
    let target = p * FUZZ;
    let reaches = |x: f64| x >= 0.0 && cdf(x) >= target;
    let z = statrs::function::erf::erfc_inv(2.0 * (1.0 - p)) * std::f64::consts::SQRT_2;
    let guess = (mean + z * sd).floor().max(0.0);
    if guess.is_nan() || guess >= LARGEST_COUNT {
        return f64::NAN;
    }
    // Invariant once bracketed: cdf(low) < target (or low = −1) and cdf(high) ≥ target.
    let (mut low, mut high);
    let mut step = 1.0;
    if reaches(guess) {
        high = guess;
        low = guess - step;
        while low >= 0.0 && reaches(low) {
            high = low;
            step *= 2.0;
            low = high - step;
        }
        low = low.max(-1.0);
    } else {
        low = guess;
        high = guess + step;
        while !reaches(high) {
            if high >= LARGEST_COUNT {
                return f64::NAN;
            }
            low = high;
            step *= 2.0;
            high = low + step;
        }
    }
    while high - low > 1.0 {
        let mid = ((low + high) / 2.0).floor();
        if reaches(mid) { high = mid } else { low = mid }
    }
    high
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
    fn a_quantile_far_from_the_normal_guess_is_found_without_stepping_one_by_one() {
        // Tiny size: almost all mass at 0 but a very long tail; qnbinom(0.95, 1e-3, 1e-6) = 0.
        assert_eq!(qnbinom(0.95, 1e-3, 1e-6), 0.0);
        assert!(qnbinom(0.95, 1e6, 1e-9).is_finite());
    }

    #[test]
    fn negative_binomial_quantiles_match_r() {
        assert_eq!(qnbinom(0.95, 2.0, 0.25), 16.0);
        assert_eq!(qnbinom(0.95, 0.5, 0.1), 18.0);
    }
}
