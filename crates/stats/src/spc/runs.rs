//! The Anhøj rules for non-random variation in a run or control chart (Anhøj & Olesen 2014):
//! an unusually long run (longest run > round(log2(n)) + 3, Schilling 2012) or unusually few
//! crossings (crossings < qbinom(0.05, n − 1, 0.5), Chen 2010), n = points off the centre line.

use statrs::distribution::{Binomial, DiscreteCDF};

/// The runs analysis of one phase, as qicharts2's `runs.analysis()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunsAnalysis {
    /// Points analysed (included points, with or without a value).
    pub n_obs: usize,
    /// Points with a value that is not on the centre line.
    pub n_useful: usize,
    pub longest_run: Option<usize>,
    pub longest_run_max: Option<usize>,
    pub n_crossings: Option<usize>,
    pub n_crossings_min: Option<usize>,
    /// Longest run above its limit, or crossings below theirs.
    pub signal: bool,
}

/// Runs analysis of (value, centre line) pairs in time order. Pairs with a NaN (missing) value
/// or centre, and points exactly on the centre line, are not useful: they neither extend nor
/// break a run.
pub fn anhoej(points: impl IntoIterator<Item = (f64, f64)>) -> RunsAnalysis {
    let mut runs = Runs::default();
    let mut n_obs = 0;
    for (value, cl) in points {
        n_obs += 1;
        runs.add(value - cl);
    }
    runs.analysis(n_obs)
}

/// `anhoej` of `values` against one centre line `cl`, in one pass over the array.
pub fn anhoej_values(values: &[f64], cl: f64) -> RunsAnalysis {
    let mut runs = Runs::default();
    for &value in values {
        runs.add(value - cl);
    }
    runs.analysis(values.len())
}

/// The runs so far: side of the current run (+1, -1, 0 before any), its length, the longest,
/// crossings and useful points.
#[derive(Default)]
struct Runs {
    side: i8,
    run: usize,
    longest: usize,
    crossings: usize,
    useful: usize,
}

impl Runs {
    #[inline]
    fn add(&mut self, difference: f64) {
        // NaN compares false both ways, so missing values fall out here with the ties.
        let this = if difference > 0.0 {
            1
        } else if difference < 0.0 {
            -1
        } else {
            return;
        };
        self.useful += 1;
        if this == self.side {
            self.run += 1;
        } else {
            self.crossings += usize::from(self.side != 0);
            self.side = this;
            self.run = 1;
        }
        self.longest = self.longest.max(self.run);
    }

    fn analysis(&self, n_obs: usize) -> RunsAnalysis {
        let n = self.useful;
        let analysis = RunsAnalysis {
            n_obs,
            n_useful: n,
            ..RunsAnalysis::default()
        };
        if n == 0 {
            return analysis;
        }
        let longest_run_max = longest_run_limit(n);
        let crossings_min = crossings_limit(n);
        RunsAnalysis {
            longest_run: Some(self.longest),
            longest_run_max: Some(longest_run_max),
            n_crossings: Some(self.crossings),
            n_crossings_min: Some(crossings_min),
            signal: self.longest > longest_run_max || self.crossings < crossings_min,
            ..analysis
        }
    }
}

/// The longest run expected by chance among `n` useful points: round(log2(n)) + 3, rounding
/// half to even as R's `round()` does.
pub fn longest_run_limit(n: usize) -> usize {
    (n as f64).log2().round_ties_even() as usize + 3
}

/// The fewest crossings expected by chance among `n` useful points: qbinom(0.05, n − 1, 0.5).
pub fn crossings_limit(n: usize) -> usize {
    binomial_quantile(0.05, n.saturating_sub(1) as u64, 0.5) as usize
}

