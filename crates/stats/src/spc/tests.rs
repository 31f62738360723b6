//! Properties every chart must have, checked over seeded random data: symmetry of limits,
//! invariance to the order of rows within a subgroup, scaling with `multiply`, and phases and
//! baselines behaving as separate charts.

use super::*;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() * n as f64) as usize
    }
}

/// Rows for `chart`: `groups` subgroups of 1–5 rows (one row for I-type charts).
fn random_rows(
    chart: Chart,
    seed: u64,
    groups: usize,
) -> (Vec<u32>, Vec<Option<f64>>, Vec<Option<f64>>) {
    let mut rng = Seeded(seed);
    let (mut x, mut y, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for g in 0..groups {
        let rows = match chart {
            Chart::Xbar | Chart::S => 2 + rng.below(4),
            _ => 1 + rng.below(3),
        };
        for _ in 0..rows {
            let denominator = 20.0 + rng.below(200) as f64;
            let value = match chart {
                Chart::P | Chart::PPrime => (denominator * (0.1 + 0.2 * rng.next())).floor(),
                Chart::C | Chart::U | Chart::UPrime | Chart::G => rng.below(30) as f64,
                Chart::T => 0.5 + 30.0 * rng.next(),
                _ => 50.0 + 10.0 * rng.next(),
            };
            x.push(g as u32);
            y.push(Some(value));
            n.push(Some(denominator));
        }
    }
    (x, y, n)
}

fn chart_of(
    chart: Chart,
    x: &[u32],
    y: &[Option<f64>],
    n: &[Option<f64>],
    options: &Options,
) -> ControlChart<u32> {
    let n = chart.needs_denominator().then_some(n);
    qic(chart, Rows { x, y, n }, options).unwrap()
}

fn close(a: Option<f64>, b: Option<f64>, tolerance: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1e-300),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn limits_are_symmetric_about_the_centre_line_where_no_bound_clamps_them() {
    for chart in [
        Chart::I,
        Chart::Xbar,
        Chart::P,
        Chart::PPrime,
        Chart::C,
        Chart::U,
        Chart::UPrime,
    ] {
        for seed in 1..20 {
            let (x, y, n) = random_rows(chart, seed, 30);
            let result = chart_of(chart, &x, &y, &n, &Options::default());
            for p in &result.points {
                let (cl, lcl, ucl) = (p.cl().unwrap(), p.lcl().unwrap(), p.ucl().unwrap());
                // Counts are floored at zero and proportions capped at one: skip those points.
                if lcl == 0.0 || (chart.is_proportion() && ucl == 1.0) {
                    continue;
                }
                assert!(
                    close(Some(ucl - cl), Some(cl - lcl), 1e-9),
                    "{chart:?} seed {seed}"
                );
                let (l95, u95) = (p.lcl_95().unwrap(), p.ucl_95().unwrap());
                assert!(close(Some((u95 - cl) * 3.0), Some((ucl - cl) * 2.0), 1e-9));
                assert!(close(Some(cl - l95), Some(u95 - cl), 1e-9));
            }
        }
    }
}

#[test]
fn shuffling_rows_within_subgroups_changes_nothing() {
    for chart in Chart::ALL {
        for seed in 1..10 {
            let (x, y, n) = random_rows(chart, seed, 25);
            let before = chart_of(chart, &x, &y, &n, &Options::default());
            // Reverse every subgroup's rows and rotate the whole table: x still groups them.
            let mut order: Vec<usize> = (0..x.len()).collect();
            order.sort_by_key(|&i| (x[i], std::cmp::Reverse(i)));
            order.rotate_left(x.len() / 3);
            let pick = |v: &Vec<Option<f64>>| order.iter().map(|&i| v[i]).collect::<Vec<_>>();
            let xs: Vec<u32> = order.iter().map(|&i| x[i]).collect();
            let after = chart_of(chart, &xs, &pick(&y), &pick(&n), &Options::default());
            for (a, b) in before.points.iter().zip(&after.points) {
                for (u, v) in [
                    (a.value(), b.value()),
                    (a.cl(), b.cl()),
                    (a.lcl(), b.lcl()),
                    (a.ucl(), b.ucl()),
                ] {
                    assert!(close(u, v, 1e-12), "{chart:?} seed {seed}: {u:?} vs {v:?}");
                }
                assert_eq!(
                    (a.sigma_signal, a.runs_signal),
                    (b.sigma_signal, b.runs_signal)
                );
            }
        }
    }
}

#[test]
fn multiply_scales_values_and_lines_and_keeps_every_signal() {
    for chart in Chart::ALL {
        let (x, y, n) = random_rows(chart, 7, 30);
        let plain = chart_of(chart, &x, &y, &n, &Options::default());
        let scaled = chart_of(
            chart,
            &x,
            &y,
            &n,
            &Options {
                multiply: 1000.0,
                ..Options::default()
            },
        );
        for (a, b) in plain.points.iter().zip(&scaled.points) {
            let times = |v: Option<f64>| v.map(|v| v * 1000.0);
            for (u, v) in [
                (a.value(), b.value()),
                (a.cl(), b.cl()),
                (a.lcl(), b.lcl()),
                (a.ucl(), b.ucl()),
                (a.ucl_95(), b.ucl_95()),
            ] {
                assert!(close(times(u), v, 1e-12), "{chart:?}");
            }
            assert_eq!(
                (a.sigma_signal, a.runs_signal),
                (b.sigma_signal, b.runs_signal)
            );
        }
        assert_eq!(plain.parts[0].runs, scaled.parts[0].runs);
    }
}

#[test]
fn a_phase_is_charted_as_if_it_were_a_chart_of_its_own() {
    for chart in Chart::ALL {
        let (x, y, n) = random_rows(chart, 11, 30);
        let options = Options {
            part_at: vec![12],
            ..Options::default()
        };
        let phased = chart_of(chart, &x, &y, &n, &options);
        let second: Vec<usize> = (0..x.len()).filter(|&i| x[i] >= 12).collect();
        let pick = |v: &Vec<Option<f64>>| second.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let xs: Vec<u32> = second.iter().map(|&i| x[i]).collect();
        let alone = chart_of(chart, &xs, &pick(&y), &pick(&n), &Options::default());
        for (a, b) in phased.points[12..].iter().zip(&alone.points) {
            assert_eq!(a.part, 2);
            assert!(
                close(a.cl(), b.cl(), 1e-12) && close(a.ucl(), b.ucl(), 1e-12),
                "{chart:?}"
            );
        }
        assert_eq!(phased.parts[1].runs, alone.parts[0].runs);
    }
}

#[test]
fn a_frozen_baseline_gives_the_limits_of_the_baseline_alone() {
    for chart in [
        Chart::I,
        Chart::C,
        Chart::P,
        Chart::UPrime,
        Chart::Xbar,
        Chart::S,
        Chart::G,
    ] {
        let (x, y, n) = random_rows(chart, 5, 30);
        let frozen = chart_of(
            chart,
            &x,
            &y,
            &n,
            &Options {
                freeze: Some(18),
                ..Options::default()
            },
        );
        let first: Vec<usize> = (0..x.len()).filter(|&i| x[i] < 18).collect();
        let pick = |v: &Vec<Option<f64>>| first.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let xs: Vec<u32> = first.iter().map(|&i| x[i]).collect();
        let baseline = chart_of(chart, &xs, &pick(&y), &pick(&n), &Options::default());
        assert!(
            close(frozen.points[25].cl(), baseline.points[0].cl(), 1e-12),
            "{chart:?}"
        );
        assert!(frozen.points[17].baseline && !frozen.points[18].baseline);
    }
}

#[test]
fn an_excluded_point_takes_no_part_in_centre_line_or_runs() {
    let x: Vec<u32> = (0..20).collect();
    let mut y: Vec<Option<f64>> = (0..20).map(|i| Some(10.0 + (i % 3) as f64)).collect();
    y[7] = Some(100.0);
    let options = Options {
        exclude: vec![8],
        ..Options::default()
    };
    let chart = qic(
        Chart::C,
        Rows {
            x: &x,
            y: &y,
            n: None,
        },
        &options,
    )
    .unwrap();
    let others: f64 = y
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(_, v)| v.unwrap())
        .sum();
    assert_eq!(chart.points[0].cl(), Some(others / 19.0));
    assert!(!chart.points[7].include);
    assert!(
        chart.points[7].sigma_signal,
        "an excluded point is still judged against the limits"
    );
    assert_eq!(chart.parts[0].runs.n_obs, 19);
}

