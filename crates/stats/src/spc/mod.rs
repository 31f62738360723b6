//! Statistical process control charts as qicharts2 0.8.1's `qic()` computes them: subgroups,
//! centre lines, 3- and 2-sigma limits, phases (`part`), baselines (`freeze`), excluded points,
//! the Anhøj runs rules and the sigma signal; Western Electric and Nelson rules as options.
//! Reference: qicharts2 0.8.1 (R), attached with `library()` so `qic.screenedmr` is on; see
//! tests/parity/spc.rs and docs/stats/spc.md.

mod limits;
pub mod rules;
pub mod runs;

use crate::StatsError;
use rayon::prelude::*;
pub use rules::{RuleSet, rule_violations, rule_violations_in};
pub use runs::{RunsAnalysis, anhoej, anhoej_values, binomial_quantile};
use std::borrow::Cow;

/// The chart types of `qic(chart = ...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chart {
    /// Run chart: median centre line, no limits.
    Run,
    /// Individuals chart, sigma from the screened average moving range.
    I,
    /// Moving-range chart of the individuals.
    Mr,
    /// Subgroup means.
    Xbar,
    /// Subgroup standard deviations.
    S,
    /// Time between rare events: an I chart of y^(1/3.6), transformed back.
    T,
    /// Proportions.
    P,
    /// Laney's P′: proportions with between-subgroup variation.
    PPrime,
    /// Counts.
    C,
    /// Rates.
    U,
    /// Laney's U′: rates with between-subgroup variation.
    UPrime,
    /// Cases (or days) between events; median centre line.
    G,
}

impl Chart {
    pub const ALL: [Chart; 12] = [
        Chart::Run,
        Chart::I,
        Chart::Mr,
        Chart::Xbar,
        Chart::S,
        Chart::T,
        Chart::P,
        Chart::PPrime,
        Chart::C,
        Chart::U,
        Chart::UPrime,
        Chart::G,
    ];

    /// qicharts2's name for the chart (`run`, `i`, …, `pp`, `up`).
    pub fn code(self) -> &'static str {
        match self {
            Chart::Run => "run",
            Chart::I => "i",
            Chart::Mr => "mr",
            Chart::Xbar => "xbar",
            Chart::S => "s",
            Chart::T => "t",
            Chart::P => "p",
            Chart::PPrime => "pp",
            Chart::C => "c",
            Chart::U => "u",
            Chart::UPrime => "up",
            Chart::G => "g",
        }
    }

    pub fn from_code(code: &str) -> Option<Chart> {
        Chart::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The name a quality team reads on the chart.
    pub fn title(self) -> &'static str {
        match self {
            Chart::Run => "Run chart",
            Chart::I => "I chart",
            Chart::Mr => "MR chart",
            Chart::Xbar => "Xbar chart",
            Chart::S => "S chart",
            Chart::T => "T chart",
            Chart::P => "P chart",
            Chart::PPrime => "P′ chart (Laney)",
            Chart::C => "C chart",
            Chart::U => "U chart",
            Chart::UPrime => "U′ chart (Laney)",
            Chart::G => "G chart",
        }
    }

    /// Charts whose statistic is events over a denominator.
    pub fn needs_denominator(self) -> bool {
        matches!(self, Chart::P | Chart::PPrime | Chart::U | Chart::UPrime)
    }

    fn is_proportion(self) -> bool {
        matches!(self, Chart::P | Chart::PPrime)
    }

    /// Charts of counts, where a negative y cannot be.
    fn counts(self) -> bool {
        matches!(
            self,
            Chart::P | Chart::PPrime | Chart::C | Chart::U | Chart::UPrime | Chart::G
        )
    }
}

/// `qic()`'s analysis arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Multiplies the plotted value, centre line and limits (e.g. 100 for percent).
    pub multiply: f64,
    /// The first `freeze` subgroups are the baseline for centre line and limits. As in qic(),
    /// ignored when `part_at` is given.
    pub freeze: Option<usize>,
    /// Subgroup numbers (1-based) after which a new phase starts, with its own lines.
    pub part_at: Vec<usize>,
    /// Subgroup numbers (1-based) left out of every calculation (still drawn).
    pub exclude: Vec<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            multiply: 1.0,
            freeze: None,
            part_at: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

