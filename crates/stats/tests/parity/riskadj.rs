//! Risk adjustment against R: `glm(family = binomial)` coefficients, standard errors, z and p,
//! deviance and iteration count; the c-statistic; Hosmer–Lemeshow (hoslem.test's grouping);
//! per-group O, E, O/E and exact Poisson interval. Every case in fixtures/riskadj/cases.csv.

use stats::logistic::LogisticOptions;
use stats::riskadj::{Covariate, Labels, risk_adjust};
use std::collections::HashMap;
use std::path::PathBuf;

type Row = HashMap<String, String>;

fn rows(name: &str) -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/riskadj")
        .join(name);
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader.deserialize().map(|r| r.unwrap()).collect()
}

fn number(row: &Row, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?}", row[column]))
}

fn assert_close(case: &str, what: &str, ours: f64, r: f64, tolerance: f64) {
    let scale = r.abs().max(1e-300);
    assert!(
        (ours - r).abs() / scale <= tolerance,
        "{case} {what}: ours {ours}, R {r}"
    );
}

#[test]
fn every_risk_model_matches_r_glm() {
    let cases = rows("cases.csv");
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str();
        let data = rows(&format!("{name}.data.csv"));
        let outcome: Vec<f64> = data.iter().map(|r| number(r, &case["outcome"])).collect();
        let groups: Labels = data.iter().map(|r| r[&case["group"]].as_str()).collect();
        let mut covariates: Vec<Covariate> = case["covariates"]
            .split_whitespace()
            .map(|c| Covariate::Numeric {
                name: c.into(),
                values: data.iter().map(|r| number(r, c)).collect(),
            })
            .collect();
        covariates.extend(
            case["categorical"]
                .split_whitespace()
                .map(|c| Covariate::Categorical {
                    name: c.into(),
                    values: data.iter().map(|r| r[c].as_str()).collect(),
                }),
        );
        let result =
            risk_adjust(&outcome, &groups, &covariates, LogisticOptions::default()).unwrap();

        let coef = rows(&format!("{name}.coef.csv"));
        assert_eq!(
            result.model.coefficients.len(),
            coef.len(),
            "{name}: one coefficient per R term"
        );
        for (ours, r) in result.model.coefficients.iter().zip(&coef) {
            assert_eq!(
                ours.term, r["term"],
                "{name}: terms named and ordered as R's"
            );
            for (column, value) in [("estimate", ours.estimate), ("se", ours.se), ("z", ours.z)] {
                assert_close(
                    name,
                    &format!("{} {column}", ours.term),
                    value,
                    number(r, column),
                    1e-6,
                );
            }
            assert_close(
                name,
                &format!("{} p", ours.term),
                ours.p,
                number(r, "p"),
                1e-6,
            );
        }

        let fit = &rows(&format!("{name}.fit.csv"))[0];
        assert_eq!(
            result.model.iterations,
            number(fit, "iterations") as usize,
            "{name}: IRLS path"
        );
        assert_close(
            name,
            "deviance",
            result.model.deviance,
            number(fit, "deviance"),
            1e-9,
        );
        assert_close(
            name,
            "null deviance",
            result.model.null_deviance,
            number(fit, "null_deviance"),
            1e-9,
        );
        assert_close(
            name,
            "c-statistic",
            result.c_statistic,
            number(fit, "auc"),
            1e-9,
        );
        let hl = result
            .hosmer_lemeshow
            .as_ref()
            .expect("deciles of risk form");
        assert_close(
            name,
            "HL statistic",
            hl.statistic,
            number(fit, "hl_statistic"),
            1e-6,
        );
        assert_eq!(hl.df, number(fit, "hl_df") as usize, "{name}: HL df");
        assert_close(name, "HL p", hl.p_value, number(fit, "hl_p"), 1e-6);

        let expected = rows(&format!("{name}.groups.csv"));
        assert_eq!(result.groups.len(), expected.len());
        for (ours, r) in result.groups.iter().zip(&expected) {
            assert_eq!(ours.group, r["group"]);
            assert_eq!(
                ours.observed,
                number(r, "observed"),
                "{name} {}: observed",
                ours.group
            );
            let columns = [
                ("expected", ours.expected),
                ("oe", ours.oe),
                ("lower", ours.oe_lower),
                ("upper", ours.oe_upper),
            ];
            for (column, value) in columns {
                assert_close(
                    name,
                    &format!("{} {column}", ours.group),
                    value,
                    number(r, column),
                    1e-6,
                );
            }
        }
    }
}