#[test]
fn rows_that_cannot_be_charted_are_named() {
    let x = [1, 2];
    let err = |chart, y: &[Option<f64>], n: Option<&[Option<f64>]>| {
        qic(chart, Rows { x: &x, y, n }, &Options::default())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(
            Chart::P,
            &[Some(3.0), Some(5.0)],
            Some(&[Some(4.0), Some(4.0)])
        ),
        "row 2, y: numerator 5 is above its denominator 4"
    );
    assert_eq!(
        err(Chart::C, &[Some(3.0), Some(-1.0)], None),
        "row 2, y: a count cannot be negative (-1)"
    );
    assert_eq!(
        err(
            Chart::U,
            &[Some(3.0), Some(1.0)],
            Some(&[Some(0.0), Some(4.0)])
        ),
        "row 1, n: zero denominator"
    );
    assert!(err(Chart::U, &[Some(3.0), Some(1.0)], None).contains("needs denominators"));
    assert!(err(Chart::T, &[Some(3.0), Some(0.0)], None).contains("greater than zero"));
}

#[test]
fn a_single_point_has_no_limits_and_says_why() {
    let chart = qic(
        Chart::I,
        Rows {
            x: &[1],
            y: &[Some(4.0)],
            n: None,
        },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(chart.points[0].cl(), Some(4.0));
    assert_eq!(chart.points[0].ucl(), None);
    assert!(
        chart.notes.iter().any(|n| n.contains("no control limits")),
        "{:?}",
        chart.notes
    );
}

#[test]
fn a_p_chart_without_denominators_counts_each_row_as_one_case() {
    let x = [1, 1, 1, 1, 2, 2, 2, 2];
    let y: Vec<Option<f64>> = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0].map(Some).to_vec();
    let chart = qic(
        Chart::P,
        Rows {
            x: &x,
            y: &y,
            n: None,
        },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(chart.points[0].value(), Some(0.25));
    assert_eq!(chart.points[1].n(), Some(4.0));
    assert_eq!(chart.points[0].cl(), Some(3.0 / 8.0));
}

#[test]
fn an_mr_chart_plots_moving_ranges_and_never_signals_runs() {
    let x: Vec<u32> = (1..=12).collect();
    // Rising steadily: every moving range is 1 except one, a run analysis would object.
    let y: Vec<Option<f64>> = [
        1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 20.0,
    ]
    .map(Some)
    .to_vec();
    let chart = qic(
        Chart::Mr,
        Rows {
            x: &x,
            y: &y,
            n: None,
        },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        chart.points[0].value(),
        None,
        "the first point has no moving range"
    );
    let mean_range = (10.0 * 1.0 + 9.0) / 11.0;
    assert!(close(chart.points[5].cl(), Some(mean_range), 1e-15));
    assert!(close(
        chart.points[5].ucl(),
        Some(3.267 * mean_range),
        1e-15
    ));
    assert!(close(
        chart.points[5].ucl_95(),
        Some(3.267 / 3.0 * 2.0 * mean_range),
        1e-15
    ));
    assert_eq!(chart.points[5].lcl(), Some(0.0));
    assert!(chart.points[11].sigma_signal);
    assert!(chart.points.iter().all(|p| !p.runs_signal));
}

#[test]
fn a_g_chart_centres_on_the_median_with_limits_from_the_mean() {
    let x: Vec<u32> = (1..=7).collect();
    let y: Vec<Option<f64>> = [3.0, 10.0, 1.0, 7.0, 30.0, 2.0, 12.0].map(Some).to_vec();
    let chart = qic(
        Chart::G,
        Rows {
            x: &x,
            y: &y,
            n: None,
        },
        &Options::default(),
    )
    .unwrap();
    let mean: f64 = 65.0 / 7.0;
    assert_eq!(chart.points[0].cl(), Some(7.0));
    assert!(close(
        chart.points[0].ucl(),
        Some(mean + 3.0 * (mean * (mean + 1.0)).sqrt()),
        1e-15
    ));
    assert_eq!(
        chart.points[0].lcl(),
        Some(0.0),
        "days between events cannot be negative"
    );
    // The point on the median is not useful to the runs analysis.
    assert_eq!(chart.parts[0].runs.n_useful, 6);
}

#[test]
fn a_t_chart_centre_is_the_back_transformed_mean_of_the_transformed_times() {
    let x: Vec<u32> = (1..=8).collect();
    let times = [10.0, 20.0, 5.0, 40.0, 15.0, 25.0, 12.0, 30.0];
    let y: Vec<Option<f64>> = times.map(Some).to_vec();
    let chart = qic(
        Chart::T,
        Rows {
            x: &x,
            y: &y,
            n: None,
        },
        &Options::default(),
    )
    .unwrap();
    let transformed_mean = times.iter().map(|t: &f64| t.powf(1.0 / 3.6)).sum::<f64>() / 8.0;
    assert!(close(
        chart.points[0].cl(),
        Some(transformed_mean.powf(3.6)),
        1e-12
    ));
    assert!(
        chart.points[0].cl().unwrap() < times.iter().sum::<f64>() / 8.0,
        "the skew is taken out"
    );
    for (p, t) in chart.points.iter().zip(times) {
        assert!(
            close(p.value(), Some(t), 1e-12),
            "values are shown on their own scale"
        );
    }
}

#[test]
fn an_xbar_chart_of_equal_subgroups_uses_a3_times_the_mean_sd() {
    let x = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
    let y: Vec<Option<f64>> = [5.0, 7.0, 6.0, 8.0, 4.0, 6.0, 5.0, 9.0, 7.0, 7.5, 6.5, 8.0]
        .map(Some)
        .to_vec();
    let chart = qic(
        Chart::Xbar,
        Rows {
            x: &x,
            y: &y,
            n: None,
        },
        &Options::default(),
    )
    .unwrap();
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    };
    let values: Vec<f64> = y.iter().map(|v| v.unwrap()).collect();
    let mean_sd = (sd(&values[0..4]) + sd(&values[4..8]) + sd(&values[8..12])) / 3.0;
    let grand_mean = values.iter().sum::<f64>() / 12.0;
    // A3 for n = 4 is 1.628 in the published tables.
    let a3 = (chart.points[0].ucl().unwrap() - grand_mean) / mean_sd;
    assert!((a3 - 1.628).abs() < 5e-4, "A3(4) = {a3}");
    assert!(close(chart.points[0].cl(), Some(grand_mean), 1e-15));
}

