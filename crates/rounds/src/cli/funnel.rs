//! `rounds funnel`: a funnel plot of groups' numerators and denominators (FunnelPlotR's method,
//! `stats::funnel`), written as JSON, CSV or SVG.

use super::io::{self, Format};
use anyhow::Context;
use charts::frame::Titles;
use clap::{Args, ValueEnum};
use serde::Serialize;
use stats::funnel::{
    Funnel, FunnelKind, FunnelOptions, FunnelPoint, GroupCounts, OutlierLimit, SrMethod, funnel,
};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// CSV with columns `group`, `numerator`, `denominator` (for `sr`: observed, expected).
    #[arg(long)]
    input: PathBuf,
    /// What the numerator and denominator are.
    #[arg(long = "type", value_enum)]
    kind: DataType,
    /// Transformation for standardised ratios: SHMI (log, truncation) or CQC (square root, winsorising).
    #[arg(long, value_enum, default_value = "shmi")]
    sr_method: SrMethodArg,
    /// The (overdispersion-adjusted) limit outside which a group is an outlier.
    #[arg(long, value_enum, default_value = "99.8")]
    limit: LimitArg,
    /// Share of z-scores winsorised (or truncated, SHMI) at each end before estimating overdispersion.
    #[arg(long, default_value_t = 0.1)]
    trim: f64,
    /// Output format; by default from the --output extension, else JSON.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file; standard output when absent.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DataType {
    /// Standardised ratio: observed / expected.
    Sr,
    Proportion,
    /// Ratio of counts.
    Ratio,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SrMethodArg {
    Shmi,
    Cqc,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LimitArg {
    #[value(name = "95")]
    P95,
    #[value(name = "99.8")]
    P998,
}

pub fn run(args: FunnelArgs) -> anyhow::Result<()> {
    let kind = match args.kind {
        DataType::Sr => FunnelKind::StandardisedRatio(match args.sr_method {
            SrMethodArg::Shmi => SrMethod::Shmi,
            SrMethodArg::Cqc => SrMethod::Cqc,
        }),
        DataType::Proportion => FunnelKind::Proportion,
        DataType::Ratio => FunnelKind::Ratio,
    };
    let limit = match args.limit {
        LimitArg::P95 => OutlierLimit::P95,
        LimitArg::P998 => OutlierLimit::P998,
    };
    let groups = read_groups(&args.input, kind)?;
    let result = funnel(
        &groups,
        FunnelOptions {
            kind,
            limit,
            trim: args.trim,
        },
    )
    .with_context(|| format!("{}", args.input.display()))?;

    let mut out = io::output(args.output.as_ref())?;
    match Format::choose(args.format, args.output.as_deref(), Format::Json) {
        Format::Json => write_json(&mut out, &result)?,
        Format::Csv => write_csv(&mut out, &result)?,
        Format::Svg => write_svg(&mut out, &result)?,
    }
    out.flush()?;
    Ok(())
}

/// Reads `group, numerator, denominator`, refusing what no funnel can show, by line and column.
fn read_groups(path: &Path, kind: FunnelKind) -> anyhow::Result<Vec<GroupCounts>> {
    let (headers, records) = io::records(path)?;
    let [group, numerator, denominator] =
        ["group", "numerator", "denominator"].map(|name| io::column_index(path, &headers, name));
    let (group, numerator, denominator) = (group?, numerator?, denominator?);
    let mut rows = Vec::with_capacity(records.len());
    for record in &records {
        let at = |column: &str| {
            format!(
                "{}: line {}, column `{column}`",
                path.display(),
                io::line(record)
            )
        };
        let name = record.get(group).unwrap_or("");
        if name.is_empty() {
            anyhow::bail!("{}: the group is empty", at("group"));
        }
        let n = io::number_field(path, record, numerator, "numerator")?;
        let d = io::number_field(path, record, denominator, "denominator")?;
        if n < 0.0 {
            anyhow::bail!("{}: {n} is negative; counts are 0 or more", at("numerator"));
        }
        if d <= 0.0 {
            anyhow::bail!(
                "{}: {d}, but a denominator must be above 0",
                at("denominator")
            );
        }
        if kind == FunnelKind::Proportion && n > d {
            anyhow::bail!("{}: {n} events exceed the denominator {d}", at("numerator"));
        }
        rows.push(GroupCounts {
            group: name.to_string(),
            numerator: n,
            denominator: d,
        });
    }
    Ok(rows)
}

/// The JSON the issue specifies: `{"groups": [...], "phi", "tau2"}`.
fn write_json(out: &mut dyn Write, result: &Funnel) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        groups: &'a [FunnelPoint],
        phi: f64,
        tau2: f64,
    }
    let document = Document {
        groups: &result.points,
        phi: result.phi,
        tau2: result.tau2,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(())
}

