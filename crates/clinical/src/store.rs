//! Writing records into the store: the upsert by (source system, source id) that makes a
//! re-import change nothing, reference resolution (by id, by business identifier), the mapping of
//! Organizations and Locations onto the platform's facilities, departments and units, and batched
//! inserts. Everything happens inside the caller's transaction; the importer holds the import
//! lock, so the ids assigned here cannot clash.

use crate::outcomes::NewPatients;
use crate::records::{
    self, BillingAmendment, DiagnosisRanks, Identifier, KeyMap, KeySet, Kind, Record, Ref,
    identifier_key, key,
};
use crate::spill::{Decoder, Encoder, Queue};
use crate::value_sets::ValueSets;
use crate::{Error, Result};
use futures_util::TryStreamExt;
use platform::db::{Backend, BulkTx, Exec, Executes};
use sqlx::Row;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// A value bound into a batched statement.
#[derive(Clone, Debug)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        Val::Int(v)
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        Val::Text(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(Some(v))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(Some(v.to_string()))
    }
}

/// The import's transaction, with at most one batched insert in flight: the insert runs as a
/// task of its own while the importer reads and checks the next records, so that Rounds and the
/// database work at the same time. Any other use of the connection first waits for it.
pub struct Conn {
    tx: Option<BulkTx>,
    in_flight: Option<tokio::task::JoinHandle<(BulkTx, Result<()>)>>,
}

type Insert = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// Rows on their way to a table.
enum Rows {
    /// A multi-row `INSERT` (SQLite).
    Insert(Insert),
    /// `COPY … FROM STDIN` and its data (PostgreSQL).
    Copy { statement: String, data: Vec<u8> },
}

impl Conn {
    pub fn new(tx: BulkTx) -> Conn {
        Conn {
            tx: Some(tx),
            in_flight: None,
        }
    }

    /// The connection, once the insert in flight (if any) has succeeded.
    pub async fn get(&mut self) -> Result<Exec<'_>> {
        self.settle().await?;
        self.tx
            .as_mut()
            .map(Executes::exec)
            .ok_or_else(|| Error::Invalid("the import's connection was lost".into()))
    }

    /// Starts writing `rows` once the previous ones have been written, without waiting for it.
    async fn submit(&mut self, rows: Rows) -> Result<()> {
        self.settle().await?;
        let Some(mut tx) = self.tx.take() else {
            return Err(Error::Invalid("the import's connection was lost".into()));
        };
        self.in_flight = Some(tokio::spawn(async move {
            let result = match rows {
                Rows::Insert(insert) => insert
                    .execute(tx.exec())
                    .await
                    .map(|_| ())
                    .map_err(Error::from),
                Rows::Copy { statement, data } => tx
                    .copy_in(&statement, &data)
                    .await
                    .map(|_| ())
                    .map_err(Error::from),
            };
            (tx, result)
        }));
        Ok(())
    }

    async fn settle(&mut self) -> Result<()> {
        if let Some(in_flight) = self.in_flight.take() {
            let (tx, result) = in_flight
                .await
                .map_err(|e| Error::Invalid(format!("a batched insert failed: {e}")))?;
            self.tx = Some(tx);
            result?;
        }
        Ok(())
    }

    /// The transaction back, once everything submitted has run.
    pub async fn into_tx(mut self) -> Result<BulkTx> {
        self.settle().await?;
        self.tx
            .take()
            .ok_or_else(|| Error::Invalid("the import's connection was lost".into()))
    }
}

/// Bound parameters per batched statement on SQLite.
const SQLITE_PARAMETERS: usize = 4_000;
/// Rows per `COPY` on PostgreSQL.
const POSTGRES_ROWS: usize = 5_000;

/// Rows written many at a time (multi-row `INSERT`s on SQLite, `COPY` on PostgreSQL): one
/// statement per many rows is what makes a large import fast on both databases. Identifiers in
/// the statement are the caller's constants.
pub struct Batch {
    backend: Backend,
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
    per_statement: usize,
    /// The bytes the next `COPY` is expected to take.
    copy_bytes: usize,
}

impl Batch {
    pub fn new(backend: Backend, table: &'static str, columns: &'static [&'static str]) -> Batch {
        Batch {
            backend,
            table,
            columns,
            rows: Vec::new(),
            per_statement: match backend {
                Backend::Sqlite => (SQLITE_PARAMETERS / columns.len()).clamp(1, 500),
                Backend::Postgres => POSTGRES_ROWS,
            },
            copy_bytes: 0,
        }
    }

    pub async fn push(&mut self, conn: &mut Conn, row: Vec<Val>) -> Result<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
        if self.rows.len() >= self.per_statement {
            self.flush(conn).await?;
        }
        Ok(())
    }

    /// Submits the rows held (the insert may still be running when this returns).
    pub async fn flush(&mut self, conn: &mut Conn) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = match self.backend {
            Backend::Sqlite => Rows::Insert(self.insert_parameters()),
            Backend::Postgres => self.copy(),
        };
        conn.submit(rows).await
    }

    /// SQLite: `VALUES (?, …), (?, …)` with anonymous parameters (sqlx looks a named
    /// parameter's name up on every bind, and SQLite finds a name by scanning the statement's
    /// list, so `$n` costs time quadratic in the number of parameters). Unpacking a JSON
    /// document with `json_each` was measured too: it is slower, as each `->>` parses its row
    /// again.
    fn insert_parameters(&mut self) -> Insert {
        let row = format!("({})", vec!["?"; self.columns.len()].join(", "));
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.columns.join(", "),
            vec![row.as_str(); self.rows.len()].join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in self.rows.drain(..) {
            for value in row {
                query = match value {
                    Val::Int(v) => query.bind(v),
                    Val::Text(v) => query.bind(v),
                };
            }
        }
        query
    }

    /// PostgreSQL: `COPY` in its text format (a row per line, columns separated by tabs,
    /// `\\N` for NULL), which the server loads many rows at a time. Multi-row `INSERT`s of one
    /// array parameter per column (`unnest`) were measured: the server spent its time taking
    /// the array literals apart and inserting row by row.
    fn copy(&mut self) -> Rows {
        // Sized on the last batch: growing a buffer this size page by page showed in profiles.
        let mut data = Vec::with_capacity(self.copy_bytes);
        let mut digits = itoa::Buffer::new();
        for row in self.rows.drain(..) {
            for (c, value) in row.into_iter().enumerate() {
                if c > 0 {
                    data.push(b'\t');
                }
                match value {
                    Val::Int(Some(v)) => data.extend_from_slice(digits.format(v).as_bytes()),
                    Val::Int(None) | Val::Text(None) => data.extend_from_slice(b"\\N"),
                    Val::Text(Some(v)) => copy_text(&mut data, &v),
                }
            }
            data.push(b'\n');
        }
        self.copy_bytes = data.len() + data.len() / 8;
        Rows::Copy {
            statement: format!(
                "COPY {} ({}) FROM STDIN",
                self.table,
                self.columns.join(", ")
            ),
            data,
        }
    }
}

/// Appends `text` as a column of `COPY`'s text format: backslash, tab, newline and carriage
/// return escaped, everything else as it is (none of them occurs inside a UTF-8 sequence).
fn copy_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// Appends `text` as a quoted element of a PostgreSQL array literal.
fn array_element(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}

/// What writing one record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
}

