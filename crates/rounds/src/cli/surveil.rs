//! `rounds surveil`: outbreak detection over count series (`detect`: Farrington, Noufaily, EARS
//! C1–C3, CUSUM from `stats::surveillance`) and the reproduction number over daily incidence
//! (`rt`: `stats::rt`). Series are checked here — gaps, duplicates, mixed weekly and daily
//! periods, negative counts — so the methods only ever see consecutive periods.

use super::io::{self, Format};
use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate, Weekday};
use clap::{Args, Subcommand, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;
use stats::rt::{GammaPrior, estimate_rt};
use stats::surveillance::{
    CusumControl, EarsControl, EarsMethod, Evaluation, FarringtonControl, ThresholdMethod, cusum,
    ears_c, farrington_flexible,
};
use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct SurveilArgs {
    #[command(subcommand)]
    command: SurveilCommand,
}

#[derive(Debug, Subcommand)]
enum SurveilCommand {
    /// Alarms for every evaluated period of every series (columns series, period, count[, population])
    Detect(DetectArgs),
    /// Reproduction number Rt over sliding windows of daily incidence (columns series, date, cases)
    Rt(RtArgs),
}

#[derive(Debug, Args)]
struct DetectArgs {
    #[arg(long, value_enum)]
    method: Method,
    /// CSV with columns `series`, `period` (ISO week 2024-W05 or date 2024-02-01), `count` and
    /// optionally `population` (then Farrington and Noufaily model rates: an offset log(population)).
    #[arg(long)]
    input: PathBuf,
    /// Periods to evaluate, FROM..TO inclusive (ISO weeks or dates; either end may be left out).
    /// Default: every period with the history the method needs.
    #[arg(long)]
    range: Option<String>,
    /// Significance level (default: the method's: 0.05 Farrington/Noufaily, 0.001 EARS C1/C2,
    /// 0.025 C3).
    #[arg(long)]
    alpha: Option<f64>,
    /// Years of history (Farrington, Noufaily; default 5).
    #[arg(long)]
    b: Option<usize>,
    /// Half-width in weeks of the window around the same week of past years (default 3).
    #[arg(long)]
    w: Option<usize>,
    /// Threshold of Farrington/Noufaily (default delta for farrington, nb-plugin for noufaily).
    #[arg(long, value_enum)]
    threshold_method: Option<ThresholdArg>,
    /// EARS baseline in periods (default 7).
    #[arg(long)]
    baseline: Option<usize>,
    /// CUSUM reference value k in standard deviations (default 1.04).
    #[arg(long)]
    k: Option<f64>,
    /// CUSUM decision interval h in standard deviations (default 2.26).
    #[arg(long)]
    h: Option<f64>,
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file (.csv or .json); standard output (CSV) when absent.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Method {
    /// surveillance::farringtonFlexible with its defaults.
    Farrington,
    /// farringtonFlexible with 10 seasonal periods, 26 weeks left out, negative binomial threshold.
    Noufaily,
    /// EARS C1: mean + z·sd of the previous 7 periods (surveillance::earsC).
    #[value(name = "ears-c1")]
    EarsC1,
    /// EARS C2: the same with the two most recent periods left out of the baseline.
    #[value(name = "ears-c2")]
    EarsC2,
    /// EARS C3: C2 accumulated over the last three periods.
    #[value(name = "ears-c3")]
    EarsC3,
    /// CUSUM of Poisson-standardised counts; in-control mean from the periods before the range.
    Cusum,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ThresholdArg {
    Delta,
    NbPlugin,
    Muan,
}

#[derive(Debug, Args)]
struct RtArgs {
    /// CSV with columns `series`, `date` (consecutive days), `cases`.
    #[arg(long)]
    input: PathBuf,
    /// Mean of the serial interval in days (> 1).
    #[arg(long)]
    si_mean: f64,
    /// Standard deviation of the serial interval in days.
    #[arg(long)]
    si_sd: f64,
    /// Window length in days.
    #[arg(long, default_value_t = 7)]
    window: usize,
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file (.csv or .json); standard output (CSV) when absent.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: SurveilArgs) -> anyhow::Result<()> {
    match args.command {
        SurveilCommand::Detect(args) => detect(args),
        SurveilCommand::Rt(args) => rt(args),
    }
}

// ---- Periods and series -------------------------------------------------------------------------

/// How a period was written: an ISO week or a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notation {
    IsoWeek,
    Date,
}

/// A period as a day number (the Monday of an ISO week), with how it was written.
#[derive(Debug, Clone, Copy)]
struct Period {
    day: i64,
    notation: Notation,
}

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// Parses `2024-W05` or `2024-02-01`; `None` if it is neither.
fn parse_period(text: &str) -> Option<Period> {
    if let Some((year, week)) = text.split_once("-W") {
        let date =
            NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, Weekday::Mon)?;
        return (week.len() == 2).then_some(Period {
            day: day_number(date),
            notation: Notation::IsoWeek,
        });
    }
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(Period {
        day: day_number(date),
        notation: Notation::Date,
    })
}

/// One row of a series as read.
struct Observation {
    period: Period,
    text: String,
    count: f64,
    population: Option<f64>,
    line: u64,
}

/// A series checked to be consecutive periods of one kind, in time order.
struct Series {
    name: String,
    periods: Vec<String>,
    days: Vec<i64>,
    counts: Vec<f64>,
    population: Option<Vec<f64>>,
    /// Days between periods: 7 (weekly) or 1 (daily).
    step: i64,
}

impl Series {
    fn unit(&self) -> &'static str {
        if self.step == 7 { "weeks" } else { "days" }
    }
}

