//! The import history: one row per run (committed, partial or refused), newest first.

use crate::Result;
use crate::import::TypeCounts;
use platform::Db;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct ImportRun {
    pub id: i64,
    pub kind: String,
    pub source_system: String,
    pub actor: String,
    pub started_at: String,
    pub finished_at: String,
    /// `committed`, `partial` (with --skip-invalid, some records rejected) or `refused`.
    pub status: String,
    pub files: Vec<String>,
    pub counts: BTreeMap<String, TypeCounts>,
    pub problems: i64,
    pub message: String,
}

pub async fn recent(db: &Db, limit: i64) -> Result<Vec<ImportRun>> {
    let rows = sqlx::query(
        "SELECT id, kind, source_system, actor, started_at, finished_at, status, files, counts, problems, message \
         FROM import_runs ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let files: String = r.try_get("files")?;
            let counts: String = r.try_get("counts")?;
            Ok(ImportRun {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                source_system: r.try_get("source_system")?,
                actor: r.try_get("actor")?,
                started_at: r.try_get("started_at")?,
                finished_at: r.try_get("finished_at")?,
                status: r.try_get("status")?,
                files: files.lines().map(str::to_string).collect(),
                counts: serde_json::from_str(&counts).unwrap_or_default(),
                problems: r.try_get("problems")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}
