//! Centre lines and limits of one phase for each chart type, with qicharts2 0.8.1's formulas
//! (`qic.i`, `qic.p`, …). Inside this file NaN plays R's NA (`mean(x, na.rm = TRUE)` of nothing
//! is NaN in R too); `qic()` turns every non-finite limit into "does not exist".

use super::{Chart, Subgroup, Subs, collect_indexed};
use statrs::function::gamma::ln_gamma;

/// Nelson's (1982) upper limit for moving ranges, D4 for n = 2: moving ranges at or above
/// 3.267 times their average are screened out before sigma is estimated.
const D4_MR: f64 = 3.267;
/// d2 for n = 2, as qicharts2 rounds it.
const D2: f64 = 1.128;
/// The Box-Cox-like power that makes time between events roughly normal (Nelson 1994).
const T_POWER: f64 = 3.6;

/// One phase of subgroups being charted.
pub(super) struct Phase<'a> {
    pub sub: Subs<'a>,
    /// The plotted statistic; charts such as S and MR replace it.
    pub value: Vec<f64>,
    /// In the baseline and not excluded: what centre and limits are estimated from.
    pub base: Vec<bool>,
}

pub(super) struct Lines {
    chart: Chart,
    pub cl: f64,
    /// Limits at centre ± 3σ and ± 2σ, worked out point by point from `sigma`, so that a
    /// million-point chart does not fill four vectors with them; `None` where the limits are
    /// the vectors below.
    symmetric: Option<Symmetric>,
    lcl: Vec<f64>,
    ucl: Vec<f64>,
    lcl_95: Vec<f64>,
    ucl_95: Vec<f64>,
    sigma: Option<Vec<f64>>,
    /// Whether `sigma` is reported with the points (a G chart's is only for its limits).
    report_sigma: bool,
}

/// The centre symmetric limits are built around (a G chart's is not its centre line) and the
/// bounds they are clamped to.
#[derive(Clone, Copy)]
struct Symmetric {
    centre: f64,
    floor_zero: bool,
    cap_one: bool,
}

impl Symmetric {
    /// Counts and rates cannot go below zero.
    #[inline]
    fn lower(self, l: f64) -> f64 {
        if self.floor_zero && l < 0.0 { 0.0 } else { l }
    }

    /// Proportions cannot go above one.
    #[inline]
    fn upper(self, u: f64) -> f64 {
        if self.cap_one && u > 1.0 && u.is_finite() {
            1.0
        } else {
            u
        }
    }
}

impl Lines {
    /// Limits at cl ± 3σ and cl ± 2σ for each point's σ.
    fn symmetric(chart: Chart, cl: f64, sigma: Vec<f64>) -> Lines {
        Lines {
            chart,
            cl,
            symmetric: Some(Symmetric {
                centre: cl,
                floor_zero: false,
                cap_one: false,
            }),
            lcl: Vec::new(),
            ucl: Vec::new(),
            lcl_95: Vec::new(),
            ucl_95: Vec::new(),
            sigma: Some(sigma),
            report_sigma: true,
        }
    }

    fn none(chart: Chart, cl: f64, len: usize) -> Lines {
        let na = vec![f64::NAN; len];
        Lines {
            chart,
            cl,
            symmetric: None,
            lcl: na.clone(),
            ucl: na.clone(),
            lcl_95: na.clone(),
            ucl_95: na,
            sigma: None,
            report_sigma: true,
        }
    }

    /// Point `j`'s lcl, ucl, lcl_95 and ucl_95 (NaN where missing).
    pub fn at(&self, j: usize) -> [f64; 4] {
        let Some(sym) = self.symmetric else {
            return [self.lcl[j], self.ucl[j], self.lcl_95[j], self.ucl_95[j]];
        };
        let (c, s) = (sym.centre, self.symmetric_sigma(j));
        [
            sym.lower(c - 3.0 * s),
            sym.upper(c + 3.0 * s),
            sym.lower(c - 2.0 * s),
            sym.upper(c + 2.0 * s),
        ]
    }

    /// Point `j`'s lcl and ucl, as `at` gives them.
    #[inline]
    pub fn limits3(&self, j: usize) -> [f64; 2] {
        let Some(sym) = self.symmetric else {
            return [self.lcl[j], self.ucl[j]];
        };
        let (c, s) = (sym.centre, self.symmetric_sigma(j));
        [sym.lower(c - 3.0 * s), sym.upper(c + 3.0 * s)]
    }

