//! Disproportionality against its references (fixtures from tools/pv/make_fixtures.py): with pair
//! margins, PRR/ROR and their intervals and the BCPNN exact-moment IC025 as vigipy 3.5 computes
//! them, χ² as scipy's chi2_contingency, Norén's IC from scipy gamma quantiles; MGPS posteriors
//! against a direct scipy evaluation of DuMouchel's formulas; the fitted prior against vigipy's
//! fit and a multi-start scipy fit on the same pairs.

use stats::disproportionality::mgps::log_likelihood;
use stats::disproportionality::{
    Contingency, FitOptions, Margins, Prior, Table, chi_square, chi_square_yates, count_cells,
    fit_prior, ic_exact, ic_shrinkage, posterior, prr, ror,
};
use std::collections::HashMap;
use std::path::PathBuf;

type Row = HashMap<String, String>;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pv")
        .join(name)
}

fn rows(name: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(fixture(name)).unwrap();
    reader.deserialize().map(|r| r.unwrap()).collect()
}

fn number(row: &Row, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?}", row[column]))
}

/// Relative agreement, absolute near zero (an IC of 0.001 is compared to 1e-9, not 1e-12).
fn assert_close(case: &str, what: &str, ours: f64, reference: f64, tolerance: f64) {
    let scale = reference.abs().max(1.0);
    assert!(
        (ours - reference).abs() <= tolerance * scale,
        "{case} {what}: ours {ours}, reference {reference}"
    );
}

/// The fixture's reports, interned, counted in the given unit; with the names of the ids.
struct Database {
    contingency: Contingency,
    drugs: HashMap<String, u32>,
    events: HashMap<String, u32>,
}

impl Database {
    fn load(margins: Margins) -> Database {
        let mut ids: [HashMap<String, u32>; 3] = Default::default();
        let mut occurrences = Vec::new();
        for row in rows("reports.csv") {
            let mut id = |k: usize, name: &str| {
                let next = ids[k].len() as u32;
                *ids[k].entry(name.to_string()).or_insert(next)
            };
            occurrences.push((
                id(0, &row["report_id"]),
                id(1, &row["drug"]),
                id(2, &row["event"]),
            ));
        }
        let [_, drugs, events] = ids;
        let contingency = count_cells(&occurrences, drugs.len(), events.len(), margins).unwrap();
        Database {
            contingency,
            drugs,
            events,
        }
    }

    fn table(&self, row: &Row) -> Table {
        let (d, e) = (self.drugs[&row["drug"]], self.events[&row["event"]]);
        let cell = self
            .contingency
            .cells
            .iter()
            .find(|c| c.drug == d && c.event == e)
            .unwrap();
        self.contingency.table(cell)
    }

    /// (n, E) of every observed pair, as the MGPS fit sees them.
    fn counts(&self) -> Vec<(u64, f64)> {
        self.contingency
            .cells
            .iter()
            .map(|c| (c.a, self.contingency.table(c).expected()))
            .collect()
    }
}

#[test]
fn with_pair_margins_prr_ror_and_bcpnn_equal_vigipy() {
    let db = Database::load(Margins::Pairs);
    let fixture = rows("pairs.csv");
    assert_eq!(fixture.len(), db.contingency.cells.len());
    for row in &fixture {
        let case = format!("{}/{}", row["drug"], row["event"]);
        let t = db.table(row);
        assert_eq!(
            (t.a, t.drug_margin(), t.event_margin(), t.n()),
            (
                number(row, "a"),
                number(row, "drug_margin"),
                number(row, "event_margin"),
                number(row, "n")
            ),
            "{case}"
        );
        assert_close(
            &case,
            "expected",
            t.expected(),
            number(row, "expected"),
            1e-12,
        );
        let (p, r) = (prr(&t), ror(&t));
        assert_close(&case, "prr", p.estimate, number(row, "prr"), 1e-9);
        assert_close(&case, "prr_lower", p.lower, number(row, "prr_lower"), 1e-9);
        assert_close(&case, "prr_upper", p.upper, number(row, "prr_upper"), 1e-9);
        assert_close(&case, "ror", r.estimate, number(row, "ror"), 1e-9);
        assert_close(&case, "ror_lower", r.lower, number(row, "ror_lower"), 1e-9);
        assert_close(&case, "ror_upper", r.upper, number(row, "ror_upper"), 1e-9);
        let ic = ic_exact(&t);
        assert_close(
            &case,
            "bcpnn IC025 (vigipy)",
            ic.ic025,
            number(row, "bcpnn_ic025_vigipy"),
            1e-9,
        );
        assert_close(&case, "bcpnn IC", ic.ic, number(row, "bcpnn_ic"), 1e-9);
        assert_close(
            &case,
            "bcpnn IC975",
            ic.ic975,
            number(row, "bcpnn_ic975"),
            1e-9,
        );
        assert_close(&case, "chi2", chi_square(&t), number(row, "chi2"), 1e-9);
        assert_close(
            &case,
            "chi2 yates",
            chi_square_yates(&t),
            number(row, "chi2_yates"),
            1e-9,
        );
        let noren = ic_shrinkage(t.a, t.expected());
        assert_close(&case, "IC", noren.ic, number(row, "ic"), 1e-12);
        assert_close(&case, "IC025", noren.ic025, number(row, "ic025"), 1e-9);
        assert_close(&case, "IC975", noren.ic975, number(row, "ic975"), 1e-9);
    }
}