/// The rows to chart. Rows with equal `x` form one subgroup; subgroups are ordered by `x`.
/// A `None` y (or n) is a missing value, as R's NA.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a, K> {
    pub x: &'a [K],
    pub y: &'a [Option<f64>],
    /// Denominators. Without them a P/P′ chart counts each row as one trial (y is 0 or 1).
    pub n: Option<&'a [Option<f64>]>,
}

/// One subgroup on the chart. Quantities that do not exist are `None`; they are kept as NaN
/// inside (an `Option<f64>` takes twice the room, and a million-point chart is bound by
/// filling its memory), so they are read through methods.
#[derive(Debug, Clone)]
pub struct Point<K> {
    pub x: K,
    y: f64,
    n: f64,
    /// Number of non-missing y in the subgroup.
    pub size: usize,
    value: f64,
    cl: f64,
    lcl: f64,
    ucl: f64,
    lcl_95: f64,
    ucl_95: f64,
    sigma: f64,
    /// Outside the 3-sigma limits.
    pub sigma_signal: bool,
    /// The Anhøj rules signal for this point's phase.
    pub runs_signal: bool,
    /// Phase number, from 1.
    pub part: usize,
    /// Part of the baseline (`freeze`).
    pub baseline: bool,
    /// Not excluded.
    pub include: bool,
}

/// A stored quantity, `None` where it does not exist.
fn exists(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl<K> Point<K> {
    /// Sum of the subgroup's y (qicharts2's `y.sum`).
    pub fn y(&self) -> Option<f64> {
        exists(self.y)
    }
    /// Sum of the subgroup's denominators; `None` without denominators.
    pub fn n(&self) -> Option<f64> {
        exists(self.n)
    }
    /// The plotted statistic (qicharts2's `y`), multiplied.
    pub fn value(&self) -> Option<f64> {
        exists(self.value)
    }
    pub fn cl(&self) -> Option<f64> {
        exists(self.cl)
    }
    pub fn lcl(&self) -> Option<f64> {
        exists(self.lcl)
    }
    pub fn ucl(&self) -> Option<f64> {
        exists(self.ucl)
    }
    pub fn lcl_95(&self) -> Option<f64> {
        exists(self.lcl_95)
    }
    pub fn ucl_95(&self) -> Option<f64> {
        exists(self.ucl_95)
    }
    /// The standard deviation of the plotted statistic (multiplied) where the limits are
    /// cl ± 3·sigma before any clamping at 0 or 1; `None` for run, MR, T and G charts.
    pub fn sigma(&self) -> Option<f64> {
        exists(self.sigma)
    }

    /// Every quantity, for comparing points (NaN would never equal itself).
    fn quantities(&self) -> [Option<f64>; 9] {
        [
            self.y(),
            self.n(),
            self.value(),
            self.cl(),
            self.lcl(),
            self.ucl(),
            self.lcl_95(),
            self.ucl_95(),
            self.sigma(),
        ]
    }
}

impl<K: PartialEq> PartialEq for Point<K> {
    fn eq(&self, other: &Self) -> bool {
        self.x == other.x
            && self.size == other.size
            && self.quantities() == other.quantities()
            && (self.sigma_signal, self.runs_signal, self.part)
                == (other.sigma_signal, other.runs_signal, other.part)
            && (self.baseline, self.include) == (other.baseline, other.include)
    }
}

/// qicharts2's `summary()` row for one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PartSummary {
    pub part: usize,
    pub runs: RunsAnalysis,
    /// Number of points outside the 3-sigma limits.
    pub sigma_signals: usize,
    /// Mean of the centre line over the phase.
    pub cl: Option<f64>,
    /// Average lower and upper limits.
    pub alcl: Option<f64>,
    pub aucl: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ControlChart<K> {
    pub chart: Chart,
    pub points: Vec<Point<K>>,
    pub parts: Vec<PartSummary>,
    /// Why a quantity does not exist, or how an option was read (e.g. freeze ignored).
    pub notes: Vec<String>,
}

/// A subgroup after aggregation, before any chart is computed. NaN stands for R's NA here
/// only; nothing NaN leaves this module.
#[derive(Debug, Clone, Copy)]
struct Subgroup {
    y_sum: f64,
    y_len: usize,
    y_sd: f64,
    n: f64,
}

impl Subgroup {
    fn y_mean(&self) -> f64 {
        if self.y_len > 0 {
            self.y_sum / self.y_len as f64
        } else {
            f64::NAN
        }
    }
}

/// The subgroups of a chart: summarised into a vector, or, where every row is its own subgroup
/// (a long series), as two columns, half the memory: a one-row subgroup's count is whether its
/// sum exists, and it has no standard deviation.
enum Subgroups<'a> {
    Built(Vec<Subgroup>),
    /// Borrowed from the rows' own columns where they are the same numbers.
    Single {
        y_sum: Cow<'a, [f64]>,
        /// Empty without denominators.
        n: Cow<'a, [f64]>,
    },
}

