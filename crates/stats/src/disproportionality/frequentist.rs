//! The frequentist measures of a 2×2 table: PRR with its log-normal interval, Pearson χ² with and
//! without Yates' correction, the Evans criteria (Evans, Waller & Davis 2001), and the ROR with
//! Woolf's interval. Point estimates and intervals follow vigipy 3.5 (`PRR.py`, `ROR.py`).

use super::{Table, Z_975};

/// A ratio with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioEstimate {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
}

impl RatioEstimate {
    fn from_log(log_ratio: f64, variance: f64) -> RatioEstimate {
        let se = variance.max(0.0).sqrt();
        RatioEstimate {
            estimate: log_ratio.exp(),
            lower: (log_ratio - Z_975 * se).exp(),
            upper: (log_ratio + Z_975 * se).exp(),
        }
    }
}

/// A table with an empty cell gets 0.5 added to every cell (Haldane–Anscombe), as vigipy does, so
/// that a drug reported with one event only (b = 0) still has a finite ratio and interval.
fn haldane(t: &Table) -> Table {
    if t.a > 0.0 && t.b > 0.0 && t.c > 0.0 && t.d > 0.0 {
        *t
    } else {
        Table {
            a: t.a + 0.5,
            b: t.b + 0.5,
            c: t.c + 0.5,
            d: t.d + 0.5,
        }
    }
}

/// Proportional reporting ratio [a/(a+b)] / [c/(c+d)] with var(ln PRR) = 1/a − 1/(a+b) + 1/c − 1/(c+d).
pub fn prr(table: &Table) -> RatioEstimate {
    let Table { a, b, c, d } = haldane(table);
    let log_prr = ((a / (a + b)) / (c / (c + d))).ln();
    RatioEstimate::from_log(log_prr, 1.0 / a - 1.0 / (a + b) + 1.0 / c - 1.0 / (c + d))
}

/// Reporting odds ratio ad/bc with Woolf's var(ln ROR) = 1/a + 1/b + 1/c + 1/d.
pub fn ror(table: &Table) -> RatioEstimate {
    let Table { a, b, c, d } = haldane(table);
    RatioEstimate::from_log(
        (a * d / (b * c)).ln(),
        1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d,
    )
}

/// Pearson's χ² (1 df) of the table, N(ad − bc)² / [(a+b)(c+d)(a+c)(b+d)]; 0 when a margin is empty.
pub fn chi_square(table: &Table) -> f64 {
    chi_square_with(table, 0.0)
}

/// χ² with Yates' continuity correction. As R's `chisq.test`, the correction is min(½, |O − E|)
/// per cell, so it never turns a table that fits independence into an apparent departure.
pub fn chi_square_yates(table: &Table) -> f64 {
    chi_square_with(table, 0.5)
}

fn chi_square_with(table: &Table, correction: f64) -> f64 {
    let Table { a, b, c, d } = *table;
    let n = table.n();
    let denominator = (a + b) * (c + d) * (a + c) * (b + d);
    if denominator == 0.0 {
        return 0.0;
    }
    // |O − E| is the same in all four cells of a 2×2 table: |ad − bc| / N.
    let deviation = (a * d - b * c).abs() / n;
    let corrected = deviation - correction.min(deviation);
    n * n * n * corrected * corrected / denominator
}

/// Evans criteria: PRR ≥ 2, Yates-corrected χ² ≥ 4 and at least 3 cases (Evans et al. 2001).
pub fn evans_signal(prr: f64, chi_square_yates: f64, a: f64) -> bool {
    prr >= 2.0 && chi_square_yates >= 4.0 && a >= 3.0
}

/// The ROR signal: lower 95% bound above 1 with at least 3 cases.
pub fn ror_signal(ror_lower: f64, a: f64) -> bool {
    ror_lower > 1.0 && a >= 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(a: f64, b: f64, c: f64, d: f64) -> Table {
        Table { a, b, c, d }
    }

    #[test]
    fn prr_is_the_ratio_of_event_proportions_with_and_without_the_drug() {
        let t = table(10.0, 90.0, 100.0, 9800.0);
        let r = prr(&t);
        assert!((r.estimate - 0.1 / (100.0 / 9900.0)).abs() < 1e-12);
        let se = (1.0 / 10.0 - 1.0 / 100.0 + 1.0 / 100.0 - 1.0 / 9900.0f64).sqrt();
        assert!((r.lower - r.estimate * (-Z_975 * se).exp()).abs() < 1e-12);
        assert!((r.upper - r.estimate * (Z_975 * se).exp()).abs() < 1e-12);
    }

    #[test]
    fn ror_is_the_cross_product_ratio_with_woolf_interval() {
        let r = ror(&table(10.0, 90.0, 100.0, 9800.0));
        assert!((r.estimate - 10.0 * 9800.0 / (90.0 * 100.0)).abs() < 1e-12);
        let se = (0.1 + 1.0 / 90.0 + 0.01 + 1.0 / 9800.0f64).sqrt();
        assert!((r.lower.ln() - (r.estimate.ln() - Z_975 * se)).abs() < 1e-12);
    }

    #[test]
    fn a_drug_with_a_single_event_gets_the_haldane_half_in_every_cell() {
        // b = 0: without the correction the ROR would divide by zero.
        let r = ror(&table(4.0, 0.0, 6.0, 90.0));
        assert!((r.estimate - 4.5 * 90.5 / (0.5 * 6.5)).abs() < 1e-12);
    }

    #[test]
    fn chi_square_matches_the_textbook_two_by_two_formula() {
        let t = table(20.0, 80.0, 30.0, 870.0);
        let n = 1000.0;
        let expected = n * (20.0 * 870.0 - 80.0 * 30.0f64).powi(2) / (100.0 * 900.0 * 50.0 * 950.0);
        assert!((chi_square(&t) - expected).abs() < 1e-9 * expected);
        let yates = n * ((20.0 * 870.0 - 80.0 * 30.0f64).abs() - n / 2.0).powi(2)
            / (100.0 * 900.0 * 50.0 * 950.0);
        assert!((chi_square_yates(&t) - yates).abs() < 1e-9 * yates);
    }

    #[test]
    fn yates_never_inflates_a_table_that_fits_independence() {
        let t = table(1.0, 9.0, 10.0, 90.0);
        assert_eq!(chi_square(&t), 0.0);
        assert_eq!(chi_square_yates(&t), 0.0);
    }

    #[test]
    fn the_evans_criteria_need_all_three_conditions() {
        assert!(evans_signal(2.0, 4.0, 3.0));
        assert!(!evans_signal(1.99, 10.0, 5.0));
        assert!(!evans_signal(5.0, 3.9, 5.0));
        assert!(!evans_signal(5.0, 10.0, 2.0));
        assert!(ror_signal(1.01, 3.0) && !ror_signal(1.0, 3.0) && !ror_signal(3.0, 2.0));
    }
}
