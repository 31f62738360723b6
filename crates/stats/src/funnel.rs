//! Funnel plots for comparing institutions (Spiegelhalter 2005), as FunnelPlotR computes them:
//! z-scores, winsorisation (or SHMI truncation), the overdispersion factor φ, the
//! DerSimonian–Laird τ², unadjusted and overdispersion-adjusted 95% / 99.8% limits and outliers.
//! Reference: FunnelPlotR (`source_data()`, `phi()`, `tau2()`); see tests/parity/funnel.rs.

use crate::StatsError;
use crate::riskadj::exact_poisson_interval;
use serde::Serialize;

/// Two-sided 95% normal quantile, qnorm(0.975).
const Z95: f64 = 1.959_963_984_540_054;
/// Two-sided 99.8% normal quantile, qnorm(0.999).
const Z998: f64 = 3.090_232_306_167_813_5;

/// How the standardised ratio is transformed before overdispersion is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrMethod {
    /// NHS Digital SHMI: log transformation, z-scores truncated (not winsorised) at `trim`.
    Shmi,
    /// CQC / Spiegelhalter: square-root transformation, z-scores winsorised at `trim`.
    Cqc,
}

/// What the numerator and denominator are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelKind {
    /// Indirectly standardised ratio: observed / expected, target 1.
    StandardisedRatio(SrMethod),
    /// Proportion: events / cases, target the pooled proportion.
    Proportion,
    /// Ratio of counts: events / exposure, target the pooled ratio.
    Ratio,
}

/// Which limit decides an outlier: FunnelPlotR's `limit = 95` or `limit = 99` (99.8%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlierLimit {
    P95,
    P998,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelOptions {
    pub kind: FunnelKind,
    pub limit: OutlierLimit,
    /// Share of z-scores winsorised (or truncated, for SHMI) at each end; FunnelPlotR's `trim_by`.
    pub trim: f64,
}

impl FunnelOptions {
    pub fn new(kind: FunnelKind) -> Self {
        FunnelOptions {
            kind,
            limit: OutlierLimit::P998,
            trim: 0.1,
        }
    }
}

/// One row of input: a group's numerator and denominator.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCounts {
    pub group: String,
    pub numerator: f64,
    pub denominator: f64,
}

/// Lower and upper 95% and 99.8% limits at one denominator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    pub lcl95: f64,
    pub ucl95: f64,
    pub lcl998: f64,
    pub ucl998: f64,
}

/// One group on the funnel, with the quantities of FunnelPlotR's `source_data()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelPoint {
    pub group: String,
    pub numerator: f64,
    pub denominator: f64,
    /// The ratio, proportion or ratio of counts (FunnelPlotR's `rr`).
    pub value: f64,
    /// z-score on the transformed scale, before any trimming (`Uzscore`).
    pub z: f64,
    /// z-score after winsorising; `None` where SHMI truncation drops the group (`Wuzscore`).
    pub z_winsorised: Option<f64>,
    /// Standard error used for the limits at this denominator (`s`).
    pub s: f64,
    pub lcl95: f64,
    pub ucl95: f64,
    pub lcl998: f64,
    pub ucl998: f64,
    pub od_lcl95: f64,
    pub od_ucl95: f64,
    pub od_lcl998: f64,
    pub od_ucl998: f64,
    pub outlier: bool,
}

/// A computed funnel: the points, the centre line and the overdispersion estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    #[serde(skip)]
    pub options: FunnelOptions,
    /// Centre line: 1 for standardised ratios, the pooled value otherwise.
    pub target: f64,
    pub phi: f64,
    pub tau2: f64,
    pub points: Vec<FunnelPoint>,
}

impl Funnel {
    /// Limits without overdispersion at `denominator`: exact Poisson for standardised ratios,
    /// the normal approximation on the transformed scale otherwise (as FunnelPlotR).
    pub fn unadjusted_limits(&self, denominator: f64) -> Limits {
        match self.options.kind {
            FunnelKind::StandardisedRatio(_) => poisson_limits(denominator),
            _ => self.transformed_limits(denominator, 0.0),
        }
    }