/// Reads `series, <period_column>, <count_column>[, population]`, one series per distinct name in
/// order of first appearance, validating every field and then every series.
fn read_series(
    path: &Path,
    period_column: &str,
    count_column: &str,
) -> anyhow::Result<Vec<Series>> {
    // Millions of rows: trim only the fields read, not every field.
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let headers: csv::StringRecord = headers.iter().map(str::trim).collect();
    let series_at = io::column_index(path, &headers, "series")?;
    let period_at = io::column_index(path, &headers, period_column)?;
    let count_at = io::column_index(path, &headers, count_column)?;
    let population_at = headers.iter().position(|h| h == "population");

    let mut index: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<Observation>> = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .with_context(|| format!("{}: not a well-formed CSV file", path.display()))?
    {
        let line = io::line(&record);
        let at = |column: &str| format!("{}: line {line}, column `{column}`", path.display());
        let field = |column: usize| record.get(column).unwrap_or("").trim();
        let name = field(series_at);
        if name.is_empty() {
            bail!("{}: the series name is empty", at("series"));
        }
        let text = field(period_at);
        let Some(period) = parse_period(text) else {
            bail!(
                "{}: `{text}` is neither an ISO week (2024-W05) nor a date (2024-02-01)",
                at(period_column)
            );
        };
        let count = io::parse_number(path, line, count_column, field(count_at))?;
        if count < 0.0 {
            bail!(
                "{}: {count} is negative; counts are 0 or more",
                at(count_column)
            );
        }
        if count.fract() != 0.0 {
            bail!(
                "{}: {count} is not a whole number of cases",
                at(count_column)
            );
        }
        let population = match population_at {
            None => None,
            Some(column) => {
                let p = io::parse_number(path, line, "population", field(column))?;
                if p <= 0.0 {
                    bail!("{}: {p} is not a positive population", at("population"));
                }
                Some(p)
            }
        };
        let slot = match index.get(name) {
            Some(&slot) => slot,
            None => {
                index.insert(name.to_string(), names.len());
                names.push(name.to_string());
                rows.push(Vec::new());
                names.len() - 1
            }
        };
        rows[slot].push(Observation {
            period,
            text: text.to_string(),
            count,
            population,
            line,
        });
    }
    if names.is_empty() {
        bail!(
            "{}: no data rows (an empty file, or a header alone)",
            path.display()
        );
    }
    names
        .into_iter()
        .zip(rows)
        .map(|(name, rows)| check_series(path, period_column, name, rows))
        .collect()
}

