//! Funnel plots against FunnelPlotR: every case in fixtures/funnel/summary.csv, every column of
//! its `source_data()`, to 1e-6 relative; outliers exactly.

use stats::funnel::{FunnelKind, FunnelOptions, GroupCounts, OutlierLimit, SrMethod, funnel};
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/funnel")
        .join(name)
}

fn rows(name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(fixture(name)).unwrap();
    reader.deserialize().map(|r| r.unwrap()).collect()
}

fn number(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?}", row[column]))
}

fn assert_close(case: &str, group: &str, column: &str, ours: f64, theirs: f64) {
    let scale = theirs.abs().max(1e-12);
    assert!(
        (ours - theirs).abs() / scale <= 1e-6,
        "{case} {group} {column}: ours {ours}, FunnelPlotR {theirs}"
    );
}

#[test]
fn every_funnel_case_matches_funnelplotr() {
    let cases = rows("summary.csv");
    assert!(
        cases.len() >= 5,
        "the fixtures hold every data type and method"
    );
    for case in cases {
        let name = &case["name"];
        let kind = match (case["data_type"].as_str(), case["sr_method"].as_str()) {
            ("SR", "SHMI") => FunnelKind::StandardisedRatio(SrMethod::Shmi),
            ("SR", "CQC") => FunnelKind::StandardisedRatio(SrMethod::Cqc),
            ("PR", _) => FunnelKind::Proportion,
            ("RC", _) => FunnelKind::Ratio,
            other => panic!("unknown case {other:?}"),
        };
        let limit = if case["limit"] == "95" {
            OutlierLimit::P95
        } else {
            OutlierLimit::P998
        };
        let input: Vec<GroupCounts> = rows(&format!("{name}.input.csv"))
            .iter()
            .map(|r| GroupCounts {
                group: r["group"].clone(),
                numerator: number(r, "numerator"),
                denominator: number(r, "denominator"),
            })
            .collect();
        let result = funnel(
            &input,
            FunnelOptions {
                kind,
                limit,
                trim: 0.1,
            },
        )
        .unwrap();

        assert_close(name, "-", "phi", result.phi, number(&case, "phi"));
        assert_close(name, "-", "tau2", result.tau2, number(&case, "tau2"));

        let expected = rows(&format!("{name}.expected.csv"));
        assert_eq!(
            result.points.len(),
            expected.len(),
            "{name}: one point per group"
        );
        for (ours, theirs) in result.points.iter().zip(&expected) {
            let group = theirs["group"].as_str();
            assert_eq!(ours.group, group, "{name}: points ordered by group");
            let columns = [
                ("rr", ours.value),
                ("Uzscore", ours.z),
                ("s", ours.s),
                ("LCL95", ours.lcl95),
                ("UCL95", ours.ucl95),
                ("LCL99", ours.lcl998),
                ("UCL99", ours.ucl998),
                ("OD95LCL", ours.od_lcl95),
                ("OD95UCL", ours.od_ucl95),
                ("OD99LCL", ours.od_lcl998),
                ("OD99UCL", ours.od_ucl998),
            ];
            for (column, value) in columns {
                assert_close(name, group, column, value, number(theirs, column));
            }
            match (ours.z_winsorised, theirs["Wuzscore"].as_str()) {
                (None, "NA") => {}
                (Some(w), _) => {
                    assert_close(name, group, "Wuzscore", w, number(theirs, "Wuzscore"))
                }
                (None, other) => panic!("{name} {group}: we truncated, FunnelPlotR kept {other}"),
            }
            assert_eq!(
                ours.outlier,
                theirs["outlier"] == "1",
                "{name} {group}: outlier"
            );
        }
    }
}
