//! Imports as jobs: files uploaded through the web page or `POST /api/v1/imports` are saved in a
//! folder of their own under the data directory, imported by the `clinical.import` job with the
//! same all-or-nothing import as the command line (progress shown on the jobs page), and deleted
//! once the import has a result: patient data is not kept outside the store.

use crate::import::template::{self, Template};
use crate::import::{self, Options, Summary};
use crate::{Error, Result};
use platform::Db;
use platform::jobs::{JobContext, Registry};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const KIND: &str = "clinical.import";

/// What can be imported, and from where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    /// FHIR R4 NDJSON (plain or gzip) and Bundles.
    Fhir,
    /// The CSV export of Synthea (patients.csv, encounters.csv, …).
    SyntheaCsv,
    /// Rounds' CSV templates.
    CsvEncounters,
    CsvProcedures,
    CsvDiagnoses,
    CsvValueSets,
}

impl ImportKind {
    pub const ALL: [(ImportKind, &'static str); 6] = [
        (ImportKind::Fhir, "FHIR R4 (NDJSON, .ndjson.gz, Bundles)"),
        (ImportKind::SyntheaCsv, "Synthea CSV export (all its files)"),
        (ImportKind::CsvEncounters, "Rounds CSV: encounters"),
        (ImportKind::CsvProcedures, "Rounds CSV: procedures"),
        (ImportKind::CsvDiagnoses, "Rounds CSV: diagnoses"),
        (ImportKind::CsvValueSets, "Rounds CSV: value sets"),
    ];

    pub fn parse(text: &str) -> std::result::Result<ImportKind, String> {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map_err(|_| format!("'{text}' is not an import kind (fhir, synthea-csv, csv-encounters, csv-procedures, csv-diagnoses, csv-value-sets)"))
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ImportKind::Fhir => "fhir",
            ImportKind::SyntheaCsv => "synthea-csv",
            ImportKind::CsvEncounters => "csv-encounters",
            ImportKind::CsvProcedures => "csv-procedures",
            ImportKind::CsvDiagnoses => "csv-diagnoses",
            ImportKind::CsvValueSets => "csv-value-sets",
        }
    }
}

/// Runs one import of `kind` from `folder` (every file in it). `None` for value sets, which
/// have no per-type summary.
pub async fn import(
    db: &Db,
    kind: &ImportKind,
    folder: &Path,
    options: &mut Options,
) -> Result<Option<Summary>> {
    let single = || -> Result<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(|e| Error::File {
                path: folder.display().to_string(),
                reason: e.to_string(),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        match files.len() {
            1 => Ok(files.remove(0)),
            n => Err(Error::Invalid(format!(
                "a CSV-template import takes one file, not {n}"
            ))),
        }
    };
    Ok(match kind {
        ImportKind::Fhir => Some(import::run(db, &[folder.to_path_buf()], options).await?),
        ImportKind::SyntheaCsv => Some(import::synthea::run(db, folder, options).await?),
        ImportKind::CsvEncounters => {
            Some(template::run(db, Template::Encounters, &single()?, options).await?)
        }
        ImportKind::CsvProcedures => {
            Some(template::run(db, Template::Procedures, &single()?, options).await?)
        }
        ImportKind::CsvDiagnoses => {
            Some(template::run(db, Template::Diagnoses, &single()?, options).await?)
        }
        ImportKind::CsvValueSets => {
            template::load_value_sets(db, &single()?, options).await?;
            None
        }
    })
}

/// The job's payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    pub kind: ImportKind,
    /// The upload's folder (under the data directory's `uploads/`).
    pub folder: PathBuf,
    pub source_system: String,
    pub skip_invalid: bool,
    pub actor: String,
    pub address: String,
}

pub fn register(registry: &mut Registry) {
    registry.handle(KIND, |context, payload| async move {
        run(context, &payload).await
    });
}

async fn run(context: JobContext, payload: &str) -> std::result::Result<(), String> {
    let request: Request = serde_json::from_str(payload).map_err(|e| format!("payload: {e}"))?;
    // Progress arrives on the importer's thread; a task writes it to the job now and then.
    let (sender, mut receiver) = tokio::sync::watch::channel(0u64);
    let reporter = {
        let context = context.clone();
        tokio::spawn(async move {
            while receiver.changed().await.is_ok() {
                let n = *receiver.borrow_and_update();
                let _ = context.progress(&format!("{n} records read")).await;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        })
    };
    let mut options = Options {
        source_system: request.source_system.clone(),
        skip_invalid: request.skip_invalid,
        actor: request.actor.clone(),
        address: request.address.clone(),
        progress: Some(Box::new(move |n| {
            let _ = sender.send(n);
        })),
        ..Options::default()
    };
    let outcome = import(&context.db, &request.kind, &request.folder, &mut options).await;
    drop(options);
    let _ = reporter.await;
    // Once the import has a result (stored, or refused with its reasons in the history) the
    // uploaded files go; after any other failure they stay for the retry.
    if matches!(outcome, Ok(_) | Err(Error::Rejected { .. }))
        && let Err(e) = std::fs::remove_dir_all(&request.folder)
    {
        tracing::warn!(folder = %request.folder.display(), error = %e, "cannot remove an import upload");
    }
    match outcome {
        Ok(Some(summary)) => {
            let _ = context
                .progress(&format!(
                    "{} records read, {} rejected",
                    summary.read_total(),
                    summary.rejected_total()
                ))
                .await;
            Ok(())
        }
        Ok(None) => Ok(()),
        // A refused import is a result, not a failure to retry: its history row says why.
        Err(Error::Rejected { summary, .. }) => {
            let _ = context
                .progress(&format!(
                    "refused: {} bad records; see Imports",
                    summary.rejected_total()
                ))
                .await;
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}
