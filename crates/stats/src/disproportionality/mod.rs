//! Disproportionality analysis of spontaneous reports: for each drug–event pair, its 2×2 table
//! and the PRR (Evans 2001), ROR (van Puijenbroek 2002), BCPNN information component (Bate 1998;
//! Norén 2006/2013) and MGPS empirical-Bayes geometric mean (DuMouchel 1999). References for parity:
//! vigipy 3.5 (PRR, ROR, BCPNN exact-moment IC) and the published formulas evaluated with scipy (MGPS).

pub mod bcpnn;
pub mod counts;
pub mod frequentist;
pub mod mgps;
mod optimise;
pub mod screen;
mod special;

pub use bcpnn::{IcEstimate, ic_exact, ic_shrinkage};
pub use counts::{Cell, Contingency, Margins, count_cells};
pub use frequentist::{
    RatioEstimate, chi_square, chi_square_yates, evans_signal, prr, ror, ror_signal,
};
pub use mgps::{EbEstimate, FitOptions, Prior, PriorFit, fit_prior, posterior};
pub use screen::{PairSignal, ScreenOptions, screen};

use crate::StatsError;

/// The 2×2 table of one drug–event pair: `a` drug and event, `b` drug without the event, `c` event
/// without the drug, `d` neither. Counts are reports or drug–event pairs, as the caller chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
}

impl Table {
    /// The table from the pair count, the two margins and the total, as a screen counts them.
    pub fn from_margins(a: u64, drug: u64, event: u64, n: u64) -> Result<Table, StatsError> {
        if a > drug || a > event || drug + event - a > n {
            return Err(StatsError::invalid(
                "table",
                format!(
                    "inconsistent counts a={a}, drug margin={drug}, event margin={event}, N={n}"
                ),
            ));
        }
        Ok(Table {
            a: a as f64,
            b: (drug - a) as f64,
            c: (event - a) as f64,
            d: (n + a - drug - event) as f64,
        })
    }

    pub fn n(&self) -> f64 {
        self.a + self.b + self.c + self.d
    }

    pub fn drug_margin(&self) -> f64 {
        self.a + self.b
    }

    pub fn event_margin(&self) -> f64 {
        self.a + self.c
    }

    /// The count expected under independence of drug and event, (a+b)(a+c)/N.
    pub fn expected(&self) -> f64 {
        self.drug_margin() * self.event_margin() / self.n()
    }
}

/// Φ⁻¹(0.975): the 95% two-sided normal quantile used by every interval here (and by vigipy).
pub(crate) const Z_975: f64 = 1.959_963_984_540_054;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_rebuilt_from_its_margins() {
        let t = Table::from_margins(3, 10, 20, 100).unwrap();
        assert_eq!(
            t,
            Table {
                a: 3.0,
                b: 7.0,
                c: 17.0,
                d: 73.0
            }
        );
        assert_eq!(t.expected(), 2.0);
    }

    #[test]
    fn margins_smaller_than_the_pair_count_are_refused() {
        assert!(Table::from_margins(5, 4, 20, 100).is_err());
        assert!(Table::from_margins(1, 60, 60, 100).is_err());
    }
}
