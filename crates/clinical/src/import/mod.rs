//! Importing clinical data: the readers (FHIR R4 NDJSON and Bundles, Synthea CSV, Rounds' CSV
//! templates) turn files into `records::Record`s with their file and line; `drive` writes them in
//! one transaction, phase by phase so that a record is written after what it refers to, and
//! either commits all of them or none (unless `skip_invalid`). Each run is kept in `import_runs`
//! and audited once.

pub mod fhir;
pub mod files;
pub mod synthea;
pub mod template;

use crate::records::{DiagnosisRanks, Kind, PHASES, Record, key};
use crate::store::{Refused, Writer, Written};
use crate::{Error, Result};
use platform::audit::{self, Event};
use platform::db::{Backend, Db, Executes};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

/// How an import runs.
pub struct Options {
    /// The system of record the data comes from; records are matched by (source system, id).
    pub source_system: String,
    /// Load the good records and report the bad ones, instead of refusing the whole import.
    pub skip_invalid: bool,
    /// Who runs it and from where, for the import history and the audit chain.
    pub actor: String,
    pub address: String,
    /// At most this many problems are kept in the report (all are counted).
    pub max_problems: usize,
    /// Called now and then with the number of records handled so far.
    pub progress: Option<Box<dyn FnMut(u64) + Send + Sync>>,
    /// How many records the importer keeps ids and hashes of in memory (about 250 bytes each,
    /// with what goes with them) before it writes what it holds and finds the rest in the
    /// store: what bounds an import's memory whatever its size.
    pub records_in_memory: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            source_system: DEFAULT_SOURCE.to_string(),
            skip_invalid: false,
            actor: "console".to_string(),
            address: "local".to_string(),
            max_problems: 100,
            progress: None,
            records_in_memory: RECORDS_IN_MEMORY,
        }
    }
}

pub const DEFAULT_SOURCE: &str = "ehr";
/// See `Options::records_in_memory`.
pub const RECORDS_IN_MEMORY: usize = 2_000_000;

/// A bad record or file: where, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.reason
        )
    }
}

