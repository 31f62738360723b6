//! Special functions the disproportionality methods need beyond what statrs offers: a log Γ ratio
//! that keeps its precision for large shapes (a collapsing MGPS component), trigamma (the BCPNN
//! variance), and the regularised incomplete gamma with ln Γ(a) supplied by the caller, so that a
//! screen over millions of pairs pays for ln Γ once per distinct count rather than once per call.

use statrs::distribution::{ContinuousCDF, Gamma};
use statrs::function::erf::{erfc, erfc_inv};
use statrs::function::gamma::ln_gamma;
use std::f64::consts::SQRT_2;

/// ln Γ(a + n) − ln Γ(a) for a > 0, n ≥ 0.
///
/// For a ≥ 10 the difference of Stirling series is taken term by term, written with ln_1p, so a
/// shape of 10¹⁰ does not lose ten digits to cancellation between two huge ln Γ values.
pub fn ln_gamma_ratio(a: f64, n: f64) -> f64 {
    if n == 0.0 {
        return 0.0;
    }
    if a < 10.0 {
        return ln_gamma(a + n) - ln_gamma(a);
    }
    let b = a + n;
    (a - 0.5) * (n / a).ln_1p() + n * b.ln() - n + stirling_tail(b) - stirling_tail(a)
}

/// The Stirling series of ln Γ(x) after (x − ½) ln x − x + ½ ln 2π; truncation error < 1e-16 for x ≥ 10.
fn stirling_tail(x: f64) -> f64 {
    let r = 1.0 / x;
    let r2 = r * r;
    r * (1.0 / 12.0
        - r2 * (1.0 / 360.0
            - r2 * (1.0 / 1260.0
                - r2 * (1.0 / 1680.0
                    - r2 * (1.0 / 1188.0 - r2 * (691.0 / 360_360.0 - r2 / 156.0))))))
}

/// ψ(a + n) − ψ(a), the derivative of [`ln_gamma_ratio`] in a; for integer n below 64 the exact
/// finite sum Σ 1/(a + k), which has no cancellation for any a.
pub fn digamma_ratio(a: f64, n: f64) -> f64 {
    if n == 0.0 {
        return 0.0;
    }
    if n < 64.0 && n.fract() == 0.0 {
        let mut s = 0.0;
        let mut k = 0.0;
        while k < n {
            s += 1.0 / (a + k);
            k += 1.0;
        }
        return s;
    }
    statrs::function::gamma::digamma(a + n) - statrs::function::gamma::digamma(a)
}

/// Trigamma ψ₁(x) for x > 0: recurrence up to x ≥ 20, then the asymptotic series (error < 1e-17).
pub fn trigamma(x: f64) -> f64 {
    let mut x = x;
    let mut acc = 0.0;
    while x < 20.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    acc + r
        + r2 * (0.5
            + r * (1.0 / 6.0
                - r2 * (1.0 / 30.0 - r2 * (1.0 / 42.0 - r2 * (1.0 / 30.0 - r2 * (5.0 / 66.0))))))
}

/// Above this shape the gamma distribution is handled through the Wilson–Hilferty cube-root
/// normal approximation, whose relative error there is below 2e-10, instead of series that need
/// √a terms (a collapsing MGPS component can have a shape of 10¹⁰).
const WILSON_HILFERTY_SHAPE: f64 = 1e5;

/// Regularised lower incomplete gamma P(a, x) and its complement Q = 1 − P, both accurate in
/// their own tail, given `ln_gamma_a` = ln Γ(a). Series for x < a + 1, Lentz's continued fraction
/// otherwise (Numerical Recipes §6.2).
pub fn gamma_p_q(a: f64, ln_gamma_a: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x.is_infinite() {
        return (1.0, 0.0);
    }
    if a > WILSON_HILFERTY_SHAPE {
        let v = 1.0 / (9.0 * a);
        let z = ((x / a).cbrt() - (1.0 - v)) / v.sqrt();
        let q = 0.5 * erfc(z / SQRT_2);
        return (1.0 - q, q);
    }
    let log_prefix = a * x.ln() - x - ln_gamma_a;
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut ap = a;
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        let p = (log_prefix + sum.ln()).exp();
        (p.min(1.0), (1.0 - p).max(0.0))
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        let q = (log_prefix + h.ln()).exp();
        ((1.0 - q).max(0.0), q.min(1.0))
    }
}