/// A series long enough to be charted on every core (single-row subgroups, in order).
fn long_series(chart: Chart) -> (Vec<u32>, Vec<Option<f64>>, Vec<Option<f64>>) {
    let mut rng = Seeded(7);
    let len = PARALLEL_POINTS + 10_000;
    let x = (0..len as u32).collect();
    let mut n = Vec::with_capacity(len);
    let mut y = Vec::with_capacity(len);
    for i in 0..len {
        let denominator = 100.0 + rng.below(900) as f64;
        n.push(Some(denominator));
        y.push(match chart {
            _ if i % 997 == 0 => None,
            Chart::P | Chart::PPrime => Some((denominator * 0.1 * (1.0 + rng.next())).floor()),
            Chart::T => Some(0.5 + 30.0 * rng.next()),
            _ => Some(rng.below(40) as f64),
        });
    }
    (x, y, n)
}

#[test]
fn a_long_series_charted_on_every_core_equals_the_same_rows_charted_out_of_order() {
    for chart in Chart::ALL {
        let (x, y, n) = long_series(chart);
        let in_order = chart_of(chart, &x, &y, &n, &Options::default());
        let (rx, ry, rn): (Vec<u32>, Vec<_>, Vec<_>) = (
            x.iter().rev().copied().collect(),
            y.iter().rev().copied().collect(),
            n.iter().rev().copied().collect(),
        );
        let reversed = chart_of(chart, &rx, &ry, &rn, &Options::default());
        assert_eq!(in_order, reversed, "{chart:?}");
        assert_eq!(in_order.points.len(), x.len());
    }
}