/// Orders a series in time and refuses duplicates, mixed notations and gaps.
fn check_series(
    path: &Path,
    column: &str,
    name: String,
    mut rows: Vec<Observation>,
) -> anyhow::Result<Series> {
    let at =
        |row: &Observation| format!("{}: line {}, column `{column}`", path.display(), row.line);
    if let Some(row) = rows
        .iter()
        .find(|r| r.period.notation != rows[0].period.notation)
    {
        bail!(
            "{}: series `{name}` mixes ISO weeks and dates (`{}` here, `{}` on line {}); write one kind",
            at(row),
            row.text,
            rows[0].text,
            rows[0].line
        );
    }
    rows.sort_by_key(|r| r.period.day);
    let gaps: Vec<i64> = rows
        .windows(2)
        .map(|w| w[1].period.day - w[0].period.day)
        .collect();
    if let Some(i) = gaps.iter().position(|&g| g == 0) {
        let (first, second) = if rows[i].line < rows[i + 1].line {
            (&rows[i], &rows[i + 1])
        } else {
            (&rows[i + 1], &rows[i])
        };
        bail!(
            "{}: series `{name}` has `{}` twice (also line {})",
            at(second),
            second.text,
            first.line
        );
    }
    let step = match (rows[0].period.notation, gaps.iter().min()) {
        (Notation::IsoWeek, _) => 7,
        (Notation::Date, None) => 1,
        (Notation::Date, Some(&smallest)) if smallest == 1 || smallest == 7 => smallest,
        (Notation::Date, Some(&smallest)) => {
            let i = gaps.iter().position(|&g| g == smallest).unwrap_or(0);
            bail!(
                "{}: series `{name}`: `{}` follows `{}` by {smallest} days; periods must be consecutive days or weeks",
                at(&rows[i + 1]),
                rows[i + 1].text,
                rows[i].text
            );
        }
    };
    if let Some(i) = gaps.iter().position(|&g| g != step) {
        let unit = if step == 7 { "week" } else { "day" };
        if gaps[i] % step == 0 {
            bail!(
                "{}: series `{name}` has no row between `{}` and `{}` ({} missing {unit}s); add them (count 0 if there were no cases)",
                at(&rows[i + 1]),
                rows[i].text,
                rows[i + 1].text,
                gaps[i] / step - 1
            );
        }
        bail!(
            "{}: series `{name}` mixes weekly and daily periods (`{}` follows `{}` by {} days)",
            at(&rows[i + 1]),
            rows[i + 1].text,
            rows[i].text,
            gaps[i]
        );
    }
    let population = if rows.iter().all(|r| r.population.is_some()) {
        Some(
            rows.iter()
                .map(|r| r.population.unwrap_or(f64::NAN))
                .collect(),
        )
    } else {
        None
    };
    Ok(Series {
        name,
        days: rows.iter().map(|r| r.period.day).collect(),
        counts: rows.iter().map(|r| r.count).collect(),
        periods: rows.into_iter().map(|r| r.text).collect(),
        population,
        step,
    })
}

/// `FROM..TO` as an inclusive span of days; an ISO week covers its seven days.
fn parse_range(text: &str) -> anyhow::Result<(i64, i64)> {
    let Some((from, to)) = text.split_once("..") else {
        bail!("--range `{text}`: write FROM..TO, e.g. 2024-W01..2024-W52 or 2024-01-01..");
    };
    let bound = |part: &str, end: bool| -> anyhow::Result<i64> {
        if part.is_empty() {
            return Ok(if end { i64::MAX } else { i64::MIN });
        }
        let Some(p) = parse_period(part) else {
            bail!("--range: `{part}` is neither an ISO week (2024-W05) nor a date (2024-02-01)");
        };
        Ok(if end && p.notation == Notation::IsoWeek {
            p.day + 6
        } else {
            p.day
        })
    };
    let (from, to) = (bound(from.trim(), false)?, bound(to.trim(), true)?);
    if from > to {
        bail!("--range `{text}`: FROM is after TO");
    }
    Ok((from, to))
}

