//! `rounds spc`: a control chart (qicharts2's method, `stats::spc`) from a CSV of rows, written
//! as JSON, CSV or SVG. Rows with the same x form one subgroup; subgroups are ordered by x as
//! numbers, as ISO dates, or else in the order they first appear in the file.

use super::io::{self, Format};
use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use stats::StatsError;
use stats::spc::{Chart, Columns, LazyChart, Options, RuleSet, qic_lazy, rule_violations_in};
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
    let rows = Columns {
        x: &data.subgroups.rank,
        y: &data.y,
        n: data.n.as_deref(),
    };
    // Points are built as they are written, or all at once for the SVG and zone rules.
    let result = qic_lazy(chart, &rows, &options).map_err(|e| data.explain(&args, e))?;
    for note in &result.notes {
        eprintln!("note: {note}");
    }
    let violations = match args.rules {
        Some(rules) => Some(rule_violations_in(chart, &result.points(), rules.set())?),
        None => None,
    };

    let format = Format::choose(args.format, args.output.as_deref(), Format::Json);
    let mut out = io::output(args.output.as_ref())?;
    if format == Format::Svg {
        let titles = titles(&args, chart, data.n.is_some());
        let full = result.into_chart();
        out.write_all(
            charts::control::render(&full, &titles, |&rank| data.label(rank).to_string())
                .as_bytes(),
        )?;
    } else {
        let written = Written {
            chart: &result,
            data: &data,
            rules: violations.as_deref(),
            only_signals: args.points == PointsArg::Signals,
        };
        match format {
            Format::Csv => written.csv(&mut out)?,
            _ => written.json(&mut out, args.rules.map(RulesArg::name))?,
        }
    }
    out.flush().context("cannot write the output")?;
    Ok(())
}

/// The subgroups' order: each row's subgroup as a dense rank (0, 1, … in x order), which is
/// what `qic` groups and sorts by, and for each rank the first row holding it, whose text
/// labels the point. Four bytes a row and a point, where a million-point chart is bound by
/// the memory it fills.
struct Subgroups {
    rank: Vec<u32>,
    /// Empty where every row is its own subgroup, in order: the rank is the row.
    first_row: Vec<u32>,
}

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

    fn append(&mut self, other: Labels) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|e| e + offset));
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as u32).map(|row| self.get(row))
    }
}

/// The x text of each row: read into `Labels`, or, for a file read by the plain fast path,
/// found in the file's bytes when a point is written (a row's line start is kept, 4 bytes).
enum RowLabels {
    Read(Labels),
    InFile {
        bytes: Vec<u8>,
        starts: Vec<u32>,
        column: usize,
    },
}

