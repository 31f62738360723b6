//! One disproportionality screen of a report database, from its drug–event pairs to the signal
//! table: the pipeline the `rounds pv signals` command and the screening job share.

use crate::reports::{Interner, ReportPairs};
use stats::StatsError;
use stats::disproportionality::{
    FitOptions, Margins, PairSignal, Prior, ScreenOptions, count_cells, screen,
};

/// How to screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// What a, b, c, d and N count: reports (FAERS practice) or drug–event pairs.
    pub margins: Margins,
    /// Pairs with fewer reports are left out of the table (not out of the margins or the fit).
    pub min_count: u64,
    /// MGPS: the prior is fitted on pairs with at least N* reports.
    pub n_star: u64,
    /// MGPS signal when EB05 is at least this.
    pub eb05_threshold: f64,
    /// A prior to use instead of fitting one.
    pub prior: Option<Prior>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            margins: Margins::Reports,
            min_count: 3,
            n_star: 1,
            eb05_threshold: 2.0,
            prior: None,
        }
    }
}

/// The signal table with the names its ids refer to.
pub struct Screening {
    pub pairs: Vec<PairSignal>,
    pub drugs: Interner,
    pub events: Interner,
    pub reports: usize,
    /// Distinct drug–event pairs observed (before `min_count`).
    pub observed_pairs: usize,
    pub prior: Prior,
    pub n_star: u64,
    pub log_likelihood: f64,
    /// Whether the prior was fitted here (rather than given).
    pub fitted: bool,
}

/// Counts the pairs and screens them with every method. Rows come out sorted by drug, then event.
pub fn run(mut pairs: ReportPairs, settings: &Settings) -> Result<Screening, StatsError> {
    if pairs.occurrences.is_empty() {
        return Err(StatsError::invalid(
            "pairs",
            "no drug–event pair to analyse",
        ));
    }
    // Ids in name order make the counted pairs, and so the table, come out sorted by name.
    pairs.order_by_name();
    let contingency = count_cells(
        &pairs.occurrences,
        pairs.drugs.len(),
        pairs.events.len(),
        settings.margins,
    )?;
    let options = ScreenOptions {
        min_count: settings.min_count,
        eb05_threshold: settings.eb05_threshold,
        prior: settings.prior,
        fit: FitOptions {
            n_star: settings.n_star,
            ..FitOptions::default()
        },
    };
    let result = screen(&contingency, &options)?;
    Ok(Screening {
        observed_pairs: contingency.cells.len(),
        reports: pairs.reports.len(),
        pairs: result.pairs,
        drugs: pairs.drugs,
        events: pairs.events,
        prior: result.prior,
        n_star: result.n_star,
        log_likelihood: result.log_likelihood,
        fitted: result.fit.is_some(),
    })
}