// ---- detect -------------------------------------------------------------------------------------

/// The configured method, ready to run on any series.
enum Detector {
    Farrington(FarringtonControl),
    Ears(EarsControl),
    Cusum(CusumControl),
}

/// Periods before the CUSUM's default range: their mean is the in-control mean.
const CUSUM_BASELINE: usize = 52;

impl Detector {
    fn new(a: &DetectArgs) -> anyhow::Result<Detector> {
        let farrington = matches!(a.method, Method::Farrington | Method::Noufaily);
        let ears = matches!(a.method, Method::EarsC1 | Method::EarsC2 | Method::EarsC3);
        let refuse = |given: bool, option: &str, methods: &str| -> anyhow::Result<()> {
            if given {
                bail!("{option}: only for {methods}");
            }
            Ok(())
        };
        refuse(
            !farrington && (a.b.is_some() || a.w.is_some()),
            "--b and --w",
            "farrington and noufaily",
        )?;
        refuse(
            !farrington && a.threshold_method.is_some(),
            "--threshold-method",
            "farrington and noufaily",
        )?;
        refuse(
            !ears && a.baseline.is_some(),
            "--baseline",
            "ears-c1, ears-c2 and ears-c3",
        )?;
        refuse(
            a.method != Method::Cusum && (a.k.is_some() || a.h.is_some()),
            "--k and --h",
            "cusum",
        )?;
        refuse(
            a.method == Method::Cusum && a.alpha.is_some(),
            "--alpha",
            "the other methods (cusum takes --k and --h)",
        )?;
        Ok(match a.method {
            Method::Farrington | Method::Noufaily => {
                let mut c = if a.method == Method::Noufaily {
                    FarringtonControl::noufaily()
                } else {
                    FarringtonControl::default()
                };
                c.alpha = a.alpha.unwrap_or(c.alpha);
                c.b = a.b.unwrap_or(c.b);
                c.w = a.w.unwrap_or(c.w);
                if let Some(t) = a.threshold_method {
                    c.threshold_method = match t {
                        ThresholdArg::Delta => ThresholdMethod::Delta,
                        ThresholdArg::NbPlugin => ThresholdMethod::NbPlugin,
                        ThresholdArg::Muan => ThresholdMethod::Muan,
                    };
                }
                Detector::Farrington(c)
            }
            Method::EarsC1 | Method::EarsC2 | Method::EarsC3 => {
                let method = match a.method {
                    Method::EarsC1 => EarsMethod::C1,
                    Method::EarsC2 => EarsMethod::C2,
                    _ => EarsMethod::C3,
                };
                let mut c = EarsControl::new(method);
                c.alpha = a.alpha.unwrap_or(c.alpha);
                c.baseline = a.baseline.unwrap_or(c.baseline);
                Detector::Ears(c)
            }
            Method::Cusum => {
                let d = CusumControl::default();
                Detector::Cusum(CusumControl {
                    k: a.k.unwrap_or(d.k),
                    h: a.h.unwrap_or(d.h),
                    m: None,
                })
            }
        })
    }

    /// Earlier periods the first evaluated period needs by default.
    fn history_needed(&self) -> usize {
        match self {
            Detector::Farrington(c) => c.history_needed(),
            Detector::Ears(c) => c.history_needed(),
            Detector::Cusum(_) => CUSUM_BASELINE,
        }
    }