    /// The overdispersion-adjusted limits at `denominator`: the method's normal limits on its
    /// transformed scale with τ² added to the within-group variance (with τ² = 0 when there is
    /// no overdispersion, as FunnelPlotR reports them).
    pub fn adjusted_limits(&self, denominator: f64) -> Limits {
        self.transformed_limits(denominator, self.tau2)
    }

    /// The limits outliers are judged against, and that a plot should draw: the adjusted limits,
    /// or, when no overdispersion is found (τ² = 0), the unadjusted ones, as FunnelPlotR does.
    pub fn judging_limits(&self, denominator: f64) -> Limits {
        if self.tau2 > 0.0 {
            self.adjusted_limits(denominator)
        } else {
            self.unadjusted_limits(denominator)
        }
    }

    /// The limits of the method's transformed scale, back-transformed, with τ² added to the
    /// within-group variance.
    fn transformed_limits(&self, denominator: f64, tau2: f64) -> Limits {
        let s = limit_se(self.options.kind, denominator);
        let spread = (s * s + tau2).sqrt();
        let at = |z: f64| -> f64 {
            match self.options.kind {
                FunnelKind::StandardisedRatio(SrMethod::Shmi) => (z * spread).exp(),
                // FunnelPlotR's CQC limits are linear in the square-root scale's spread.
                FunnelKind::StandardisedRatio(SrMethod::Cqc) => 1.0 + z * spread,
                FunnelKind::Ratio => (self.target.ln() + z * spread).exp(),
                // The arcsine angle is kept within [0, π/2]: beyond it sin² folds back and would
                // give a lower limit above zero where none exists (FunnelPlotR does not clamp;
                // it only matters for denominators far smaller than any funnel is read at).
                FunnelKind::Proportion => {
                    let angle = self.target.sqrt().asin() + z * spread;
                    angle.clamp(0.0, std::f64::consts::FRAC_PI_2).sin().powi(2)
                }
            }
        };
        Limits {
            lcl95: at(-Z95),
            ucl95: at(Z95),
            lcl998: at(-Z998),
            ucl998: at(Z998),
        }
    }
}

/// Computes the funnel for `groups`. Rows with the same group are summed first, and points come
/// back ordered by group, as in FunnelPlotR.
pub fn funnel(groups: &[GroupCounts], options: FunnelOptions) -> Result<Funnel, StatsError> {
    if !(0.0..0.5).contains(&options.trim) {
        return Err(StatsError::invalid(
            "trim",
            format!("must be in [0, 0.5), got {}", options.trim),
        ));
    }
    let groups = aggregate(groups, options.kind)?;
    if groups.len() < 2 {
        return Err(StatsError::invalid(
            "groups",
            "a funnel needs at least two groups",
        ));
    }
    let target = match options.kind {
        FunnelKind::StandardisedRatio(_) => 1.0,
        _ => {
            let numerator: f64 = groups.iter().map(|g| g.numerator).sum();
            let denominator: f64 = groups.iter().map(|g| g.denominator).sum();
            numerator / denominator
        }
    };
    if options.kind == FunnelKind::Ratio && target <= 0.0 {
        return Err(StatsError::invalid(
            "numerator",
            "every numerator is 0: the pooled ratio has no logarithm",
        ));
    }

    let z: Vec<f64> = groups
        .iter()
        .map(|g| z_score(options.kind, target, g))
        .collect();
    let z_winsorised = match options.kind {
        FunnelKind::StandardisedRatio(SrMethod::Shmi) => truncate(&z, options.trim),
        _ => winsorise(&z, options.trim),
    };

    // A group with no observed events has z = −∞ on the SHMI log scale. Truncation usually
    // drops it, as it drops the lowest band; if it survives, φ has no value.
    if let Some(g) = z_winsorised
        .iter()
        .zip(&groups)
        .find_map(|(w, g)| w.filter(|w| w.is_infinite()).map(|_| g))
    {
        return Err(StatsError::invalid(
            format!("group {}: numerator", g.group),
            "observed is 0, so its SHMI z-score (on the log scale) is −∞, and it is not among the groups truncated before estimating overdispersion; use the CQC method or a larger trim",
        ));
    }
    // φ and τ² come from the groups that survive trimming only.
    let kept: Vec<(f64, f64)> = z_winsorised
        .iter()
        .zip(&groups)
        .filter_map(|(w, g)| w.map(|w| (w, z_se(options.kind, g))))
        .collect();
    let n = kept.len() as f64;
    let phi = kept.iter().map(|(w, _)| w * w).sum::<f64>() / n;
    let weights: Vec<f64> = kept.iter().map(|(_, s)| 1.0 / (s * s)).collect();
    let tau2 = dersimonian_laird_tau2(n, phi, &weights);

    let mut funnel = Funnel {
        options,
        target,
        phi,
        tau2,
        points: Vec::with_capacity(groups.len()),
    };
    for ((g, z), z_winsorised) in groups.into_iter().zip(z).zip(z_winsorised) {
        let value = g.numerator / g.denominator;
        let unadjusted = funnel.unadjusted_limits(g.denominator);
        let adjusted = funnel.adjusted_limits(g.denominator);
        let judging = funnel.judging_limits(g.denominator);
        let judged = match options.limit {
            OutlierLimit::P95 => (judging.lcl95, judging.ucl95),
            OutlierLimit::P998 => (judging.lcl998, judging.ucl998),
        };
        funnel.points.push(FunnelPoint {
            s: limit_se(options.kind, g.denominator),
            outlier: value < judged.0 || value > judged.1,
            group: g.group,
            numerator: g.numerator,
            denominator: g.denominator,
            value,
            z,
            z_winsorised,
            lcl95: unadjusted.lcl95,
            ucl95: unadjusted.ucl95,
            lcl998: unadjusted.lcl998,
            ucl998: unadjusted.ucl998,
            od_lcl95: adjusted.lcl95,
            od_ucl95: adjusted.ucl95,
            od_lcl998: adjusted.lcl998,
            od_ucl998: adjusted.ucl998,
        });
    }
    Ok(funnel)
}

