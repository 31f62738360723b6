//! Control charts against qicharts2 0.8.1: every case in fixtures/spc/cases.csv, every column
//! `qic(..., return.data = TRUE)` returned, values to 1e-9 relative and signals exactly.

use stats::spc::{Chart, ControlChart, Options, Rows, qic};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::PathBuf;

type Row = HashMap<String, String>;

fn rows(name: &str) -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/spc")
        .join(name);
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    reader.deserialize().map(|r| r.unwrap()).collect()
}

/// R's CSV cells: NA is missing, TRUE/FALSE are 1/0.
fn cell(row: &Row, column: &str) -> Option<f64> {
    match row[column].as_str() {
        "NA" | "" => None,
        "TRUE" => Some(1.0),
        "FALSE" => Some(0.0),
        "Inf" => Some(f64::INFINITY),
        text => Some(
            text.parse()
                .unwrap_or_else(|_| panic!("{column} = {text:?}")),
        ),
    }
}

fn flag(row: &Row, column: &str) -> bool {
    match row[column].as_str() {
        "TRUE" => true,
        "FALSE" => false,
        other => panic!("{column} = {other:?}"),
    }
}

/// The x of the fixtures: integers (ordered as numbers) or ISO dates (ordered as text).
#[derive(Debug, Clone, PartialEq)]
struct X(f64, String);

impl Eq for X {}
impl PartialOrd for X {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for X {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| self.1.cmp(&other.1))
    }
}

fn x_of(text: &str) -> X {
    X(text.parse().unwrap_or(0.0), text.to_string())
}

fn assert_close(case: &str, x: &str, column: &str, ours: Option<f64>, theirs: Option<f64>) {
    match (ours, theirs) {
        (Some(a), Some(b)) => {
            let scale = b.abs().max(1e-300);
            assert!(
                (a - b).abs() / scale <= 1e-9,
                "{case} x={x} {column}: ours {a}, qicharts2 {b}"
            );
        }
        (None, None) => {}
        _ => panic!("{case} x={x} {column}: ours {ours:?}, qicharts2 {theirs:?}"),
    }
}

struct Case {
    name: String,
    chart: Chart,
    x: String,
    y: String,
    n: Option<String>,
    options: Options,
}

fn cases() -> Vec<Case> {
    let number = |row: &Row, column: &str| -> Option<usize> {
        (!row[column].is_empty()).then(|| row[column].parse().unwrap())
    };
    rows("cases.csv")
        .into_iter()
        .map(|row| Case {
            name: row["name"].clone(),
            chart: Chart::from_code(&row["chart"]).unwrap(),
            x: row["x"].clone(),
            y: row["y"].clone(),
            n: (!row["n"].is_empty()).then(|| row["n"].clone()),
            options: Options {
                multiply: row["multiply"].parse().unwrap(),
                freeze: number(&row, "freeze"),
                part_at: number(&row, "part_at").into_iter().collect(),
                exclude: Vec::new(),
            },
        })
        .collect()
}

fn run(case: &Case) -> (ControlChart<X>, Vec<Row>) {
    let input = rows(&format!("{}.input.csv", case.name));
    let x: Vec<X> = input.iter().map(|r| x_of(&r[&case.x])).collect();
    let y: Vec<Option<f64>> = input.iter().map(|r| cell(r, &case.y)).collect();
    let n: Option<Vec<Option<f64>>> = case
        .n
        .as_ref()
        .map(|col| input.iter().map(|r| cell(r, col)).collect());
    let rows_in = Rows {
        x: &x,
        y: &y,
        n: n.as_deref(),
    };
    let chart =
        qic(case.chart, rows_in, &case.options).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    (chart, rows(&format!("{}.expected.csv", case.name)))
}

