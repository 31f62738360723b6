//! A screen: every method over every observed pair of a database, with the MGPS prior fitted once
//! (or given). Terms that depend on one margin or on the count alone are computed once per drug,
//! event or distinct count, and pairs are processed in parallel.

use super::bcpnn::{IcEstimate, Moments, ShrinkageQuantiles, ic_exact_with};
use super::counts::{Cell, Contingency};
use super::frequentist::{
    RatioEstimate, chi_square, chi_square_yates, evans_signal, prr, ror, ror_signal,
};
use super::mgps::{
    CountTerms, EbEstimate, FitOptions, Prior, PriorFit, fit_prior, log_likelihood, posterior_with,
};
use crate::StatsError;
use rayon::prelude::*;

/// What to screen and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenOptions {
    /// Pairs with fewer reports are left out of the result (never out of the margins or the fit).
    pub min_count: u64,
    /// The MGPS signal threshold on EB05 (2 by default, as in FDA practice).
    pub eb05_threshold: f64,
    /// A prior to use instead of fitting one.
    pub prior: Option<Prior>,
    pub fit: FitOptions,
}

impl Default for ScreenOptions {
    fn default() -> ScreenOptions {
        ScreenOptions {
            min_count: 1,
            eb05_threshold: 2.0,
            prior: None,
            fit: FitOptions::default(),
        }
    }
}

/// Every measure of one drug–event pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSignal {
    pub drug: u32,
    pub event: u32,
    pub a: u64,
    pub drug_margin: u64,
    pub event_margin: u64,
    pub n: u64,
    pub expected: f64,
    pub prr: RatioEstimate,
    pub chi2: f64,
    pub chi2_yates: f64,
    pub ror: RatioEstimate,
    /// Norén's shrinkage IC.
    pub ic: IcEstimate,
    /// The exact-moment IC of PhViD/vigipy.
    pub bcpnn_ic: IcEstimate,
    pub eb: EbEstimate,
    /// Evans criteria.
    pub signal_prr: bool,
    /// ROR lower bound > 1 with a ≥ 3.
    pub signal_ror: bool,
    /// Shrinkage IC025 > 0 (the WHO-UMC criterion).
    pub signal_ic: bool,
    /// EB05 at or above the threshold.
    pub signal_ebgm: bool,
}

/// The result of a screen: the prior used, its log-likelihood on these data, and the pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    pub prior: Prior,
    pub n_star: u64,
    pub log_likelihood: f64,
    /// Present when the prior was fitted here.
    pub fit: Option<PriorFit>,
    pub pairs: Vec<PairSignal>,
}