    #[inline]
    fn symmetric_sigma(&self, j: usize) -> f64 {
        self.sigma.as_ref().map_or(f64::NAN, |sigma| sigma[j])
    }

    /// Point `j`'s reported sigma (NaN where there is none).
    pub fn sigma_at(&self, j: usize) -> f64 {
        match &self.sigma {
            Some(sigma) if self.report_sigma => sigma[j],
            _ => f64::NAN,
        }
    }

    /// The limits as vectors, for a chart that transforms them.
    fn materialise(&mut self) {
        if self.symmetric.is_some() {
            let len = self.sigma.as_ref().map_or(0, Vec::len);
            let limits: Vec<[f64; 4]> = collect_indexed(len, |j| self.at(j));
            self.lcl = limits.iter().map(|l| l[0]).collect();
            self.ucl = limits.iter().map(|l| l[1]).collect();
            self.lcl_95 = limits.iter().map(|l| l[2]).collect();
            self.ucl_95 = limits.iter().map(|l| l[3]).collect();
            self.symmetric = None;
        }
    }

    /// Counts and rates cannot go below zero.
    fn floor_lower_at_zero(&mut self) {
        match self.symmetric.as_mut() {
            Some(sym) => sym.floor_zero = true,
            None => {
                for l in self.lcl.iter_mut().chain(self.lcl_95.iter_mut()) {
                    if *l < 0.0 {
                        *l = 0.0;
                    }
                }
            }
        }
    }

    /// Proportions cannot go above one.
    fn cap_upper_at_one(&mut self) {
        match self.symmetric.as_mut() {
            Some(sym) => sym.cap_one = true,
            None => {
                for u in self.ucl.iter_mut().chain(self.ucl_95.iter_mut()) {
                    if *u > 1.0 && u.is_finite() {
                        *u = 1.0;
                    }
                }
            }
        }
    }

    /// Why a phase of this chart can have no limits.
    pub fn why_none(&self) -> &'static str {
        match self.chart {
            Chart::Run => "a run chart has none",
            Chart::I | Chart::T => {
                "sigma comes from moving ranges between baseline points, and there are none that are non-zero"
            }
            Chart::Mr => "there are no moving ranges in the baseline",
            Chart::Xbar | Chart::S => "sigma needs subgroups with at least two observations",
            Chart::P | Chart::U | Chart::C => {
                "the centre line is zero or undefined, so the binomial/Poisson sigma is zero"
            }
            Chart::PPrime | Chart::UPrime => {
                "Laney's sigma-z needs at least two baseline subgroups whose z-scores differ"
            }
            Chart::G => "the baseline has no values",
        }
    }
}

fn present(values: impl Iterator<Item = f64>) -> impl Iterator<Item = f64> {
    values.filter(|v| !v.is_nan())
}

/// R's `mean(x, na.rm = TRUE)`: NaN when nothing is left.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = present(values).fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// R's `median(x, na.rm = TRUE)`.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = present(values).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let half = v.len() / 2;
    if v.len() % 2 == 1 {
        v[half]
    } else {
        (v[half - 1] + v[half]) / 2.0
    }
}

impl Phase<'_> {
    fn baseline_values(&self) -> impl Iterator<Item = f64> + '_ {
        self.value
            .iter()
            .zip(&self.base)
            .filter(|(_, b)| **b)
            .map(|(v, _)| *v)
    }

    fn baseline_subgroups(&self) -> impl Iterator<Item = Subgroup> + '_ {
        self.sub
            .iter()
            .zip(&self.base)
            .filter(|(_, b)| **b)
            .map(|(s, _)| s)
    }

    /// Pooled events over pooled denominators in the baseline.
    fn pooled_rate(&self) -> f64 {
        let events: f64 = present(self.baseline_subgroups().map(|s| s.y_sum)).sum();
        let exposure: f64 = present(self.baseline_subgroups().map(|s| s.n)).sum();
        events / exposure
    }
}

/// The average of the moving ranges of `values` (consecutive pairs, NaN breaking none of the
/// sequence but giving NaN ranges), recomputed without the ranges at or above 3.267 times it
/// (Nelson 1982; qicharts2's `qic.screenedmr`).
fn screened_average_moving_range(values: &[f64]) -> f64 {
    let ranges: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let amr = mean(ranges.iter().copied());
    let limit = D4_MR * amr;
    mean(ranges.into_iter().filter(|r| *r < limit))
}

