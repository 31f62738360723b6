//! `rounds riskadj`: a patient-level logistic risk model and each group's observed/expected
//! (`stats::riskadj`, checked against R's glm), written as JSON or CSV.

use super::io::{self, Format};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use stats::logistic::LogisticOptions;
use stats::riskadj::{Covariate, RiskAdjustment, risk_adjust};
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
    let data = read_patients(&args)?;
    let result = risk_adjust(
        &data.outcome,
        &data.groups,
        &data.covariates,
        LogisticOptions::default(),
    )
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
    groups: Vec<String>,
    covariates: Vec<Covariate>,
}

/// Streams the file once, keeping only the named columns; every value is checked where it is
/// read, so an error names its line and column.
fn read_patients(args: &RiskAdjArgs) -> anyhow::Result<Patients> {
    let path = args.input.as_path();
    let mut reader = io::csv_reader(path)?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let outcome_at = io::column_index(path, &headers, &args.outcome)?;
    let group_at = io::column_index(path, &headers, &args.group)?;
    let numeric_at: Vec<usize> = args
        .covariates
        .iter()
        .map(|c| io::column_index(path, &headers, c))
        .collect::<Result<_, _>>()?;
    let categorical_at: Vec<usize> = args
        .categorical
        .iter()
        .map(|c| io::column_index(path, &headers, c))
        .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    if let Some(twice) = args
        .covariates
        .iter()
        .chain(&args.categorical)
        .find(|c| !seen.insert(*c))
    {
        anyhow::bail!("covariate `{twice}` is named twice");
    }

    let mut outcome = Vec::new();
    let mut groups = Vec::new();
    let mut numeric: Vec<Vec<f64>> = vec![Vec::new(); numeric_at.len()];
    let mut categorical: Vec<Vec<String>> = vec![Vec::new(); categorical_at.len()];
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .with_context(|| format!("{}: not a well-formed CSV file", path.display()))?
    {
        let at = |column: &str| {
            format!(
                "{}: line {}, column `{column}`",
                path.display(),
                io::line(&record)
            )
        };
        let y = io::number_field(path, &record, outcome_at, &args.outcome)?;
        if y != 0.0 && y != 1.0 {
            anyhow::bail!("{}: the outcome must be 0 or 1, got {y}", at(&args.outcome));
        }
        outcome.push(y);
        groups.push(non_empty(&record, group_at).with_context(|| at(&args.group))?);
        for ((column, name), values) in numeric_at.iter().zip(&args.covariates).zip(&mut numeric) {
            values.push(io::number_field(path, &record, *column, name)?);
        }
        for ((column, name), values) in categorical_at
            .iter()
            .zip(&args.categorical)
            .zip(&mut categorical)
        {
            values.push(non_empty(&record, *column).with_context(|| at(name))?);
        }
    }
    if outcome.is_empty() {
        anyhow::bail!(
            "{}: no data rows (an empty file, or a header alone)",
            path.display()
        );
    }
    let covariates = args
        .covariates
        .iter()
        .zip(numeric)
        .map(|(name, values)| Covariate::Numeric {
            name: name.clone(),
            values,
        })
        .chain(
            args.categorical
                .iter()
                .zip(categorical)
                .map(|(name, values)| Covariate::Categorical {
                    name: name.clone(),
                    values,
                }),
        )
        .collect();
    Ok(Patients {
        outcome,
        groups,
        covariates,
    })
}

/// A label field; missing labels are refused rather than made into a category of their own.
fn non_empty(record: &csv::StringRecord, column: usize) -> anyhow::Result<String> {
    match record.get(column) {
        Some(text) if !text.is_empty() => Ok(text.to_string()),
        _ => anyhow::bail!("is empty (missing values are not imputed)"),
    }
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
