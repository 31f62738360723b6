//! Risk-adjusted observed/expected: a patient-level logistic model (see `logistic`), its design
//! matrix with R's treatment coding of categories, and per group observed, expected (Σp̂) and
//! O/E with the exact (Garwood) Poisson 95% interval. Reference: R `glm` + `qchisq`, make.R.

use crate::StatsError;
use crate::logistic::{
    Design, HosmerLemeshow, LogisticFit, LogisticOptions, c_statistic, fit_logistic,
    hosmer_lemeshow,
};
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Gamma};
use std::collections::HashMap;

/// A column of labels (a category, a group) stored once per distinct label: each row holds the
/// code of its label. Building it from a million rows allocates one string per label, not per row.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// Distinct labels in order of first appearance; `codes` index into it.
    pub levels: Vec<String>,
    pub codes: Vec<u32>,
    index: HashMap<String, u32>,
}

impl Labels {
    pub fn new() -> Self {
        Labels::default()
    }

    /// An empty column with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        Labels {
            codes: Vec::with_capacity(rows),
            ..Labels::default()
        }
    }

    /// Appends a row with label `label`.
    pub fn push(&mut self, label: &str) {
        let code = match self.index.get(label) {
            Some(&code) => code,
            None => {
                let code = self.levels.len() as u32;
                self.levels.push(label.to_string());
                self.index.insert(label.to_string(), code);
                code
            }
        };
        self.codes.push(code);
    }

    /// Appends the rows of `other` (e.g. a column read in parallel pieces), recoding its labels.
    pub fn append(&mut self, other: Labels) {
        let recode: Vec<u32> = other
            .levels
            .iter()
            .map(|label| {
                let before = self.codes.len();
                self.push(label);
                self.codes.truncate(before);
                self.index[label.as_str()]
            })
            .collect();
        self.codes
            .extend(other.codes.iter().map(|&c| recode[c as usize]));
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The rank of each code's label in sorted (byte) order: R's factor level order in the C locale.
    fn sorted_ranks(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.levels.len()).collect();
        order.sort_by(|&a, &b| self.levels[a].cmp(&self.levels[b]));
        let mut rank = vec![0; order.len()];
        order
            .iter()
            .enumerate()
            .for_each(|(r, &code)| rank[code] = r);
        rank
    }
}

impl<S: AsRef<str>> FromIterator<S> for Labels {
    fn from_iter<I: IntoIterator<Item = S>>(labels: I) -> Self {
        let mut column = Labels::new();
        labels
            .into_iter()
            .for_each(|label| column.push(label.as_ref()));
        column
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.levels == other.levels && self.codes == other.codes
    }
}

/// A covariate column as read: a number per patient, or a category label per patient.
#[derive(Debug, Clone, PartialEq)]
pub enum Covariate {
    Numeric { name: String, values: Vec<f64> },
    Categorical { name: String, values: Labels },
}

/// The model matrix of `covariates` for `rows` patients, as R's `model.matrix` builds it: an
/// intercept, each numeric covariate as given, each categorical one as 0/1 indicators for every
/// level but the first in sorted (byte) order, named `name` + `level` (treatment contrasts).
pub fn design_matrix(rows: usize, covariates: &[Covariate]) -> Result<Design, StatsError> {
    let mut names = vec!["(Intercept)".to_string()];
    // How each input column fills its output columns.
    enum Fill<'a> {
        Number(&'a [f64]),
        /// The codes, each code's indicator column (None for the reference), the columns used.
        Indicators(&'a [u32], Vec<Option<usize>>, usize),
    }
    let mut fills = Vec::with_capacity(covariates.len());
    for covariate in covariates {
        match covariate {
            Covariate::Numeric { name, values } => {
                check_length(name, values.len(), rows)?;
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(StatsError::invalid(
                        format!("{name}, row {}", i + 1),
                        "is not a finite number",
                    ));
                }
                names.push(name.clone());
                fills.push(Fill::Number(values));
            }
            Covariate::Categorical { name, values } => {
                check_length(name, values.len(), rows)?;
                let levels = values.levels.len();
                if levels < 2 {
                    return Err(StatsError::invalid(
                        name.clone(),
                        "has a single category, so it cannot explain any difference in risk",
                    ));
                }
                let rank = values.sorted_ranks();
                let mut sorted = vec![""; levels];
                rank.iter()
                    .zip(&values.levels)
                    .for_each(|(&r, level)| sorted[r] = level);
                // The first level in sorted order is the reference and gets no column.
                names.extend(sorted[1..].iter().map(|level| format!("{name}{level}")));
                let columns = rank.iter().map(|&r| r.checked_sub(1)).collect();
                fills.push(Fill::Indicators(&values.codes, columns, levels - 1));
            }
        }
    }
    let p = names.len();
    let mut values = vec![0.0; rows * p];
    values.par_chunks_mut(p).enumerate().for_each(|(i, row)| {
        row[0] = 1.0;
        let mut column = 1;
        for fill in &fills {
            match fill {
                Fill::Number(v) => {
                    row[column] = v[i];
                    column += 1;
                }
                Fill::Indicators(codes, columns, used) => {
                    if let Some(k) = columns[codes[i] as usize] {
                        row[column + k] = 1.0;
                    }
                    column += used;
                }
            }
        }
    });
    Ok(Design {
        names,
        rows,
        values,
    })
}

fn check_length(name: &str, len: usize, rows: usize) -> Result<(), StatsError> {
    if len == rows {
        Ok(())
    } else {
        Err(StatsError::invalid(
            name,
            format!("has {len} values for {rows} patients"),
        ))
    }
}