impl Problem {
    pub fn new(file: &str, line: u64, field: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TypeCounts {
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// What an import did, per resource type.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub run_id: Option<i64>,
    pub kind: String,
    pub source_system: String,
    pub files: Vec<String>,
    pub types: BTreeMap<String, TypeCounts>,
    /// Resources of types the store does not keep, by type.
    pub skipped: BTreeMap<String, u64>,
    /// Claims and ExplanationOfBenefits read: not kept as records, their payer, amounts and
    /// MS-DRG go on the encounters they bill.
    pub billing: u64,
    pub warnings: Vec<Problem>,
    pub warning_count: u64,
    /// Rejected records (all of them with `skip_invalid`, else up to `max_problems`).
    pub rejects: Vec<Problem>,
    pub outcomes_recomputed: u64,
    pub seconds: f64,
}

/// The bucket for problems that belong to no resource type (an unreadable line or file).
pub const UNREADABLE: &str = "(unreadable)";

impl Summary {
    pub fn rejected_total(&self) -> u64 {
        self.types.values().map(|c| c.rejected).sum()
    }

    pub fn read_total(&self) -> u64 {
        self.types.values().map(|c| c.read).sum()
    }

    pub fn total(&self) -> TypeCounts {
        let mut t = TypeCounts::default();
        for c in self.types.values() {
            t.read += c.read;
            t.created += c.created;
            t.updated += c.updated;
            t.unchanged += c.unchanged;
            t.rejected += c.rejected;
        }
        t
    }

    /// The per-type table printed at the end of an import.
    pub fn table(&self) -> String {
        let mut rows = vec![
            [
                "TYPE",
                "READ",
                "CREATED",
                "UPDATED",
                "UNCHANGED",
                "REJECTED",
            ]
            .map(String::from)
            .to_vec(),
        ];
        let line = |name: &str, c: &TypeCounts| {
            vec![
                name.to_string(),
                c.read.to_string(),
                c.created.to_string(),
                c.updated.to_string(),
                c.unchanged.to_string(),
                c.rejected.to_string(),
            ]
        };
        for (name, c) in &self.types {
            rows.push(line(name, c));
        }
        rows.push(line("total", &self.total()));
        let widths: Vec<usize> = (0..6)
            .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        if self.billing > 0 {
            out.push_str(&format!(
                "claims and explanations of benefit read (onto encounters): {}\n",
                self.billing
            ));
        }
        for (name, n) in &self.skipped {
            out.push_str(&format!("skipped (not stored): {name} {n}\n"));
        }
        out
    }

    fn counts(&mut self, kind: &str) -> &mut TypeCounts {
        if !self.types.contains_key(kind) {
            self.types.insert(kind.to_string(), TypeCounts::default());
        }
        self.types.get_mut(kind).expect("inserted above")
    }
}

/// One record read from a file.
pub struct Item {
    pub file: usize,
    pub line: u64,
    pub kind: Kind,
    pub id: String,
    pub record: std::result::Result<Record, Refused>,
    pub warnings: Vec<Refused>,
}

// Records pass through by value once each; boxing them would allocate per record for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Read {
    Item(Item),
    /// A line or file that yields no record; counted as rejected under `kind` when known.
    Problem(Option<Kind>, Problem),
}

/// A source of records, read once per write phase.
pub trait Reader: Send {
    /// The files, as named in problems.
    fn files(&self) -> &[String];
    /// Looks at every file once (types, emptiness); problems found here refuse the import too.
    fn scan(&mut self) -> Result<Vec<(Option<Kind>, Problem)>>;
    /// Positions the reader at the start of `phase`.
    fn start(&mut self, phase: usize) -> Result<()>;
    /// The next record (or problem) of the current phase; records of other phases may be
    /// returned too and are passed over.
    fn next(&mut self) -> Option<Read>;
    /// Resources of types the store does not keep, by type.
    fn skipped(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
    /// Claims and ExplanationOfBenefits read (their payer, amounts and DRG go on encounters).
    fn billing_read(&self) -> u64 {
        0
    }
    /// What the import says about stored records it does not hold, once every record has been
    /// read. Called once, at the end.
    fn amendments(&mut self) -> Result<Amendments> {
        Ok(Amendments::default())
    }
}

/// What an import says about stored records it does not hold (see `Writer::amend`).
#[derive(Default)]
pub struct Amendments {
    /// The ranks the import's encounters give their diagnoses, where a source ranks diagnoses
    /// on the encounter (FHIR's Encounter.diagnosis): they also apply to the stored conditions
    /// of those encounters that are not in the import.
    pub ranks: Option<DiagnosisRanks>,
    /// What the import's claims say about encounters it does not hold (`BillingAmendment`s).
    pub billing: crate::spill::Queue,
}

/// What the reading thread hands the writer.
enum Fed {
    Reads(Vec<Read>),
    /// Every record of the phase has been handed over.
    PhaseEnd,
    Failed(Error),
}

/// Reads handed over at a time, and chunks the reader may be ahead by.
const FEED_CHUNK: usize = 1_024;
const FEED_AHEAD: usize = 16;

/// Reads every phase on a thread of its own, a bounded distance ahead of the writer, so that
/// parsing and writing overlap. The thread stops when the receiver is dropped; it gives the
/// reader back when it is done.
fn read_ahead(
    mut reader: Box<dyn Reader>,
) -> (
    tokio::sync::mpsc::Receiver<Fed>,
    std::thread::JoinHandle<Box<dyn Reader>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(FEED_AHEAD);
    let handle = std::thread::spawn(move || {
        for phase in 0..PHASES {
            if let Err(e) = reader.start(phase) {
                let _ = sender.blocking_send(Fed::Failed(e));
                return reader;
            }
            let mut chunk = Vec::with_capacity(FEED_CHUNK);
            while let Some(read) = reader.next() {
                chunk.push(without_nul(read));
                if chunk.len() == FEED_CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(FEED_CHUNK));
                    if sender.blocking_send(Fed::Reads(full)).is_err() {
                        return reader;
                    }
                }
            }
            if sender.blocking_send(Fed::Reads(chunk)).is_err()
                || sender.blocking_send(Fed::PhaseEnd).is_err()
            {
                return reader;
            }
        }
        reader
    });
    (receiver, handle)
}