/// A record that cannot be written: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub field: String,
    pub reason: String,
}

/// The end of the reason given for a record that refers to a rejected one.
pub const REJECTED_REFERENCE: &str = " was rejected, so this record cannot refer to it";

fn refused(field: &str, reason: impl Into<String>) -> Refused {
    Refused {
        field: field.to_string(),
        reason: reason.into(),
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Clone, Copy, Debug)]
struct Known {
    id: i64,
    hash: i64,
    /// Written (or found unchanged) by this import.
    seen: bool,
    kind: Kind,
}

/// What the store holds of the fields an import may leave to it
/// (`records::Condition::rank_kept`, `records::Encounter::billing_kept`).
#[derive(Clone, Debug)]
enum Stored {
    Rank {
        encounter: Option<i64>,
        rank: i64,
    },
    Billing {
        ms_drg: Option<String>,
        payer: Option<String>,
        cost_cents: Option<i64>,
        charges_cents: Option<i64>,
    },
}

impl Stored {
    /// The columns a look-up reads after `id, source_id, content_hash, import_run_id`.
    fn columns(kind: Kind) -> &'static str {
        match kind {
            Kind::Condition => ", encounter_id, rank",
            Kind::Encounter => ", ms_drg, payer, cost_cents, charges_cents",
            _ => "",
        }
    }

    /// What a looked-up row holds, when it holds something.
    fn read(kind: Kind, row: &sqlx::any::AnyRow) -> Result<Option<Stored>> {
        Ok(match kind {
            Kind::Condition => match row.try_get::<Option<i64>, _>(5)? {
                Some(rank) => Some(Stored::Rank {
                    encounter: row.try_get(4)?,
                    rank,
                }),
                None => None,
            },
            Kind::Encounter => {
                let stored = Stored::Billing {
                    ms_drg: row.try_get(4)?,
                    payer: row.try_get(5)?,
                    cost_cents: row.try_get(6)?,
                    charges_cents: row.try_get(7)?,
                };
                match &stored {
                    Stored::Billing {
                        ms_drg: None,
                        payer: None,
                        cost_cents: None,
                        charges_cents: None,
                    } => None,
                    _ => Some(stored),
                }
            }
            _ => None,
        })
    }
}

/// What an Organization, Location or PractitionerRole stands for in Rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub facility: Option<i64>,
    pub department: Option<i64>,
    pub unit: Option<i64>,
    pub practitioner: Option<i64>,
}

/// The tables of importer-assigned ids, by kind (`None`: kept in `clinical_source_refs`).
fn table(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Practitioner => Some("clinical_practitioners"),
        Kind::Patient => Some("patients"),
        Kind::Encounter => Some("encounters"),
        Kind::Condition => Some("conditions"),
        Kind::Procedure => Some("procedures"),
        Kind::Organization | Kind::Location | Kind::PractitionerRole => None,
    }
}

const PRACTITIONER_COLUMNS: &[&str] = &[
    "id",
    "source_system",
    "source_id",
    "npi",
    "name",
    "content_hash",
    "import_run_id",
];
const PATIENT_COLUMNS: &[&str] = &[
    "id",
    "source_system",
    "source_id",
    "birth_date",
    "sex",
    "zip3",
    "death_date",
    "content_hash",
    "import_run_id",
];
const ENCOUNTER_COLUMNS: &[&str] = &[
    "id",
    "source_system",
    "source_id",
    "patient_id",
    "class",
    "facility_id",
    "department_id",
    "unit_id",
    "attending_id",
    "admit_at",
    "discharge_at",
    "admit_source",
    "discharge_disposition",
    "ms_drg",
    "payer",
    "cost_cents",
    "charges_cents",
    "content_hash",
    "import_run_id",
];
const CONDITION_COLUMNS: &[&str] = &[
    "id",
    "source_system",
    "source_id",
    "patient_id",
    "encounter_id",
    "code_system",
    "code",
    "present_on_admission",
    "rank",
    "onset_at",
    "content_hash",
    "import_run_id",
];
const PROCEDURE_COLUMNS: &[&str] = &[
    "id",
    "source_system",
    "source_id",
    "patient_id",
    "encounter_id",
    "code_system",
    "code",
    "performed_at",
    "practitioner_id",
    "content_hash",
    "import_run_id",
];

fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Practitioner => PRACTITIONER_COLUMNS,
        Kind::Patient => PATIENT_COLUMNS,
        Kind::Encounter => ENCOUNTER_COLUMNS,
        Kind::Condition => CONDITION_COLUMNS,
        Kind::Procedure => PROCEDURE_COLUMNS,
        _ => &[],
    }
}

/// `UPDATE table SET c2 = $1, … WHERE id = $n` for the columns after `id`, `source_system`,
/// `source_id`.
fn update_sql(kind: Kind) -> String {
    let (Some(table), cols) = (table(kind), columns(kind)) else {
        return String::new();
    };
    let sets: Vec<String> = cols[3..]
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    format!(
        "UPDATE {table} SET {} WHERE id = ${}",
        sets.join(", "),
        cols.len() - 2
    )
}

/// Writes records of one source system within one transaction.
pub struct Writer {
    conn: Conn,
    backend: Backend,
    source: String,
    run_id: i64,
    known: KeyMap<Known>,
    /// Of the records looked up, what they hold that an import may leave to the store.
    stored: KeyMap<Stored>,
    /// The encounters of this import that were in the store before it (row id, key), kept
    /// when the store held conditions of the source: their stored conditions take the ranks
    /// the import gives them.
    encounters: Queue,
    targets: KeyMap<Target>,
    /// Business identifier → record key.
    idents: KeyMap<u128>,
    /// Records the reading pass refused (so references to them say so).
    pub rejected: KeySet,
    /// Kinds of which the store held records of this source when the import began: what
    /// `known` holds of them is looked up as the import names them (`look_up`).
    looked_up: HashSet<Kind>,
    next_id: HashMap<Kind, i64>,
    batches: HashMap<Kind, Batch>,
    /// Patients that existed before this import and whose records it changed: their outcomes
    /// are recomputed from the store.
    stale: HashSet<i64>,
    /// Patients this import creates, with what their outcomes are computed from (all their
    /// records are in this import, so nothing needs to be read back).
    fresh: NewPatients,
    pub counts: HashMap<Kind, Counts>,
    /// The value sets, which decide what of a new patient's records is kept for the outcomes.
    sets: ValueSets,
    /// What was dropped for the bulk load of tables that were empty when the import began.
    deferred: Vec<Deferred>,
    /// The record tables that were empty when the import began.
    first_loads: Vec<&'static str>,
    /// Of those, the rows each held when last analysed during the import (PostgreSQL).
    analysed: HashMap<&'static str, i64>,
    /// How many records `known` may hold before the import lets go of those it can look up
    /// again (`let_go`).
    budget: usize,
}

/// The secondary indexes (and, on PostgreSQL, unique and foreign keys) of a table that was empty
/// when the import began: dropped so that the bulk load does not maintain them row by row, and created
/// again from their own definitions once the table is loaded, in the same transaction (DDL is
/// transactional on both databases, so a refused import leaves them as they were). On
/// PostgreSQL, dropping them locks the table, and a foreign key's target, until the import
/// commits; only a first load into an empty table does this.
struct Deferred {
    table: &'static str,
    /// The statements that create again the unique keys (PostgreSQL), which finding a record
    /// by source id needs.
    keys: Vec<String>,
    /// Those that create again the rest: indexes, then foreign keys.
    rest: Vec<String>,
}