impl Subgroups<'_> {
    #[inline]
    fn get(&self, i: usize) -> Subgroup {
        match self {
            Subgroups::Built(all) => all[i],
            Subgroups::Single { y_sum, n } => Subgroup {
                y_sum: y_sum[i],
                y_len: usize::from(!y_sum[i].is_nan()),
                y_sd: f64::NAN,
                n: n.get(i).copied().unwrap_or(f64::NAN),
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            Subgroups::Built(all) => all.len(),
            Subgroups::Single { y_sum, .. } => y_sum.len(),
        }
    }

    fn slice(&self, range: std::ops::Range<usize>) -> Subs<'_> {
        Subs {
            all: self,
            start: range.start,
            len: range.len(),
        }
    }
}

/// The subgroups of one phase.
#[derive(Clone, Copy)]
struct Subs<'s> {
    all: &'s Subgroups<'s>,
    start: usize,
    len: usize,
}

impl<'s> Subs<'s> {
    #[inline]
    fn get(&self, j: usize) -> Subgroup {
        self.all.get(self.start + j)
    }

    fn first(&self) -> Option<Subgroup> {
        (self.len > 0).then(|| self.get(0))
    }

    fn iter(self) -> impl Iterator<Item = Subgroup> + 's {
        (0..self.len).map(move |j| self.get(j))
    }
}

/// Phases at least this long are built in parallel.
const PARALLEL_POINTS: usize = 50_000;

/// `(0..len).map(f).collect()`, on every core when `len` is long enough to gain from it: a
/// million-point chart is bound by filling fresh memory, which two cores do nearly twice as
/// fast, while a 36-point chart would only pay the hand-off.
fn collect_indexed<T: Send>(len: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if len >= PARALLEL_POINTS {
        (0..len).into_par_iter().map(f).collect()
    } else {
        (0..len).map(f).collect()
    }
}

/// Rows given as columns of numbers with NaN for a missing value (R's NA), 8 bytes a value
/// where `Rows`' `Option<f64>` takes 16: what a reader of a million-row file fills. A value
/// that is read from text is never NaN, so NaN is free to mean "missing".
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a, K> {
    pub x: &'a [K],
    pub y: &'a [f64],
    /// Denominators, NaN where missing; as `Rows::n`.
    pub n: Option<&'a [f64]>,
}

/// The rows a chart is computed from, however they are held (`Rows` or `Columns`).
pub trait Observations<K>: Sync {
    fn x(&self) -> &[K];
    /// Row `row`'s y, `None` where missing.
    fn y(&self, row: usize) -> Option<f64>;
    /// Whether there is a denominator column.
    fn has_n(&self) -> bool;
    /// Row `row`'s denominator, `None` where missing or without a denominator column.
    fn n(&self, row: usize) -> Option<f64>;
    /// Whether the y and n columns have one value per x.
    fn lengths_agree(&self) -> bool;
    /// The y and n columns as numbers with NaN for missing, if they are held that way.
    fn columns(&self) -> Option<(&[f64], Option<&[f64]>)> {
        None
    }
}

