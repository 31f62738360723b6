//! Schema migrations. Each module owns a numbered list of migrations, written once per backend;
//! `schema_migrations` records which ran and a checksum of their text. A database that holds a
//! migration this binary does not know (migrated by a newer Rounds) is refused, as is one whose
//! applied migration text has changed since.

use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

pub struct Migration {
    pub module: &'static str,
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    fn checksum(&self, backend: Backend) -> String {
        hex::encode(Sha256::digest(self.sql(backend).as_bytes()))
    }
}

/// The platform's own migrations; module crates pass theirs alongside.
pub const PLATFORM: &[Migration] = &[
    Migration {
        module: "platform",
        version: 1,
        name: "accounts, sessions, audit chain, organisation, jobs",
        sqlite: include_str!("../migrations/sqlite/0001_platform.sql"),
        postgres: include_str!("../migrations/postgres/0001_platform.sql"),
    },
    Migration {
        module: "platform",
        version: 2,
        name: "job progress",
        sqlite: include_str!("../migrations/sqlite/0002_job_progress.sql"),
        postgres: include_str!("../migrations/postgres/0002_job_progress.sql"),
    },
];

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
)";

/// What `status` found: migrations not yet applied.
#[derive(Debug, PartialEq, Eq)]
pub struct Status {
    pub pending: Vec<(String, i64)>,
}

fn all<'a>(known: &'a [&'static [Migration]]) -> impl Iterator<Item = &'static Migration> + 'a {
    known.iter().flat_map(|list| list.iter())
}

/// Checks the ledger against the known migrations and returns the pending ones.
async fn pending(
    conn: &mut AnyConnection,
    backend: Backend,
    known: &[&'static [Migration]],
    ledger_exists: bool,
) -> Result<Vec<&'static Migration>> {
    let rows = if ledger_exists {
        sqlx::query("SELECT module, version, checksum FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    let mut applied = Vec::with_capacity(rows.len());
    for row in rows {
        let module: String = row.try_get("module")?;
        let version: i64 = row.try_get("version")?;
        let checksum: String = row.try_get("checksum")?;
        match all(known).find(|m| m.module == module && m.version == version) {
            None => {
                return Err(Error::Migration(format!(
                    "the database was migrated by a newer version of Rounds (it has {module} \
                     migration {version}, which this binary does not know); run the newer \
                     version or restore a backup taken before the upgrade"
                )));
            }
            Some(m) if m.checksum(backend) != checksum => {
                return Err(Error::Migration(format!(
                    "{module} migration {version} ({}) differs from the one applied to this \
                     database; this binary was built from altered sources",
                    m.name
                )));
            }
            Some(_) => applied.push((module, version)),
        }
    }
    Ok(all(known)
        .filter(|m| {
            !applied
                .iter()
                .any(|(module, v)| module == m.module && *v == m.version)
        })
        .collect())
}

/// Checks the database against the known migrations without changing it.
pub async fn status(db: &Db, known: &[&'static [Migration]]) -> Result<Status> {
    let mut conn = db.pool.acquire().await?;
    // No ledger yet means nothing is applied.
    let ledger_exists = sqlx::query("SELECT COUNT(*) FROM schema_migrations")
        .execute(&mut *conn)
        .await
        .is_ok();
    let pending = pending(&mut conn, db.backend, known, ledger_exists).await?;
    Ok(Status {
        pending: pending
            .iter()
            .map(|m| (m.module.to_string(), m.version))
            .collect(),
    })
}

/// Applies every pending migration in one transaction, so an upgrade happens entirely or not at
/// all; returns how many ran. Servers starting together take turns: SQLite's write lock or a
/// PostgreSQL advisory lock is held while the ledger is read and written.
pub async fn run(db: &Db, known: &[&'static [Migration]]) -> Result<usize> {
    let mut tx = db.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(727866001)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(CREATE_LEDGER).execute(&mut *tx).await?;
    let pending = pending(&mut tx, db.backend, known, true).await?;
    for m in &pending {
        sqlx::raw_sql(m.sql(db.backend))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                Error::Migration(format!("{} migration {} failed: {e}", m.module, m.version))
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (module, version, name, checksum, applied_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(m.module)
        .bind(m.version)
        .bind(m.name)
        .bind(m.checksum(db.backend))
        .bind(crate::time::now_text())
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            module = m.module,
            version = m.version,
            name = m.name,
            "applying migration"
        );
    }
    tx.commit().await?;
    Ok(pending.len())
}