    fn run(&self, s: &Series, range: Range<usize>) -> Result<Vec<Evaluation>, stats::StatsError> {
        match self {
            Detector::Farrington(c) => {
                farrington_flexible(&s.counts, s.population.as_deref(), range, c)
            }
            Detector::Ears(c) => ears_c(&s.counts, range, c),
            Detector::Cusum(c) => cusum(&s.counts, range, c),
        }
    }
}

/// One output row of `detect`.
#[derive(Debug, Serialize)]
struct Alarm<'a> {
    series: &'a str,
    period: &'a str,
    /// Whole and non-negative (checked on input).
    count: u64,
    expected: Option<f64>,
    threshold: Option<f64>,
    alarm: bool,
    /// Why there is no threshold (JSON only).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn detect(args: DetectArgs) -> anyhow::Result<()> {
    let detector = Detector::new(&args)?;
    let span = args.range.as_deref().map(parse_range).transpose()?;
    let all = read_series(&args.input, "period", "count")?;
    let method = args
        .method
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    if matches!(detector, Detector::Farrington(_))
        && let Some(s) = all.iter().find(|s| s.step != 7)
    {
        bail!(
            "{}: series `{}` is daily; {method} needs weekly periods (ears-c1..3 and cusum take days)",
            args.input.display(),
            s.name
        );
    }
    if !matches!(detector, Detector::Farrington(_)) && all.iter().any(|s| s.population.is_some()) {
        eprintln!("note: {method} does not use the population column");
    }

    // Each series is independent: evaluate them in parallel, keep input order.
    let results: Vec<anyhow::Result<Vec<Evaluation>>> = all
        .par_iter()
        .map(|s| {
            let range = match span {
                Some((from, to)) => {
                    let start = s.days.partition_point(|&d| d < from);
                    let end = s.days.partition_point(|&d| d <= to);
                    start..end.max(start)
                }
                None => detector.history_needed().min(s.counts.len())..s.counts.len(),
            };
            detector
                .run(s, range)
                .with_context(|| format!("{}: series `{}`", args.input.display(), s.name))
        })
        .collect();

    let mut rows = Vec::new();
    for (s, result) in all.iter().zip(results) {
        let evaluations = result?;
        if evaluations.is_empty() {
            match span {
                Some(_) => eprintln!("warning: series `{}` has no period in --range", s.name),
                None => eprintln!(
                    "warning: series `{}` has {} {}; {method} needs more than {} to evaluate any: nothing evaluated",
                    s.name,
                    s.counts.len(),
                    s.unit(),
                    detector.history_needed()
                ),
            }
        }
        rows.extend(evaluations.into_iter().map(|e| Alarm {
            series: &s.name,
            period: &s.periods[e.index],
            count: e.count as u64,
            expected: e.expected,
            threshold: e.threshold,
            alarm: e.alarm,
            note: e.no_threshold.map(|why| why.reason()),
        }));
    }
    let header = [
        "series",
        "period",
        "count",
        "expected",
        "threshold",
        "alarm",
    ];
    write_table(&args.output, args.format, &rows, &header, |r| {
        (
            r.series,
            r.period,
            r.count,
            finite(r.expected),
            finite(r.threshold),
            r.alarm,
        )
    })
}

/// Writes rows as JSON (all fields) or CSV (`header`, one `record` per row) to the output file
/// or standard output, by `--format` or the file's extension.
fn write_table<T: Serialize, R: Serialize>(
    output: &Option<PathBuf>,
    format: Option<Format>,
    rows: &[T],
    header: &[&str],
    record: impl Fn(&T) -> R,
) -> anyhow::Result<()> {
    let mut out = io::output(output.as_ref())?;
    match Format::choose(format, output.as_deref(), Format::Csv) {
        Format::Json => serde_json::to_writer_pretty(&mut out, rows)?,
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut out);
            w.write_record(header)?;
            for row in rows {
                w.serialize(record(row))?;
            }
            w.flush()?;
        }
        Format::Svg => bail!("rounds surveil writes CSV or JSON, not SVG"),
    }
    out.flush()?;
    Ok(())
}