impl RowLabels {
    fn get(&self, row: u32) -> &str {
        match self {
            RowLabels::Read(labels) => labels.get(row),
            RowLabels::InFile {
                bytes,
                starts,
                column,
            } => {
                let line = &bytes[starts[row as usize] as usize..];
                let end = line
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .unwrap_or(line.len());
                let field = line[..end]
                    .split(|&b| b == b',')
                    .nth(*column)
                    .unwrap_or(b"");
                // The plain path read this field as a decimal: ASCII.
                std::str::from_utf8(field).unwrap_or_default()
            }
        }
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

/// The file line of each row, kept as the rows where the numbering jumps (blank lines, line
/// breaks inside quotes, the start of the file): a single entry for most files.
#[derive(Debug, Default)]
struct Lines {
    jumps: Vec<(usize, u64)>,
    rows: usize,
}

impl Lines {
    /// `rows` rows on consecutive lines from `first`.
    fn consecutive(first: u64, rows: usize) -> Lines {
        Lines {
            jumps: vec![(0, first)],
            rows,
        }
    }

    fn push(&mut self, line: u64) {
        let expected = self
            .jumps
            .last()
            .map(|&(row, at)| at + (self.rows - row) as u64);
        if expected != Some(line) {
            self.jumps.push((self.rows, line));
        }
        self.rows += 1;
    }

    /// The line of row `row` (0-based), if there is such a row.
    fn get(&self, row: usize) -> Option<u64> {
        if row >= self.rows {
            return None;
        }
        let i = self.jumps.partition_point(|&(r, _)| r <= row);
        let (r, at) = self.jumps[i - 1];
        Some(at + (row - r) as u64)
    }

    fn append(&mut self, other: Lines) {
        let offset = self.rows;
        for (row, at) in other.jumps {
            self.jumps.push((row + offset, at));
        }
        self.rows += other.rows;
    }
}

/// The rows of one piece of the file, in file order.
struct Piece {
    labels: Labels,
    /// Each label as a number, while every label so far is one.
    numbers: Option<Vec<f64>>,
    /// NaN where missing (`stats::spc::Columns`).
    y: Vec<f64>,
    n: Vec<f64>,
    lines: Lines,
}

impl Piece {
    fn with_capacity(rows: usize, got_n: bool) -> Piece {
        Piece {
            labels: Labels {
                text: String::with_capacity(rows * 8),
                ends: Vec::with_capacity(rows),
            },
            numbers: Some(Vec::with_capacity(rows)),
            y: Vec::with_capacity(rows),
            n: Vec::with_capacity(if got_n { rows } else { 0 }),
            lines: Lines::default(),
        }
    }

    /// Appends the rows of the piece after this one; the columns are copied side by side, as
    /// copying into fresh memory is what it costs.
    fn append(&mut self, other: Piece) {
        let numbers = &mut self.numbers;
        rayon::join(
            || {
                self.labels.append(other.labels);
                *numbers = match (numbers.take(), other.numbers) {
                    (Some(mut all), Some(more)) => {
                        all.extend(more);
                        Some(all)
                    }
                    _ => None,
                };
            },
            || {
                self.y.extend(other.y);
                self.n.extend(other.n);
            },
        );
        self.lines.append(other.lines);
    }
}

struct Data {
    subgroups: Subgroups,
    labels: RowLabels,
    /// NaN where missing (`stats::spc::Columns`).
    y: Vec<f64>,
    n: Option<Vec<f64>>,
    lines: Lines,
    n_column: Option<String>,
}

impl Data {
    /// The text of the subgroup of rank `rank`.
    fn label(&self, rank: u32) -> &str {
        let first_row = &self.subgroups.first_row;
        self.labels.get(if first_row.is_empty() {
            rank
        } else {
            first_row[rank as usize]
        })
    }

    /// A statistics error about a row, told in the file's own lines and column names.
    fn explain(&self, args: &Args, error: StatsError) -> anyhow::Error {
        match error {
            StatsError::InvalidObservation { row, field, reason } => {
                let column = match field {
                    "y" => args.y.as_str(),
                    "n" => self.n_column.as_deref().unwrap_or("n"),
                    _ => args.x.as_str(),
                };
                let line = row
                    .checked_sub(1)
                    .and_then(|r| self.lines.get(r))
                    .unwrap_or(row as u64 + 1);
                anyhow::anyhow!(
                    "{}: line {line}, column `{column}`: {reason}",
                    args.input.display()
                )
            }
            other => anyhow::anyhow!("{}: {other}", args.input.display()),
        }
    }
}

/// Reads the x, y and n columns, checking each value where it is read; a million-row file is
/// read in pieces on every core (`io::Table`), with x read as a number on the way.
fn read(args: &Args, chart: Chart) -> anyhow::Result<Data> {
    let path = &args.input;
    let table = io::Table::read(path)?;
    let x_col = table.column(&args.x)?;
    let y_col = table.column(&args.y)?;
    let n_column = match (&args.n, chart.needs_denominator()) {
        (Some(name), _) => Some(name.clone()),
        // Default `n`, unless a P chart's file has none: then each row is one case.
        (None, true)
            if chart == Chart::U
                || chart == Chart::UPrime
                || table.headers.iter().any(|h| h == "n") =>
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
        .map(|name| table.column(name))
        .transpose()?;
    let n_name = n_column.as_deref().unwrap_or("n");

    // Nearly every file: numbers without quotes or blank lines, read in one pass.
    let wanted: Vec<usize> = [Some(x_col), Some(y_col), n_col]
        .into_iter()
        .flatten()
        .collect();
    let distinct = wanted
        .iter()
        .enumerate()
        .all(|(i, c)| !wanted[..i].contains(c));
    if let Some(plain) = distinct.then(|| table.plain_numbers(&wanted)).flatten() {
        let first_line = table.first_line();
        let mut columns = plain.columns.into_iter();
        let (numbers, y) = (
            columns.next().unwrap_or_default(),
            columns.next().unwrap_or_default(),
        );
        let n = n_col.map(|_| columns.next().unwrap_or_default());
        if y.len() > u32::MAX as usize {
            anyhow::bail!("{}: more than {} rows", path.display(), u32::MAX);
        }
        // A row a subgroup, in x order (the usual long series): ranks are rows, found on
        // every core without a pass over the numbers on this one.
        let number_order = {
            use rayon::prelude::*;
            numbers
                .par_windows(2)
                .all(|w| w[0].total_cmp(&w[1]) == Ordering::Less)
        };
        let (rank, first_row) = if number_order {
            ((0..numbers.len() as u32).collect(), Vec::new())
        } else {
            let (rank, count) = number_ranks(&numbers);
            let first_row = first_rows(&rank, count);
            (rank, first_row)
        };
        drop(numbers);
        return Ok(Data {
            lines: Lines::consecutive(first_line, y.len()),
            subgroups: Subgroups { rank, first_row },
            labels: RowLabels::InFile {
                bytes: table.into_bytes(),
                starts: plain.starts,
                column: x_col,
            },
            y,
            n,
            n_column,
        });
    }

    let pieces = table.rows(
        |rows| Piece::with_capacity(rows, n_col.is_some()),
        |piece, fields, line| {
            let label = std::str::from_utf8(fields[x_col])
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{}: line {line}, column `{}`: not UTF-8 text",
                        path.display(),
                        args.x
                    )
                })?
                .trim();
            if label.is_empty() {
                anyhow::bail!(
                    "{}: line {line}, column `{}`: the subgroup is empty",
                    path.display(),
                    args.x
                );
            }
            piece.labels.push(label);
            if let Some(numbers) = piece.numbers.as_mut() {
                match io::finite_number(label.as_bytes()) {
                    Some(number) => numbers.push(number),
                    None => piece.numbers = None,
                }
            }
            let missing = f64::NAN;
            piece
                .y
                .push(value(path, fields[y_col], line, &args.y)?.unwrap_or(missing));
            if let Some(col) = n_col {
                piece
                    .n
                    .push(value(path, fields[col], line, n_name)?.unwrap_or(missing));
            }
            piece.lines.push(line);
            Ok(())
        },
    )?;
    let mut pieces = pieces.into_iter();
    let mut all = pieces.next().expect("a file with rows has a piece");
    pieces.for_each(|piece| all.append(piece));
    if all.labels.len() > u32::MAX as usize {
        anyhow::bail!("{}: more than {} rows", path.display(), u32::MAX);
    }
    Ok(Data {
        subgroups: subgroups(&all.labels, all.numbers),
        labels: RowLabels::Read(all.labels),
        y: all.y,
        n: n_col.map(|_| all.n),
        lines: all.lines,
        n_column,
    })
}

