//! `rounds riskadj`: a patient-level logistic risk model and each group's observed/expected
//! (`stats::riskadj`, checked against R's glm), written as JSON or CSV.

use super::io::{self, Format};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use stats::logistic::LogisticOptions;
use stats::riskadj::{Covariate, Labels, RiskAdjustment, risk_adjust};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RiskAdjArgs {
    /// Patient-level CSV with a header.
    #[arg(long)]
    input: PathBuf,
    /// The outcome column, 0 or 1 per patient.
    #[arg(long)]
    outcome: String,
    /// The column naming each patient's group (hospital, unit, practitioner).
    #[arg(long)]
    group: String,
    /// Numeric risk factors, comma-separated.
    #[arg(long, value_delimiter = ',')]
    covariates: Vec<String>,
    /// Categorical risk factors, comma-separated; the first level in sorted order is the reference.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Output format, json or csv; by default from the --output extension, else JSON.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file; standard output when absent.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: RiskAdjArgs) -> anyhow::Result<()> {
    let format = Format::choose(args.format, args.output.as_deref(), Format::Json);
    if format == Format::Svg {
        anyhow::bail!("riskadj writes json or csv");
    }
    let (outcome, groups, covariates) = read_patients(&args)?;
    let result = risk_adjust(&outcome, &groups, &covariates, LogisticOptions::default())
        .with_context(|| format!("{}", args.input.display()))?;
    let mut out = io::output(args.output.as_ref())?;
    match format {
        Format::Csv => write_csv(&mut out, &result)?,
        _ => {
            serde_json::to_writer_pretty(&mut out, &result)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The columns a model needs, one value per patient.
struct Patients {
    outcome: Vec<f64>,
    groups: Labels,
    numeric: Vec<Vec<f64>>,
    categorical: Vec<Labels>,
}

impl Patients {
    fn with_capacity(layout: &Layout, rows: usize) -> Self {
        Patients {
            outcome: Vec::with_capacity(rows),
            groups: Labels::with_capacity(rows),
            // Built one by one: cloning an empty Vec would drop its capacity.
            numeric: layout
                .numeric
                .iter()
                .map(|_| Vec::with_capacity(rows))
                .collect(),
            categorical: layout
                .categorical
                .iter()
                .map(|_| Labels::with_capacity(rows))
                .collect(),
        }
    }
}

/// Where the columns a model needs sit in the file.
struct Layout<'a> {
    args: &'a RiskAdjArgs,
    fields: usize,
    outcome: usize,
    group: usize,
    numeric: Vec<usize>,
    categorical: Vec<usize>,
}

/// Reads the file, keeping only the named columns; every value is checked where it is read, so
/// an error names its line and column. A million-row file is read in pieces on every core (when
/// it has no quoted fields, which could hold line breaks), from raw bytes, decoding and trimming
/// only the fields used and interning labels.
fn read_patients(args: &RiskAdjArgs) -> anyhow::Result<(Vec<f64>, Labels, Vec<Covariate>)> {
    let path = args.input.as_path();
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        anyhow::bail!("{}: the file is empty", path.display());
    }
    let mut head = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let mut headers = head
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    headers.trim();
    let find = |names: &[String]| -> anyhow::Result<Vec<usize>> {
        names
            .iter()
            .map(|c| io::column_index(path, &headers, c))
            .collect()
    };
    let layout = Layout {
        args,
        fields: headers.len(),
        outcome: io::column_index(path, &headers, &args.outcome)?,
        group: io::column_index(path, &headers, &args.group)?,
        numeric: find(&args.covariates)?,
        categorical: find(&args.categorical)?,
    };
    let mut seen = HashSet::new();
    if let Some(twice) = args
        .covariates
        .iter()
        .chain(&args.categorical)
        .find(|c| !seen.insert(*c))
    {
        anyhow::bail!("covariate `{twice}` is named twice");
    }

    let body = &bytes[head.position().byte() as usize..];
    let first_line = head.position().line();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if body.iter().all(u8::is_ascii_whitespace) {
        anyhow::bail!("{}: no data rows, only a header", path.display());
    }
    let quoted = body.contains(&b'"');
    let pieces = split_at_lines(body, if quoted { 1 } else { 4 * threads });
    // The file line each piece starts on, for error messages.
    let mut starts = Vec::with_capacity(pieces.len());
    let mut line = first_line;
    for piece in &pieces {
        starts.push(line);
        line += piece.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    starts.push(line);
    let per_thread = pieces.len().div_ceil(threads);
    let parsed: Vec<anyhow::Result<Patients>> = std::thread::scope(|scope| {
        let layout = &layout;
        let handles: Vec<_> = pieces
            .chunks(per_thread)
            .enumerate()
            .map(|(chunk, pieces)| {
                let starts = &starts[chunk * per_thread..];
                // Lines in these pieces: an upper bound on their records, so no column regrows.
                let lines = (starts[pieces.len()] - starts[0]) as usize;
                scope.spawn(move || {
                    let mut patients = Patients::with_capacity(layout, lines);
                    for (piece, &start) in pieces.iter().zip(starts) {
                        read_piece(layout, piece, start, quoted, &mut patients)?;
                    }
                    Ok(patients)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a reader thread panicked"))
            .collect()
    });

    let mut all = Patients::with_capacity(&layout, (line - first_line) as usize);
    for part in parsed {
        let part = part?;
        all.outcome.extend(part.outcome);
        all.groups.append(part.groups);
        all.numeric
            .iter_mut()
            .zip(part.numeric)
            .for_each(|(a, p)| a.extend(p));
        all.categorical
            .iter_mut()
            .zip(part.categorical)
            .for_each(|(a, p)| a.append(p));
    }
    let covariates = args
        .covariates
        .iter()
        .zip(all.numeric)
        .map(|(name, values)| Covariate::Numeric {
            name: name.clone(),
            values,
        })
        .chain(
            args.categorical
                .iter()
                .zip(all.categorical)
                .map(|(name, values)| Covariate::Categorical {
                    name: name.clone(),
                    values,
                }),
        )
        .collect();
    Ok((all.outcome, all.groups, covariates))
}

/// Splits `body` into about `pieces` parts, each ending at a line break.
fn split_at_lines(body: &[u8], pieces: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(pieces);
    let mut rest = body;
    let target = body.len() / pieces.max(1) + 1;
    while !rest.is_empty() {
        let cut = match rest
            .get(target..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
        {
            Some(offset) => target + offset + 1,
            None => rest.len(),
        };
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// Reads the records of one piece of the body, whose first line is `first_line` of the file.
/// Without quotes a CSV line is its fields split at commas, which is several times faster than
/// a general CSV parser; quoted files go through the `csv` crate.
fn read_piece(
    layout: &Layout,
    piece: &[u8],
    first_line: u64,
    quoted: bool,
    into: &mut Patients,
) -> anyhow::Result<()> {
    let path = layout.args.input.as_path();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(layout.fields);
    if !quoted {
        for (offset, text) in piece.split(|&b| b == b'\n').enumerate() {
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.is_empty() {
                continue; // as the csv crate, blank lines are not records
            }
            fields.clear();
            fields.extend(text.split(|&b| b == b','));
            read_row(layout, &fields, first_line + offset as u64, into)?;
        }
        return Ok(());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(piece);
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e
                .position()
                .map_or(first_line, |p| first_line + p.line() - 1);
            anyhow::anyhow!("{}: line {line}: not well-formed CSV ({e})", path.display())
        })?;
        if !more {
            return Ok(());
        }
        let line = first_line + record.position().map_or(1, |p| p.line()) - 1;
        let fields: Vec<&[u8]> = record.iter().collect();
        read_row(layout, &fields, line, into)?;
    }
}

/// Checks one record's fields and appends the values the model needs.
fn read_row(
    layout: &Layout,
    fields: &[&[u8]],
    line: u64,
    into: &mut Patients,
) -> anyhow::Result<()> {
    let args = layout.args;
    let path = args.input.as_path();
    if fields.len() != layout.fields {
        anyhow::bail!(
            "{}: line {line}: {} fields where the header has {}",
            path.display(),
            fields.len(),
            layout.fields
        );
    }
    let at = |name: &str| format!("{}: line {line}, column `{name}`", path.display());
    let text = |column: usize, name: &str| -> anyhow::Result<&str> {
        std::str::from_utf8(fields[column])
            .map(str::trim)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", at(name)))
    };
    let label = |column: usize, name: &str| -> anyhow::Result<&str> {
        match text(column, name)? {
            "" => anyhow::bail!("{}: is empty (missing values are not imputed)", at(name)),
            label => Ok(label),
        }
    };
    let y = io::parse_number_bytes(path, line, &args.outcome, fields[layout.outcome])?;
    if y != 0.0 && y != 1.0 {
        anyhow::bail!("{}: the outcome must be 0 or 1, got {y}", at(&args.outcome));
    }
    into.outcome.push(y);
    into.groups.push(label(layout.group, &args.group)?);
    for ((&column, name), values) in layout
        .numeric
        .iter()
        .zip(&args.covariates)
        .zip(&mut into.numeric)
    {
        values.push(io::parse_number_bytes(path, line, name, fields[column])?);
    }
    for ((&column, name), values) in layout
        .categorical
        .iter()
        .zip(&args.categorical)
        .zip(&mut into.categorical)
    {
        values.push(label(column, name)?);
    }
    Ok(())
}

/// One CSV table for three kinds of record, told apart by `record`: `coefficient` rows (term,
/// estimate, se, z, p), `model` rows (a statistic's name and value in `estimate`) and `group`
/// rows (patients, observed, expected, oe and its interval).
fn write_csv(out: &mut dyn Write, result: &RiskAdjustment) -> anyhow::Result<()> {
    #[derive(Serialize, Default)]
    struct Row<'a> {
        record: &'a str,
        name: &'a str,
        estimate: Option<f64>,
        se: Option<f64>,
        z: Option<f64>,
        p: Option<f64>,
        patients: Option<usize>,
        observed: Option<f64>,
        expected: Option<f64>,
        oe: Option<f64>,
        oe_lower: Option<f64>,
        oe_upper: Option<f64>,
    }
    let mut writer = csv::Writer::from_writer(out);
    for c in &result.model.coefficients {
        writer.serialize(Row {
            record: "coefficient",
            name: &c.term,
            estimate: Some(c.estimate),
            se: Some(c.se),
            z: Some(c.z),
            p: Some(c.p),
            ..Row::default()
        })?;
    }
    let hl = result.hosmer_lemeshow.as_ref();
    let statistics = [
        ("deviance", Some(result.model.deviance)),
        ("null_deviance", Some(result.model.null_deviance)),
        ("iterations", Some(result.model.iterations as f64)),
        ("c_statistic", Some(result.c_statistic)),
        ("hosmer_lemeshow_statistic", hl.map(|h| h.statistic)),
        ("hosmer_lemeshow_df", hl.map(|h| h.df as f64)),
        ("hosmer_lemeshow_p", hl.map(|h| h.p_value)),
    ];
    for (name, value) in statistics {
        writer.serialize(Row {
            record: "model",
            name,
            estimate: value,
            ..Row::default()
        })?;
    }
    for g in &result.groups {
        writer.serialize(Row {
            record: "group",
            name: &g.group,
            patients: Some(g.patients),
            observed: Some(g.observed),
            expected: Some(g.expected),
            oe: Some(g.oe),
            oe_lower: Some(g.oe_lower),
            oe_upper: Some(g.oe_upper),
            ..Row::default()
        })?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str, text: &str) -> RiskAdjArgs {
        let input = io::temp_file(&format!("riskadj-{name}"), text);
        RiskAdjArgs {
            input,
            outcome: "died".into(),
            group: "unit".into(),
            covariates: vec!["age".into()],
            categorical: vec!["sex".into()],
            format: None,
            output: None,
        }
    }

    fn rows(count: usize) -> String {
        let mut text = String::from("unit,died,age,sex\n");
        for i in 0..count {
            text.push_str(&format!(
                "u{},{},{}.5,{}\n",
                i % 3,
                i % 2,
                40 + i % 37,
                ["F", "M"][i % 5 % 2]
            ));
        }
        text
    }

    #[test]
    fn a_file_read_in_parallel_pieces_equals_the_same_file_read_by_the_csv_parser() {
        let plain = rows(500);
        // A quote anywhere sends the file through the csv crate in one piece.
        let quoted = plain.replacen("u0,", "\"u0\",", 1);
        let (y1, g1, c1) = read_patients(&args("plain.csv", &plain)).unwrap();
        let (y2, g2, c2) = read_patients(&args("quoted.csv", &quoted)).unwrap();
        assert_eq!((y1.len(), &y1, &c1), (500, &y2, &c2));
        assert_eq!(g1.codes, g2.codes);
    }

    #[test]
    fn an_error_deep_in_the_file_names_its_own_line_whichever_piece_holds_it() {
        let mut text = rows(400);
        text = text.replacen("u1,1,41.5", "u1,1,forty", 1); // data row 2: file line 3
        let message = format!("{:#}", read_patients(&args("bad1.csv", &text)).unwrap_err());
        assert!(
            message.ends_with("line 3, column `age`: `forty` is not a number"),
            "{message}"
        );
        let mut lines: Vec<String> = rows(400).lines().map(String::from).collect();
        lines[351] = "u0,2,50.5,F".into();
        let message = format!(
            "{:#}",
            read_patients(&args("bad2.csv", &lines.join("\n"))).unwrap_err()
        );
        assert!(
            message.ends_with("line 352, column `died`: the outcome must be 0 or 1, got 2"),
            "{message}"
        );
    }

    #[test]
    fn missing_and_malformed_input_is_refused_with_a_reason() {
        let err =
            |name: &str, text: &str| format!("{:#}", read_patients(&args(name, text)).unwrap_err());
        assert!(err("empty.csv", "").ends_with("the file is empty"));
        assert!(err("header.csv", "unit,died,age,sex\n").ends_with("no data rows, only a header"));
        assert!(err("nocol.csv", "unit,died,sex\nu,1,F\n").contains("no column `age`"));
        assert!(
            err("short.csv", "unit,died,age,sex\nu,1,40\n")
                .ends_with("line 2: 3 fields where the header has 4")
        );
        assert!(
            err("label.csv", "unit,died,age,sex\nu,1,40,\n")
                .contains("line 2, column `sex`: is empty")
        );
    }
}