/// Kinds whose records (many) are looked up in the store as an import names them, rather than
/// all loaded when it begins: what an import holds in memory then grows with the import, not
/// with the store.
const LOOKED_UP: [Kind; 4] = [
    Kind::Patient,
    Kind::Encounter,
    Kind::Condition,
    Kind::Procedure,
];
/// Source ids per look-up statement.
const LOOK_UP_IDS: usize = 5_000;
/// Encounters per statement applying what claims say of stored encounters (five parameters
/// each: within SQLite's limit of 32,766).
const BILLING_ROWS: usize = 1_000;

/// The tables the outcomes are written to.
const OUTCOME_TABLES: [&str; 2] = ["encounter_outcomes", "encounter_complications"];

/// SQLite page cache for an import's connection (KiB; the default is 2 MB): the unique
/// (source system, id) indexes take keys in random order, and a cache that holds them saves
/// most of the page reads and writes of a large import. A ceiling, not an allocation.
const IMPORT_CACHE_KIB: i64 = 256 * 1024;
/// What the connection goes back to the pool with (SQLite's default).
const DEFAULT_CACHE_KIB: i64 = 2_000;

/// Drops the secondary indexes (and, on PostgreSQL, unique and foreign keys) of `table` if it is
/// empty, and says how to create them again.
async fn defer_if_empty(
    tx: &mut BulkTx,
    backend: Backend,
    table: &'static str,
) -> Result<Option<Deferred>> {
    let any = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM {table} LIMIT 1"
    )))
    .fetch_optional(tx.exec())
    .await?;
    if any.is_some() {
        return Ok(None);
    }
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for (name, definition) in secondary_indexes(tx, backend, table).await? {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(tx.exec())
            .await?;
        rest.push(definition);
    }
    if backend == Backend::Postgres {
        // Unique constraints (their index is built by one sort when added back, instead of
        // taking random keys one by one) and foreign keys (one trigger per inserted row and key
        // otherwise; added back, each key is checked in one join over the whole table). Unique
        // constraints first, as a foreign key may need one.
        let constraints = sqlx::query(
            "SELECT CAST(conname AS TEXT), pg_get_constraintdef(oid), contype = 'u' FROM pg_constraint \
             WHERE conrelid = to_regclass($1) AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
        )
        .bind(table)
        .fetch_all(tx.exec())
        .await?;
        for row in constraints {
            let (name, definition): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DROP CONSTRAINT {name}"
            )))
            .execute(tx.exec())
            .await?;
            let add = format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}");
            if row.try_get(2)? {
                keys.push(add);
            } else {
                rest.push(add);
            }
        }
    }
    Ok(Some(Deferred { table, keys, rest }))
}

/// The secondary indexes of `table` (not those behind its primary key or unique constraints),
/// as (name, definition).
async fn secondary_indexes(
    tx: &mut BulkTx,
    backend: Backend,
    table: &str,
) -> Result<Vec<(String, String)>> {
    let sql = match backend {
        // Indexes behind constraints have no SQL text in sqlite_master.
        Backend::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(indexname AS TEXT), indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 \
             AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname"
        }
    };
    let mut out = Vec::new();
    for row in sqlx::query(sql).bind(table).fetch_all(tx.exec()).await? {
        out.push((row.try_get(0)?, row.try_get(1)?));
    }
    Ok(out)
}