#[test]
fn the_first_bad_row_of_a_long_series_is_the_one_reported() {
    let (x, mut y, n) = long_series(Chart::C);
    y[40_000] = Some(-1.0);
    y[50_000] = Some(-2.0);
    let rows = Rows {
        x: &x,
        y: &y,
        n: Some(&n),
    };
    match qic(Chart::C, rows, &Options::default()) {
        Err(StatsError::InvalidObservation { row, field, .. }) => {
            assert_eq!((row, field), (40_001, "y"))
        }
        other => panic!("expected a bad row, got {other:?}"),
    }
}

#[test]
fn a_one_row_subgroup_worked_out_directly_equals_the_general_summary() {
    let y = [Some(3.0), None, Some(-0.0), Some(0.0), Some(7.5), None];
    let n = [Some(10.0), Some(4.0), Some(5.0), None, Some(-0.0), None];
    let x: Vec<u32> = (0..y.len() as u32).collect();
    let bits =
        |(s, v): (Subgroup, f64)| [s.y_sum, s.y_sd, s.n, v, s.y_len as f64].map(f64::to_bits);
    for with_n in [true, false] {
        let rows = Rows {
            x: &x,
            y: &y,
            n: with_n.then_some(&n[..]),
        };
        for got_n in [true, false] {
            for r in 0..y.len() {
                assert_eq!(
                    bits(single_row(&rows, got_n, r)),
                    bits(summarise(&rows, got_n, r..r + 1)),
                    "row {r}, n column {with_n}, got_n {got_n}"
                );
            }
        }
    }
}

