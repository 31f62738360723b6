//! `rounds pv signals`: disproportionality screening of a spontaneous-report database (a
//! report/drug/event CSV or FDA FAERS quarterly ASCII files) with PRR, ROR, BCPNN IC and MGPS
//! (`stats::disproportionality`), written as the signal table of `pharma::signals`.

use super::io::{self, Format};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use pharma::ReportPairs;
use pharma::faers::{self, DrugField, FaersOptions, Role};
use pharma::screening::{self, Settings};
use pharma::signals::{self, TableFormat};
use stats::disproportionality::{Margins, Prior};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct PvArgs {
    #[command(subcommand)]
    command: PvCommand,
}

#[derive(Debug, Subcommand)]
enum PvCommand {
    /// Screen every drug–event pair with PRR, χ², ROR, BCPNN IC and MGPS EBGM/EB05/EB95
    Signals(SignalsArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["reports", "faers"])))]
struct SignalsArgs {
    /// CSV with columns `report_id`, `drug`, `event`: one row per drug–event pair on a report.
    #[arg(long)]
    reports: Option<PathBuf>,
    /// Folder with FAERS quarterly ASCII files (DEMOyyQq.txt, DRUGyyQq.txt, REACyyQq.txt; several
    /// quarters and the Deleted/ lists allowed).
    #[arg(long)]
    faers: Option<PathBuf>,
    /// FAERS: which drugs of a report count (suspect = PS and SS).
    #[arg(long, value_enum, default_value = "suspect")]
    role: RoleArg,
    /// FAERS: name drugs by the reported name or by the active ingredient.
    #[arg(long, value_enum, default_value = "drugname")]
    drug_field: DrugFieldArg,
    /// What a, b, c, d and N count: reports (FAERS practice) or drug–event pairs (vigipy's tables).
    #[arg(long, value_enum, default_value = "reports")]
    margins: MarginsArg,
    /// Leave pairs with fewer reports out of the output (not out of the margins or the MGPS fit).
    /// 3 by default, as vigipy: no PRR, ROR or IC025 signal is possible below 3 reports, and the
    /// pairs with 1 or 2 reports are most of a database (use 1 to write every pair).
    #[arg(long, default_value_t = 3)]
    min_count: u64,
    /// MGPS: fit the prior on pairs with at least N* reports, the likelihood truncated there.
    #[arg(long, default_value_t = 1)]
    n_star: u64,
    /// MGPS signal when EB05 is at least this.
    #[arg(long, default_value_t = 2.0)]
    eb05_threshold: f64,
    /// Use this MGPS prior (JSON: alpha1, beta1, alpha2, beta2, p) instead of fitting one.
    #[arg(long)]
    prior: Option<PathBuf>,
    /// Write the prior used, with N* and its log-likelihood on these data, to this JSON file.
    #[arg(long)]
    prior_out: Option<PathBuf>,
    /// csv or json; by default from the output file's extension, else csv.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file; standard output when absent.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Suspect,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DrugFieldArg {
    Drugname,
    #[value(name = "prod_ai")]
    ProdAi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MarginsArg {
    Reports,
    Pairs,
}

pub fn run(args: PvArgs) -> anyhow::Result<()> {
    match args.command {
        PvCommand::Signals(args) => signals(args),
    }
}

fn signals(args: SignalsArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let talk = std::io::stderr().is_terminal();
    let format = match Format::choose(args.format, args.output.as_deref(), Format::Csv) {
        Format::Csv => TableFormat::Csv,
        Format::Json => TableFormat::Json,
        Format::Svg => anyhow::bail!("pv signals writes csv or json, not svg"),
    };
    let prior = args.prior.as_deref().map(read_prior).transpose()?;
    let pairs = match (&args.reports, &args.faers) {
        (Some(path), _) => read_reports(path)?,
        (_, Some(dir)) => {
            let options = FaersOptions {
                role: match args.role {
                    RoleArg::Suspect => Role::Suspect,
                    RoleArg::All => Role::All,
                },
                drug_field: match args.drug_field {
                    DrugFieldArg::Drugname => DrugField::DrugName,
                    DrugFieldArg::ProdAi => DrugField::ProdAi,
                },
            };
            let faers = faers::load_dir(dir, options)?;
            let s = &faers.summary;
            if talk {
                eprintln!(
                    "FAERS {}: {} cases ({} older versions, {} deleted), {} reports with a {} drug and an event; \
                     {} DRUG rows without a name in the chosen field, {} lines read as Latin-1",
                    s.quarters.join(", "),
                    s.cases,
                    s.superseded_versions,
                    s.deleted_cases,
                    s.reports,
                    if options.role == Role::Suspect {
                        "suspect"
                    } else {
                        "listed"
                    },
                    s.drug_rows_unnamed,
                    s.latin1_lines
                );
            }
            faers.pairs
        }
        (None, None) => unreachable!("clap requires one source"),
    };
    let settings = Settings {
        margins: match args.margins {
            MarginsArg::Reports => Margins::Reports,
            MarginsArg::Pairs => Margins::Pairs,
        },
        min_count: args.min_count,
        n_star: args.n_star,
        eb05_threshold: args.eb05_threshold,
        prior,
    };
    let result = screening::run(pairs, &settings)?;
    if talk {
        let p = &result.prior;
        eprintln!(
            "{} reports, {} drugs, {} events, {} pairs; MGPS prior {} α1={:.6} β1={:.6} α2={:.6} β2={:.6} p={:.6}, \
             log-likelihood {:.4} (N* = {})",
            result.reports,
            result.drugs.len(),
            result.events.len(),
            result.observed_pairs,
            if result.fitted { "fitted" } else { "given" },
            p.alpha1,
            p.beta1,
            p.alpha2,
            p.beta2,
            p.p,
            result.log_likelihood,
            result.n_star
        );
    }
    if let Some(path) = &args.prior_out {
        let json = serde_json::json!({
            "alpha1": result.prior.alpha1,
            "beta1": result.prior.beta1,
            "alpha2": result.prior.alpha2,
            "beta2": result.prior.beta2,
            "p": result.prior.p,
            "n_star": result.n_star,
            "log_likelihood": result.log_likelihood,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let mut out = io::output(args.output.as_ref())?;
    signals::write(
        &mut out,
        format,
        &result.pairs,
        &result.drugs,
        &result.events,
    )?;
    out.flush()?;
    if talk {
        eprintln!(
            "{} pairs written in {:.2} s",
            result.pairs.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Reads the prior JSON; fields other than the five parameters (n_star, log_likelihood) are ignored.
fn read_prior(path: &Path) -> anyhow::Result<Prior> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let prior: Prior = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a prior (alpha1, beta1, alpha2, beta2, p)",
            path.display()
        )
    })?;
    prior
        .validate()
        .with_context(|| format!("{}: invalid prior", path.display()))?;
    Ok(prior)
}

/// The columns of the reports CSV, in the order they are kept.
const REPORT_COLUMNS: [&str; 3] = ["report_id", "drug", "event"];

/// Reads `report_id, drug, event` rows, names trimmed; a row with an empty field is an error.
/// A file without quotes is cut at line ends and its parts parsed on all cores (a million
/// reports are ~8 M rows); with quotes, a quoted line break could straddle a cut, so it is read
/// in one piece.
fn read_reports(path: &Path) -> anyhow::Result<ReportPairs> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| i + 1);
    let headers = csv::ReaderBuilder::new()
        .from_reader(&bytes[..header_end])
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let mut columns = [0; 3];
    for (k, name) in REPORT_COLUMNS.iter().enumerate() {
        columns[k] = io::column_index(path, &headers, name)?;
    }
    let width = headers.len();
    let body = &bytes[header_end..];
    let parts = if body.contains(&b'"') {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(1 + body.len() / (1 << 24))
    };
    let mut cuts = vec![0];
    for k in 1..parts {
        let at = body.len() * k / parts;
        let end = body[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| at + i + 1);
        cuts.push(end.max(*cuts.last().unwrap()));
    }
    cuts.push(body.len());
    let results: Vec<anyhow::Result<ReportPairs>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let (start, end) = (w[0], w[1]);
                scope.spawn(move || {
                    // Lines before this part, for error messages: the header and earlier parts.
                    let line_base =
                        || 1 + body[..start].iter().filter(|&&b| b == b'\n').count() as u64;
                    read_report_rows(path, &body[start..end], width, columns, line_base)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread"))
            .collect()
    });
    let mut pairs = ReportPairs::default();
    for part in results {
        pairs.append(part?);
    }
    if pairs.occurrences.is_empty() {
        anyhow::bail!(
            "{}: no data rows (an empty file, or a header alone)",
            path.display()
        );
    }
    Ok(pairs)
}

/// One part of the reports CSV (no header); `line_base` gives the lines before it.
fn read_report_rows(
    path: &Path,
    rows: &[u8],
    width: usize,
    columns: [usize; 3],
    line_base: impl Fn() -> u64,
) -> anyhow::Result<ReportPairs> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(rows);
    let mut pairs = ReportPairs::default();
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            anyhow::anyhow!(
                "{}: line {}: {e}",
                path.display(),
                line_base() + e.position().map_or(0, |p| p.line())
            )
        })?;
        if !more {
            return Ok(pairs);
        }
        let line = || line_base() + record.position().map_or(0, |p| p.line());
        if record.len() != width {
            anyhow::bail!(
                "{}: line {}: {} fields where the header has {width}",
                path.display(),
                line(),
                record.len()
            );
        }
        let mut fields = [""; 3];
        for (k, &c) in columns.iter().enumerate() {
            let text = std::str::from_utf8(&record[c])
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{}: line {}, column `{}`: not UTF-8",
                        path.display(),
                        line(),
                        REPORT_COLUMNS[k]
                    )
                })?
                .trim();
            if text.is_empty() {
                anyhow::bail!(
                    "{}: line {}, column `{}`: empty",
                    path.display(),
                    line(),
                    REPORT_COLUMNS[k]
                );
            }
            fields[k] = text;
        }
        pairs.add(fields[0], fields[1], fields[2]);
    }
}