/// R's `qbinom(p, size, prob)`: the smallest k with P(X ≤ k) ≥ p. Like R, p is first shrunk by
/// 64 ulps so that a cumulative probability equal to p up to rounding still counts.
pub fn binomial_quantile(p: f64, size: u64, prob: f64) -> u64 {
    if size == 0 {
        return 0;
    }
    let binomial = Binomial::new(prob, size).expect("prob is a probability");
    let target = p * (1.0 - 64.0 * f64::EPSILON);
    // Start from the Cornish-Fisher normal guess, then step to the exact quantile: a handful
    // of cdf evaluations even for a million trials.
    let mean = size as f64 * prob;
    let sd = (mean * (1.0 - prob)).sqrt();
    let z = statrs::function::erf::erfc_inv(2.0 * p) * -std::f64::consts::SQRT_2;
    let gamma = (1.0 - 2.0 * prob) / sd;
    let guess = (mean + sd * (z + gamma * (z * z - 1.0) / 6.0)).round();
    let mut k = guess.clamp(0.0, size as f64) as u64;
    while k < size && binomial.cdf(k) < target {
        k += 1;
    }
    while k > 0 && binomial.cdf(k - 1) >= target {
        k -= 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alternating_then(n: usize, run: usize) -> Vec<(f64, f64)> {
        // Alternate sides, ending below, then a run of `run` points above the centre line.
        let mut points: Vec<(f64, f64)> = (0..n - run)
            .map(|i| (if (n - run - i) % 2 == 1 { -1.0 } else { 1.0 }, 0.0))
            .collect();
        points.extend(std::iter::repeat_n((2.0, 0.0), run));
        points
    }

    #[test]
    fn a_run_longer_than_round_log2_n_plus_3_signals_a_shift() {
        // 24 useful points: round(log2 24) + 3 = round(4.58) + 3 = 8.
        let eight = anhoej(alternating_then(24, 8));
        assert_eq!(eight.longest_run, Some(8));
        assert_eq!(eight.longest_run_max, Some(8));
        assert!(
            !eight.signal,
            "a run of exactly the limit is expected by chance"
        );
        let nine = anhoej(alternating_then(24, 9));
        assert_eq!(nine.longest_run, Some(9));
        assert!(nine.signal);
    }

    #[test]
    fn fewer_crossings_than_the_5_percent_binomial_quantile_signal() {
        // 24 useful points in eight runs of three: 7 crossings, and qbinom(0.05, 23, 0.5) = 8.
        let points: Vec<(f64, f64)> = (0..24)
            .map(|i| (if (i / 3) % 2 == 0 { 1.0 } else { -1.0 }, 0.0))
            .collect();
        let a = anhoej(points);
        assert_eq!(a.n_crossings, Some(7));
        assert_eq!(a.n_crossings_min, Some(8));
        assert!(a.signal);
        let points: Vec<(f64, f64)> = (0..27)
            .map(|i| (if (i / 3) % 2 == 0 { 1.0 } else { -1.0 }, 0.0))
            .collect();
        let b = anhoej(points);
        // 27 points: 9 runs, 8 crossings, qbinom(0.05, 26, 0.5) = 9 -> still a signal.
        assert_eq!((b.n_crossings, b.n_crossings_min), (Some(8), Some(9)));
        assert!(b.signal);
    }

    #[test]
    fn points_on_the_centre_line_neither_count_nor_break_a_run() {
        let points = [
            (1.0, 0.0),
            (0.0, 0.0),
            (2.0, 0.0),
            (f64::NAN, 0.0),
            (-1.0, 0.0),
        ];
        let a = anhoej(points);
        assert_eq!(a.n_obs, 5);
        assert_eq!(a.n_useful, 3);
        assert_eq!(a.longest_run, Some(2));
        assert_eq!(a.n_crossings, Some(1));
    }

    #[test]
    fn the_array_pass_equals_the_pairs_pass() {
        let values = [1.0, 0.0, 2.0, f64::NAN, -1.0, -3.0, 0.5, 0.5, 0.5, -0.1];
        let pairs = anhoej(values.iter().map(|&v| (v, 0.25)));
        assert_eq!(anhoej_values(&values, 0.25), pairs);
        // 0.0 lies below 0.25 and counts; the NaN does not.
        assert_eq!((pairs.n_obs, pairs.n_useful), (10, 9));
        assert_eq!(pairs.n_crossings, Some(5));
        assert_eq!(pairs.longest_run, Some(3));
    }

    #[test]
    fn all_points_on_the_centre_line_leave_nothing_to_analyse() {
        let a = anhoej([(3.0, 3.0), (3.0, 3.0)]);
        assert_eq!((a.n_obs, a.n_useful), (2, 0));
        assert_eq!(a.longest_run, None);
        assert!(!a.signal);
    }

    #[test]
    fn binomial_quantile_equals_r_qbinom() {
        // Rscript -e 'qbinom(0.05, c(0,1,2,4,9,10,23,99,999,9999,99999,999999), 0.5)'
        let sizes = [0, 1, 2, 4, 9, 10, 23, 99, 999, 9999, 99999, 999999];
        let r = [0, 0, 0, 0, 2, 2, 8, 41, 474, 4917, 49739, 499177];
        for (size, expected) in sizes.into_iter().zip(r) {
            assert_eq!(binomial_quantile(0.05, size, 0.5), expected, "size {size}");
        }
    }

    #[test]
    fn longest_run_limit_equals_r_round_log2_plus_3() {
        // Rscript -e 'round(log2(c(1,2,3,5,10,11,24,100,1000,1e4,1e5,1e6))) + 3'
        let n = [1, 2, 3, 5, 10, 11, 24, 100, 1000, 10000, 100000, 1000000];
        let r = [3, 4, 5, 5, 6, 6, 8, 10, 13, 16, 20, 23];
        for (n, expected) in n.into_iter().zip(r) {
            assert_eq!(longest_run_limit(n), expected, "n {n}");
        }
    }
}