/// Checks each row and sums rows of the same group, ordered by group name.
fn aggregate(rows: &[GroupCounts], kind: FunnelKind) -> Result<Vec<GroupCounts>, StatsError> {
    let mut sums: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
    for row in rows {
        let field = |name: &str| format!("group {}: {name}", row.group);
        for (name, value) in [
            ("numerator", row.numerator),
            ("denominator", row.denominator),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(StatsError::invalid(
                    field(name),
                    format!("must be a count of 0 or more, got {value}"),
                ));
            }
        }
        let sum = sums.entry(row.group.as_str()).or_default();
        sum.0 += row.numerator;
        sum.1 += row.denominator;
    }
    let mut groups = Vec::with_capacity(sums.len());
    for (group, (numerator, mut denominator)) in sums {
        let field = |name: &str| format!("group {group}: {name}");
        // FunnelPlotR rounds SHMI expected counts to two decimals, as NHS Digital publishes them.
        if kind == FunnelKind::StandardisedRatio(SrMethod::Shmi) {
            denominator = (denominator * 100.0).round() / 100.0;
        }
        if denominator <= 0.0 {
            return Err(StatsError::invalid(
                field("denominator"),
                "is 0 (after rounding to two decimals, for SHMI): the group has no value and no limits",
            ));
        }
        match kind {
            FunnelKind::Proportion if numerator > denominator => {
                return Err(StatsError::invalid(
                    field("numerator"),
                    format!("{numerator} events exceed the denominator {denominator}"),
                ));
            }
            _ => {}
        }
        groups.push(GroupCounts {
            group: group.to_string(),
            numerator,
            denominator,
        });
    }
    Ok(groups)
}

/// The z-score of a group on its method's transformed scale.
fn z_score(kind: FunnelKind, target: f64, g: &GroupCounts) -> f64 {
    let (o, e) = (g.numerator, g.denominator);
    let transformed = match kind {
        FunnelKind::StandardisedRatio(SrMethod::Shmi) => (o / e).ln(),
        FunnelKind::StandardisedRatio(SrMethod::Cqc) => (o / e).sqrt() - 1.0,
        FunnelKind::Proportion => (o / e).sqrt().asin() - target.sqrt().asin(),
        // Half a count added to each side keeps zero counts on the log scale.
        FunnelKind::Ratio => ((o + 0.5) / (e + 0.5)).ln() - target.ln(),
    };
    transformed / z_se(kind, g)
}

