//! `rounds import …`: clinical data into the store, all or nothing (or, with --skip-invalid, the
//! good records with the bad ones written to a file). Progress on a terminal, a per-type summary
//! at the end; the run is kept in the import history and audited as `import.run`.

use super::database::{self, DatabaseArgs};
use anyhow::Context;
use clap::{Args, Subcommand};
use clinical::import::template::{self, Template};
use clinical::import::{self, Options, Summary};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    command: ImportCommand,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
struct Common {
    /// The system of record the data comes from; re-importing from the same source updates
    /// records by their ids instead of adding new ones
    #[arg(long = "source", value_name = "NAME", default_value = import::DEFAULT_SOURCE)]
    source: String,
    /// Load the good records and write the bad ones to --rejects instead of refusing the import
    #[arg(long)]
    skip_invalid: bool,
    /// Where --skip-invalid writes the rejected records (default: rejects.txt)
    #[arg(long, value_name = "FILE", default_value = "rejects.txt")]
    rejects: PathBuf,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Records whose ids the importer keeps in memory (about 250 bytes each) before it writes
    /// what it holds and finds the rest in the database: what bounds an import's memory
    #[arg(long, value_name = "N", default_value_t = import::RECORDS_IN_MEMORY)]
    records_in_memory: usize,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// FHIR R4: bulk-export NDJSON (.ndjson, .ndjson.gz, one file per type) and Bundles (.json)
    Fhir {
        /// Files or directories, in any order
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Only read and check the files (no database, nothing written): the parse-only floor
        /// the import benchmark compares against
        #[arg(long)]
        parse_only: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Synthea's CSV export: a directory with patients.csv, encounters.csv, conditions.csv,
    /// procedures.csv, providers.csv, organizations.csv, payers.csv (any published layout)
    SyntheaCsv {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Rounds' CSV templates (docs/clinical/csv-templates.md)
    Csv {
        #[arg(long, value_enum)]
        kind: CsvKind,
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CsvKind {
    /// One row per encounter, with its patient, organisation, attending and principal diagnosis
    Encounters,
    /// One row per procedure
    Procedures,
    /// One row per diagnosis (condition) of an encounter
    Diagnoses,
    /// name,system,code[,description]: replaces each set named in the file
    ValueSets,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    if let ImportCommand::Fhir {
        paths,
        parse_only: true,
        ..
    } = &args.command
    {
        let started = Instant::now();
        let (records, problems) = import::fhir::parse_only(paths)?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "parsed {records} resources in {seconds:.2} s ({:.0} resources/s), {problems} problems",
            records as f64 / seconds.max(1e-9)
        );
        return Ok(());
    }
    let (kind, common) = match &args.command {
        ImportCommand::Fhir { common, .. } => ("fhir", common.clone()),
        ImportCommand::SyntheaCsv { common, .. } => ("synthea-csv", common.clone()),
        ImportCommand::Csv { common, .. } => ("csv", common.clone()),
    };
    let mut options = Options {
        source_system: common.source.clone(),
        skip_invalid: common.skip_invalid,
        actor: "console".to_string(),
        address: "local".to_string(),
        max_problems: 100,
        progress: progress(),
        records_in_memory: common.records_in_memory.max(1),
    };
    let result = database::with_db(&args.db, async |_, db| {
        let outcome: Result<Option<Summary>, clinical::Error> = match &args.command {
            ImportCommand::Fhir { paths, .. } => import::run(db, paths, &mut options).await.map(Some),
            ImportCommand::SyntheaCsv { dir, .. } => import::synthea::run(db, dir, &mut options).await.map(Some),
            ImportCommand::Csv { kind: CsvKind::Encounters, file, .. } => template::run(db, Template::Encounters, file, &mut options).await.map(Some),
            ImportCommand::Csv { kind: CsvKind::Procedures, file, .. } => template::run(db, Template::Procedures, file, &mut options).await.map(Some),
            ImportCommand::Csv { kind: CsvKind::Diagnoses, file, .. } => template::run(db, Template::Diagnoses, file, &mut options).await.map(Some),
            ImportCommand::Csv { kind: CsvKind::ValueSets, file, .. } => import::template::load_value_sets(db, file, &options).await.map(|(added, removed)| {
                println!("value sets from {}: {added} codes added, {removed} removed; outcomes recomputed", file.display());
                None
            }),
        };
        Ok(outcome)
    })?;
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
    match result {
        Ok(None) => Ok(()),
        Ok(Some(summary)) => report(kind, &summary, &common),
        Err(clinical::Error::Rejected { summary, problems }) => {
            eprint!("{}", summary.table());
            for p in &problems {
                eprintln!("{p}");
            }
            let total = summary.rejected_total();
            if total > problems.len() as u64 {
                eprintln!("… and {} more", total - problems.len() as u64);
            }
            anyhow::bail!(
                "import refused, nothing was written: {total} bad record{} (fix them, or load the good ones with --skip-invalid)",
                if total == 1 { "" } else { "s" }
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn report(kind: &str, summary: &Summary, common: &Common) -> anyhow::Result<()> {
    if !summary.rejects.is_empty() {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&common.rejects)
                .with_context(|| format!("{}: cannot create", common.rejects.display()))?,
        );
        for p in &summary.rejects {
            writeln!(out, "{p}")?;
        }
        out.flush()?;
    }
    if common.json {
        println!("{}", serde_json::to_string_pretty(summary)?);
    } else {
        print!("{}", summary.table());
        let t = summary.total();
        let rate = if summary.seconds > 0.0 {
            t.read as f64 / summary.seconds
        } else {
            0.0
        };
        println!(
            "{kind} import {} from source '{}' in {:.1} s ({rate:.0} resources/s); outcomes recomputed for {} encounters",
            summary.run_id.map_or(String::new(), |id| format!("#{id}")),
            summary.source_system,
            summary.seconds,
            summary.outcomes_recomputed
        );
    }
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    if summary.warning_count > summary.warnings.len() as u64 {
        eprintln!(
            "warning: … and {} more",
            summary.warning_count - summary.warnings.len() as u64
        );
    }
    if !summary.rejects.is_empty() {
        eprintln!(
            "{} rejected records written to {}",
            summary.rejects.len(),
            common.rejects.display()
        );
    }
    Ok(())
}

/// Resources and resources/s on stderr when it is a terminal; nothing when piped.
fn progress() -> Option<Box<dyn FnMut(u64) + Send + Sync>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let started = Instant::now();
    Some(Box::new(move |n| {
        let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-3);
        eprint!("\r\x1b[K{n} resources, {rate:.0}/s");
    }))
}