impl Writer {
    /// Loads what the store already holds of `source` (ids and content hashes only, and only of
    /// the kinds that are not looked up). `budget`: see `Writer::budget`.
    pub async fn open(
        mut tx: BulkTx,
        backend: Backend,
        source: &str,
        run_id: i64,
        budget: usize,
    ) -> Result<Writer> {
        let mut known = KeyMap::default();
        let mut next_id = HashMap::new();
        let mut batches = HashMap::new();
        let mut deferred = Vec::new();
        let mut first_loads = Vec::new();
        if backend == Backend::Sqlite {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA cache_size = -{IMPORT_CACHE_KIB}"
            )))
            .execute(tx.exec())
            .await?;
        }
        let mut looked_up = HashSet::new();
        for kind in Kind::ALL {
            let Some(table) = table(kind) else { continue };
            if LOOKED_UP.contains(&kind) {
                let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT 1 FROM {table} WHERE source_system = $1 LIMIT 1"
                )))
                .bind(source)
                .fetch_optional(tx.exec())
                .await?;
                if held.is_some() {
                    looked_up.insert(kind);
                }
            } else {
                let sql = format!(
                    "SELECT id, source_id, content_hash FROM {table} WHERE source_system = $1"
                );
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(source)
                    .fetch(tx.exec());
                while let Some(row) = rows.try_next().await? {
                    let source_id: String = row.try_get(1)?;
                    known.insert(
                        key(kind, &source_id),
                        Known {
                            id: row.try_get(0)?,
                            hash: row.try_get(2)?,
                            seen: false,
                            kind,
                        },
                    );
                }
            }
            let max: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table}"
            )))
            .fetch_one(tx.exec())
            .await?
            .try_get(0)?;
            next_id.insert(kind, max + 1);
            batches.insert(kind, Batch::new(backend, table, columns(kind)));
            if max == 0 {
                first_loads.push(table);
                deferred.extend(defer_if_empty(&mut tx, backend, table).await?);
            }
        }
        for table in OUTCOME_TABLES {
            deferred.extend(defer_if_empty(&mut tx, backend, table).await?);
        }
        let mut targets = KeyMap::default();
        let rows = sqlx::query(
            "SELECT id, resource_type, source_id, content_hash, facility_id, department_id, unit_id, practitioner_id \
             FROM clinical_source_refs WHERE source_system = $1",
        )
        .bind(source)
        .fetch_all(tx.exec())
        .await?;
        for row in rows {
            let kind_name: String = row.try_get(1)?;
            let Some(kind) = Kind::parse(&kind_name) else {
                continue;
            };
            let source_id: String = row.try_get(2)?;
            let k = key(kind, &source_id);
            known.insert(
                k,
                Known {
                    id: row.try_get(0)?,
                    hash: row.try_get(3)?,
                    seen: false,
                    kind,
                },
            );
            targets.insert(
                k,
                Target {
                    facility: row.try_get(4)?,
                    department: row.try_get(5)?,
                    unit: row.try_get(6)?,
                    practitioner: row.try_get(7)?,
                },
            );
        }
        let sets = crate::value_sets::load(&mut tx).await?;
        let mut idents = KeyMap::default();
        for row in sqlx::query("SELECT resource_type, system, value, source_id FROM clinical_identifiers WHERE source_system = $1")
            .bind(source)
            .fetch_all(tx.exec())
            .await?
        {
            let kind_name: String = row.try_get(0)?;
            let Some(kind) = Kind::parse(&kind_name) else { continue };
            let (system, value, source_id): (String, String, String) = (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            idents.insert(identifier_key(kind, &system, &value), key(kind, &source_id));
        }
        Ok(Writer {
            conn: Conn::new(tx),
            backend,
            source: source.to_string(),
            run_id,
            known,
            stored: KeyMap::default(),
            encounters: Queue::new(budget),
            targets,
            idents,
            rejected: KeySet::default(),
            looked_up,
            next_id,
            batches,
            stale: HashSet::new(),
            fresh: NewPatients::default(),
            sets,
            counts: HashMap::new(),
            deferred,
            first_loads,
            analysed: HashMap::new(),
            budget,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Fetches from the store what it holds of the records about to be written and of those
    /// they refer to, where `known` does not have them yet. Called before each batch of records.
    pub async fn look_up<'r>(
        &mut self,
        records: impl Iterator<Item = (Kind, &'r str, &'r Record)>,
    ) -> Result<()> {
        if self.known.len() > self.budget {
            self.let_go().await?;
        }
        if self.looked_up.is_empty() {
            return Ok(());
        }
        self.analyze_growing().await?;
        let mut wanted: HashMap<Kind, HashSet<&str>> = HashMap::new();
        let mut want = |kind: Kind, id: &'r str| {
            if self.looked_up.contains(&kind) && !self.known.contains_key(&key(kind, id)) {
                wanted.entry(kind).or_default().insert(id);
            }
        };
        for (kind, id, record) in records {
            want(kind, id);
            for r in record.references() {
                if let Ref::Id(kind, id) = r {
                    want(*kind, id);
                }
            }
        }
        for (kind, ids) in wanted {
            let Some(table) = table(kind) else { continue };
            let ids: Vec<&str> = ids.into_iter().collect();
            for part in ids.chunks(LOOK_UP_IDS) {
                let query = match self.backend {
                    Backend::Sqlite => {
                        let list = vec!["?"; part.len()].join(", ");
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT id, source_id, content_hash, import_run_id{} FROM {table} WHERE source_system = ? AND source_id IN ({list})",
                            Stored::columns(kind)
                        )))
                        .bind(self.source.clone());
                        for id in part {
                            query = query.bind(id.to_string());
                        }
                        query
                    }
                    Backend::Postgres => {
                        let mut array = String::from("{");
                        for (i, id) in part.iter().enumerate() {
                            if i > 0 {
                                array.push(',');
                            }
                            array_element(&mut array, id);
                        }
                        array.push('}');
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT id, source_id, content_hash, import_run_id{} FROM {table} WHERE source_system = $1 \
                             AND source_id = ANY(CAST($2 AS TEXT[]))",
                            Stored::columns(kind)
                        )))
                        .bind(self.source.clone())
                        .bind(array)
                    }
                };
                for row in query.fetch_all(self.conn.get().await?).await? {
                    let source_id: String = row.try_get(1)?;
                    let k = key(kind, &source_id);
                    if let Some(stored) = Stored::read(kind, &row)? {
                        self.stored.insert(k, stored);
                    }
                    // A record this import wrote before it let go of what it held (see
                    // `let_go`) is one it has seen.
                    let run: i64 = row.try_get(3)?;
                    self.known.insert(
                        k,
                        Known {
                            id: row.try_get(0)?,
                            hash: row.try_get(2)?,
                            seen: run == self.run_id,
                            kind,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// Keeps what an import holds in memory within its budget: writes what is pending, builds
    /// the unique keys a first load deferred on the tables of the kinds that are looked up (they
    /// are found in the store from now on; other indexes and foreign keys wait for the end),
    /// forgets those records, and leaves the outcomes of the
    /// new patients so far to be read back from the store like those of patients imported
    /// earlier. An import within its budget never comes here.
    async fn let_go(&mut self) -> Result<()> {
        self.flush().await?;
        let tables: Vec<&str> = LOOKED_UP.into_iter().filter_map(table).collect();
        self.build_deferred_keys(&tables).await?;
        self.known.retain(|_, k| !LOOKED_UP.contains(&k.kind));
        self.known.shrink_to_fit();
        self.stored = KeyMap::default();
        self.looked_up.extend(LOOKED_UP);
        let fresh = std::mem::take(&mut self.fresh);
        self.stale.extend(fresh.into_patient_ids());
        self.write_stale().await
    }

    /// Adds the patients in `stale` to `clinical_stale_patients`, whose outcomes are recomputed
    /// from the store at the end, so that the import does not hold them until then.
    async fn write_stale(&mut self) -> Result<()> {
        let mut ids: Vec<i64> = self.stale.drain().collect();
        ids.sort_unstable();
        for part in ids.chunks(LOOK_UP_IDS) {
            let list: Vec<String> = part.iter().map(i64::to_string).collect();
            let rows = match self.backend {
                Backend::Sqlite => format!("VALUES ({})", list.join("), (")),
                Backend::Postgres => format!("SELECT unnest('{{{}}}'::BIGINT[])", list.join(",")),
            };
            self.execute(format!(
                "INSERT INTO clinical_stale_patients (patient_id) {rows} ON CONFLICT DO NOTHING"
            ))
            .await?;
        }
        self.stale.shrink_to_fit();
        Ok(())
    }

    /// On PostgreSQL, analyses again each table this import is loading from empty and looking
    /// up in (after `let_go`) once it has doubled since it was last analysed: planned on
    /// statistics of a table a fraction of its size, look-ups scan the whole table (seconds
    /// each) instead of using its index. Autovacuum cannot help: it does not see the rows of a
    /// transaction still running.
    async fn analyze_growing(&mut self) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        for kind in LOOKED_UP {
            let Some(table) = table(kind) else { continue };
            if !(self.looked_up.contains(&kind) && self.first_loads.contains(&table)) {
                continue;
            }
            // Ids of a table loaded from empty run from 1.
            let rows = self.next_id.get(&kind).copied().unwrap_or(1) - 1;
            let last = self.analysed.get(table).copied().unwrap_or(0);
            if rows > 2 * last + 10_000 {
                self.analyze(&[table]).await?;
                self.analysed.insert(table, rows);
            }
        }
        Ok(())
    }

    /// On PostgreSQL, gathers the statistics of tables just loaded: it learns a table's size
    /// from an index build but nothing of its columns, and without them plans look-ups by
    /// source id as scans of the whole table (a re-import right after a first load took ten
    /// minutes instead of seconds before autovacuum came by).
    async fn analyze(&mut self, tables: &[&str]) -> Result<()> {
        if self.backend == Backend::Postgres && !tables.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ANALYZE {}",
                tables.join(", ")
            )))
            .execute(self.conn.get().await?)
            .await?;
        }
        Ok(())
    }

    fn record_key(&self, r: &Ref, field: &str) -> std::result::Result<u128, Refused> {
        let k = match r {
            Ref::Id(kind, id) => key(*kind, id),
            Ref::Identifier(kind, system, value) => {
                match self.idents.get(&identifier_key(*kind, system, value)) {
                    Some(k) => *k,
                    None => {
                        return Err(refused(
                            field,
                            format!(
                                "{r} matches no {} in this import or the store",
                                kind.as_str()
                            ),
                        ));
                    }
                }
            }
        };
        if self.known.contains_key(&k) {
            return Ok(k);
        }
        if self.rejected.contains(&k) {
            return Err(refused(field, format!("{r}{REJECTED_REFERENCE}")));
        }
        Err(refused(
            field,
            format!("{r} is in no file of this import and not in the store"),
        ))
    }

    fn row_id(&self, r: &Ref, field: &str) -> std::result::Result<i64, Refused> {
        let k = self.record_key(r, field)?;
        Ok(self.known[&k].id)
    }

    fn target(&self, r: &Ref, field: &str) -> std::result::Result<Target, Refused> {
        let k = self.record_key(r, field)?;
        Ok(self.targets.get(&k).copied().unwrap_or_default())
    }

    fn practitioner(&self, r: &Ref, field: &str) -> std::result::Result<i64, Refused> {
        match r.kind() {
            Kind::Practitioner => self.row_id(r, field),
            Kind::PractitionerRole => self
                .target(r, field)?
                .practitioner
                .ok_or_else(|| refused(field, format!("{r} names no practitioner"))),
            other => Err(refused(
                field,
                format!(
                    "{r} is a {}, not a Practitioner or PractitionerRole",
                    other.as_str()
                ),
            )),
        }
    }

    fn expect(r: &Ref, kind: Kind, field: &str) -> std::result::Result<(), Refused> {
        if r.kind() == kind {
            Ok(())
        } else {
            Err(refused(field, format!("{r} is not a {}", kind.as_str())))
        }
    }

    /// Writes one record (create, update or nothing), or says why it cannot be written. A second
    /// record with the same id in one import is refused unless identical.
    pub async fn write(
        &mut self,
        source_id: &str,
        record: &Record,
    ) -> Result<std::result::Result<Written, Refused>> {
        let kind = record.kind();
        let k = key(kind, source_id);
        let record = self.settle(k, record);
        let record = record.as_ref();
        let hash = record.content_hash();
        let existing = self.known.get(&k).copied();
        // An encounter that was in the store before may have conditions there that this import
        // does not hold (see `amend`).
        let ranks_stored = kind == Kind::Encounter
            && self.looked_up.contains(&Kind::Condition)
            && existing.is_some_and(|e| !e.seen);
        if let Some(known) = existing {
            if known.seen {
                return Ok(if known.hash == hash {
                    Ok(Written::Unchanged)
                } else {
                    Err(refused(
                        "id",
                        format!(
                            "{}/{source_id} appears twice with different content",
                            kind.as_str()
                        ),
                    ))
                });
            }
            if known.hash == hash {
                self.known.insert(
                    k,
                    Known {
                        seen: true,
                        ..known
                    },
                );
                self.count(kind, Written::Unchanged);
                if ranks_stored {
                    self.hold_encounter(known.id, k)?;
                }
                return Ok(Ok(Written::Unchanged));
            }
        }
        let result = match table(kind) {
            Some(_) => {
                self.write_row(kind, source_id, record, hash, existing.map(|e| e.id))
                    .await?
            }
            None => {
                self.write_reference(kind, source_id, record, existing.map(|e| e.id))
                    .await?
            }
        };
        let id = match result {
            Ok(id) => id,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if ranks_stored {
            self.hold_encounter(id, k)?;
        }
        self.known.insert(
            k,
            Known {
                id,
                hash,
                seen: true,
                kind,
            },
        );
        let written = if existing.is_some() {
            Written::Updated
        } else {
            Written::Created
        };
        self.count(kind, written);
        Ok(Ok(written))
    }

    /// Keeps a stored encounter this import holds (row id, key), whose stored conditions take
    /// the ranks it gives (`amend`).
    fn hold_encounter(&mut self, id: i64, k: u128) -> Result<()> {
        self.encounters
            .push(Encoder::default().key(k).number(Some(id)).bytes())
            .map_err(spill_failed)
    }

    /// The record with what it leaves to the store taken from the store: a condition's rank
    /// (while it stays on the same encounter), an encounter's billing. A record that leaves a
    /// field to the store leaves it empty, so one the store holds nothing for is as it is.
    fn settle<'r>(&self, k: u128, record: &'r Record) -> Cow<'r, Record> {
        match (record, self.stored.get(&k)) {
            (Record::Condition(c), Some(Stored::Rank { encounter, rank }))
                if c.rank_kept.0
                    && c.encounter
                        .as_ref()
                        .is_some_and(|r| self.row_id(r, "encounter").ok() == *encounter) =>
            {
                Cow::Owned(Record::Condition(records::Condition {
                    rank: Some(*rank),
                    ..c.clone()
                }))
            }
            (
                Record::Encounter(e),
                Some(Stored::Billing {
                    ms_drg,
                    payer,
                    cost_cents,
                    charges_cents,
                }),
            ) if e.billing_kept.0 => {
                let mut e = e.clone();
                e.ms_drg = e.ms_drg.or_else(|| ms_drg.clone());
                e.payer = e.payer.or_else(|| payer.clone());
                e.cost_cents = e.cost_cents.or(*cost_cents);
                e.charges_cents = e.charges_cents.or(*charges_cents);
                Cow::Owned(Record::Encounter(e))
            }
            _ => Cow::Borrowed(record),
        }
    }

    /// Applies to stored records what the import says about them without holding them: the
    /// ranks its encounters give their stored conditions (a condition that an encounter listing
    /// diagnoses does not rank has none), and what its claims say about encounters imported
    /// earlier. Their content hashes stay as they were, so the next import of such a record
    /// rewrites it once. Returns the conditions and encounters changed.
    pub async fn amend(
        &mut self,
        ranks: Option<&DiagnosisRanks>,
        billing: &crate::spill::Queue,
    ) -> Result<(u64, u64)> {
        self.flush().await?;
        let mut conditions = 0;
        if let Some(ranks) = ranks
            && !self.encounters.is_empty()
        {
            // Conditions are found by encounter below.
            self.build_deferred(&["conditions"]).await?;
            let in_import: HashSet<i64> = self
                .known
                .values()
                .filter(|k| k.kind == Kind::Condition && k.seen)
                .map(|k| k.id)
                .collect();
            // An encounter that lists no diagnoses says nothing about their ranks.
            let held = std::mem::take(&mut self.encounters);
            let mut records = held.records();
            loop {
                let listing = records
                    .next_chunk(LOOK_UP_IDS, |bytes| {
                        let mut d = Decoder::new(bytes);
                        let k = d.key()?;
                        let id = d.number()?;
                        let listing = ranks.encounters.get(k)? == Some(1);
                        Ok(id.filter(|_| listing))
                    })
                    .map_err(spill_failed)?;
                if listing.is_empty() {
                    break;
                }
                conditions += self.rerank(ranks, &in_import, &listing).await?;
            }
        }
        let mut encounters = 0;
        let mut records = billing.records();
        loop {
            let part = records
                .next_chunk(BILLING_ROWS, |bytes| {
                    BillingAmendment::decode(bytes).map(Some)
                })
                .map_err(spill_failed)?;
            if part.is_empty() {
                break;
            }
            encounters += self.apply_billing(&part).await?;
        }
        Ok((conditions, encounters))
    }

    /// Sets on stored encounters what claims say of them (where they say something), in one
    /// statement for many encounters; returns the encounters changed.
    async fn apply_billing(&mut self, part: &[BillingAmendment]) -> Result<u64> {
        // The same statement on both databases but for its placeholders: anonymous on SQLite
        // (see `Batch::insert_parameters`), numbered on PostgreSQL. A VALUES list names its
        // columns column1, column2, … on both.
        let mut n = 0;
        let mut next = || {
            n += 1;
            match self.backend {
                Backend::Sqlite => "?".to_string(),
                Backend::Postgres => format!("${n}"),
            }
        };
        let run = next();
        let rows: Vec<String> = part
            .iter()
            .map(|_| {
                format!(
                    "({}, {}, {}, CAST({} AS BIGINT), CAST({} AS BIGINT))",
                    next(),
                    next(),
                    next(),
                    next(),
                    next()
                )
            })
            .collect();
        let source = next();
        let sql = format!(
            "UPDATE encounters SET ms_drg = COALESCE(v.ms_drg, encounters.ms_drg), \
             payer = COALESCE(v.payer, encounters.payer), \
             cost_cents = COALESCE(v.cost, encounters.cost_cents), \
             charges_cents = COALESCE(v.charges, encounters.charges_cents), import_run_id = {run} \
             FROM (SELECT column1 AS source_id, column2 AS ms_drg, column3 AS payer, \
             column4 AS cost, column5 AS charges FROM (VALUES {}) AS claimed) AS v \
             WHERE encounters.source_system = {source} AND encounters.source_id = v.source_id \
             AND NOT (COALESCE(v.ms_drg, encounters.ms_drg) IS NOT DISTINCT FROM encounters.ms_drg \
             AND COALESCE(v.payer, encounters.payer) IS NOT DISTINCT FROM encounters.payer \
             AND COALESCE(v.cost, encounters.cost_cents) IS NOT DISTINCT FROM encounters.cost_cents \
             AND COALESCE(v.charges, encounters.charges_cents) IS NOT DISTINCT FROM encounters.charges_cents)",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.run_id);
        for b in part {
            query = query
                .bind(b.encounter.clone())
                .bind(b.ms_drg.clone())
                .bind(b.payer.clone())
                .bind(b.cost_cents)
                .bind(b.charges_cents);
        }
        let changed = query
            .bind(self.source.clone())
            .execute(self.conn.get().await?)
            .await?;
        Ok(changed.rows_affected())
    }

    /// Gives the stored conditions of `encounters` (row ids of stored encounters in this import
    /// that list diagnoses) the ranks the import gives them, leaving out those in the import
    /// (`in_import`, row ids). Returns the conditions changed.
    async fn rerank(
        &mut self,
        ranks: &DiagnosisRanks,
        in_import: &HashSet<i64>,
        encounters: &[i64],
    ) -> Result<u64> {
        let mut changed = 0;
        // The stored conditions of the import's encounters that it does not hold (by row
        // id: most are in it, and their source ids need not be read), then those.
        let mut others = Vec::new();
        let select = "SELECT id, source_system FROM conditions";
        for sql in self.where_in(select, "encounter_id", encounters) {
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.conn.get().await?)
                .await?
            {
                let id: i64 = row.try_get(0)?;
                if !in_import.contains(&id) && row.try_get::<String, _>(1)? == self.source {
                    others.push(id);
                }
            }
        }
        let select = "SELECT id, source_id, patient_id, rank FROM conditions";
        for sql in self.where_in(select, "id", &others) {
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.conn.get().await?)
                .await?
            {
                let source_id: String = row.try_get(1)?;
                let rank = ranks
                    .ranks
                    .get(key(Kind::Condition, &source_id))
                    .map_err(spill_failed)?
                    .map(|rank| rank as i64);
                if rank == row.try_get::<Option<i64>, _>(3)? {
                    continue;
                }
                sqlx::query("UPDATE conditions SET rank = $1, import_run_id = $2 WHERE id = $3")
                    .bind(rank)
                    .bind(self.run_id)
                    .bind(row.try_get::<i64, _>(0)?)
                    .execute(self.conn.get().await?)
                    .await?;
                self.stale.insert(row.try_get(2)?);
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// `select` limited to the rows whose `column` is one of the row ids `ids`, as statements of
    /// `LOOK_UP_IDS` ids each (the ids are numbers, written into them: `IN (…)` on SQLite,
    /// `= ANY(…)` on PostgreSQL).
    fn where_in(&self, select: &str, column: &str, ids: &[i64]) -> Vec<String> {
        ids.chunks(LOOK_UP_IDS)
            .map(|part| {
                let list: Vec<String> = part.iter().map(i64::to_string).collect();
                match self.backend {
                    Backend::Sqlite => format!("{select} WHERE {column} IN ({})", list.join(", ")),
                    Backend::Postgres => format!(
                        "{select} WHERE {column} = ANY('{{{}}}'::BIGINT[])",
                        list.join(",")
                    ),
                }
            })
            .collect()
    }

    fn count(&mut self, kind: Kind, written: Written) {
        let c = self.counts.entry(kind).or_default();
        match written {
            Written::Created => c.created += 1,
            Written::Updated => c.updated += 1,
            Written::Unchanged => c.unchanged += 1,
        }
    }

    /// The values of a row-table record after `id`, `source_system`, `source_id` (in `columns`
    /// order), with the patient it concerns.
    fn values(
        &self,
        record: &Record,
        hash: i64,
    ) -> std::result::Result<(Vec<Val>, Option<i64>), Refused> {
        let text = |v: &Option<String>| Val::Text(v.clone());
        let run = Val::from(self.run_id);
        Ok(match record {
            Record::Practitioner(p) => (
                vec![text(&p.npi), p.name.as_str().into(), hash.into(), run],
                None,
            ),
            Record::Patient(p) => (
                vec![
                    text(&p.birth_date),
                    p.sex.into(),
                    text(&p.zip3),
                    text(&p.death_date),
                    hash.into(),
                    run,
                ],
                None,
            ),
            Record::Encounter(e) => {
                Self::expect(&e.patient, Kind::Patient, "subject")?;
                let patient = self.row_id(&e.patient, "subject")?;
                let location = match &e.location {
                    Some(r) => {
                        Self::expect(r, Kind::Location, "location")?;
                        self.target(r, "location")?
                    }
                    None => Target::default(),
                };
                let provider = match &e.service_provider {
                    Some(r) => {
                        Self::expect(r, Kind::Organization, "serviceProvider")?;
                        self.target(r, "serviceProvider")?
                    }
                    None => Target::default(),
                };
                let attending = e
                    .attending
                    .as_ref()
                    .map(|r| self.practitioner(r, "participant"))
                    .transpose()?;
                (
                    vec![
                        patient.into(),
                        e.class.into(),
                        provider.facility.or(location.facility).into(),
                        provider.department.or(location.department).into(),
                        location.unit.into(),
                        attending.into(),
                        e.admit_at.as_str().into(),
                        text(&e.discharge_at),
                        text(&e.admit_source),
                        text(&e.discharge_disposition),
                        text(&e.ms_drg),
                        text(&e.payer),
                        e.cost_cents.into(),
                        e.charges_cents.into(),
                        hash.into(),
                        run,
                    ],
                    Some(patient),
                )
            }
            Record::Condition(c) => {
                Self::expect(&c.patient, Kind::Patient, "subject")?;
                let patient = self.row_id(&c.patient, "subject")?;
                let encounter = match &c.encounter {
                    Some(r) => {
                        Self::expect(r, Kind::Encounter, "encounter")?;
                        Some(self.row_id(r, "encounter")?)
                    }
                    None => None,
                };
                (
                    vec![
                        patient.into(),
                        encounter.into(),
                        c.code_system.as_str().into(),
                        c.code.as_str().into(),
                        Val::Text(c.present_on_admission.map(str::to_string)),
                        c.rank.into(),
                        text(&c.onset_at),
                        hash.into(),
                        run,
                    ],
                    Some(patient),
                )
            }
            Record::Procedure(p) => {
                Self::expect(&p.patient, Kind::Patient, "subject")?;
                let patient = self.row_id(&p.patient, "subject")?;
                let encounter = match &p.encounter {
                    Some(r) => {
                        Self::expect(r, Kind::Encounter, "encounter")?;
                        Some(self.row_id(r, "encounter")?)
                    }
                    None => None,
                };
                let performer = p
                    .performer
                    .as_ref()
                    .map(|r| self.practitioner(r, "performer"))
                    .transpose()?;
                (
                    vec![
                        patient.into(),
                        encounter.into(),
                        p.code_system.as_str().into(),
                        p.code.as_str().into(),
                        text(&p.performed_at),
                        performer.into(),
                        hash.into(),
                        run,
                    ],
                    Some(patient),
                )
            }
            _ => (Vec::new(), None),
        })
    }

    /// The row id of the encounter a condition or procedure names (already resolved by `values`).
    fn encounter_of(&self, record: &Record) -> Option<i64> {
        let encounter = match record {
            Record::Condition(c) => c.encounter.as_ref(),
            Record::Procedure(p) => p.encounter.as_ref(),
            _ => None,
        };
        encounter.and_then(|r| self.row_id(r, "encounter").ok())
    }

    async fn write_row(
        &mut self,
        kind: Kind,
        source_id: &str,
        record: &Record,
        hash: i64,
        existing: Option<i64>,
    ) -> Result<std::result::Result<i64, Refused>> {
        let (values, patient) = match self.values(record, hash) {
            Ok(v) => v,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let id = match existing {
            Some(id) => {
                // A record moved to another patient leaves the first one's outcomes stale too.
                if let (Some(table), Some(_)) = (table(kind), patient) {
                    let before: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT patient_id FROM {table} WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_one(self.conn.get().await?)
                    .await?
                    .try_get(0)?;
                    self.stale.insert(before);
                }
                let sql = update_sql(kind);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for value in values {
                    query = match value {
                        Val::Int(v) => query.bind(v),
                        Val::Text(v) => query.bind(v),
                    };
                }
                query.bind(id).execute(self.conn.get().await?).await?;
                id
            }
            None => {
                let next = self.next_id.entry(kind).or_insert(1);
                let id = *next;
                *next += 1;
                let mut row = Vec::with_capacity(values.len() + 3);
                row.push(Val::from(id));
                row.push(self.source.as_str().into());
                row.push(source_id.into());
                row.extend(values);
                if let Some(batch) = self.batches.get_mut(&kind) {
                    batch.push(&mut self.conn, row).await?;
                }
                id
            }
        };
        match (record, patient) {
            (Record::Patient(p), _) if existing.is_none() => {
                self.fresh.add_patient(id, p.death_date.clone());
            }
            (Record::Patient(_), _) => {
                self.stale.insert(id);
            }
            (_, Some(patient)) => {
                let encounter = self.encounter_of(record);
                if !self.fresh.add(patient, id, record, encounter, &self.sets) {
                    self.stale.insert(patient);
                }
            }
            _ => {}
        }
        if let Record::Practitioner(p) = record {
            self.identifiers(Kind::Practitioner, source_id, &p.identifiers)
                .await?;
        }
        Ok(Ok(id))
    }

    async fn identifiers(
        &mut self,
        kind: Kind,
        source_id: &str,
        identifiers: &[Identifier],
    ) -> Result<()> {
        for i in identifiers {
            sqlx::query(
                "INSERT INTO clinical_identifiers (source_system, resource_type, system, value, source_id) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (source_system, resource_type, system, value) DO UPDATE SET source_id = excluded.source_id",
            )
            .bind(&self.source)
            .bind(kind.as_str())
            .bind(&i.system)
            .bind(&i.value)
            .bind(source_id)
            .execute(self.conn.get().await?)
            .await?;
            self.idents.insert(
                identifier_key(kind, &i.system, &i.value),
                key(kind, source_id),
            );
        }
        Ok(())
    }

    /// Organizations, Locations and PractitionerRoles: find or create what they stand for, and
    /// remember it in `clinical_source_refs`.
    async fn write_reference(
        &mut self,
        kind: Kind,
        source_id: &str,
        record: &Record,
        existing: Option<i64>,
    ) -> Result<std::result::Result<i64, Refused>> {
        let (target, identifiers) = match record {
            Record::Organization(o) => match self.organization(o).await? {
                Ok(t) => (t, &o.identifiers),
                Err(r) => return Ok(Err(r)),
            },
            Record::Location(l) => match self.location(l).await? {
                Ok(t) => (t, &l.identifiers),
                Err(r) => return Ok(Err(r)),
            },
            Record::PractitionerRole(r) => match self.practitioner(&r.practitioner, "practitioner")
            {
                Ok(p) => (
                    Target {
                        practitioner: Some(p),
                        ..Target::default()
                    },
                    &r.identifiers,
                ),
                Err(refusal) => return Ok(Err(refusal)),
            },
            _ => return Ok(Err(refused("resourceType", "is not stored"))),
        };
        let hash = record.content_hash();
        let id = match existing {
            Some(id) => {
                sqlx::query(
                    "UPDATE clinical_source_refs SET facility_id = $1, department_id = $2, unit_id = $3, practitioner_id = $4, \
                     content_hash = $5, import_run_id = $6 WHERE id = $7",
                )
                .bind(target.facility)
                .bind(target.department)
                .bind(target.unit)
                .bind(target.practitioner)
                .bind(hash)
                .bind(self.run_id)
                .bind(id)
                .execute(self.conn.get().await?)
                .await?;
                id
            }
            None => sqlx::query(
                "INSERT INTO clinical_source_refs (source_system, resource_type, source_id, facility_id, department_id, unit_id, \
                 practitioner_id, content_hash, import_run_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&self.source)
            .bind(kind.as_str())
            .bind(source_id)
            .bind(target.facility)
            .bind(target.department)
            .bind(target.unit)
            .bind(target.practitioner)
            .bind(hash)
            .bind(self.run_id)
            .fetch_one(self.conn.get().await?)
            .await?
            .try_get(0)?,
        };
        self.targets.insert(key(kind, source_id), target);
        let identifiers = identifiers.clone();
        self.identifiers(kind, source_id, &identifiers).await?;
        Ok(Ok(id))
    }

    async fn organization(
        &mut self,
        o: &records::Organization,
    ) -> Result<std::result::Result<Target, Refused>> {
        let now = platform::time::now_text();
        if o.payer {
            return Ok(Ok(Target::default()));
        }
        if let Some(parent) = &o.department_of {
            let facility = match self.target(parent, "partOf") {
                Ok(Target {
                    facility: Some(f),
                    department: None,
                    ..
                }) => f,
                Ok(_) => {
                    return Ok(Err(refused(
                        "partOf",
                        format!("{parent} is not a facility"),
                    )));
                }
                Err(r) => return Ok(Err(r)),
            };
            let found =
                sqlx::query("SELECT id FROM departments WHERE facility_id = $1 AND name = $2")
                    .bind(facility)
                    .bind(&o.name)
                    .fetch_optional(self.conn.get().await?)
                    .await?;
            let department: i64 = match found {
                Some(row) => row.try_get(0)?,
                None => sqlx::query(
                    "INSERT INTO departments (facility_id, name, service_line, created_at, updated_at) VALUES ($1, $2, '', $3, $3) RETURNING id",
                )
                .bind(facility)
                .bind(&o.name)
                .bind(&now)
                .fetch_one(self.conn.get().await?)
                .await?
                .try_get(0)?,
            };
            return Ok(Ok(Target {
                facility: Some(facility),
                department: Some(department),
                ..Target::default()
            }));
        }
        let mut found = None;
        if let Some(ccn) = &o.ccn {
            found = sqlx::query("SELECT id FROM facilities WHERE ccn = $1")
                .bind(ccn)
                .fetch_optional(self.conn.get().await?)
                .await?;
        }
        if found.is_none() {
            found = match sqlx::query("SELECT id, ccn FROM facilities WHERE name = $1")
                .bind(&o.name)
                .fetch_optional(self.conn.get().await?)
                .await?
            {
                Some(row) => {
                    let their: Option<String> = row.try_get(1)?;
                    if let (Some(theirs), Some(ours)) = (&their, &o.ccn) {
                        return Ok(Err(refused(
                            "identifier",
                            format!(
                                "the facility named '{}' has CCN {theirs}, not {ours}",
                                o.name
                            ),
                        )));
                    }
                    Some(row)
                }
                None => None,
            };
        }
        let facility: i64 = match found {
            Some(row) => row.try_get(0)?,
            None => sqlx::query(
                "INSERT INTO facilities (name, ccn, city, state, created_at, updated_at) VALUES ($1, $2, '', '', $3, $3) RETURNING id",
            )
            .bind(&o.name)
            .bind(o.ccn.clone())
            .bind(&now)
            .fetch_one(self.conn.get().await?)
            .await?
            .try_get(0)?,
        };
        Ok(Ok(Target {
            facility: Some(facility),
            ..Target::default()
        }))
    }

    async fn location(
        &mut self,
        l: &records::Location,
    ) -> Result<std::result::Result<Target, Refused>> {
        let org = match &l.organization {
            Some(r) => {
                if let Err(refusal) = Self::expect(r, Kind::Organization, "managingOrganization") {
                    return Ok(Err(refusal));
                }
                match self.target(r, "managingOrganization") {
                    Ok(t) => t,
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
            None => Target::default(),
        };
        let Some(kind) = l.unit_kind else {
            return Ok(Ok(Target {
                facility: org.facility,
                department: org.department,
                ..Target::default()
            }));
        };
        let Some(facility) = org.facility else {
            return Ok(Err(refused(
                "managingOrganization",
                "a ward needs the facility that manages it",
            )));
        };
        let found = sqlx::query("SELECT id FROM units WHERE facility_id = $1 AND name = $2")
            .bind(facility)
            .bind(&l.name)
            .fetch_optional(self.conn.get().await?)
            .await?;
        let unit: i64 = match found {
            Some(row) => {
                let unit: i64 = row.try_get(0)?;
                // A bed count fills one the unit lacks; one set in Rounds is kept.
                if let Some(beds) = l.beds {
                    sqlx::query("UPDATE units SET beds = $1 WHERE id = $2 AND beds = 0")
                        .bind(beds)
                        .bind(unit)
                        .execute(self.conn.get().await?)
                        .await?;
                }
                unit
            }
            None => sqlx::query(
                "INSERT INTO units (facility_id, department_id, name, kind, beds, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .bind(facility)
            .bind(org.department)
            .bind(&l.name)
            .bind(kind)
            .bind(l.beds.unwrap_or(0))
            .bind(platform::time::now_text())
            .fetch_one(self.conn.get().await?)
            .await?
            .try_get(0)?,
        };
        Ok(Ok(Target {
            facility: Some(facility),
            department: org.department,
            unit: Some(unit),
            practitioner: None,
        }))
    }

    /// Writes what is still batched; call at the end of each phase, before records that refer to
    /// those just written.
    pub async fn flush(&mut self) -> Result<()> {
        for kind in Kind::ALL {
            if let Some(batch) = self.batches.get_mut(&kind) {
                batch.flush(&mut self.conn).await?;
            }
        }
        Ok(())
    }

    /// Creates again what was dropped for the bulk load of `tables`.
    async fn build_deferred(&mut self, tables: &[&str]) -> Result<()> {
        let (now, later) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|d| tables.contains(&d.table));
        self.deferred = later;
        for deferred in now {
            for create in deferred.keys.into_iter().chain(deferred.rest) {
                self.execute(create).await?;
            }
        }
        Ok(())
    }

    /// Creates again the unique keys a first load dropped from `tables` (see `Deferred::keys`).
    async fn build_deferred_keys(&mut self, tables: &[&str]) -> Result<()> {
        let mut keys = Vec::new();
        for deferred in &mut self.deferred {
            if tables.contains(&deferred.table) {
                keys.append(&mut deferred.keys);
            }
        }
        for create in keys {
            self.execute(create).await?;
        }
        Ok(())
    }

    async fn execute(&mut self, sql: String) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(self.conn.get().await?)
            .await?;
        Ok(())
    }

    /// Gives the transaction back (to roll it back) with the connection's cache as it was.
    pub async fn abandon(mut self) -> Result<BulkTx> {
        self.restore_cache().await?;
        self.conn.into_tx().await
    }

    async fn restore_cache(&mut self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA cache_size = -{DEFAULT_CACHE_KIB}"
            )))
            .execute(self.conn.get().await?)
            .await?;
        }
        Ok(())
    }

    /// Flushes, computes the outcomes of the patients touched (from memory for those this
    /// import created, from the store for the others) and builds what the bulk load deferred;
    /// returns the transaction for the caller to audit and commit.
    pub async fn finish(mut self) -> Result<(BulkTx, u64)> {
        let timing = std::env::var_os("ROUNDS_IMPORT_TIMING").is_some();
        let started = std::time::Instant::now();
        let lap = |what: &str| {
            if timing {
                eprintln!("  {what}: {:.2} s", started.elapsed().as_secs_f64());
            }
        };
        self.flush().await?;
        // The records of patients imported earlier are read back by patient below: their
        // tables need their indexes, and on PostgreSQL the tables this import loaded need
        // statistics, for that and for the look-ups of the next import.
        let record_tables: Vec<&str> = Kind::ALL.into_iter().filter_map(table).collect();
        self.build_deferred(&record_tables).await?;
        lap("record indexes built");
        let first_loads = std::mem::take(&mut self.first_loads);
        self.analyze(&first_loads).await?;
        lap("analysed");
        let sets = std::mem::take(&mut self.sets);
        self.write_stale().await?;
        let mut recomputed =
            crate::outcomes::recompute_stale(&mut self.conn, self.backend, &sets).await?;
        lap("outcomes of earlier patients recomputed");
        let fresh = std::mem::take(&mut self.fresh);
        recomputed +=
            crate::outcomes::write(&mut self.conn, self.backend, fresh.into_patients(), &sets)
                .await?;
        lap("outcomes of new patients computed");
        self.build_deferred(&OUTCOME_TABLES).await?;
        lap("outcome indexes built");
        self.restore_cache().await?;
        Ok((self.conn.into_tx().await?, recomputed))
    }
}

/// See `crate::spill`.
fn spill_failed(e: std::io::Error) -> Error {
    Error::Invalid(crate::spill::failure(&e))
}

impl From<Refused> for Error {
    fn from(r: Refused) -> Error {
        Error::Invalid(format!("{}: {}", r.field, r.reason))
    }
}