impl<K: Sync> Observations<K> for Rows<'_, K> {
    fn x(&self) -> &[K] {
        self.x
    }
    #[inline]
    fn y(&self, row: usize) -> Option<f64> {
        self.y[row]
    }
    fn has_n(&self) -> bool {
        self.n.is_some()
    }
    #[inline]
    fn n(&self, row: usize) -> Option<f64> {
        self.n.and_then(|n| n[row])
    }
    fn lengths_agree(&self) -> bool {
        self.x.len() == self.y.len() && self.n.is_none_or(|n| n.len() == self.y.len())
    }
}

impl<K: Sync> Observations<K> for Columns<'_, K> {
    fn columns(&self) -> Option<(&[f64], Option<&[f64]>)> {
        Some((self.y, self.n))
    }
    fn x(&self) -> &[K] {
        self.x
    }
    #[inline]
    fn y(&self, row: usize) -> Option<f64> {
        let y = self.y[row];
        (!y.is_nan()).then_some(y)
    }
    fn has_n(&self) -> bool {
        self.n.is_some()
    }
    #[inline]
    fn n(&self, row: usize) -> Option<f64> {
        let n = self.n?[row];
        (!n.is_nan()).then_some(n)
    }
    fn lengths_agree(&self) -> bool {
        self.x.len() == self.y.len() && self.n.is_none_or(|n| n.len() == self.y.len())
    }
}

/// One phase of a computed chart: its subgroups, plotted values and lines.
struct PhaseOut {
    range: std::ops::Range<usize>,
    part: usize,
    value: Vec<f64>,
    lines: limits::Lines,
    /// The centre line as reported (multiplied; NaN where it does not exist).
    cl: f64,
    runs_signal: bool,
}

/// A computed chart whose points are built only when asked for (`point`): the summary, the
/// lines and each point's sigma signal are there, but a million-point chart does not fill a
/// vector of `Point`s when only its summary and flagged points are written. `into_chart`
/// builds them all, as `qic` returns them.
pub struct LazyChart<'a, K: Clone> {
    pub chart: Chart,
    keys: Cow<'a, [K]>,
    subgroups: Subgroups<'a>,
    phases: Vec<PhaseOut>,
    baseline: Vec<bool>,
    include: Vec<bool>,
    sigma_signal: Vec<bool>,
    multiply: f64,
    got_n: bool,
    pub parts: Vec<PartSummary>,
    pub notes: Vec<String>,
}

/// Only finite quantities exist; every other one is stored as NaN.
#[inline]
fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { f64::NAN }
}

impl<K: Clone + Send + Sync> LazyChart<'_, K> {
    /// The number of points (subgroups).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether point `i` lies outside its 3-sigma limits.
    pub fn sigma_signal(&self, i: usize) -> bool {
        self.sigma_signal[i]
    }

    /// Point `i`, as `into_chart` would hold it.
    pub fn point(&self, i: usize) -> Point<K> {
        let phase = match self.phases.len() {
            1 => &self.phases[0],
            _ => {
                let k = self.phases.partition_point(|p| p.range.end <= i);
                &self.phases[k]
            }
        };
        let j = i - phase.range.start;
        let m = self.multiply;
        let (value, lcl, ucl, sigma_signal) = judged(&phase.value, &phase.lines, m, j);
        let limits = phase.lines.at(j);
        let s = self.subgroups.get(i);
        Point {
            x: self.keys[i].clone(),
            y: finite(s.y_sum),
            n: if self.got_n { finite(s.n) } else { f64::NAN },
            size: s.y_len,
            value,
            cl: phase.cl,
            lcl,
            ucl,
            lcl_95: finite(limits[2] * m),
            ucl_95: finite(limits[3] * m),
            sigma: finite(phase.lines.sigma_at(j) * m),
            sigma_signal,
            runs_signal: phase.runs_signal,
            part: phase.part,
            baseline: self.baseline[i],
            include: self.include[i],
        }
    }

    /// Every point built, the chart kept.
    pub fn points(&self) -> Vec<Point<K>> {
        collect_indexed(self.len(), |i| self.point(i))
    }

    /// Every point built.
    pub fn into_chart(self) -> ControlChart<K> {
        let points = self.points();
        ControlChart {
            chart: self.chart,
            points,
            parts: self.parts,
            notes: self.notes,
        }
    }
}