pub fn screen(contingency: &Contingency, options: &ScreenOptions) -> Result<Screen, StatsError> {
    if contingency.cells.is_empty() {
        return Err(StatsError::invalid(
            "pairs",
            "the database has no drug–event pair",
        ));
    }
    let n = contingency.n as f64;
    let expected = |drug: u32, event: u32| {
        contingency.drug_margins[drug as usize] as f64
            * contingency.event_margins[event as usize] as f64
            / n
    };
    let fit_pairs: Vec<(u64, f64)> = contingency
        .cells
        .par_iter()
        .map(|c| (c.a, expected(c.drug, c.event)))
        .collect();
    let n_star = options.fit.n_star;
    let (prior, log_likelihood, fit) = match options.prior {
        Some(prior) => {
            prior.validate()?;
            (prior, log_likelihood(&prior, &fit_pairs, n_star)?, None)
        }
        None => {
            let fit = fit_prior(&fit_pairs, &options.fit)?;
            (fit.prior, fit.log_likelihood, Some(fit))
        }
    };
    drop(fit_pairs);

    let drug_moments: Vec<Moments> = contingency
        .drug_margins
        .par_iter()
        .map(|&m| Moments::margin(m as f64, n))
        .collect();
    let event_moments: Vec<Moments> = contingency
        .event_margins
        .par_iter()
        .map(|&m| Moments::margin(m as f64, n))
        .collect();
    let selected: Vec<&Cell> = contingency
        .cells
        .iter()
        .filter(|c| c.a >= options.min_count)
        .collect();
    let mut counts: Vec<u64> = selected.iter().map(|c| c.a).collect();
    counts.sort_unstable();
    counts.dedup();
    let per_count: Vec<CountCache> = counts
        .par_iter()
        .map(|&a| CountCache {
            shrinkage: ShrinkageQuantiles::for_count(a as f64),
            moments: Moments::count(a as f64),
            terms: CountTerms::new(&prior, a),
        })
        .collect();
    if selected.is_empty() {
        return Ok(Screen {
            prior,
            n_star,
            log_likelihood,
            fit,
            pairs: Vec::new(),
        });
    }
    let cache = |a: u64| &per_count[counts.binary_search(&a).expect("count was collected")];

    // The MGPS posterior depends on the pair only through (a, E), and pairs whose count and
    // margins agree share it; the quantile root-finding is the costliest step, so it is done
    // once per distinct (a, E).
    let mut keys: Vec<(u64, u64, u32)> = selected
        .par_iter()
        .enumerate()
        .map(|(i, c)| (c.a, expected(c.drug, c.event).to_bits(), i as u32))
        .collect();
    keys.par_sort_unstable();
    let mut runs: Vec<usize> = vec![0];
    for k in 1..keys.len() {
        if (keys[k].0, keys[k].1) != (keys[k - 1].0, keys[k - 1].1) {
            runs.push(k);
        }
    }
    runs.push(keys.len());
    let distinct: Vec<EbEstimate> = runs
        .par_windows(2)
        .map(|w| {
            let (a, e, _) = keys[w[0]];
            posterior_with(&prior, &cache(a).terms, f64::from_bits(e))
        })
        .collect();
    let mut eb = vec![distinct[0]; selected.len()];
    for (w, value) in runs.windows(2).zip(&distinct) {
        for key in &keys[w[0]..w[1]] {
            eb[key.2 as usize] = *value;
        }
    }
    drop(keys);

    let pairs: Vec<PairSignal> = selected
        .par_iter()
        .zip(eb.par_iter())
        .map(|(cell, eb)| {
            let table = contingency.table(cell);
            let e = table.expected();
            let a = table.a;
            let count = cache(cell.a);
            let prr = prr(&table);
            let chi2_yates = chi_square_yates(&table);
            let ror = ror(&table);
            let ic = count.shrinkage.ic(a, e);
            PairSignal {
                drug: cell.drug,
                event: cell.event,
                a: cell.a,
                drug_margin: contingency.drug_margins[cell.drug as usize],
                event_margin: contingency.event_margins[cell.event as usize],
                n: contingency.n,
                expected: e,
                chi2: chi_square(&table),
                chi2_yates,
                bcpnn_ic: ic_exact_with(
                    a,
                    table.drug_margin(),
                    table.event_margin(),
                    n,
                    count.moments,
                    drug_moments[cell.drug as usize],
                    event_moments[cell.event as usize],
                ),
                signal_prr: evans_signal(prr.estimate, chi2_yates, a),
                signal_ror: ror_signal(ror.lower, a),
                signal_ic: ic.ic025 > 0.0,
                signal_ebgm: eb.eb05 >= options.eb05_threshold,
                prr,
                ror,
                ic,
                eb: *eb,
            }
        })
        .collect();
    Ok(Screen {
        prior,
        n_star,
        log_likelihood,
        fit,
        pairs,
    })
}

/// The terms of every method that depend on the pair count alone.
struct CountCache {
    shrinkage: ShrinkageQuantiles,
    moments: Moments,
    terms: CountTerms,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disproportionality::{Margins, count_cells, ic_exact, posterior};

    #[test]
    fn a_screen_gives_each_pair_the_measures_of_its_own_table() {
        // Drug 0 always comes with event 0 (8 reports); 30 background reports spread the rest.
        let mut occ = Vec::new();
        for r in 0..8 {
            occ.push((r, 0, 0));
        }
        for r in 8..38u32 {
            occ.push((r, 1 + r % 3, 1 + r % 5));
            occ.push((r, 1 + r % 3, (r * 7) % 5));
        }
        let c = count_cells(&occ, 4, 6, Margins::Reports).unwrap();
        let prior = Prior::DUMOUCHEL;
        let s = screen(
            &c,
            &ScreenOptions {
                prior: Some(prior),
                min_count: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(s.pairs.iter().all(|p| p.a >= 2));
        let p = s
            .pairs
            .iter()
            .find(|p| p.drug == 0 && p.event == 0)
            .unwrap();
        let table = c.table(&c.cells[0]);
        assert_eq!((p.a, p.drug_margin, p.n), (8, 8, 38));
        assert_eq!(p.bcpnn_ic, ic_exact(&table));
        assert_eq!(p.eb, posterior(&prior, 8, table.expected()));
        assert!(p.signal_prr && p.signal_ror && p.signal_ic);
    }
}