#[test]
fn a_long_series_from_columns_equals_the_same_series_from_rows() {
    // One row a subgroup, in order, long enough for the column path; complete rows (the sums
    // are the columns themselves) and then rows with a missing value and a -0.
    let len = PARALLEL_POINTS + 10;
    let x: Vec<u32> = (0..len as u32).collect();
    let mut rng = Seeded(7);
    let n: Vec<f64> = (0..len).map(|_| 20.0 + rng.below(100) as f64).collect();
    let y: Vec<f64> = n.iter().map(|&n| (n * 0.2 * rng.next()).floor()).collect();
    for (y, n) in [
        (y.clone(), n.clone()),
        (
            y.iter()
                .enumerate()
                .map(|(i, &v)| match i {
                    3 => f64::NAN,
                    5 => -0.0,
                    _ => v,
                })
                .collect(),
            n.clone(),
        ),
    ] {
        let options = Options::default();
        let from_columns = qic_lazy(
            Chart::P,
            &Columns {
                x: &x,
                y: &y,
                n: Some(&n),
            },
            &options,
        )
        .unwrap()
        .into_chart();
        let (oy, on): (Vec<Option<f64>>, Vec<Option<f64>>) = y
            .iter()
            .zip(&n)
            .map(|(&y, &n)| ((!y.is_nan()).then_some(y), Some(n)))
            .unzip();
        let from_rows = qic(
            Chart::P,
            Rows {
                x: &x,
                y: &oy,
                n: Some(&on),
            },
            &options,
        )
        .unwrap();
        assert_eq!(from_columns, from_rows);
        assert_eq!(
            from_columns.points[5].y().map(f64::to_bits),
            from_rows.points[5].y().map(f64::to_bits)
        );
    }
}