/// Point `j` of a phase: its plotted value and 3-sigma limits (multiplied, NaN where they do
/// not exist), and whether it lies outside them.
#[inline]
fn judged(value: &[f64], lines: &limits::Lines, m: f64, j: usize) -> (f64, f64, f64, bool) {
    let value = finite(value[j] * m);
    let [lcl, ucl] = lines.limits3(j);
    let (lcl, ucl) = (finite(lcl * m), finite(ucl * m));
    // NaN compares false: a missing value or limit signals nothing.
    (value, lcl, ucl, value > ucl || value < lcl)
}

/// Computes the chart as `qic(x, y, n, chart = ..., return.data = TRUE)` does.
pub fn qic<K: Ord + Clone + Send + Sync>(
    chart: Chart,
    rows: Rows<'_, K>,
    options: &Options,
) -> Result<ControlChart<K>, StatsError> {
    qic_lazy(chart, &rows, options).map(LazyChart::into_chart)
}

/// `qic`, from rows held either way, with the points left to be built on demand.
pub fn qic_lazy<'a, K: Ord + Clone + Send + Sync, R: Observations<K>>(
    chart: Chart,
    rows: &'a R,
    options: &Options,
) -> Result<LazyChart<'a, K>, StatsError> {
    validate_rows(chart, rows)?;
    let (keys, subgroups, mut values) = aggregate(chart, rows);
    let count = subgroups.len();
    let mut notes = Vec::new();
    let Layout {
        phases,
        baseline,
        include,
    } = layout(count, options, &mut notes)?;

    let got_n = rows.has_n() || chart.is_proportion();
    let m = options.multiply;
    let mut sigma_signal = Vec::new();
    let mut parts = Vec::new();
    let mut computed = Vec::new();
    for (index, range) in phases.into_iter().enumerate() {
        let (part, start) = (index + 1, range.start);
        let mut phase = limits::Phase {
            sub: subgroups.slice(range.clone()),
            value: if range.len() == count {
                std::mem::take(&mut values) // one phase, the usual case: no copy
            } else {
                values[range.clone()].to_vec()
            },
            base: collect_indexed(range.len(), |j| baseline[start + j] && include[start + j]),
        };
        let lines = limits::compute(chart, &mut phase);
        let runs = if include[range.clone()].iter().all(|&i| i) {
            runs::anhoej_values(&phase.value, lines.cl)
        } else {
            anhoej(
                range
                    .clone()
                    .filter(|&i| include[i])
                    .map(|i| (phase.value[i - start], lines.cl)),
            )
        };
        let runs_signal = runs.signal && chart != Chart::Mr;
        if runs.n_useful == 0 {
            notes.push(format!(
                "part {part}: no runs analysis: no point lies off the centre line"
            ));
        }

        let cl = finite(lines.cl * m);
        // Each point's sigma signal, on every core for a long phase; then the summary's means
        // of the limits, summed in order (as qicharts2 does, and so to the same last bit).
        let outside = collect_indexed(range.len(), |j| judged(&phase.value, &lines, m, j).3);
        let sigma_signals = outside.iter().filter(|&&o| o).count();
        if sigma_signal.is_empty() {
            sigma_signal = outside; // one phase, the usual case: no copy
        } else {
            sigma_signal.extend(outside);
        }
        let (mut cl_mean, mut lcl_mean, mut ucl_mean) =
            (Mean::default(), Mean::default(), Mean::default());
        for j in 0..range.len() {
            let [lcl, ucl] = lines.limits3(j);
            cl_mean.add(exists(cl));
            lcl_mean.add(exists(finite(lcl * m)));
            ucl_mean.add(exists(finite(ucl * m)));
        }
        if lcl_mean.count == 0 && ucl_mean.count == 0 && chart != Chart::Run {
            notes.push(format!(
                "part {part}: no control limits: {}",
                lines.why_none()
            ));
        }
        parts.push(PartSummary {
            part,
            runs: RunsAnalysis {
                signal: runs_signal,
                ..runs
            },
            sigma_signals,
            cl: cl_mean.value(),
            alcl: lcl_mean.value(),
            aucl: ucl_mean.value(),
        });
        computed.push(PhaseOut {
            range,
            part,
            value: phase.value,
            lines,
            cl,
            runs_signal,
        });
    }
    Ok(LazyChart {
        chart,
        keys,
        subgroups,
        phases: computed,
        baseline,
        include,
        sigma_signal,
        multiply: m,
        got_n,
        parts,
        notes,
    })
}