/// Standard error of the transformed value, used for z-scores and the τ² weights.
fn z_se(kind: FunnelKind, g: &GroupCounts) -> f64 {
    match kind {
        FunnelKind::Ratio => {
            let (o, e) = (g.numerator, g.denominator);
            (o / (o + 0.5).powi(2) + e / (e + 0.5).powi(2)).sqrt()
        }
        _ => limit_se(kind, g.denominator),
    }
}

/// Standard error behind the limits at a denominator. For ratios of counts FunnelPlotR draws
/// limits with the arcsine standard error 1/(2√n) rather than the z-score's; we follow it.
fn limit_se(kind: FunnelKind, denominator: f64) -> f64 {
    match kind {
        FunnelKind::StandardisedRatio(SrMethod::Shmi) => 1.0 / denominator.sqrt(),
        _ => 1.0 / (2.0 * denominator.sqrt()),
    }
}

/// Exact Poisson limits for a standardised ratio with `expected` events (target 1): the Garwood
/// interval of a count equal to the expected, relative to it (chi-square quantiles 0.025/0.975
/// and 0.001/0.999, as FunnelPlotR).
fn poisson_limits(expected: f64) -> Limits {
    let (lcl95, ucl95) = exact_poisson_interval(expected, 0.95);
    let (lcl998, ucl998) = exact_poisson_interval(expected, 0.998);
    Limits {
        lcl95: lcl95 / expected,
        ucl95: ucl95 / expected,
        lcl998: lcl998 / expected,
        ucl998: ucl998 / expected,
    }
}

/// Winsorising: z-scores beyond the `trim` and `1 − trim` quantiles are pulled in to them.
fn winsorise(z: &[f64], trim: f64) -> Vec<Option<f64>> {
    let (low, high) = (quantile7(z, trim), quantile7(z, 1.0 - trim));
    z.iter().map(|&z| Some(z.clamp(low, high))).collect()
}

/// SHMI truncation: groups ranked into 1/trim bands by z-score; those in the lowest and highest
/// band are left out of φ and τ² (`None`). Ties take their average rank.
fn truncate(z: &[f64], trim: f64) -> Vec<Option<f64>> {
    if trim == 0.0 {
        return z.iter().copied().map(Some).collect();
    }
    let bands = 1.0 / trim;
    let ranks = average_ranks(z);
    let n = z.len() as f64;
    z.iter()
        .zip(ranks)
        .map(|(&z, rank)| {
            let band = (rank * bands / (n + 1.0)).floor();
            (band > 0.0 && band < bands - 1.0).then_some(z)
        })
        .collect()
}

/// 1-based ranks, ties sharing the mean of their ranks (R's `rank(ties.method = "average")`).
pub(crate) fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + 1 + end) as f64 / 2.0;
        order[start..end].iter().for_each(|&i| ranks[i] = rank);
        start = end;
    }
    ranks
}

/// Sample quantile by linear interpolation between order statistics (R's default, type 7).
fn quantile7(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile_sorted(&sorted, p)
}

/// Type-7 quantile of values already in ascending order (shared with the Hosmer–Lemeshow cuts).
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    // Step for step as R's quantile(type = 7), so that results agree to the last bit.
    let index = 1.0 + (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (index.floor() as usize - 1, index.ceil() as usize - 1);
    let (low, high) = (sorted[lo], sorted[hi]);
    if index > index.floor() && high != low {
        let h = index - index.floor();
        (1.0 - h) * low + h * high
    } else {
        low
    }
}