/// The control-chart constant c4(n) = E[s]/σ for samples of n normal observations.
pub(super) fn c4(n: f64) -> f64 {
    if n <= 1.0 {
        return f64::NAN;
    }
    (2.0 / (n - 1.0)).sqrt() * (ln_gamma(n / 2.0) - ln_gamma((n - 1.0) / 2.0)).exp()
}

fn c5(n: f64) -> f64 {
    (1.0 - c4(n).powi(2)).sqrt()
}

/// Centre and limits of one phase, replacing the plotted statistic where the chart does.
pub(super) fn compute(chart: Chart, phase: &mut Phase<'_>) -> Lines {
    let len = phase.value.len();
    match chart {
        Chart::Run => Lines::none(chart, median(phase.baseline_values()), len),
        Chart::I => individuals(chart, phase),
        Chart::T => {
            for v in phase.value.iter_mut() {
                *v = v.powf(1.0 / T_POWER);
            }
            let mut lines = individuals(chart, phase);
            lines.materialise();
            for v in phase.value.iter_mut() {
                *v = v.powf(T_POWER);
            }
            lines.cl = lines.cl.powf(T_POWER);
            for l in [
                &mut lines.lcl,
                &mut lines.ucl,
                &mut lines.lcl_95,
                &mut lines.ucl_95,
            ] {
                for v in l.iter_mut() {
                    *v = v.powf(T_POWER);
                }
            }
            // A negative transformed lower limit has no back-transform: the limit is zero.
            // qicharts2 does this for the 3-sigma limit only; its 2-sigma one is left missing.
            for l in lines.lcl.iter_mut() {
                if l.is_nan() || *l < 0.0 {
                    *l = 0.0;
                }
            }
            lines.sigma = None;
            lines
        }
        Chart::Mr => {
            // The first point of a phase has no moving range.
            let ranges = phase.value.windows(2).map(|w| (w[1] - w[0]).abs());
            phase.value = std::iter::once(f64::NAN).chain(ranges).take(len).collect();
            let cl = mean(phase.baseline_values());
            Lines {
                chart,
                cl,
                symmetric: None,
                lcl: vec![0.0; len],
                lcl_95: vec![0.0; len],
                ucl: vec![D4_MR * cl; len],
                ucl_95: vec![D4_MR / 3.0 * 2.0 * cl; len],
                sigma: None,
                report_sigma: true,
            }
        }
        Chart::Xbar | Chart::S => subgroup_spread(chart, phase),
        Chart::P | Chart::PPrime | Chart::U | Chart::UPrime => {
            let cl = phase.pooled_rate();
            let sub = phase.sub;
            let mut sigma: Vec<f64> = collect_indexed(sub.len, |j| {
                if chart.is_proportion() {
                    cl * (1.0 - cl) / sub.get(j).n
                } else {
                    cl / sub.get(j).n
                }
                .sqrt()
            });
            if matches!(chart, Chart::PPrime | Chart::UPrime) {
                let sigma_z = laney_sigma_z(phase, cl, &sigma);
                sigma.iter_mut().for_each(|s| *s *= sigma_z);
            }
            let mut lines = Lines::symmetric(chart, cl, sigma);
            if chart.is_proportion() {
                lines.cap_upper_at_one();
            }
            lines.floor_lower_at_zero();
            lines
        }
        Chart::C => {
            phase.value = phase.sub.iter().map(|s| s.y_sum).collect();
            let cl = mean(phase.baseline_values());
            let mut lines = Lines::symmetric(chart, cl, vec![cl.sqrt(); len]);
            lines.floor_lower_at_zero();
            lines
        }
        Chart::G => {
            // Limits from the geometric distribution's mean and sd (Montgomery p. 319), but the
            // centre line at the median, where half the intervals fall on either side.
            let mean_gap = mean(phase.baseline_values());
            let mut lines = Lines::symmetric(
                chart,
                mean_gap,
                vec![(mean_gap * (mean_gap + 1.0)).sqrt(); len],
            );
            lines.floor_lower_at_zero();
            lines.report_sigma = false;
            lines.cl = median(phase.baseline_values());
            lines
        }
    }
}