/// The mean of the quantities that exist (R's `mean(x, na.rm = TRUE)`, `None` for none).
#[derive(Default)]
struct Mean {
    sum: f64,
    count: usize,
}

impl Mean {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.count += 1;
        }
    }

    fn value(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// Rejects what no chart can be computed from, naming the row (1-based) and field.
fn validate_rows<K: Sync>(chart: Chart, rows: &impl Observations<K>) -> Result<(), StatsError> {
    let bad = |row: usize, field: &'static str, reason: String| {
        Err(StatsError::InvalidObservation {
            row: row + 1,
            field,
            reason,
        })
    };
    let len = rows.x().len();
    if len == 0 {
        return Err(StatsError::invalid("rows", "there are no rows to chart"));
    }
    if !rows.lengths_agree() {
        return Err(StatsError::invalid(
            "rows",
            "x, y and n must have one value per row",
        ));
    }
    if chart.needs_denominator() && !chart.is_proportion() && !rows.has_n() {
        return Err(StatsError::invalid(
            "n",
            format!(
                "a {} needs denominators (the exposure of each subgroup)",
                chart.title()
            ),
        ));
    }
    // What the chart asks of each row, decided once rather than per row.
    let (counts, times, proportion) = (chart.counts(), chart == Chart::T, chart.is_proportion());
    let (has_n, needs_n) = (rows.has_n(), chart.needs_denominator());
    let check = |row: usize| {
        let y = rows.y(row);
        if let Some(y) = y {
            // One test for the usual case: a finite count, non-negative and positive where the
            // chart needs it; the reason is worked out only for a bad value.
            let fine = y.is_finite()
                && !(counts && y < 0.0)
                && !(times && y <= 0.0)
                && !(proportion && !has_n && y > 1.0);
            if !fine {
                if !y.is_finite() {
                    return bad(row, "y", format!("{y} is not a finite number"));
                }
                if counts && y < 0.0 {
                    return bad(row, "y", format!("a count cannot be negative ({y})"));
                }
                if times && y <= 0.0 {
                    return bad(
                        row,
                        "y",
                        format!("time between events must be greater than zero ({y})"),
                    );
                }
                return bad(
                    row,
                    "y",
                    format!(
                        "without denominators each row is one case, so y must be 0 or 1 (it is {y})"
                    ),
                );
            }
        }
        if !has_n {
            return Ok(());
        }
        if let Some(n) = rows.n(row) {
            if !n.is_finite() || n < 0.0 {
                return bad(
                    row,
                    "n",
                    format!("a denominator must be a non-negative number ({n})"),
                );
            }
            if needs_n && n == 0.0 {
                return bad(row, "n", "zero denominator".to_string());
            }
            if proportion && y.is_some_and(|y| y > n) {
                return bad(
                    row,
                    "y",
                    format!(
                        "numerator {} is above its denominator {n}",
                        y.unwrap_or(0.0)
                    ),
                );
            }
        }
        Ok(())
    };
    // The first bad row in file order is the one reported, however the rows are checked.
    if len >= PARALLEL_POINTS {
        (0..len)
            .into_par_iter()
            .map(check)
            .find_first(Result::is_err)
            .unwrap_or(Ok(()))
    } else {
        (0..len).try_for_each(check)
    }
}