/// DerSimonian–Laird between-group variance from the dispersion φ of n z-scores with inverse
/// variance weights w: max(0, (nφ − (n − 1)) / (Σw − Σw²/Σw)).
fn dersimonian_laird_tau2(n: f64, phi: f64, weights: &[f64]) -> f64 {
    if n * phi < n - 1.0 {
        return 0.0;
    }
    let sum: f64 = weights.iter().sum();
    let sum_sq: f64 = weights.iter().map(|w| w * w).sum();
    ((n * phi - (n - 1.0)) / (sum - sum_sq / sum)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(rows: &[(&str, f64, f64)]) -> Vec<GroupCounts> {
        rows.iter()
            .map(|&(g, o, e)| GroupCounts {
                group: g.into(),
                numerator: o,
                denominator: e,
            })
            .collect()
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics_like_r_type_7() {
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        // R: quantile(1:10, c(0.1, 0.9, 0.25)) = 1.9, 9.1, 3.25
        assert!((quantile7(&x, 0.1) - 1.9).abs() < 1e-12);
        assert!((quantile7(&x, 0.9) - 9.1).abs() < 1e-12);
        assert!((quantile7(&x, 0.25) - 3.25).abs() < 1e-12);
    }

    #[test]
    fn tied_values_share_their_average_rank() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
    }

    #[test]
    fn winsorising_pulls_extremes_to_the_trim_quantiles_and_keeps_the_middle() {
        let z: Vec<f64> = (1..=10).map(f64::from).collect();
        let w = winsorise(&z, 0.1);
        assert_eq!(w[0], Some(1.9));
        assert_eq!(w[9], Some(9.1));
        assert_eq!(w[4], Some(5.0));
    }

    #[test]
    fn shmi_truncation_drops_the_lowest_and_highest_tenth_of_forty_groups() {
        let z: Vec<f64> = (1..=40).map(f64::from).collect();
        let kept = truncate(&z, 0.1);
        assert_eq!(kept.iter().filter(|k| k.is_none()).count(), 8);
        assert!(kept[..4].iter().all(Option::is_none) && kept[36..].iter().all(Option::is_none));
    }

    #[test]
    fn no_excess_dispersion_gives_no_between_group_variance() {
        assert_eq!(dersimonian_laird_tau2(10.0, 0.8, &[1.0; 10]), 0.0);
    }

    #[test]
    fn a_standardised_ratio_of_one_sits_on_the_target_with_z_zero() {
        let f = funnel(
            &counts(&[("a", 50.0, 50.0), ("b", 80.0, 60.0), ("c", 30.0, 40.0)]),
            FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Cqc)),
        )
        .unwrap();
        assert_eq!(f.points[0].value, 1.0);
        assert_eq!(f.points[0].z, 0.0);
    }

    #[test]
    fn rows_of_one_group_are_summed_and_points_come_back_by_group() {
        let f = funnel(
            &counts(&[("b", 10.0, 100.0), ("a", 5.0, 50.0), ("b", 10.0, 100.0)]),
            FunnelOptions::new(FunnelKind::Proportion),
        )
        .unwrap();
        assert_eq!(
            f.points
                .iter()
                .map(|p| p.group.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            (f.points[1].numerator, f.points[1].denominator),
            (20.0, 200.0)
        );
    }

    #[test]
    fn exact_poisson_limits_bracket_the_target_and_narrow_as_expected_grows() {
        let small = poisson_limits(10.0);
        let large = poisson_limits(1000.0);
        assert!(
            small.lcl998 < small.lcl95
                && small.lcl95 < 1.0
                && 1.0 < small.ucl95
                && small.ucl95 < small.ucl998
        );
        assert!(large.ucl95 - large.lcl95 < small.ucl95 - small.lcl95);
    }

    #[test]
    fn without_overdispersion_outliers_are_judged_against_the_unadjusted_limits() {
        // Every group exactly on target: φ = 0, so τ² = 0.
        let rows: Vec<(&str, f64, f64)> = vec![
            ("a", 20.0, 20.0),
            ("b", 50.0, 50.0),
            ("c", 80.0, 80.0),
            ("d", 5.0, 5.0),
        ];
        let f = funnel(
            &counts(&rows),
            FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Shmi)),
        )
        .unwrap();
        assert_eq!(f.tau2, 0.0);
        assert_eq!(f.judging_limits(30.0), f.unadjusted_limits(30.0));
        // The adjusted columns still report the normal limits with τ² = 0, as FunnelPlotR does.
        let normal = (-Z95 / 30f64.sqrt()).exp();
        assert!((f.adjusted_limits(30.0).lcl95 - normal).abs() < 1e-15);
    }

    #[test]
    fn shmi_limits_are_symmetric_on_the_log_scale_and_cqc_limits_about_the_target() {
        let rows = counts(&[
            ("a", 30.0, 20.0),
            ("b", 50.0, 60.0),
            ("c", 80.0, 70.0),
            ("d", 9.0, 15.0),
        ]);
        let shmi = funnel(
            &rows,
            FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Shmi)),
        )
        .unwrap();
        let cqc = funnel(
            &rows,
            FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Cqc)),
        )
        .unwrap();
        for e in [5.0, 50.0, 500.0] {
            let l = shmi.adjusted_limits(e);
            assert!(
                (l.lcl95 * l.ucl95 - 1.0).abs() < 1e-12
                    && (l.lcl998 * l.ucl998 - 1.0).abs() < 1e-12
            );
            let l = cqc.adjusted_limits(e);
            assert!((1.0 - l.lcl95 - (l.ucl95 - 1.0)).abs() < 1e-12);
        }
    }

    #[test]
    fn the_order_of_the_rows_does_not_change_the_funnel() {
        let rows = counts(&[
            ("a", 30.0, 200.0),
            ("b", 50.0, 600.0),
            ("c", 80.0, 700.0),
            ("a", 9.0, 150.0),
        ]);
        let mut reversed = rows.clone();
        reversed.reverse();
        let options = FunnelOptions::new(FunnelKind::Ratio);
        assert_eq!(
            funnel(&rows, options).unwrap(),
            funnel(&reversed, options).unwrap()
        );
    }

    #[test]
    fn proportion_limits_never_fall_below_zero() {
        let f = funnel(
            &counts(&[("a", 1.0, 100.0), ("b", 2.0, 100.0)]),
            FunnelOptions::new(FunnelKind::Proportion),
        )
        .unwrap();
        let at_one = f.unadjusted_limits(1.0);
        assert_eq!(at_one.lcl998, 0.0);
    }

    #[test]
    fn a_group_with_no_deaths_is_truncated_from_the_shmi_overdispersion_estimate() {
        let mut rows: Vec<(String, f64, f64)> = (0..39)
            .map(|i| (format!("h{i:02}"), 40.0 + (i % 7) as f64 * 3.0, 45.0))
            .collect();
        rows.push(("tiny".into(), 0.0, 12.0));
        let rows: Vec<GroupCounts> = rows
            .into_iter()
            .map(|(group, numerator, denominator)| GroupCounts {
                group,
                numerator,
                denominator,
            })
            .collect();
        let f = funnel(
            &rows,
            FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Shmi)),
        )
        .unwrap();
        let tiny = f.points.iter().find(|p| p.group == "tiny").unwrap();
        assert_eq!(
            (tiny.value, tiny.z, tiny.z_winsorised),
            (0.0, f64::NEG_INFINITY, None)
        );
        assert!(f.phi.is_finite() && tiny.outlier);
    }

    #[test]
    fn bad_counts_are_refused_with_the_group_named() {
        let sr = FunnelOptions::new(FunnelKind::StandardisedRatio(SrMethod::Shmi));
        let err = funnel(&counts(&[("a", -1.0, 5.0), ("b", 1.0, 5.0)]), sr).unwrap_err();
        assert!(err.to_string().contains("group a: numerator"), "{err}");
        let err = funnel(&counts(&[("a", 1.0, 0.0), ("b", 1.0, 5.0)]), sr).unwrap_err();
        assert!(err.to_string().contains("group a: denominator"), "{err}");
        let pr = FunnelOptions::new(FunnelKind::Proportion);
        let err = funnel(&counts(&[("a", 6.0, 5.0), ("b", 1.0, 5.0)]), pr).unwrap_err();
        assert!(err.to_string().contains("exceed"), "{err}");
        let err = funnel(&counts(&[("a", 0.0, 5.0), ("b", 1.0, 5.0)]), sr).unwrap_err();
        assert!(err.to_string().contains("CQC"), "{err}");
    }
}