/// A number, or an empty field where there is none (never "NaN").
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

// ---- rt -----------------------------------------------------------------------------------------

/// One output row of `rt`: a window and the posterior of R over it.
#[derive(Debug, Serialize)]
struct RtRow<'a> {
    series: &'a str,
    t_start: &'a str,
    t_end: &'a str,
    mean_r: Option<f64>,
    sd_r: Option<f64>,
    q025: Option<f64>,
    q50: Option<f64>,
    q975: Option<f64>,
}

fn rt(args: RtArgs) -> anyhow::Result<()> {
    let all = read_series(&args.input, "date", "cases")?;
    if let Some(s) = all.iter().find(|s| s.step != 1) {
        bail!(
            "{}: series `{}` is weekly; rt needs daily incidence",
            args.input.display(),
            s.name
        );
    }
    let estimates: Vec<anyhow::Result<Vec<stats::rt::RtWindow>>> = all
        .par_iter()
        .map(|s| {
            estimate_rt(
                &s.counts,
                args.si_mean,
                args.si_sd,
                args.window,
                GammaPrior::default(),
            )
            .with_context(|| format!("{}: series `{}`", args.input.display(), s.name))
        })
        .collect();
    let mut rows = Vec::new();
    for (s, windows) in all.iter().zip(estimates) {
        for w in windows? {
            let p = w.posterior.as_ref();
            rows.push(RtRow {
                series: &s.name,
                t_start: &s.periods[w.t_start - 1],
                t_end: &s.periods[w.t_end - 1],
                mean_r: p.map(|p| p.mean),
                sd_r: p.map(|p| p.sd),
                q025: p.map(|p| p.q025),
                q50: p.map(|p| p.q50),
                q975: p.map(|p| p.q975),
            });
        }
    }
    let header = [
        "series", "t_start", "t_end", "mean_r", "sd_r", "q025", "q50", "q975",
    ];
    write_table(&args.output, args.format, &rows, &header, |r| {
        let [mean, sd, q025, q50, q975] = [r.mean_r, r.sd_r, r.q025, r.q50, r.q975].map(finite);
        (r.series, r.t_start, r.t_end, mean, sd, q025, q50, q975)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(name: &str, text: &str) -> String {
        match read_series(&io::temp_file(name, text), "period", "count") {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    /// The shared reference files of the stats crate's parity tests.
    fn reference(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../stats/tests/fixtures/surveillance")
            .join(name)
    }

    #[test]
    fn detect_reproduces_farrington_flexible_on_the_reference_series() {
        let output = std::env::temp_dir().join(format!(
            "rounds-surveil-{}-farrington.csv",
            std::process::id()
        ));
        let args = DetectArgs {
            method: Method::Farrington,
            input: reference("counts.csv"),
            range: None,
            alpha: None,
            b: None,
            w: None,
            threshold_method: None,
            baseline: None,
            k: None,
            h: None,
            format: None,
            output: Some(output.clone()),
        };
        detect(args).unwrap();
        let ours: Vec<csv::StringRecord> = csv::Reader::from_path(&output)
            .unwrap()
            .records()
            .map(Result::unwrap)
            .collect();
        let theirs: Vec<csv::StringRecord> =
            csv::Reader::from_path(reference("farrington.expected.csv"))
                .unwrap()
                .records()
                .map(Result::unwrap)
                .collect();
        assert_eq!(ours.len(), theirs.len());
        for (o, t) in ours.iter().zip(&theirs) {
            // ours: series, period, count, expected, threshold, alarm; R: ..., threshold, alarm, expected
            assert_eq!((&o[0], &o[1], &o[2]), (&t[0], &t[1], &t[2]));
            assert_eq!(o[5].to_uppercase(), t[4]);
            for (ours, theirs) in [(&o[3], &t[5]), (&o[4], &t[3])] {
                if theirs == "NA" {
                    assert_eq!(ours, "", "{o:?}");
                } else {
                    let (a, b): (f64, f64) = (ours.parse().unwrap(), theirs.parse().unwrap());
                    assert!((a - b).abs() <= 1e-6 * b.abs(), "{o:?} vs {t:?}");
                }
            }
        }
    }

    #[test]
    fn iso_weeks_are_mondays_and_dates_are_days() {
        let w = parse_period("2024-W01").unwrap();
        assert_eq!(
            w.day,
            day_number(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
        );
        assert_eq!(
            parse_period("2020-W53").unwrap().notation,
            Notation::IsoWeek
        );
        assert!(parse_period("2021-W53").is_none(), "2021 has 52 ISO weeks");
        assert_eq!(parse_period("2024-02-29").unwrap().notation, Notation::Date);
        assert!(parse_period("2023-02-29").is_none());
    }

    #[test]
    fn rows_of_a_series_are_put_in_time_order() {
        let path = io::temp_file(
            "order.csv",
            "series,period,count\na,2024-W03,3\na,2024-W01,1\na,2024-W02,2\n",
        );
        let s = &read_series(&path, "period", "count").unwrap()[0];
        assert_eq!(s.counts, [1.0, 2.0, 3.0]);
        assert_eq!(s.step, 7);
    }

    #[test]
    fn a_missing_week_is_refused_with_the_line_and_both_neighbours() {
        let e = error(
            "gap.csv",
            "series,period,count\na,2024-W01,1\na,2024-W02,2\na,2024-W05,3\n",
        );
        assert!(
            e.contains("line 4")
                && e.contains("`2024-W02` and `2024-W05`")
                && e.contains("2 missing weeks"),
            "{e}"
        );
    }

    #[test]
    fn a_duplicate_period_names_both_lines() {
        let e = error(
            "dup.csv",
            "series,period,count\na,2024-W01,1\na,2024-W02,2\na,2024-W01,3\n",
        );
        assert!(e.contains("line 4") && e.contains("also line 2"), "{e}");
    }

    #[test]
    fn negative_and_fractional_counts_are_refused() {
        let e = error("neg.csv", "series,period,count\na,2024-W01,-1\n");
        assert!(
            e.contains("line 2, column `count`") && e.contains("negative"),
            "{e}"
        );
        let e = error("frac.csv", "series,period,count\na,2024-W01,2.5\n");
        assert!(e.contains("whole number"), "{e}");
    }

    #[test]
    fn weekly_and_daily_periods_in_one_series_are_refused() {
        let e = error(
            "mixed.csv",
            "series,period,count\na,2024-W01,1\na,2024-01-08,2\n",
        );
        assert!(e.contains("mixes ISO weeks and dates"), "{e}");
        let e = error(
            "mixed2.csv",
            "series,period,count\na,2024-01-01,1\na,2024-01-02,2\na,2024-01-09,3\n",
        );
        assert!(e.contains("line 4") && e.contains("no row between"), "{e}");
        let e = error(
            "mixed3.csv",
            "series,period,count\na,2024-01-01,1\na,2024-01-08,2\na,2024-01-11,3\n",
        );
        assert!(e.contains("consecutive days or weeks"), "{e}");
    }

    #[test]
    fn weekly_dates_are_weeks() {
        let path = io::temp_file(
            "weekly-dates.csv",
            "series,period,count\na,2015-01-05,1\na,2015-01-12,0\nb,2015-01-05,4\n",
        );
        let all = read_series(&path, "period", "count").unwrap();
        assert_eq!(all[0].step, 7);
        assert_eq!(all[1].counts, [4.0]);
    }

    #[test]
    fn a_range_of_iso_weeks_covers_whole_weeks() {
        let (from, to) = parse_range("2024-W02..2024-W03").unwrap();
        assert_eq!(to - from, 13);
        assert_eq!(parse_range("..2024-01-31").unwrap().0, i64::MIN);
        assert!(parse_range("2024-W05..2024-W01").is_err());
    }
}
