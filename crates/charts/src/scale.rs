//! Linear scales from data to pixels, with "nice" ticks (1, 2, 2.5 or 5 × 10^k; Heckbert 1990)
//! and tick labels with just enough decimals to tell neighbouring ticks apart.

/// Maps the data interval `domain` onto the pixel interval `range` (which may run backwards,
/// as a y axis does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl LinearScale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> LinearScale {
        // A zero-width domain (one value, or all equal) still needs somewhere to put it.
        let domain = if domain.0 == domain.1 {
            let pad = if domain.0 == 0.0 {
                1.0
            } else {
                domain.0.abs() * 0.1
            };
            (domain.0 - pad, domain.1 + pad)
        } else {
            domain
        };
        LinearScale { domain, range }
    }

    pub fn map(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        r0 + (v - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// Ticks on a nice step covering [min, max] with about `count` intervals. The domain to draw
/// is then (first tick, last tick).
pub fn nice_ticks(min: f64, max: f64, count: usize) -> Vec<f64> {
    let (min, max) = if min == max {
        let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
        (min - pad, max + pad)
    } else {
        (min.min(max), min.max(max))
    };
    let step = nice_step((max - min) / count.max(1) as f64);
    let first = (min / step).floor();
    let last = (max / step).ceil();
    // Multiplying the integer index by the step avoids accumulating rounding error.
    (first as i64..=last as i64)
        .map(|i| clean(i as f64 * step))
        .collect()
}

/// The nice number (1, 2, 2.5, 5 × 10^k) nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 2.5 {
        2.5
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// Removes the 1e-17 noise of i × step so that labels and comparisons are exact.
fn clean(v: f64) -> f64 {
    let rounded = (v * 1e12).round() / 1e12;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Labels for ticks: the fewest decimals (at most 6) that write every tick exactly.
pub fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let decimals = (0..=6)
        .find(|&d| {
            ticks.iter().all(|t| {
                let written: f64 = format!("{t:.d$}").parse().unwrap_or(f64::NAN);
                (written - t).abs() <= 1e-9 * t.abs().max(1.0)
            })
        })
        .unwrap_or(6);
    ticks.iter().map(|t| format_number(*t, decimals)).collect()
}

/// A number with `decimals` decimals and thousands separators, as printed reports show them.
pub fn format_number(v: f64, decimals: usize) -> String {
    let text = format!("{:.decimals$}", v.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Significant decimals for a value drawn on an axis whose ticks step by `step`: one more
/// than the ticks, so a centre line label says more than the axis does.
pub fn decimals_for(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 2;
    }
    ((-step.log10()).ceil().max(0.0) as usize + 1).min(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_nice_steps_that_cover_the_data() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            nice_ticks(3.2, 21.9, 5),
            vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
        );
        assert_eq!(
            nice_ticks(0.9517, 0.9541, 4),
            vec![0.951, 0.952, 0.953, 0.954, 0.955]
        );
        let t = nice_ticks(-2.1, 16.3, 6);
        assert!(t[0] <= -2.1 && *t.last().unwrap() >= 16.3);
    }

    #[test]
    fn a_single_value_still_gets_an_axis() {
        let t = nice_ticks(5.0, 5.0, 4);
        assert!(t.len() >= 2 && t[0] < 5.0 && *t.last().unwrap() > 5.0);
        let s = LinearScale::new((5.0, 5.0), (0.0, 100.0));
        assert_eq!(s.map(5.0), 50.0);
    }

    #[test]
    fn a_y_scale_runs_from_the_bottom_up() {
        let s = LinearScale::new((0.0, 10.0), (200.0, 0.0));
        assert_eq!(s.map(0.0), 200.0);
        assert_eq!(s.map(10.0), 0.0);
        assert_eq!(s.map(2.5), 150.0);
    }

    #[test]
    fn labels_use_the_fewest_decimals_that_tell_ticks_apart() {
        assert_eq!(tick_labels(&[0.0, 2.5, 5.0]), vec!["0.0", "2.5", "5.0"]);
        assert_eq!(tick_labels(&[0.951, 0.952]), vec!["0.951", "0.952"]);
        assert_eq!(
            tick_labels(&[0.0, 5000.0, 10000.0]),
            vec!["0", "5,000", "10,000"]
        );
        assert_eq!(format_number(-1234.5, 1), "-1,234.5");
        assert_eq!(format_number(-0.0001, 2), "0.00");
    }
}