/// The exact (Garwood) two-sided interval for the mean of a Poisson count:
/// [qchisq(α/2, 2k)/2, qchisq(1 − α/2, 2k + 2)/2], the lower bound 0 when k = 0.
/// `count` may be fractional (funnel plots use it for expected counts).
pub fn exact_poisson_interval(count: f64, confidence: f64) -> (f64, f64) {
    let alpha = 1.0 - confidence;
    let quantile = |shape: f64, p: f64| {
        Gamma::new(shape, 1.0)
            .expect("a positive shape")
            .inverse_cdf(p)
    };
    let lower = if count > 0.0 {
        quantile(count, alpha / 2.0)
    } else {
        0.0
    };
    (lower, quantile(count + 1.0, 1.0 - alpha / 2.0))
}

/// One group's observed and expected outcomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedExpected {
    pub group: String,
    pub patients: usize,
    pub observed: f64,
    /// Σ of the fitted probabilities of the group's patients.
    pub expected: f64,
    pub oe: f64,
    /// Exact Poisson 95% interval of the observed count, divided by the expected.
    pub oe_lower: f64,
    pub oe_upper: f64,
}

/// Observed, expected and O/E per group, ordered by group.
pub fn observed_expected(groups: &Labels, y: &[f64], fitted: &[f64]) -> Vec<ObservedExpected> {
    let mut tally = vec![(0usize, 0.0, 0.0); groups.levels.len()];
    for ((&code, &y), &p) in groups.codes.iter().zip(y).zip(fitted) {
        let t = &mut tally[code as usize];
        *t = (t.0 + 1, t.1 + y, t.2 + p);
    }
    let mut rows: Vec<ObservedExpected> = groups
        .levels
        .iter()
        .zip(tally)
        .map(|(group, (patients, observed, expected))| {
            let (lower, upper) = exact_poisson_interval(observed, 0.95);
            ObservedExpected {
                group: group.clone(),
                patients,
                observed,
                expected,
                oe: observed / expected,
                oe_lower: lower / expected,
                oe_upper: upper / expected,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.group.cmp(&b.group));
    rows
}

/// A fitted risk model and what it says about each group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskAdjustment {
    pub model: LogisticFit,
    pub c_statistic: f64,
    /// Deciles of risk; `None` when the model gives fewer than three distinct risk groups.
    pub hosmer_lemeshow: Option<HosmerLemeshow>,
    pub groups: Vec<ObservedExpected>,
}

/// Risk groups for the Hosmer–Lemeshow test: deciles of fitted risk.
pub const HOSMER_LEMESHOW_GROUPS: usize = 10;

/// Fits the risk model of `outcome` (0/1 per patient) on `covariates` and compares each group's
/// observed outcomes with those the model expects for its patients.
pub fn risk_adjust(
    outcome: &[f64],
    groups: &Labels,
    covariates: &[Covariate],
    options: LogisticOptions,
) -> Result<RiskAdjustment, StatsError> {
    check_length("group", groups.len(), outcome.len())?;
    let design = design_matrix(outcome.len(), covariates)?;
    let model = fit_logistic(&design, outcome, options)?;
    Ok(RiskAdjustment {
        c_statistic: c_statistic(outcome, &model.fitted),
        hosmer_lemeshow: hosmer_lemeshow(outcome, &model.fitted, HOSMER_LEMESHOW_GROUPS),
        groups: observed_expected(groups, outcome, &model.fitted),
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_become_indicators_against_the_first_level_in_sorted_order() {
        let ward = Covariate::Categorical {
            name: "ward".into(),
            values: ["c", "a", "b", "a"].into_iter().collect(),
        };
        let age = Covariate::Numeric {
            name: "age".into(),
            values: vec![70.0, 50.0, 60.0, 80.0],
        };
        let d = design_matrix(4, &[age, ward]).unwrap();
        assert_eq!(d.names, ["(Intercept)", "age", "wardb", "wardc"]);
        assert_eq!(&d.values[..4], &[1.0, 70.0, 0.0, 1.0]); // ward c
        assert_eq!(&d.values[4..8], &[1.0, 50.0, 0.0, 0.0]); // ward a, the reference
    }

    #[test]
    fn labels_read_in_pieces_and_appended_equal_labels_read_at_once() {
        let mut first: Labels = ["b", "a"].into_iter().collect();
        first.append(["c", "a", "b"].into_iter().collect());
        assert_eq!(
            first,
            ["b", "a", "c", "a", "b"].into_iter().collect::<Labels>()
        );
    }

    #[test]
    fn a_category_with_one_level_is_refused() {
        let only = Covariate::Categorical {
            name: "sex".into(),
            values: ["F"; 3].into_iter().collect(),
        };
        assert!(
            design_matrix(3, &[only])
                .unwrap_err()
                .to_string()
                .starts_with("sex:")
        );
    }

    #[test]
    fn garwood_interval_for_zero_events_starts_at_zero_and_ends_at_minus_log_alpha_over_two() {
        // With no events, the upper bound solves P(0; λ) = 0.025: λ = −ln 0.025.
        let (lower, upper) = exact_poisson_interval(0.0, 0.95);
        assert_eq!(lower, 0.0);
        assert!((upper - -(0.025f64).ln()).abs() < 1e-9);
    }

    #[test]
    fn observed_over_expected_is_summed_per_group() {
        let groups: Labels = ["b", "a", "b"].into_iter().collect();
        let oe = observed_expected(&groups, &[1.0, 0.0, 1.0], &[0.5, 0.25, 0.5]);
        assert_eq!(oe[0].group, "a");
        assert_eq!((oe[1].observed, oe[1].expected, oe[1].oe), (2.0, 1.0, 2.0));
        assert!(oe[1].oe_lower < 2.0 && 2.0 < oe[1].oe_upper);
    }
}