#[test]
fn with_report_margins_a_report_counts_once_per_drug_and_event() {
    let db = Database::load(Margins::Reports);
    for row in rows("pairs.csv") {
        let t = db.table(&row);
        assert_eq!(
            (t.a, t.drug_margin(), t.event_margin(), t.n()),
            (
                number(&row, "a"),
                number(&row, "drug_reports"),
                number(&row, "event_reports"),
                number(&row, "n_reports")
            ),
            "{}/{}",
            row["drug"],
            row["event"]
        );
    }
}

fn prior(meta: &serde_json::Value, name: &str) -> Prior {
    serde_json::from_value(meta[name].clone()).unwrap()
}

fn meta() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("mgps.json")).unwrap()).unwrap()
}

#[test]
fn given_a_prior_ebgm_eb05_and_eb95_equal_the_published_formulas() {
    let meta = meta();
    for name in ["dumouchel", "scipy_fit"] {
        let key = if name == "scipy_fit" {
            "scipy_multistart"
        } else {
            name
        };
        let prior = prior(&meta, key);
        for row in rows("mgps.csv") {
            let case = format!("{name} {}/{}", row["drug"], row["event"]);
            let eb = posterior(&prior, number(&row, "a") as u64, number(&row, "expected"));
            assert_close(&case, "Q", eb.q, number(&row, &format!("{name}_q")), 1e-9);
            for (what, ours) in [("ebgm", eb.ebgm), ("eb05", eb.eb05), ("eb95", eb.eb95)] {
                let reference = number(&row, &format!("{name}_{what}"));
                assert!(
                    (ours - reference).abs() <= 1e-6 * reference,
                    "{case} {what}: ours {ours}, scipy {reference}"
                );
            }
        }
    }
}

#[test]
fn the_truncated_log_likelihood_equals_a_direct_evaluation() {
    let meta = meta();
    let counts = Database::load(Margins::Pairs).counts();
    for name in ["dumouchel", "scipy_multistart"] {
        let ours = log_likelihood(&prior(&meta, name), &counts, 1).unwrap();
        let reference = meta[name]["log_likelihood"].as_f64().unwrap();
        assert!(
            (ours - reference).abs() <= 1e-9 * reference.abs(),
            "{name}: ours {ours}, scipy {reference}"
        );
    }
}

#[test]
fn the_fitted_prior_is_at_least_as_likely_as_vigipys_and_a_multistart_scipy_fit() {
    let meta = meta();
    let counts = Database::load(Margins::Pairs).counts();
    let fit = fit_prior(&counts, &FitOptions::default()).unwrap();
    let vigipy = meta["vigipy"]["log_likelihood"].as_f64().unwrap();
    let scipy = meta["scipy_multistart"]["log_likelihood"].as_f64().unwrap();
    assert!(
        fit.log_likelihood >= vigipy,
        "ours {} < vigipy {vigipy}",
        fit.log_likelihood
    );
    assert!(
        fit.log_likelihood >= scipy - 1e-9 * scipy.abs(),
        "ours {} < scipy {scipy}",
        fit.log_likelihood
    );
    // The reported log-likelihood is the likelihood of the reported prior.
    let again = log_likelihood(&fit.prior, &counts, 1).unwrap();
    assert!((again - fit.log_likelihood).abs() <= 1e-9 * again.abs());
    assert_eq!((fit.pairs as usize, fit.n_star), (counts.len(), 1));
}