#[test]
fn every_control_chart_case_matches_qicharts2() {
    let cases = cases();
    assert!(
        cases.len() >= 11,
        "the fixtures cover run, I, Xbar, S, P, P′, C, U and U′ charts"
    );
    for case in cases.iter().filter(|c| c.name != "cabg_p_death") {
        let (chart, expected) = run(case);
        assert_eq!(
            chart.points.len(),
            expected.len(),
            "{}: subgroups",
            case.name
        );
        for (p, e) in chart.points.iter().zip(&expected) {
            let (name, x) = (case.name.as_str(), e["x"].as_str());
            assert_eq!(p.x.1, x, "{name}: subgroups in x order");
            assert_close(name, x, "y", p.value(), cell(e, "y"));
            assert_close(name, x, "n", p.n(), cell(e, "n"));
            assert_close(name, x, "cl", p.cl(), cell(e, "cl"));
            assert_close(name, x, "lcl", p.lcl(), cell(e, "lcl"));
            assert_close(name, x, "ucl", p.ucl(), cell(e, "ucl"));
            assert_close(name, x, "lcl.95", p.lcl_95(), cell(e, "lcl.95"));
            assert_close(name, x, "ucl.95", p.ucl_95(), cell(e, "ucl.95"));
            assert_eq!(
                p.sigma_signal,
                flag(e, "sigma.signal"),
                "{name} x={x} sigma.signal"
            );
            assert_eq!(
                p.runs_signal,
                flag(e, "runs.signal"),
                "{name} x={x} runs.signal"
            );
            assert_eq!(p.part.to_string(), e["part"], "{name} x={x} part");
            assert_eq!(p.baseline, flag(e, "baseline"), "{name} x={x} baseline");
            assert_eq!(p.include, flag(e, "include"), "{name} x={x} include");

            let runs = &chart.parts[p.part - 1].runs;
            let count = |v: Option<usize>| v.map(|v| v as f64);
            assert_close(
                name,
                x,
                "longest.run",
                count(runs.longest_run),
                cell(e, "longest.run"),
            );
            assert_close(
                name,
                x,
                "longest.run.max",
                count(runs.longest_run_max),
                cell(e, "longest.run.max"),
            );
            assert_close(
                name,
                x,
                "n.crossings",
                count(runs.n_crossings),
                cell(e, "n.crossings"),
            );
            assert_close(
                name,
                x,
                "n.crossings.min",
                count(runs.n_crossings_min),
                cell(e, "n.crossings.min"),
            );
            assert_close(name, x, "n.obs", Some(runs.n_obs as f64), cell(e, "n.obs"));
            assert_close(
                name,
                x,
                "n.useful",
                Some(runs.n_useful as f64),
                cell(e, "n.useful"),
            );
        }
    }
}

/// qicharts2 given a P chart without denominators divides by a total denominator of zero: its
/// centre line is Inf, it has no limits, and every point "lies below" Inf, so it reports a run
/// of 36 as a shift. Rounds reads the 0/1 rows as cases instead. The subgroup proportions agree;
/// the centre line is the pooled proportion, which the reference cannot give.
#[test]
fn a_p_chart_of_patient_rows_without_denominators_is_a_chart_of_proportions_not_infinity() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "cabg_p_death")
        .unwrap();
    let (chart, expected) = run(&case);
    for (p, e) in chart.points.iter().zip(&expected) {
        assert_close(&case.name, &e["x"], "y", p.value(), cell(e, "y"));
        assert_eq!(
            cell(e, "cl"),
            Some(f64::INFINITY),
            "the reference's centre line"
        );
    }
    let input = rows("cabg_p_death.input.csv");
    let deaths = input.iter().filter(|r| r["death"] == "TRUE").count() as f64;
    assert_eq!(chart.points[0].cl(), Some(deaths / input.len() as f64));
    assert_eq!(
        chart.points[0].n(),
        Some(input.iter().filter(|r| r["month"] == "2011-07-01").count() as f64)
    );
    assert!(
        chart
            .points
            .iter()
            .all(|p| p.lcl().is_some() && p.ucl().is_some())
    );
}
