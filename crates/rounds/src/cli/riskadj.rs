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
    outcome: usize,
    group: usize,
    numeric: Vec<usize>,
    categorical: Vec<usize>,
}

/// Reads the file, keeping only the named columns; every value is checked where it is read, so
/// an error names its line and column. A million-row file is read in pieces on every core
/// (`io::Table`), decoding and trimming only the fields used and interning labels.
fn read_patients(args: &RiskAdjArgs) -> anyhow::Result<(Vec<f64>, Labels, Vec<Covariate>)> {
    let table = io::Table::read(&args.input)?;
    let find = |names: &[String]| -> anyhow::Result<Vec<usize>> {
        names.iter().map(|c| table.column(c)).collect()
    };
    let layout = Layout {
        args,
        outcome: table.column(&args.outcome)?,
        group: table.column(&args.group)?,
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

    let parsed = table.rows(
        |lines| Patients::with_capacity(&layout, lines),
        |patients, fields, line| read_row(&layout, fields, line, patients),
    )?;
    let rows = parsed.iter().map(|p| p.outcome.len()).sum();
    let mut all = Patients::with_capacity(&layout, rows);
    for part in parsed {
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

/// Checks one record's fields and appends the values the model needs.
fn read_row(
    layout: &Layout,
    fields: &[&[u8]],
    line: u64,
    into: &mut Patients,
) -> anyhow::Result<()> {
    let args = layout.args;
    let path = args.input.as_path();
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
