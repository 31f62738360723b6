//! Outbreak detection and Rt against R `surveillance` 1.20.3 and `EpiEstim` 2.2.4: the shared
//! reference outputs (counts.csv, *.expected.csv, made by make.R) and Rounds' own cases
//! (rounds-*.csv, made by make-rounds.R). Thresholds and expected values to 1e-6 relative,
//! alarms exactly, "no threshold" exactly where R reports NA.

use stats::rt::{GammaPrior, estimate_rt};
use stats::surveillance::{
    CusumControl, EarsControl, EarsMethod, Evaluation, FarringtonControl, PowerTransform,
    ThresholdMethod, cusum, ears_c, farrington_flexible,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

type Row = HashMap<String, String>;
/// Periods, counts and populations of one series.
type Series = (Vec<String>, Vec<f64>, Vec<f64>);

fn rows(name: &str) -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/surveillance")
        .join(name);
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader.deserialize().map(|r| r.unwrap()).collect()
}

/// R's numbers: `None` for NA.
fn number(row: &Row, column: &str) -> Option<f64> {
    match row[column].as_str() {
        "NA" | "" => None,
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

fn assert_close(what: &str, ours: Option<f64>, theirs: Option<f64>) {
    match (ours, theirs) {
        (Some(a), Some(b)) => {
            let scale = b.abs().max(1e-12);
            assert!((a - b).abs() / scale <= 1e-6, "{what}: ours {a}, R {b}");
        }
        (None, None) => {}
        _ => panic!("{what}: ours {ours:?}, R {theirs:?}"),
    }
}

/// Series of a counts file, in file order, by name.
fn series(name: &str) -> BTreeMap<String, Series> {
    let mut out: BTreeMap<String, Series> = BTreeMap::new();
    for row in rows(name) {
        let entry = out.entry(row["series"].clone()).or_default();
        entry.0.push(row["period"].clone());
        entry.1.push(number(&row, "count").unwrap());
        if row.contains_key("population") {
            entry.2.push(number(&row, "population").unwrap());
        }
    }
    out
}

/// Compares evaluations with R's rows (`count, threshold, alarm[, expected]`), in order.
fn compare(case: &str, ours: &[Evaluation], theirs: &[&Row], expected_column: bool) {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{case}: number of evaluated periods"
    );
    for (e, r) in ours.iter().zip(theirs) {
        let at = format!("{case} period {}", e.index + 1);
        assert_eq!(Some(e.count), number(r, "count"), "{at}: count");
        if r["alarm"] == "NA" {
            // R could not decide (a model that did not converge, a NaN statistic); its threshold
            // and expected value in these rows are placeholders. Ours: no threshold, no alarm.
            assert!(
                e.threshold.is_none() && e.no_threshold.is_some() && !e.alarm,
                "{at}: R has NA, ours {e:?}"
            );
            continue;
        }
        assert_close(
            &format!("{at} threshold"),
            e.threshold,
            number(r, "threshold"),
        );
        assert_eq!(
            e.alarm,
            flag(r, "alarm"),
            "{at}: alarm (threshold {:?}, count {})",
            e.threshold,
            e.count
        );
        if expected_column {
            assert_close(&format!("{at} expected"), e.expected, number(r, "expected"));
        }
        assert_eq!(
            e.threshold.is_none(),
            e.no_threshold.is_some(),
            "{at}: a missing threshold says why"
        );
    }
}

/// Runs `method` on every series of counts.csv over the periods its expected file lists.
fn check_reference(
    file: &str,
    expected_column: bool,
    method: impl Fn(&[f64], std::ops::Range<usize>) -> Vec<Evaluation>,
) {
    let all = series("counts.csv");
    let expected = rows(file);
    let mut by_series: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &expected {
        by_series
            .entry(row["series"].as_str())
            .or_default()
            .push(row);
    }
    assert!(by_series.len() >= 3, "{file}: several series");
    for (name, theirs) in by_series {
        let (periods, counts, _) = &all[name];
        let first = periods
            .iter()
            .position(|p| *p == theirs[0]["period"])
            .unwrap();
        let ours = method(counts, first..first + theirs.len());
        compare(&format!("{file} {name}"), &ours, &theirs, expected_column);
    }
}

#[test]
fn farrington_flexible_with_its_defaults_matches_surveillance() {
    check_reference("farrington.expected.csv", true, |y, range| {
        farrington_flexible(y, None, range, &FarringtonControl::default()).unwrap()
    });
}

#[test]
fn noufaily_matches_farrington_flexible_with_nb_plugin_thresholds() {
    check_reference("noufaily.expected.csv", true, |y, range| {
        farrington_flexible(y, None, range, &FarringtonControl::noufaily()).unwrap()
    });
}

#[test]
fn ears_c1_c2_c3_match_ears_c() {
    for (file, method) in [
        ("ears-c1.expected.csv", EarsMethod::C1),
        ("ears-c2.expected.csv", EarsMethod::C2),
        ("ears-c3.expected.csv", EarsMethod::C3),
    ] {
        // earsC stores no expected value; ours (the baseline mean) is not compared.
        check_reference(file, false, |y, range| {
            ears_c(y, range, &EarsControl::new(method)).unwrap()
        });
    }
}

#[test]
fn rt_matches_estimate_r_with_a_parametric_serial_interval() {
    let incidence: Vec<f64> = rows("daily.csv")
        .iter()
        .map(|r| number(r, "cases").unwrap())
        .collect();
    let ours = estimate_rt(&incidence, 4.8, 2.3, 7, GammaPrior::default()).unwrap();
    compare_rt("rt.expected.csv", &ours, &rows("rt.expected.csv"));
}

fn compare_rt(case: &str, ours: &[stats::rt::RtWindow], theirs: &[Row]) {
    assert_eq!(ours.len(), theirs.len(), "{case}: number of windows");
    for (w, r) in ours.iter().zip(theirs) {
        let at = format!("{case} window {}..{}", w.t_start, w.t_end);
        assert_eq!(Some(w.t_start as f64), number(r, "t_start"), "{at}");
        assert_eq!(Some(w.t_end as f64), number(r, "t_end"), "{at}");
        let p = w.posterior.as_ref();
        assert_close(
            &format!("{at} mean"),
            p.map(|p| p.mean),
            number(r, "mean_r"),
        );
        assert_close(&format!("{at} sd"), p.map(|p| p.sd), number(r, "sd_r"));
        assert_close(&format!("{at} q025"), p.map(|p| p.q025), number(r, "q025"));
        assert_close(&format!("{at} q50"), p.map(|p| p.q50), number(r, "q50"));
        assert_close(&format!("{at} q975"), p.map(|p| p.q975), number(r, "q975"));
    }
}

/// A setting of a case row, or `None` where make-rounds.R left the method's default.
fn setting<T: std::str::FromStr>(row: &Row, column: &str) -> Option<T> {
    let text = row[column].as_str();
    if text.is_empty() || text == "NA" {
        return None;
    }
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{column} = {text:?}")),
    )
}