/// Groups rows by x in x order (qic() splits by x) and summarises each subgroup; with each
/// subgroup's plotted statistic, apart, so that a phase can take it over without a copy.
fn aggregate<'a, K: Ord + Clone + Send + Sync>(
    chart: Chart,
    rows: &'a impl Observations<K>,
) -> (Cow<'a, [K]>, Subgroups<'a>, Vec<f64>) {
    // Without denominators a P chart's rows are Bernoulli trials: the subgroup size is the
    // number of rows with a y.
    let got_n = rows.has_n() || chart.is_proportion();
    let x = rows.x();
    let (sorted, distinct) = x.windows(2).fold((true, true), |(s, d), w| {
        (s && w[0] <= w[1], d && w[0] != w[1])
    });
    // A row a subgroup, already in order (a long series of single counts): the keys are the
    // rows' own, each subgroup is summarised from its row when read, and only the plotted
    // values are stored, worked out on every core.
    if sorted && distinct && x.len() >= PARALLEL_POINTS {
        let one = |r: usize| single_row(rows, got_n, r);
        let values = collect_indexed(x.len(), |r| one(r).1);
        // Every row complete and no -0 (which the sum from zero turns into 0): the sums are
        // the rows' own y and n, bit for bit.
        let same = |v: f64| !v.is_nan() && v.to_bits() != (-0.0f64).to_bits();
        let borrowed = rows.columns().filter(|(y, n)| {
            n.is_some() == got_n
                && (0..x.len())
                    .into_par_iter()
                    .all(|r| same(y[r]) && n.is_none_or(|n| same(n[r])))
        });
        let subgroups = match borrowed {
            Some((y, n)) => Subgroups::Single {
                y_sum: Cow::Borrowed(y),
                n: Cow::Borrowed(n.unwrap_or(&[])),
            },
            None => Subgroups::Single {
                y_sum: Cow::Owned(collect_indexed(x.len(), |r| one(r).0.y_sum)),
                n: Cow::Owned(if got_n {
                    collect_indexed(x.len(), |r| one(r).0.n)
                } else {
                    Vec::new()
                }),
            },
        };
        return (Cow::Borrowed(x), subgroups, values);
    }
    let order = if sorted {
        Order::Identity(x.len())
    } else {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].cmp(&x[b]));
        Order::Sorted(order)
    };
    // At most one subgroup a row; capacity never written to costs no memory.
    let mut keys = Vec::with_capacity(order.len());
    let mut subgroups = Vec::with_capacity(order.len());
    let mut values = Vec::with_capacity(order.len());
    let mut i = 0;
    while i < order.len() {
        let key = &x[order.row(i)];
        let mut j = i + 1;
        while j < order.len() && x[order.row(j)] == *key {
            j += 1;
        }
        let (subgroup, value) = summarise(rows, got_n, (i..j).map(|k| order.row(k)));
        keys.push(key.clone());
        subgroups.push(subgroup);
        values.push(value);
        i = j;
    }
    (Cow::Owned(keys), Subgroups::Built(subgroups), values)
}