/// A value cell: a number, TRUE/FALSE as 1/0, or missing (empty or NA, as R writes it).
fn value(path: &Path, bytes: &[u8], line: u64, name: &str) -> anyhow::Result<Option<f64>> {
    Ok(match bytes.trim_ascii() {
        b"" | b"NA" => None,
        b"TRUE" | b"true" | b"True" => Some(1.0),
        b"FALSE" | b"false" | b"False" => Some(0.0),
        // The shared reader's message names file, line and column.
        number => Some(io::parse_number_bytes(path, line, name, number)?),
    })
}

/// Subgroups ordered as numbers if every label is one (`numbers`, read with the labels), as
/// ISO dates (in time order), else in the order labels first appear.
fn subgroups(labels: &Labels, numbers: Option<Vec<f64>>) -> Subgroups {
    let (rank, count) = if let Some(numbers) = numbers {
        number_ranks(&numbers)
    } else if labels.iter().all(iso_date) {
        // Text order is time order for ISO dates: a label's rank is its place among the
        // distinct labels.
        let mut distinct: Vec<&str> = labels.iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let rank = labels
            .iter()
            .map(|l| distinct.binary_search(&l).unwrap_or(0) as u32)
            .collect();
        (rank, distinct.len())
    } else {
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let rank = labels
            .iter()
            .map(|l| {
                let next = seen.len() as u32;
                *seen.entry(l).or_insert(next)
            })
            .collect();
        (rank, seen.len())
    };
    let first_row = first_rows(&rank, count);
    Subgroups { rank, first_row }
}

