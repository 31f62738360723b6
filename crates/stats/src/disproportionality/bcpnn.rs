//! The BCPNN information component IC = log₂ P(drug, event) / [P(drug) P(event)] in its two
//! published forms: the exact posterior moments of Gis et al. / PhViD, as vigipy 3.5 computes them
//! (`BCPNN.py`, digamma and trigamma), and Norén's shrinkage form log₂((O + ½)/(E + ½)) with
//! credibility bounds from gamma quantiles (Norén, Hopstadius & Bate 2013).

use super::special::trigamma;
use super::{Table, Z_975};
use statrs::distribution::{ContinuousCDF, Gamma};
use statrs::function::gamma::digamma;
use std::f64::consts::LN_2;

/// An information component with its 95% credibility interval (IC025, IC975), in log₂ units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IcEstimate {
    pub ic: f64,
    pub ic025: f64,
    pub ic975: f64,
}

/// The exact-moment IC of PhViD/vigipy: the posterior mean and variance of the IC under the
/// Dirichlet–beta model, with a normal 95% interval around the mean.
pub fn ic_exact(table: &Table) -> IcEstimate {
    let n = table.n();
    let drug = Moments::margin(table.drug_margin(), n);
    let event = Moments::margin(table.event_margin(), n);
    ic_exact_with(
        table.a,
        table.drug_margin(),
        table.event_margin(),
        n,
        Moments::count(table.a),
        drug,
        event,
    )
}

/// Digamma and trigamma terms of the exact-moment IC that depend on one quantity only: a screen
/// computes them once per drug, event or distinct count instead of once per pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    digamma: f64,
    trigamma: f64,
}

impl Moments {
    /// ψ(1 + m) − ψ(2 + N) and ψ₁(1 + m) − ψ₁(2 + N) of a margin m (p1 = 1 + m and p1 + p2 = 2 + N
    /// in PhViD's notation).
    pub fn margin(margin: f64, n: f64) -> Moments {
        Moments {
            digamma: digamma(1.0 + margin) - digamma(2.0 + n),
            trigamma: trigamma(1.0 + margin) - trigamma(2.0 + n),
        }
    }

    /// ψ(1 + a) and ψ₁(1 + a) of the pair count (r1 = 1 + a).
    pub fn count(a: f64) -> Moments {
        Moments {
            digamma: digamma(1.0 + a),
            trigamma: trigamma(1.0 + a),
        }
    }
}

/// The exact-moment IC from the pair count, the margins, N and their moment terms.
pub fn ic_exact_with(
    a: f64,
    drug_margin: f64,
    event_margin: f64,
    n: f64,
    count: Moments,
    drug: Moments,
    event: Moments,
) -> IcEstimate {
    let r1 = 1.0 + a;
    let r2b = n - a - 1.0 + (2.0 + n) * (2.0 + n) / ((1.0 + event_margin) * (1.0 + drug_margin));
    let mean = (count.digamma - digamma(r1 + r2b) - (drug.digamma + event.digamma)) / LN_2;
    let variance =
        (count.trigamma - trigamma(r1 + r2b) + drug.trigamma + event.trigamma) / (LN_2 * LN_2);
    let sd = variance.max(0.0).sqrt();
    IcEstimate {
        ic: mean,
        ic025: mean - Z_975 * sd,
        ic975: mean + Z_975 * sd,
    }
}

/// Quantiles of the standard gamma distribution with shape O + ½: the part of Norén's interval
/// that depends on the observed count only, so a screen computes it once per distinct count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShrinkageQuantiles {
    q025: f64,
    q975: f64,
}

impl ShrinkageQuantiles {
    pub fn for_count(observed: f64) -> ShrinkageQuantiles {
        let g = Gamma::new(observed + 0.5, 1.0).expect("shape O + 0.5 is positive");
        ShrinkageQuantiles {
            q025: g.inverse_cdf(0.025),
            q975: g.inverse_cdf(0.975),
        }
    }

    /// Norén's IC for O observed and E expected: the bounds are the 2.5% and 97.5% quantiles of
    /// Gamma(shape O + ½, rate E + ½), on the log₂ scale.
    pub fn ic(&self, observed: f64, expected: f64) -> IcEstimate {
        let rate = expected + 0.5;
        IcEstimate {
            ic: ((observed + 0.5) / rate).log2(),
            ic025: (self.q025 / rate).log2(),
            ic975: (self.q975 / rate).log2(),
        }
    }
}

/// Norén's shrinkage IC for one pair.
pub fn ic_shrinkage(observed: f64, expected: f64) -> IcEstimate {
    ShrinkageQuantiles::for_count(observed).ic(observed, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shrinkage_ic_of_a_pair_seen_as_often_as_expected_is_zero() {
        let ic = ic_shrinkage(4.0, 4.0);
        assert!(ic.ic.abs() < 1e-15);
        assert!(ic.ic025 < 0.0 && ic.ic975 > 0.0);
    }

    #[test]
    fn the_shrinkage_bounds_are_gamma_quantiles_for_a_single_report() {
        // O = 0 gives shape ½: Gamma(½, rate r) is χ²₁ / (2r), so the 2.5% quantile is
        // 0.000982069 / (2r), the χ²₁ 2.5% point halved.
        let ic = ic_shrinkage(0.0, 1.5);
        let expected = (0.000_982_069_117_175_025_8_f64 / 2.0 / 2.0).log2();
        assert!(
            (ic.ic025 - expected).abs() < 1e-9,
            "{} vs {}",
            ic.ic025,
            expected
        );
    }

    #[test]
    fn the_exact_ic_grows_with_the_pair_count_and_its_interval_narrows() {
        let small = ic_exact(&Table {
            a: 3.0,
            b: 97.0,
            c: 97.0,
            d: 9803.0,
        });
        let large = ic_exact(&Table {
            a: 30.0,
            b: 970.0,
            c: 970.0,
            d: 98030.0,
        });
        // Both pairs are reported three times as often as expected (E = 1 and 10).
        assert!(small.ic > 0.0 && large.ic > small.ic);
        assert!(large.ic975 - large.ic025 < small.ic975 - small.ic025);
        // For large counts the posterior mean approaches log₂((a + 1)/(E + 1)).
        assert!((large.ic - (31.0f64 / 11.0).log2()).abs() < 0.05);
    }
}