/// The summary of one subgroup, the rows `members`, and its plotted statistic.
fn summarise<K>(
    rows: &impl Observations<K>,
    got_n: bool,
    members: impl Iterator<Item = usize> + Clone,
) -> (Subgroup, f64) {
    // qic() drops y and n together when either is missing (complete.cases).
    let complete = |r: usize| -> Option<(f64, f64)> {
        let n = if rows.has_n() { rows.n(r)? } else { 1.0 };
        Some((rows.y(r)?, n))
    };
    let (mut sum, mut len, mut n_sum, mut rows_in) = (0.0, 0usize, 0.0, 0usize);
    for r in members.clone() {
        if let Some((y, n)) = complete(r) {
            sum += y;
            len += 1;
            n_sum += n;
        }
        rows_in += 1;
    }
    let mean = if len > 0 { sum / len as f64 } else { f64::NAN };
    let sd = if len > 1 {
        let ss: f64 = members
            .filter_map(complete)
            .map(|(y, _)| (y - mean) * (y - mean))
            .sum();
        (ss / (len - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    // A single missing row is a missing sum, not zero (qicharts2 0.7.4).
    let y_sum = if len == 0 && rows_in == 1 {
        f64::NAN
    } else {
        sum
    };
    let subgroup = Subgroup {
        y_sum,
        y_len: len,
        y_sd: sd,
        n: if got_n { n_sum } else { f64::NAN },
    };
    (subgroup, if got_n { sum / n_sum } else { mean })
}

/// `summarise` of the subgroup of row `r` alone, worked out directly.
#[inline]
fn single_row<K>(rows: &impl Observations<K>, got_n: bool, r: usize) -> (Subgroup, f64) {
    let complete = match (rows.y(r), if rows.has_n() { rows.n(r) } else { Some(1.0) }) {
        (Some(y), Some(n)) => Some((y, n)),
        _ => None,
    };
    // As summarise's sums from zero: 0.0 + y (which turns -0 into 0).
    let (y_sum, y_len, n_sum) = match complete {
        Some((y, n)) => (0.0 + y, 1, 0.0 + n),
        None => (f64::NAN, 0, 0.0),
    };
    let sum = if y_len == 1 { y_sum } else { 0.0 };
    let subgroup = Subgroup {
        y_sum,
        y_len,
        y_sd: f64::NAN,
        n: if got_n { n_sum } else { f64::NAN },
    };
    let mean = if y_len == 1 { sum / 1.0 } else { f64::NAN };
    (subgroup, if got_n { sum / n_sum } else { mean })
}

/// Rows in x order: the rows as they are, or sorted indices.
enum Order {
    Identity(usize),
    Sorted(Vec<usize>),
}

impl Order {
    fn len(&self) -> usize {
        match self {
            Order::Identity(len) => *len,
            Order::Sorted(order) => order.len(),
        }
    }

    /// The row at place `i` in x order.
    fn row(&self, i: usize) -> usize {
        match self {
            Order::Identity(_) => i,
            Order::Sorted(order) => order[i],
        }
    }
}

/// The subgroups of each phase, and whether each subgroup is in the baseline and included.
struct Layout {
    phases: Vec<std::ops::Range<usize>>,
    baseline: Vec<bool>,
    include: Vec<bool>,
}

/// Phase, baseline and inclusion of each subgroup, as qic() lays them out.
fn layout(count: usize, options: &Options, notes: &mut Vec<String>) -> Result<Layout, StatsError> {
    if !(options.multiply.is_finite() && options.multiply > 0.0) {
        return Err(StatsError::invalid("multiply", "must be a positive number"));
    }
    if !options.part_at.is_empty() && count < 2 {
        return Err(StatsError::invalid(
            "part",
            "a single subgroup cannot be split into phases",
        ));
    }
    for &at in &options.part_at {
        if at == 0 || at >= count {
            return Err(StatsError::invalid(
                "part",
                format!(
                    "a phase can start after subgroup 1 to {}, not after {at}",
                    count.saturating_sub(1)
                ),
            ));
        }
    }
    for &x in &options.exclude {
        if x == 0 || x > count {
            return Err(StatsError::invalid(
                "exclude",
                format!("subgroup {x} does not exist (there are {count})"),
            ));
        }
    }
    let mut freeze = options.freeze;
    if let Some(f) = freeze {
        if f == 0 {
            return Err(StatsError::invalid(
                "freeze",
                "the baseline needs at least one subgroup",
            ));
        }
        if !options.part_at.is_empty() {
            notes.push("freeze is ignored when phases are given, as in qic()".to_string());
            freeze = None;
        }
    }
    let mut starts: Vec<usize> = options.part_at.clone();
    starts.sort_unstable();
    starts.dedup();
    // A phase starts after each subgroup named in part_at (1-based): at its 0-based index.
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(starts)
        .chain(std::iter::once(count))
        .collect();
    let phases = bounds.windows(2).map(|b| b[0]..b[1]).collect();
    let mut baseline = vec![true; count];
    if let Some(f) = freeze {
        baseline.iter_mut().skip(f).for_each(|b| *b = false);
    }
    let mut include = vec![true; count];
    for &xx in &options.exclude {
        include[xx - 1] = false; // 1 ≤ xx ≤ count, checked above
    }
    Ok(Layout {
        phases,
        baseline,
        include,
    })
}

#[cfg(test)]
mod tests;
