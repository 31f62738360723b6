//! `rounds spc`: a control chart (qicharts2's method, `stats::spc`) from a CSV of rows, written
//! as JSON, CSV or SVG. Rows with the same x form one subgroup; subgroups are ordered by x as
//! numbers, as ISO dates, or else in the order they first appear in the file.

use super::io::{self, Format};
use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use stats::StatsError;
use stats::spc::{Chart, ControlChart, Options, Point, Rows, RuleSet, qic, rule_violations};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Chart type: run, i, mr, xbar, s, t, p, pp (P′, Laney), c, u, up (U′, Laney), g.
    #[arg(long, value_enum)]
    chart: ChartArg,
    /// CSV file with a header row.
    #[arg(long)]
    input: PathBuf,
    /// Column of subgroup labels (dates, numbers or names); rows with the same x are one subgroup.
    #[arg(long, default_value = "x")]
    x: String,
    /// Column of values (counts, measurements; TRUE/FALSE read as 1/0; empty or NA is missing).
    #[arg(long, default_value = "y")]
    y: String,
    /// Column of denominators. Defaults to `n` for p, pp, u and up charts; a P chart without
    /// one reads each row as one case.
    #[arg(long)]
    n: Option<String>,
    /// Multiply values, centre line and limits by K (e.g. 100 for percent, 1000 per 1,000 days).
    #[arg(long, default_value_t = 1.0)]
    multiply: f64,
    /// Use the first N subgroups as the baseline for centre line and limits.
    #[arg(long)]
    freeze: Option<usize>,
    /// Start a new phase after subgroups I, J, … (1-based), each with its own lines.
    #[arg(long, value_delimiter = ',')]
    part_at: Vec<usize>,
    /// Leave subgroups I, J, … (1-based) out of the calculations (they are still shown).
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<usize>,
    /// Also apply a Shewhart zone rule set and report, per point, the rules it breaks.
    #[arg(long, value_enum)]
    rules: Option<RulesArg>,
    /// Points to write to JSON or CSV: every subgroup, or only those outside the limits (or
    /// breaking a `--rules` rule). For long series the summary and the flagged points are what
    /// a reader acts on. The SVG always shows every point.
    #[arg(long, value_enum, default_value = "all")]
    points: PointsArg,
    /// Title of the SVG chart.
    #[arg(long)]
    title: Option<String>,
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file; standard output when absent.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChartArg {
    Run,
    I,
    Mr,
    Xbar,
    S,
    T,
    P,
    Pp,
    C,
    U,
    Up,
    G,
}