/// I chart: mean centre line, sigma = screened average moving range / d2 (Montgomery 6.33).
fn individuals(chart: Chart, phase: &Phase<'_>) -> Lines {
    let cl = mean(phase.baseline_values());
    let deviations: Vec<f64> = phase.baseline_values().map(|v| v - cl).collect();
    let sigma = screened_average_moving_range(&deviations) / D2;
    Lines::symmetric(chart, cl, vec![sigma; phase.value.len()])
}

/// Laney (2002): the spread of the baseline z-scores, from their screened moving ranges.
fn laney_sigma_z(phase: &Phase<'_>, cl: f64, sigma: &[f64]) -> f64 {
    let z: Vec<f64> = (0..phase.value.len())
        .filter(|&i| phase.base[i])
        .map(|i| (phase.value[i] - cl) / sigma[i])
        .collect();
    screened_average_moving_range(&z) / D2
}

/// Xbar and S charts: pooled (varying sizes) or average (equal sizes) subgroup sd,
/// Montgomery 6.29–6.31, with exact c4-based A3, B3, B4.
fn subgroup_spread(chart: Chart, phase: &mut Phase<'_>) -> Lines {
    let sizes = |s: &Subgroup| s.y_len as f64;
    let first = phase.sub.first().map(|s| s.y_len);
    let varying = phase.sub.iter().any(|s| Some(s.y_len) != first);
    let spread = if varying {
        let ss: f64 = present(
            phase
                .baseline_subgroups()
                .map(|s| (sizes(&s) - 1.0) * s.y_sd.powi(2)),
        )
        .sum();
        let df: f64 = phase.baseline_subgroups().map(|s| sizes(&s) - 1.0).sum();
        (ss / df).sqrt()
    } else {
        mean(phase.baseline_subgroups().map(|s| s.y_sd))
    };
    let len = phase.value.len();
    if chart == Chart::Xbar {
        let weighted: f64 =
            present(phase.baseline_subgroups().map(|s| sizes(&s) * s.y_mean())).sum();
        let total: f64 = phase.baseline_subgroups().map(|s| sizes(&s)).sum();
        let cl = weighted / total;
        let sigma = phase
            .sub
            .iter()
            .map(|s| spread / (c4(sizes(&s)) * sizes(&s).sqrt()))
            .collect();
        return Lines::symmetric(chart, cl, sigma);
    }
    phase.value = phase.sub.iter().map(|s| s.y_sd).collect();
    let cl = spread;
    let mut lines = Lines::none(chart, cl, len);
    let mut sigma = Vec::with_capacity(len);
    for (i, s) in phase.sub.iter().enumerate() {
        let k = c5(sizes(&s)) / c4(sizes(&s));
        lines.ucl[i] = (1.0 + 3.0 * k) * cl;
        lines.ucl_95[i] = (1.0 + 2.0 * k) * cl;
        // B3 is floored at zero before it multiplies the centre line.
        lines.lcl[i] = nan_max0(1.0 - 3.0 * k) * cl;
        lines.lcl_95[i] = nan_max0(1.0 - 2.0 * k) * cl;
        sigma.push(k * cl);
    }
    lines.sigma = Some(sigma);
    lines
}

/// R's `pmax(0, x)`, which keeps NA.
fn nan_max0(x: f64) -> f64 {
    if x.is_nan() { x } else { x.max(0.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c4_matches_the_published_table() {
        // Montgomery, Appendix VI: c4(2) = 0.7979, c4(5) = 0.9400, c4(25) = 0.9896.
        for (n, table) in [(2.0, 0.7979), (5.0, 0.9400), (10.0, 0.9727), (25.0, 0.9896)] {
            assert!((c4(n) - table).abs() < 5e-5, "c4({n}) = {}", c4(n));
        }
        assert!(
            c4(1.0).is_nan(),
            "one observation has no standard deviation"
        );
    }

    #[test]
    fn a_freak_moving_range_is_screened_before_sigma_is_estimated() {
        // Ranges 1,1,1,1,20: average 4.8, limit 15.68; the 20 goes and the average is 1.
        let values = [0.0, 1.0, 0.0, 1.0, 0.0, 20.0];
        assert_eq!(screened_average_moving_range(&values), 1.0);
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median([4.0, 1.0, f64::NAN, 3.0, 2.0].into_iter()), 2.5);
        assert!(median(std::iter::empty()).is_nan());
    }
}