fn farrington_control(row: &Row) -> FarringtonControl {
    FarringtonControl {
        b: setting(row, "b").unwrap(),
        w: setting(row, "w").unwrap(),
        alpha: setting(row, "alpha").unwrap(),
        reweight: row["reweight"] == "TRUE",
        weights_threshold: setting(row, "weights_threshold").unwrap(),
        trend: row["trend"] == "TRUE",
        power_transform: match row["powertrans"].as_str() {
            "2/3" => PowerTransform::TwoThirds,
            "1/2" => PowerTransform::Half,
            "none" => PowerTransform::None,
            other => panic!("powertrans {other}"),
        },
        no_periods: setting(row, "no_periods").unwrap(),
        past_weeks_not_included: setting(row, "past_weeks"),
        threshold_method: match row["threshold_method"].as_str() {
            "delta" => ThresholdMethod::Delta,
            "nbPlugin" => ThresholdMethod::NbPlugin,
            "muan" => ThresholdMethod::Muan,
            other => panic!("thresholdMethod {other}"),
        },
        limit54: (
            setting(row, "limit_cases").unwrap(),
            setting(row, "limit_periods").unwrap(),
        ),
        p_threshold_trend: FarringtonControl::default().p_threshold_trend,
    }
}

fn ears_control(row: &Row) -> EarsControl {
    let method = match row["method"].as_str() {
        "ears-c1" => EarsMethod::C1,
        "ears-c2" => EarsMethod::C2,
        _ => EarsMethod::C3,
    };
    let mut c = EarsControl::new(method);
    c.baseline = setting(row, "baseline").unwrap_or(c.baseline);
    c.min_sigma = setting(row, "min_sigma").unwrap_or(c.min_sigma);
    c.alpha = setting(row, "alpha").unwrap_or(c.alpha);
    c
}

fn cusum_control(row: &Row) -> CusumControl {
    let d = CusumControl::default();
    CusumControl {
        k: setting(row, "k").unwrap_or(d.k),
        h: setting(row, "h").unwrap_or(d.h),
        m: setting(row, "m"),
    }
}

#[test]
fn every_rounds_case_matches_surveillance() {
    let all = series("rounds-counts.csv");
    let expected = rows("rounds-expected.csv");
    let mut by_case: HashMap<&str, Vec<&Row>> = HashMap::new();
    for row in &expected {
        by_case.entry(row["case"].as_str()).or_default().push(row);
    }
    let cases = rows("rounds-cases.csv");
    let mut methods: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        let id = case["case"].as_str();
        let (_, counts, population) = &all[&case["series"]];
        let from: usize = setting(case, "from").unwrap();
        let to: usize = setting(case, "to").unwrap();
        let range = from - 1..to;
        let method = case["method"].as_str();
        let ours = match method {
            "farrington" => {
                let offset = (case["population_offset"] == "TRUE").then_some(population.as_slice());
                farrington_flexible(counts, offset, range, &farrington_control(case))
            }
            "cusum" => cusum(counts, range, &cusum_control(case)),
            _ => ears_c(counts, range, &ears_control(case)),
        }
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        // R stores expected values for Farrington only (CUSUM's m is not per period).
        compare(id, &ours, &by_case[id], method == "farrington");
        *methods.entry(method.to_string()).or_default() += 1;
    }
    assert!(
        methods["farrington"] >= 100 && methods["cusum"] >= 30 && methods["ears-c3"] >= 30,
        "{methods:?}"
    );
}

#[test]
fn rt_matches_estimate_r_on_rounds_cases() {
    let mut daily: HashMap<String, Vec<f64>> = HashMap::new();
    for row in rows("rounds-daily.csv") {
        daily
            .entry(row["series"].clone())
            .or_default()
            .push(number(&row, "cases").unwrap());
    }
    let expected = rows("rounds-rt-expected.csv");
    let cases = rows("rounds-rt-cases.csv");
    assert!(cases.len() >= 5);
    for case in &cases {
        let id = case["case"].as_str();
        let ours = estimate_rt(
            &daily[&case["series"]],
            setting(case, "si_mean").unwrap(),
            setting(case, "si_sd").unwrap(),
            setting(case, "window").unwrap(),
            GammaPrior::default(),
        )
        .unwrap();
        let theirs: Vec<Row> = expected
            .iter()
            .filter(|r| r["case"] == id)
            .cloned()
            .collect();
        compare_rt(id, &ours, &theirs);
    }
}