/// One row per group with the JSON's fields, φ and τ² repeated on every row.
fn write_csv(out: &mut dyn Write, result: &Funnel) -> anyhow::Result<()> {
    const HEADER: [&str; 18] = [
        "group",
        "numerator",
        "denominator",
        "value",
        "z",
        "z_winsorised",
        "s",
        "lcl95",
        "ucl95",
        "lcl998",
        "ucl998",
        "od_lcl95",
        "od_ucl95",
        "od_lcl998",
        "od_ucl998",
        "outlier",
        "phi",
        "tau2",
    ];
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    writer.write_record(HEADER)?;
    for point in &result.points {
        writer.serialize((point, result.phi, result.tau2))?;
    }
    writer.flush()?;
    Ok(())
}

/// The funnel plot, titled by what the numbers are.
fn write_svg(out: &mut dyn Write, result: &Funnel) -> anyhow::Result<()> {
    let (title, x_label, y_label) = match result.options.kind {
        FunnelKind::StandardisedRatio(SrMethod::Shmi) => (
            "Standardised ratio by group (SHMI method)",
            "Expected",
            "Standardised ratio (observed / expected)",
        ),
        FunnelKind::StandardisedRatio(SrMethod::Cqc) => (
            "Standardised ratio by group (CQC method)",
            "Expected",
            "Standardised ratio (observed / expected)",
        ),
        FunnelKind::Proportion => ("Proportion by group", "Denominator", "Proportion"),
        FunnelKind::Ratio => ("Ratio by group", "Denominator", "Ratio"),
    };
    let titles = Titles {
        title: title.into(),
        subtitle: Some(format!(
            "{} groups; {} outside the {} limits",
            result.points.len(),
            result.points.iter().filter(|p| p.outlier).count(),
            match result.options.limit {
                OutlierLimit::P95 => "95%",
                OutlierLimit::P998 => "99.8%",
            }
        )),
        x_label: x_label.into(),
        y_label: y_label.into(),
    };
    out.write_all(charts::funnel::render(result, &titles).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str, kind: FunnelKind) -> String {
        let path = io::temp_file("funnel-bad.csv", text);
        format!("{:#}", read_groups(&path, kind).unwrap_err())
    }

    #[test]
    fn bad_rows_are_named_by_line_and_column() {
        let sr = FunnelKind::StandardisedRatio(SrMethod::Shmi);
        let head = "group,numerator,denominator\na,1,2\n";
        assert!(
            error(&format!("{head}b,x,3\n"), sr)
                .ends_with("line 3, column `numerator`: `x` is not a number")
        );
        assert!(
            error(&format!("{head}b,-1,3\n"), sr)
                .contains("line 3, column `numerator`: -1 is negative")
        );
        assert!(
            error(&format!("{head}b,1,0\n"), sr).contains("line 3, column `denominator`: 0, but")
        );
        assert!(
            error(&format!("{head}b,4,3\n"), FunnelKind::Proportion)
                .contains("exceed the denominator")
        );
        assert!(error("group,numerator\na,1\n", sr).contains("no column `denominator`"));
        assert!(error("", sr).contains("no data rows"));
    }

    #[test]
    fn json_has_exactly_the_fields_the_issue_specifies_and_csv_the_same_columns() {
        let path = io::temp_file(
            "funnel-ok.csv",
            "group,numerator,denominator\na,10,100\nb,30,120\nc,12,90\n",
        );
        let groups = read_groups(&path, FunnelKind::Proportion).unwrap();
        let result = funnel(&groups, FunnelOptions::new(FunnelKind::Proportion)).unwrap();
        let mut json = Vec::new();
        write_json(&mut json, &result).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let mut top: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        top.sort();
        assert_eq!(top, ["groups", "phi", "tau2"]);
        let point = value["groups"][0].as_object().unwrap();
        let mut csv = Vec::new();
        write_csv(&mut csv, &result).unwrap();
        let header = String::from_utf8(csv)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        let columns: Vec<&str> = header.split(',').collect();
        assert_eq!(columns.len(), point.len() + 2);
        assert!(
            point.keys().all(|k| columns.contains(&k.as_str())),
            "{header}"
        );
        assert_eq!(&columns[columns.len() - 2..], ["phi", "tau2"]);
    }
}