/// The `prob` quantile of the gamma distribution with the given shape and rate 1.
pub fn gamma_quantile(shape: f64, prob: f64) -> f64 {
    if shape > WILSON_HILFERTY_SHAPE {
        let v = 1.0 / (9.0 * shape);
        let z = -SQRT_2 * erfc_inv(2.0 * prob);
        return shape * (1.0 - v + z * v.sqrt()).powi(3);
    }
    Gamma::new(shape, 1.0)
        .expect("positive shape")
        .inverse_cdf(prob)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: f64, y: f64, rel: f64) -> bool {
        (x - y).abs() <= rel * y.abs().max(1e-300)
    }

    #[test]
    fn the_log_gamma_ratio_of_a_small_shape_is_the_plain_difference() {
        assert!(close(
            ln_gamma_ratio(0.5, 3.0),
            (0.5f64 * 1.5 * 2.5).ln(),
            1e-14
        ));
    }

    #[test]
    fn the_log_gamma_ratio_of_a_huge_shape_is_n_log_a_plus_the_rising_factorial_correction() {
        // Γ(a+2)/Γ(a) = a(a+1) exactly; at a = 1e12 two ln Γ values of 2.7e13 would cancel.
        let a = 1e12;
        assert!(close(
            ln_gamma_ratio(a, 2.0),
            a.ln() + (a + 1.0).ln(),
            1e-15
        ));
        // Γ(a+5)/Γ(a) for a = 12.5: the Stirling branch against the exact product.
        let exact: f64 = (0..5).map(|k| (12.5 + k as f64).ln()).sum();
        assert!(close(ln_gamma_ratio(12.5, 5.0), exact, 1e-14));
    }

    #[test]
    fn the_digamma_ratio_is_the_harmonic_sum_for_integer_steps() {
        assert!(close(digamma_ratio(1.0, 3.0), 1.0 + 0.5 + 1.0 / 3.0, 1e-15));
        let big = digamma_ratio(2.5, 100.0);
        let sum: f64 = (0..100).map(|k| 1.0 / (2.5 + k as f64)).sum();
        assert!(close(big, sum, 1e-12));
    }

    #[test]
    fn large_shapes_use_wilson_hilferty_which_agrees_with_the_exact_quantile_near_the_switch() {
        let exact = Gamma::new(WILSON_HILFERTY_SHAPE, 1.0)
            .unwrap()
            .inverse_cdf(0.05);
        let v = 1.0 / (9.0 * WILSON_HILFERTY_SHAPE);
        let z = -SQRT_2 * erfc_inv(0.1);
        let approx = WILSON_HILFERTY_SHAPE * (1.0 - v + z * v.sqrt()).powi(3);
        assert!(close(approx, exact, 2e-10), "{approx} vs {exact}");
        let (p, _) = gamma_p_q(2e5, ln_gamma(2e5), gamma_quantile(2e5, 0.05));
        assert!((p - 0.05).abs() < 1e-10, "{p}");
    }

    #[test]
    fn trigamma_of_one_is_pi_squared_over_six() {
        assert!(
            close(trigamma(1.0), std::f64::consts::PI.powi(2) / 6.0, 4e-15),
            "{}",
            trigamma(1.0) - std::f64::consts::PI.powi(2) / 6.0
        );
        // ψ₁(1/2) = π²/2
        assert!(close(
            trigamma(0.5),
            std::f64::consts::PI.powi(2) / 2.0,
            4e-15
        ));
    }

    #[test]
    fn the_incomplete_gamma_of_shape_one_is_the_exponential_cdf() {
        for x in [0.01, 0.5, 1.0, 3.0, 40.0] {
            let (p, q) = gamma_p_q(1.0, 0.0, x);
            assert!(close(p, -f64::exp_m1(-x), 1e-14), "P(1, {x})");
            assert!(close(q, (-x).exp(), 1e-13), "Q(1, {x})");
        }
    }
}