/// Refuses a record whose id or text holds a NUL character: PostgreSQL cannot store one, and
/// the import would otherwise fail as a whole at the database instead of naming the line.
fn without_nul(read: Read) -> Read {
    match read {
        Read::Item(mut item)
            if item.id.contains('\0') || item.record.as_ref().is_ok_and(Record::holds_nul) =>
        {
            item.record = Err(Refused {
                field: "text".into(),
                reason: "a value holds a NUL character (\\u0000), which cannot be stored".into(),
            });
            Read::Item(item)
        }
        other => other,
    }
}

/// Runs an import: every phase through `reader`, one transaction, one audit entry.
pub async fn drive(
    db: &Db,
    mut reader: Box<dyn Reader>,
    kind: &str,
    options: &mut Options,
) -> Result<Summary> {
    let started = Instant::now();
    let started_at = platform::time::now_text();
    let source = options.source_system.trim().to_string();
    if source.is_empty() || source.len() > 100 {
        return Err(Error::Invalid(
            "the source system must be a name of 1 to 100 characters".into(),
        ));
    }
    let mut summary = Summary {
        kind: kind.to_string(),
        source_system: source.clone(),
        files: reader.files().to_vec(),
        ..Summary::default()
    };
    let mut problems_seen: HashSet<(String, u64, String)> = HashSet::new();
    let keep = |summary: &mut Summary, p: Problem, options: &Options| {
        if options.skip_invalid || summary.rejects.len() < options.max_problems {
            summary.rejects.push(p);
        }
    };
    for (kind, problem) in reader.scan()? {
        if problems_seen.insert((problem.file.clone(), problem.line, problem.field.clone())) {
            summary
                .counts(kind.map_or(UNREADABLE, Kind::as_str))
                .rejected += 1;
            keep(&mut summary, problem, options);
        }
    }

    // A file that cannot be read as a whole (unknown layout, empty, not the right format) is
    // reported on its own: the records of the other files would only add noise about references
    // to it.
    if !summary.rejects.is_empty() && !options.skip_invalid {
        summary.seconds = started.elapsed().as_secs_f64();
        summary.run_id =
            Some(record_failed_run(db, kind, &source, options, &started_at, &summary).await?);
        let problems = summary.rejects.clone();
        return Err(Error::Rejected {
            summary: Box::new(summary),
            problems,
        });
    }
    // Reading starts now, while the writer loads what the store holds.
    let (mut feed, reading) = read_ahead(reader);
    let mut tx = db.begin_bulk().await?;
    if db.backend == Backend::Postgres {
        // One import at a time: ids are assigned by the importer.
        sqlx::query("SELECT pg_advisory_xact_lock(727866003)")
            .execute(tx.exec())
            .await?;
    }
    let run_id: i64 = sqlx::Row::try_get(
        &sqlx::query(
            "INSERT INTO import_runs (kind, source_system, actor, started_at, finished_at, status, files, counts) \
             VALUES ($1, $2, $3, $4, '', 'running', $5, '{}') RETURNING id",
        )
        .bind(kind)
        .bind(&source)
        .bind(&options.actor)
        .bind(&started_at)
        .bind(summary.files.join("\n"))
        .fetch_one(tx.exec())
        .await?,
        0,
    )?;
    let mut writer =
        Writer::open(tx, db.backend, &source, run_id, options.records_in_memory).await?;
    let mut handled: u64 = 0;
    let mut problem_lines: HashSet<(String, u64)> = HashSet::new();
    for phase in 0..PHASES {
        loop {
            let chunk = match feed.recv().await {
                Some(Fed::Reads(chunk)) => chunk,
                Some(Fed::PhaseEnd) => break,
                Some(Fed::Failed(e)) => return Err(e),
                None => {
                    return Err(Error::Invalid(
                        "the files could not be read to the end".into(),
                    ));
                }
            };
            writer
                .look_up(chunk.iter().filter_map(|read| {
                    match read {
                        // Records of other phases (a Bundle yields every record in every phase)
                        // are looked up in their own.
                        Read::Item(item) => item
                            .record
                            .as_ref()
                            .ok()
                            .filter(|record| record.phase() == phase)
                            .map(|record| (item.kind, item.id.as_str(), record)),
                        Read::Problem(..) => None,
                    }
                }))
                .await?;
            for read in chunk {
                let item = match read {
                    Read::Problem(kind, problem) => {
                        if problems_seen.insert((
                            problem.file.clone(),
                            problem.line,
                            problem.field.clone(),
                        )) {
                            summary
                                .counts(kind.map_or(UNREADABLE, Kind::as_str))
                                .rejected += 1;
                            keep(&mut summary, problem, options);
                        }
                        continue;
                    }
                    Read::Item(item) => item,
                };
                let file_name =
                    |summary: &Summary| summary.files.get(item.file).cloned().unwrap_or_default();
                let record = match item.record {
                    Ok(record) if record.phase() == phase => record,
                    Ok(_) => continue,
                    Err(refusal) => {
                        let file = file_name(&summary);
                        if problems_seen.insert((file.clone(), item.line, refusal.field.clone())) {
                            let c = summary.counts(item.kind.as_str());
                            c.read += 1;
                            c.rejected += 1;
                            writer.rejected.insert(key(item.kind, &item.id));
                            problem_lines.insert((file.clone(), item.line));
                            keep(
                                &mut summary,
                                Problem::new(&file, item.line, &refusal.field, refusal.reason),
                                options,
                            );
                        }
                        continue;
                    }
                };
                for w in item.warnings {
                    let file = file_name(&summary);
                    summary.warning_count += 1;
                    if summary.warnings.len() < options.max_problems {
                        summary
                            .warnings
                            .push(Problem::new(&file, item.line, &w.field, w.reason));
                    }
                }
                summary.counts(item.kind.as_str()).read += 1;
                match writer.write(&item.id, &record).await? {
                    Ok(written) => {
                        let c = summary.counts(item.kind.as_str());
                        match written {
                            Written::Created => c.created += 1,
                            Written::Updated => c.updated += 1,
                            Written::Unchanged => c.unchanged += 1,
                        }
                    }
                    Err(refusal) => {
                        let file = file_name(&summary);
                        summary.counts(item.kind.as_str()).rejected += 1;
                        writer.rejected.insert(key(item.kind, &item.id));
                        // A record of the same row as a rejected one (a CSV template row stands for
                        // several) is rejected with it without a second line in the report.
                        let cascade = refusal.reason.ends_with(crate::store::REJECTED_REFERENCE)
                            && problem_lines.contains(&(file.clone(), item.line));
                        if !cascade {
                            problem_lines.insert((file.clone(), item.line));
                            keep(
                                &mut summary,
                                Problem::new(&file, item.line, &refusal.field, refusal.reason),
                                options,
                            );
                        }
                    }
                }
                handled += 1;
                if handled.is_multiple_of(10_000)
                    && let Some(progress) = options.progress.as_mut()
                {
                    progress(handled);
                }
            }
        }
        writer.flush().await?;
        if std::env::var_os("ROUNDS_IMPORT_TIMING").is_some() {
            eprintln!(
                "phase {phase} done at {:.2} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let mut reader = reading
        .join()
        .map_err(|_| Error::Invalid("the thread reading the files failed".into()))?;
    summary.skipped = reader.skipped();
    summary.billing = reader.billing_read();
    let refused = summary.rejected_total() > 0 && !options.skip_invalid;
    if refused {
        writer.abandon().await?.rollback().await?;
        summary.seconds = started.elapsed().as_secs_f64();
        summary.run_id =
            Some(record_failed_run(db, kind, &source, options, &started_at, &summary).await?);
        let problems = summary.rejects.clone();
        return Err(Error::Rejected {
            summary: Box::new(summary),
            problems,
        });
    }
    let amendments = reader.amendments()?;
    let (conditions, encounters) = writer
        .amend(amendments.ranks.as_ref(), &amendments.billing)
        .await?;
    for (kind, amended) in [(Kind::Condition, conditions), (Kind::Encounter, encounters)] {
        if amended > 0 {
            summary.counts(kind.as_str()).updated += amended;
        }
    }
    let (mut tx, recomputed) = writer.finish().await?;
    if std::env::var_os("ROUNDS_IMPORT_TIMING").is_some() {
        eprintln!("outcomes done at {:.2} s", started.elapsed().as_secs_f64());
    }
    summary.outcomes_recomputed = recomputed;
    summary.seconds = started.elapsed().as_secs_f64();
    let status = if summary.rejected_total() > 0 {
        "partial"
    } else {
        "committed"
    };
    finish_run(&mut tx, run_id, status, &summary, "").await?;
    let t = summary.total();
    let detail = format!(
        "{kind} import from {source}: {} read, {} created, {} updated, {} rejected",
        t.read, t.created, t.updated, t.rejected
    );
    audit::append(
        &mut tx,
        &Event {
            actor: &options.actor,
            address: &options.address,
            action: "import.run",
            record_type: "import_run",
            record_id: &run_id.to_string(),
            outcome: "success",
            detail: &detail,
        },
    )
    .await?;
    tx.commit().await?;
    summary.run_id = Some(run_id);
    Ok(summary)
}

fn counts_json(summary: &Summary) -> String {
    serde_json::to_string(&summary.types).unwrap_or_else(|_| "{}".into())
}

async fn finish_run(
    tx: &mut impl Executes,
    run_id: i64,
    status: &str,
    summary: &Summary,
    message: &str,
) -> Result<()> {
    sqlx::query("UPDATE import_runs SET finished_at = $1, status = $2, counts = $3, problems = $4, message = $5 WHERE id = $6")
        .bind(platform::time::now_text())
        .bind(status)
        .bind(counts_json(summary))
        .bind(summary.rejected_total() as i64)
        .bind(message)
        .bind(run_id)
        .execute(tx.exec())
        .await?;
    Ok(())
}

/// A refused import writes nothing but its history row and one audit entry.
async fn record_failed_run(
    db: &Db,
    kind: &str,
    source: &str,
    options: &Options,
    started_at: &str,
    summary: &Summary,
) -> Result<i64> {
    let mut tx = db.begin().await?;
    let first = summary
        .rejects
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let id: i64 = sqlx::Row::try_get(
        &sqlx::query(
            "INSERT INTO import_runs (kind, source_system, actor, started_at, finished_at, status, files, counts, problems, message) \
             VALUES ($1, $2, $3, $4, $5, 'refused', $6, $7, $8, $9) RETURNING id",
        )
        .bind(kind)
        .bind(source)
        .bind(&options.actor)
        .bind(started_at)
        .bind(platform::time::now_text())
        .bind(summary.files.join("\n"))
        .bind(counts_json(summary))
        .bind(summary.rejected_total() as i64)
        .bind(&first)
        .fetch_one(&mut *tx)
        .await?,
        0,
    )?;
    let detail = format!(
        "{kind} import from {source} refused: {} bad records, nothing written",
        summary.rejected_total()
    );
    audit::append(
        &mut tx,
        &Event {
            actor: &options.actor,
            address: &options.address,
            action: "import.run",
            record_type: "import_run",
            record_id: &id.to_string(),
            outcome: "failure",
            detail: &detail,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Expands directories (their files, sorted by name) and keeps files as given.
pub fn expand(paths: &[PathBuf], accept: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| Error::File {
            path: path.display().to_string(),
            reason: format!("cannot open: {e}"),
        })?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::File {
                    path: path.display().to_string(),
                    reason: format!("cannot list: {e}"),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&accept)
                })
                .collect();
            entries.sort();
            if entries.is_empty() {
                return Err(Error::File {
                    path: path.display().to_string(),
                    reason: "holds no files to import".into(),
                });
            }
            out.extend(entries);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Imports FHIR R4 files and directories (NDJSON and Bundles, plain or gzip): the library entry
/// point behind `rounds import fhir` and the import job.
pub async fn run(db: &Db, sources: &[PathBuf], options: &mut Options) -> Result<Summary> {
    let reader = fhir::FhirReader::new(sources)?.keep_in_memory(options.records_in_memory);
    drive(db, Box::new(reader), "fhir", options).await
}