/// For each of `count` ranks, the first row holding it.
fn first_rows(rank: &[u32], count: usize) -> Vec<u32> {
    let mut first_row = vec![u32::MAX; count];
    for (row, &r) in rank.iter().enumerate() {
        if first_row[r as usize] == u32::MAX {
            first_row[r as usize] = row as u32;
        }
    }
    first_row
}

/// Dense ranks of numbers (equal numbers share one), and how many distinct there are. A file in
/// x order, the usual one, is ranked in one pass; any other is sorted first.
fn number_ranks(numbers: &[f64]) -> (Vec<u32>, usize) {
    let differ = |a: f64, b: f64| a.total_cmp(&b) != Ordering::Equal;
    if numbers
        .windows(2)
        .all(|w| w[0].total_cmp(&w[1]) != Ordering::Greater)
    {
        let mut next = 0u32;
        let rank = numbers
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if i > 0 && differ(numbers[i - 1], v) {
                    next += 1;
                }
                next
            })
            .collect();
        return (rank, next as usize + 1);
    }
    let mut order: Vec<u32> = (0..numbers.len() as u32).collect();
    order.sort_by(|&a, &b| numbers[a as usize].total_cmp(&numbers[b as usize]));
    let mut rank = vec![0u32; numbers.len()];
    let mut next = 0u32;
    for (i, &row) in order.iter().enumerate() {
        if i > 0 && differ(numbers[order[i - 1] as usize], numbers[row as usize]) {
            next += 1;
        }
        rank[row as usize] = next;
    }
    (rank, next as usize + 1)
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
    chart: &'a LazyChart<'a, u32>,
    data: &'a Data,
    rules: Option<&'a [Vec<u8>]>,
    only_signals: bool,
}