impl ChartArg {
    fn chart(self) -> Chart {
        let code = self.to_possible_value().expect("every chart has a name");
        Chart::from_code(code.get_name()).expect("chart codes match stats::spc")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PointsArg {
    All,
    Signals,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RulesArg {
    /// Western Electric rules 1–4.
    WesternElectric,
    /// Nelson rules 1–8.
    Nelson,
}

impl RulesArg {
    fn set(self) -> RuleSet {
        match self {
            RulesArg::WesternElectric => RuleSet::WesternElectric,
            RulesArg::Nelson => RuleSet::Nelson,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RulesArg::WesternElectric => "western-electric",
            RulesArg::Nelson => "nelson",
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let chart = args.chart.chart();
    let data = read(&args, chart)?;
    let options = Options {
        multiply: args.multiply,
        freeze: args.freeze,
        part_at: args.part_at.clone(),
        exclude: args.exclude.clone(),
    };
    let rows = Rows {
        x: &data.x,
        y: &data.y,
        n: data.n.as_deref(),
    };
    let result = qic(chart, rows, &options).map_err(|e| data.explain(&args, e))?;
    for note in &result.notes {
        eprintln!("note: {note}");
    }
    let violations = match args.rules {
        Some(rules) => Some(rule_violations(&result, rules.set())?),
        None => None,
    };

    let written = Written {
        chart: &result,
        labels: &data.labels,
        rules: violations.as_deref(),
        only_signals: args.points == PointsArg::Signals,
    };
    let format = Format::choose(args.format, args.output.as_deref(), Format::Json);
    let mut out = io::output(args.output.as_ref())?;
    match format {
        Format::Json => written.json(&mut out, args.rules.map(RulesArg::name))?,
        Format::Csv => written.csv(&mut out)?,
        Format::Svg => {
            let titles = titles(&args, chart, data.n.is_some());
            out.write_all(
                charts::control::render(&result, &titles, |x| data.labels.get(x.row).to_string())
                    .as_bytes(),
            )?;
        }
    }
    out.flush().context("cannot write the output")?;
    Ok(())
}

/// A subgroup's x: ordered by `rank`; its text is row `row` of the x column. Small and `Copy`,
/// because a chart of a million subgroups carries one per point.
#[derive(Debug, Clone, Copy)]
struct X {
    rank: f64,
    row: u32,
}

impl Ord for X {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank.total_cmp(&other.rank)
    }
}
impl PartialOrd for X {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for X {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for X {}

/// The x column's text, in one buffer rather than a string per row.
#[derive(Debug, Default)]
struct Labels {
    text: String,
    ends: Vec<usize>,
}

impl Labels {
    fn push(&mut self, label: &str) {
        self.text.push_str(label);
        self.ends.push(self.text.len());
    }

    fn get(&self, row: u32) -> &str {
        let row = row as usize;
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.text[start..self.ends[row]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as u32).map(|row| self.get(row))
    }
}

/// ISO 8601 dates (2024-03, 2024-03-01, 2024-03-01T08:00…) sort as text in time order.
fn iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && (b.len() == 7
            || (b.len() >= 10 && b[7] == b'-' && b[8..10].iter().all(u8::is_ascii_digit)))
}

struct Data {
    x: Vec<X>,
    labels: Labels,
    y: Vec<Option<f64>>,
    n: Option<Vec<Option<f64>>>,
    /// File line of each row, for messages.
    lines: Vec<u64>,
    n_column: Option<String>,
}

impl Data {
    /// A statistics error about a row, told in the file's own lines and column names.
    fn explain(&self, args: &Args, error: StatsError) -> anyhow::Error {
        match error {
            StatsError::InvalidObservation { row, field, reason } => {
                let column = match field {
                    "y" => args.y.as_str(),
                    "n" => self.n_column.as_deref().unwrap_or("n"),
                    _ => args.x.as_str(),
                };
                let line = self.lines.get(row - 1).copied().unwrap_or(row as u64 + 1);
                anyhow::anyhow!(
                    "{}: line {line}, column `{column}`: {reason}",
                    args.input.display()
                )
            }
            other => anyhow::anyhow!("{}: {other}", args.input.display()),
        }
    }
}

fn read(args: &Args, chart: Chart) -> anyhow::Result<Data> {
    let path = &args.input;
    let mut reader = io::csv_reader(path)?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    if headers.is_empty() {
        anyhow::bail!("{}: an empty file (no header row)", path.display());
    }
    let x_col = io::column_index(path, &headers, &args.x)?;
    let y_col = io::column_index(path, &headers, &args.y)?;
    let n_column = match (&args.n, chart.needs_denominator()) {
        (Some(name), _) => Some(name.clone()),
        // Default `n`, unless a P chart's file has none: then each row is one case.
        (None, true)
            if chart == Chart::U || chart == Chart::UPrime || headers.iter().any(|h| h == "n") =>
        {
            Some("n".to_string())
        }
        _ => None,
    };
    if n_column.is_none() && matches!(chart, Chart::P | Chart::PPrime) {
        eprintln!("note: no denominator column: each row is one case and y must be 0 or 1");
    }
    let n_col = n_column
        .as_deref()
        .map(|name| io::column_index(path, &headers, name))
        .transpose()?;

    let mut labels = Labels::default();
    let mut y = Vec::new();
    let mut n = n_col.map(|_| Vec::new());
    let mut lines = Vec::new();
    // Byte records: a million-row file is parsed without a string per field.
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .with_context(|| format!("{}: not a well-formed CSV file", path.display()))?
    {
        let line = record.position().map_or(0, |p| p.line());
        let label = std::str::from_utf8(record.get(x_col).unwrap_or(b"")).map_err(|_| {
            anyhow::anyhow!(
                "{}: line {line}, column `{}`: not UTF-8 text",
                path.display(),
                args.x
            )
        })?;
        labels.push(label.trim());
        y.push(value(path, &record, y_col, &args.y)?);
        if let (Some(n), Some(col)) = (n.as_mut(), n_col) {
            n.push(value(
                path,
                &record,
                col,
                n_column.as_deref().unwrap_or("n"),
            )?);
        }
        lines.push(line);
    }
    if labels.len() == 0 {
        anyhow::bail!(
            "{}: no data rows (an empty file, or a header alone)",
            path.display()
        );
    }
    if let Some(i) = labels.iter().position(str::is_empty) {
        anyhow::bail!(
            "{}: line {}, column `{}`: the subgroup is empty",
            path.display(),
            lines[i],
            args.x
        );
    }
    Ok(Data {
        x: keys(&labels),
        labels,
        y,
        n,
        lines,
        n_column,
    })
}

/// A value cell: a number, TRUE/FALSE as 1/0, or missing (empty or NA, as R writes it).
fn value(
    path: &Path,
    record: &csv::ByteRecord,
    column: usize,
    name: &str,
) -> anyhow::Result<Option<f64>> {
    let bytes = record.get(column).unwrap_or(b"");
    Ok(match bytes {
        b"" | b"NA" => None,
        b"TRUE" | b"true" | b"True" => Some(1.0),
        b"FALSE" | b"false" | b"False" => Some(0.0),
        _ => match std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
        {
            Some(v) if v.is_finite() => Some(v),
            // The shared reader's message names file, line and column.
            _ => {
                let mut text = csv::StringRecord::from_byte_record_lossy(record.clone());
                text.set_position(record.position().cloned());
                io::number_field(path, &text, column, name)?;
                anyhow::bail!("{}: column `{name}`: not a finite number", path.display())
            }
        },
    })
}

/// Subgroup keys: numbers if every label is one, ISO dates (in time order), else the order in
/// which labels first appear.
fn keys(labels: &Labels) -> Vec<X> {
    let numbers: Option<Vec<f64>> = labels
        .iter()
        .map(|l| l.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let ranks: Vec<f64> = if let Some(numbers) = numbers {
        numbers
    } else if labels.iter().all(iso_date) {
        // Text order is time order for ISO dates: rank each row by its label's place among
        // the distinct labels.
        let mut distinct: Vec<&str> = labels.iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        labels
            .iter()
            .map(|l| distinct.binary_search(&l).unwrap_or(0) as f64)
            .collect()
    } else {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        labels
            .iter()
            .map(|l| {
                let next = seen.len();
                *seen.entry(l).or_insert(next) as f64
            })
            .collect()
    };
    ranks
        .into_iter()
        .enumerate()
        .map(|(row, rank)| X {
            rank,
            row: row as u32,
        })
        .collect()
}

fn titles(args: &Args, chart: Chart, got_n: bool) -> charts::frame::Titles {
    let mut y_label = args.y.clone();
    if got_n {
        y_label = format!("{y_label} / {}", args.n.as_deref().unwrap_or("n"));
    }
    if args.multiply != 1.0 {
        y_label = format!("{y_label} × {}", args.multiply);
    }
    charts::frame::Titles {
        title: args
            .title
            .clone()
            .unwrap_or_else(|| format!("{} of {y_label}", chart.title())),
        subtitle: Some(format!(
            "{} · centre line and 3-sigma limits as qicharts2; runs analysis by the Anhøj rules",
            args.input
                .file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        )),
        x_label: args.x.clone(),
        y_label,
    }
}

/// One point as written; `R` is how the rules it breaks are written (a JSON array, or
/// `1;5` in a CSV cell).
#[derive(Serialize)]
struct PointOut<'a, R> {
    x: &'a str,
    y: Option<f64>,
    n: Option<f64>,
    value: Option<f64>,
    cl: Option<f64>,
    lcl: Option<f64>,
    ucl: Option<f64>,
    lcl_95: Option<f64>,
    ucl_95: Option<f64>,
    sigma_signal: bool,
    runs_signal: bool,
    part: usize,
    baseline: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_violations: Option<R>,
}

#[derive(Serialize)]
struct SummaryOut {
    part: usize,
    n_obs: usize,
    n_useful: usize,
    longest_run: Option<usize>,
    longest_run_max: Option<usize>,
    n_crossings: Option<usize>,
    n_crossings_min: Option<usize>,
    runs_signal: bool,
    sigma_signal: usize,
    cl: Option<f64>,
    alcl: Option<f64>,
    aucl: Option<f64>,
}

/// A computed chart with what is needed to write it: the x text and any rule flags.
struct Written<'a> {
    chart: &'a ControlChart<X>,
    labels: &'a Labels,
    rules: Option<&'a [Vec<u8>]>,
    only_signals: bool,
}

impl<'a> Written<'a> {
    fn points<R>(
        &self,
        write_rules: impl Fn(&[u8]) -> R + 'a,
    ) -> impl Iterator<Item = PointOut<'a, R>> + 'a {
        let (labels, rules, only_signals) = (self.labels, self.rules, self.only_signals);
        let flagged =
            move |i: usize, p: &Point<X>| p.sigma_signal || rules.is_some_and(|r| !r[i].is_empty());
        let chosen = self
            .chart
            .points
            .iter()
            .enumerate()
            .filter(move |(i, p)| !only_signals || flagged(*i, p));
        chosen.map(move |(i, p)| PointOut {
            x: labels.get(p.x.row),
            y: p.y,
            n: p.n,
            value: p.value,
            cl: p.cl,
            lcl: p.lcl,
            ucl: p.ucl,
            lcl_95: p.lcl_95,
            ucl_95: p.ucl_95,
            sigma_signal: p.sigma_signal,
            runs_signal: p.runs_signal,
            part: p.part,
            baseline: p.baseline,
            rule_violations: rules.map(|r| write_rules(&r[i])),
        })
    }

    fn json(&self, out: &mut dyn Write, rules_name: Option<&'static str>) -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct Document<'a> {
            chart: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            rules: Option<&'static str>,
            points: Vec<PointOut<'a, Vec<u8>>>,
            summary: Vec<SummaryOut>,
        }
        let summary = self
            .chart
            .parts
            .iter()
            .map(|s| SummaryOut {
                part: s.part,
                n_obs: s.runs.n_obs,
                n_useful: s.runs.n_useful,
                longest_run: s.runs.longest_run,
                longest_run_max: s.runs.longest_run_max,
                n_crossings: s.runs.n_crossings,
                n_crossings_min: s.runs.n_crossings_min,
                runs_signal: s.runs.signal,
                sigma_signal: s.sigma_signals,
                cl: s.cl,
                alcl: s.alcl,
                aucl: s.aucl,
            })
            .collect();
        let document = Document {
            chart: self.chart.chart.code(),
            rules: rules_name,
            points: self.points(<[u8]>::to_vec).collect(),
            summary,
        };
        serde_json::to_writer(&mut *out, &document)?;
        out.write_all(b"\n")?;
        Ok(())
    }

    fn csv(&self, out: &mut dyn Write) -> anyhow::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        let joined = |r: &[u8]| r.iter().map(u8::to_string).collect::<Vec<_>>().join(";");
        for point in self.points(joined) {
            writer.serialize(point)?;
        }
        writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(texts: &[&str]) -> Vec<String> {
        let mut labels = Labels::default();
        texts.iter().for_each(|t| labels.push(t));
        let mut keys = keys(&labels);
        keys.sort();
        keys.iter().map(|k| labels.get(k.row).to_string()).collect()
    }

    #[test]
    fn subgroups_sort_as_numbers_dates_or_in_file_order() {
        assert_eq!(sorted(&["10", "9", "10.0"]), ["9", "10", "10.0"]);
        assert_eq!(
            sorted(&["2024-10", "2024-02", "2023-12", "2024-02"]),
            ["2023-12", "2024-02", "2024-02", "2024-10"]
        );
        assert_eq!(
            sorted(&["Jan", "Feb", "Mar", "Jan"]),
            ["Jan", "Jan", "Feb", "Mar"]
        );
    }

    #[test]
    fn values_read_r_logicals_and_missing_values() {
        let path = Path::new("f.csv");
        let record = csv::ByteRecord::from(vec!["TRUE", "NA", "seven"]);
        assert_eq!(value(path, &record, 0, "y").unwrap(), Some(1.0));
        assert_eq!(value(path, &record, 1, "y").unwrap(), None);
        let err = value(path, &record, 2, "deaths").unwrap_err().to_string();
        assert!(
            err.ends_with("column `deaths`: `seven` is not a number"),
            "{err}"
        );
    }
}
