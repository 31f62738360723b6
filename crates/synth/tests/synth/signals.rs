//! The planted health-system signals, recovered from the written NDJSON with the platform's own
//! statistics (stats::logistic) as a quality analyst would: from the files, not the generator.

use crate::common::{generated, ndjson, signal};
use chrono::NaiveDate;
use serde_json::Value;
use stats::logistic::{Design, LogisticOptions, fit_logistic};
use std::collections::{BTreeMap, BTreeSet};

/// One inpatient stay as read back.
struct Stay {
    age: f64,
    comorbidities: usize,
    weight: f64,
    surgical: bool,
    attending: String,
    department: String,
    unit: String,
    month: String,
    los_days: f64,
    gmlos: f64,
    died: bool,
    /// Secondary diagnoses not present on admission.
    acquired: Vec<String>,
}

/// The inpatient stays of the shared system, read once.
fn stays() -> &'static [Stay] {
    static STAYS: std::sync::OnceLock<Vec<Stay>> = std::sync::OnceLock::new();
    STAYS.get_or_init(read_stays)
}

fn read_stays() -> Vec<Stay> {
    let g = generated();
    let births: BTreeMap<String, NaiveDate> = ndjson(&g.dir, "Patient")
        .iter()
        .map(|p| {
            let birth =
                NaiveDate::parse_from_str(p["birthDate"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            (format!("Patient/{}", p["id"].as_str().unwrap()), birth)
        })
        .collect();
    // Encounter → (rank-1 code, POA) of each diagnosis, via the conditions.
    let mut conditions: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for c in ndjson(&g.dir, "Condition") {
        let poa = c["extension"][0]["valueCode"].as_str().map(str::to_string);
        conditions.insert(
            format!("Condition/{}", c["id"].as_str().unwrap()),
            (
                c["code"]["coding"][0]["code"].as_str().unwrap().to_string(),
                poa,
            ),
        );
    }
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    ndjson(&g.dir, "Encounter")
        .into_iter()
        .filter(|e| e["class"]["code"] == "IMP")
        .map(|e| {
            let drg =
                synth::catalog::drg_by_code(e["type"][0]["coding"][0]["code"].as_str().unwrap())
                    .unwrap();
            let (start, end) = (time(&e["period"]["start"]), time(&e["period"]["end"]));
            let birth = births[e["subject"]["reference"].as_str().unwrap()];
            let admitted = start.date_naive();
            let mut comorbidities = 0;
            let mut acquired = Vec::new();
            for d in e["diagnosis"].as_array().unwrap() {
                let (code, poa) = &conditions[d["condition"]["reference"].as_str().unwrap()];
                if d["rank"] == 1 {
                    continue;
                }
                match poa.as_deref() {
                    Some("Y") => comorbidities += 1,
                    Some("N") => acquired.push(code.clone()),
                    other => panic!("an inpatient diagnosis with POA {other:?}"),
                }
            }
            let npi = e["participant"][0]["individual"]["reference"]
                .as_str()
                .unwrap();
            Stay {
                age: (admitted - birth).num_days() as f64 / 365.25,
                comorbidities,
                weight: drg.weight,
                surgical: drg.surgical,
                attending: npi.rsplit('|').next().unwrap().to_string(),
                department: e["serviceProvider"]["reference"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("Organization/")
                    .to_string(),
                unit: e["location"][0]["location"]["reference"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("Location/")
                    .to_string(),
                month: admitted.format("%Y-%m").to_string(),
                los_days: (end - start).num_minutes() as f64 / 1440.0,
                gmlos: drg.gmlos,
                died: e["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "exp",
                acquired,
            }
        })
        .collect()
}

/// The adjusted log odds ratio (and its standard error) of `outcome` for the stays attended by
/// `npi` against all others, from a logistic model of age, comorbidity count and DRG weight.
fn adjusted_log_odds_ratio(
    stays: &[&Stay],
    npi: &str,
    outcome: impl Fn(&Stay) -> bool,
) -> (f64, f64, usize) {
    let mut values = Vec::with_capacity(stays.len() * 5);
    let mut y = Vec::with_capacity(stays.len());
    let mut cases = 0;
    for s in stays {
        let planted = s.attending == npi;
        cases += planted as usize;
        values.extend([
            1.0,
            s.age,
            s.comorbidities as f64,
            s.weight,
            planted as u8 as f64,
        ]);
        y.push(outcome(s) as u8 as f64);
    }
    let design = Design {
        names: [
            "(Intercept)",
            "age",
            "comorbidities",
            "drg_weight",
            "planted",
        ]
        .map(String::from)
        .to_vec(),
        rows: stays.len(),
        values,
    };
    let fit = fit_logistic(&design, &y, LogisticOptions::default()).unwrap();
    let c = &fit.coefficients[4];
    (c.estimate, c.se, cases)
}

#[test]
fn the_planted_surgeon_and_physician_have_the_planted_adjusted_odds_ratios() {
    let g = generated();
    let all = stays();
    let surgeon = signal(&g.truth, "surgeon-complications");
    let complications: BTreeSet<&str> = surgeon.parameters["complication_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let surgical: Vec<&Stay> = all.iter().filter(|s| s.surgical).collect();
    let (log_or, se, cases) =
        adjusted_log_odds_ratio(&surgical, surgeon.ids["npi"].as_str().unwrap(), |s| {
            s.acquired
                .iter()
                .any(|c| complications.contains(c.as_str()))
        });
    let planted = surgeon.parameters["odds_ratio"].as_f64().unwrap();
    println!(
        "surgeon: OR {:.2} (planted {planted}), SE(log OR) {se:.3}, {cases} of {} surgical stays",
        log_or.exp(),
        surgical.len()
    );
    assert!(
        se < 0.2 && cases > 300,
        "too few cases to test: SE {se}, {cases} stays"
    );
    assert!(
        (log_or - planted.ln()).abs() < 3.0 * se,
        "OR {} is not near {planted}",
        log_or.exp()
    );
    assert!(log_or - 1.96 * se > 0.0, "the surgeon is not flagged");

    let physician = signal(&g.truth, "physician-mortality");
    let medical: Vec<&Stay> = all.iter().filter(|s| !s.surgical).collect();
    let (log_or, se, cases) =
        adjusted_log_odds_ratio(&medical, physician.ids["npi"].as_str().unwrap(), |s| s.died);
    let planted = physician.parameters["odds_ratio"].as_f64().unwrap();
    println!(
        "physician: OR {:.2} (planted {planted}), SE(log OR) {se:.3}, {cases} of {} medical stays",
        log_or.exp(),
        medical.len()
    );
    assert!(
        se < 0.25 && cases > 500,
        "too few cases to test: SE {se}, {cases} stays"
    );
    assert!(
        (log_or - planted.ln()).abs() < 3.0 * se,
        "OR {} is not near {planted}",
        log_or.exp()
    );
    assert!(log_or - 1.96 * se > 0.0, "the physician is not flagged");
}

#[test]
fn the_infection_cluster_is_the_busiest_unit_month_of_c_difficile() {
    let g = generated();
    let cluster = signal(&g.truth, "unit-infection-cluster");
    let (unit, month, code) = (
        cluster.ids["location"].as_str().unwrap(),
        cluster.parameters["month"].as_str().unwrap(),
        cluster.parameters["code"].as_str().unwrap(),
    );
    let mut by_unit_month: BTreeMap<(String, String), (u32, u32)> = BTreeMap::new();
    for s in stays() {
        let cell = by_unit_month
            .entry((s.unit.clone(), s.month.clone()))
            .or_default();
        cell.0 += 1;
        cell.1 += s.acquired.iter().any(|c| c == code) as u32;
    }
    let top = by_unit_month
        .iter()
        .max_by_key(|(_, (_, cases))| *cases)
        .unwrap();
    let planted = by_unit_month[&(unit.to_string(), month.to_string())];
    let (stays_else, cases_else) = by_unit_month
        .iter()
        .filter(|((u, m), _)| u == unit && m != month)
        .fold((0, 0), |acc, (_, (n, c))| (acc.0 + n, acc.1 + c));
    let ratio =
        (planted.1 as f64 / planted.0 as f64) / (cases_else.max(1) as f64 / stays_else as f64);
    println!(
        "cluster {unit} {month}: {} cases in {} stays; rate ratio against its other months {ratio:.1}",
        planted.1, planted.0
    );
    assert_eq!(
        top.0,
        &(unit.to_string(), month.to_string()),
        "the busiest unit-month is {top:?}"
    );
    assert!(planted.1 >= 5 && ratio > 5.0);
}

#[test]
fn length_of_stay_drifts_up_in_the_planted_department_only() {
    let g = generated();
    let drift = signal(&g.truth, "department-los-drift");
    let (department, start, per_month) = (
        drift.ids["department"].as_str().unwrap(),
        drift.parameters["start_month"].as_str().unwrap(),
        drift.parameters["increase_per_month"].as_f64().unwrap(),
    );
    let months_after = |m: &str| {
        let (y, mo) = m.split_once('-').unwrap();
        let (sy, smo) = start.split_once('-').unwrap();
        (y.parse::<i32>().unwrap() - sy.parse::<i32>().unwrap()) * 12 + mo.parse::<i32>().unwrap()
            - smo.parse::<i32>().unwrap()
    };
    // Sums of log(LOS / GMLOS), of its square and counts before and after the start month.
    let mut shift: BTreeMap<String, [(f64, f64, f64); 2]> = BTreeMap::new();
    let mut expected = (0.0, 0.0);
    for s in stays().iter().filter(|s| !s.died && s.acquired.is_empty()) {
        let after = months_after(&s.month) >= 0;
        let cell = &mut shift.entry(s.department.clone()).or_default()[after as usize];
        let x = (s.los_days / s.gmlos).ln();
        cell.0 += x;
        cell.1 += x * x;
        cell.2 += 1.0;
        if after && s.department == department {
            expected.0 += (1.0 + per_month * (months_after(&s.month) + 1) as f64).ln();
            expected.1 += 1.0;
        }
    }
    let expected = expected.0 / expected.1;
    for (d, [before, after]) in &shift {
        if before.2 < 300.0 || after.2 < 300.0 {
            continue;
        }
        let mean = |c: &(f64, f64, f64)| c.0 / c.2;
        let variance = |c: &(f64, f64, f64)| (c.1 / c.2 - mean(c).powi(2)) / c.2;
        let change = mean(after) - mean(before);
        let se = (variance(before) + variance(after)).sqrt();
        if d == department {
            println!(
                "LOS drift in {d}: mean log LOS up {change:.3} ± {se:.3} (planted {expected:.3})"
            );
            assert!(
                (change - expected).abs() < 4.0 * se && change > 4.0 * se,
                "{d}: {change} against {expected}"
            );
        } else {
            assert!(
                change.abs() < 4.0 * se,
                "{d} drifts by {change} ± {se} without a plant"
            );
        }
    }
}