impl Written<'_> {
    /// Whether point `i` is written.
    fn chosen(&self, i: usize) -> bool {
        !self.only_signals
            || self.chart.sigma_signal(i)
            || self.rules.is_some_and(|r| !r[i].is_empty())
    }

    /// Point `i` as a JSON object or CSV row (the fields of the issue's `points`).
    fn point(&self, i: usize, buf: &mut Vec<u8>, format: Format) {
        let p = &self.chart.point(i);
        let mut record = io::Record::start(buf, format);
        record.text("x", self.data.label(p.x));
        let numbers = [
            ("y", p.y()),
            ("n", p.n()),
            ("value", p.value()),
            ("cl", p.cl()),
            ("lcl", p.lcl()),
            ("ucl", p.ucl()),
            ("lcl_95", p.lcl_95()),
            ("ucl_95", p.ucl_95()),
        ];
        for (name, value) in numbers {
            record.number(name, value);
        }
        record.boolean("sigma_signal", p.sigma_signal);
        record.boolean("runs_signal", p.runs_signal);
        record.integer("part", p.part);
        record.boolean("baseline", p.baseline);
        if let Some(rules) = self.rules {
            record.integers("rule_violations", &rules[i]);
        }
        record.end();
    }

    fn json(&self, out: &mut dyn Write, rules_name: Option<&'static str>) -> anyhow::Result<()> {
        let summary: Vec<SummaryOut> = self
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
        write!(out, "{{\"chart\":\"{}\"", self.chart.chart.code())?;
        if let Some(rules) = rules_name {
            write!(out, ",\"rules\":\"{rules}\"")?;
        }
        out.write_all(b",\"points\":[")?;
        io::write_in_parallel(out, self.chart.len(), Some(b','), |i, buf| {
            if self.chosen(i) {
                buf.push(b',');
                self.point(i, buf, Format::Json);
            }
        })?;
        out.write_all(b"],\"summary\":")?;
        serde_json::to_writer(&mut *out, &summary)?;
        out.write_all(b"}\n")?;
        Ok(())
    }

    fn csv(&self, out: &mut dyn Write) -> anyhow::Result<()> {
        let mut header = String::from(
            "x,y,n,value,cl,lcl,ucl,lcl_95,ucl_95,sigma_signal,runs_signal,part,baseline",
        );
        if self.rules.is_some() {
            header.push_str(",rule_violations");
        }
        writeln!(out, "{header}")?;
        io::write_in_parallel(out, self.chart.len(), None, |i, buf| {
            if self.chosen(i) {
                self.point(i, buf, Format::Csv);
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(texts: &[&str]) -> Vec<String> {
        let mut labels = Labels::default();
        texts.iter().for_each(|t| labels.push(t));
        let numbers = texts
            .iter()
            .map(|t| io::finite_number(t.as_bytes()))
            .collect();
        let ranks = subgroups(&labels, numbers).rank;
        let mut rows: Vec<u32> = (0..texts.len() as u32).collect();
        rows.sort_by_key(|&row| ranks[row as usize]);
        rows.iter()
            .map(|&row| labels.get(row).to_string())
            .collect()
    }

    #[test]
    fn subgroups_sort_as_numbers_dates_or_in_file_order() {
        assert_eq!(sorted(&["10", "9", "10.0"]), ["9", "10", "10.0"]);
        assert_eq!(sorted(&["1", "2", "2.0", "3"]), ["1", "2", "2.0", "3"]);
        assert_eq!(sorted(&["-0.5", "2", "-1e3"]), ["-1e3", "-0.5", "2"]);
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
    fn points_written_by_hand_read_back_as_the_chart_in_json_and_csv() {
        let input = io::temp_file(
            "spc-written.csv",
            "x,y,n\n\"ward \"\"A\"\"\",3,40\n\"b,c\",NA,30\nJan,5,25\n\"ward \"\"A\"\"\",2,10\n",
        );
        let args = Args {
            chart: ChartArg::P,
            input,
            x: "x".into(),
            y: "y".into(),
            n: None,
            multiply: 1.0,
            freeze: None,
            part_at: Vec::new(),
            exclude: Vec::new(),
            rules: None,
            points: PointsArg::All,
            title: None,
            format: None,
            output: None,
        };
        let data = read(&args, Chart::P).unwrap();
        let rows = Columns {
            x: &data.subgroups.rank,
            y: &data.y,
            n: data.n.as_deref(),
        };
        let chart = qic_lazy(Chart::P, &rows, &Options::default()).unwrap();
        let written = Written {
            chart: &chart,
            data: &data,
            rules: None,
            only_signals: false,
        };
        let (mut json, mut csv) = (Vec::new(), Vec::new());
        written.json(&mut json, None).unwrap();
        written.csv(&mut csv).unwrap();

        let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let points = document["points"].as_array().unwrap();
        let mut table = csv::Reader::from_reader(csv.as_slice());
        let records: Vec<csv::StringRecord> = table.records().map(Result::unwrap).collect();
        assert_eq!((points.len(), records.len()), (3, 3));
        let labels = ["ward \"A\"", "b,c", "Jan"];
        let built = chart.points();
        for ((p, (point, record)), label) in
            built.iter().zip(points.iter().zip(&records)).zip(labels)
        {
            assert_eq!(point["x"], label);
            assert_eq!(&record[0], label);
            assert_eq!(point["value"].as_f64(), p.value());
            assert_eq!(record[3].parse::<f64>().ok(), p.value());
            assert_eq!(point["ucl"].as_f64(), p.ucl());
            assert_eq!(record[6].parse::<f64>().ok(), p.ucl());
        }
        // The subgroup with no y: missing in both, not zero.
        assert!(points[1]["value"].is_null() && records[1][3].is_empty());
        assert_eq!(document["summary"][0]["n_obs"], 3);
    }

    #[test]
    fn a_bad_row_after_blank_lines_is_named_by_its_own_line() {
        let mut lines = Lines::default();
        for line in [2, 3, 5, 6, 9] {
            lines.push(line);
        }
        let mut more = Lines::default();
        more.push(12);
        lines.append(more);
        let found: Vec<Option<u64>> = (0..7).map(|row| lines.get(row)).collect();
        assert_eq!(
            found,
            [Some(2), Some(3), Some(5), Some(6), Some(9), Some(12), None]
        );
    }

    #[test]
    fn values_read_r_logicals_and_missing_values() {
        let path = Path::new("f.csv");
        assert_eq!(value(path, b"TRUE", 2, "y").unwrap(), Some(1.0));
        assert_eq!(value(path, b" NA", 2, "y").unwrap(), None);
        assert_eq!(value(path, b" 0.25 ", 2, "y").unwrap(), Some(0.25));
        let err = value(path, b"seven", 2, "deaths").unwrap_err().to_string();
        assert!(
            err.ends_with("line 2, column `deaths`: `seven` is not a number"),
            "{err}"
        );
    }
}
