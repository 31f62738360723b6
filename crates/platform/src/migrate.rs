//! Schema migrations. Each module owns a numbered list of migrations, written once per backend;
//! `schema_migrations` records which ran and a checksum of their text. A database that holds a
//! migration this binary does not know (migrated by a newer Rounds) is refused, as is one whose
//! applied migration text has changed since.

use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use sqlx::Row;

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
pub const PLATFORM: &[Migration] = &[Migration {
    module: "platform",
    version: 1,
    name: "accounts, sessions, audit chain, organisation, jobs",
    sqlite: include_str!("../migrations/sqlite/0001_platform.sql"),
    postgres: include_str!("../migrations/postgres/0001_platform.sql"),
}];

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

/// Checks the database against the known migrations without changing it.
pub async fn status(db: &Db, known: &[&[Migration]]) -> Result<Status> {
    match sqlx::query(CREATE_LEDGER).execute(&db.pool).await {
        Ok(_) => {}
        // Two servers creating the ledger at once: PostgreSQL fails the second on its catalog's
        // unique index once the first has committed, so the table is there.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
        Err(e) => return Err(e.into()),
    }
    let rows = sqlx::query("SELECT module, version, checksum FROM schema_migrations")
        .fetch_all(&db.pool)
        .await?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in rows {
        let module: String = row.try_get("module")?;
        let version: i64 = row.try_get("version")?;
        let checksum: String = row.try_get("checksum")?;
        let known_migration = known
            .iter()
            .flat_map(|list| list.iter())
            .find(|m| m.module == module && m.version == version);
        match known_migration {
            None => {
                return Err(Error::Migration(format!(
                    "the database was migrated by a newer version of Rounds (it has {module} \
                     migration {version}, which this binary does not know); run the newer \
                     version or restore a backup taken before the upgrade"
                )));
            }
            Some(m) if m.checksum(db.backend) != checksum => {
                return Err(Error::Migration(format!(
                    "{module} migration {version} ({}) differs from the one applied to this \
                     database; this binary was built from altered sources",
                    m.name
                )));
            }
            Some(_) => applied.push((module, version)),
        }
    }
    let pending = known
        .iter()
        .flat_map(|list| list.iter())
        .filter(|m| !applied.iter().any(|(module, v)| module == m.module && *v == m.version))
        .map(|m| (m.module.to_string(), m.version))
        .collect();
    Ok(Status { pending })
}

/// Applies every pending migration, each in its own transaction; returns how many ran. Servers
/// starting together against one database apply each migration once: the ledger row is written
/// first, so a second server waits on its primary key until the first commits, then skips it.
pub async fn run(db: &Db, known: &[&[Migration]]) -> Result<usize> {
    let pending = status(db, known).await?.pending;
    let mut applied = 0;
    for (module, version) in &pending {
        let m = known
            .iter()
            .flat_map(|list| list.iter())
            .find(|m| m.module == module && m.version == *version)
            .expect("pending migrations come from the known list");
        let mut tx = db.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO schema_migrations (module, version, name, checksum, applied_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(m.module)
        .bind(m.version)
        .bind(m.name)
        .bind(m.checksum(db.backend))
        .bind(crate::time::now_text())
        .execute(&mut *tx)
        .await;
        match claimed {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                // Another process applied it since `status` looked.
                tx.rollback().await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::raw_sql(m.sql(db.backend))
            .execute(&mut *tx)
            .await
            .map_err(|e| Error::Migration(format!("{module} migration {version} failed: {e}")))?;
        tx.commit().await?;
        applied += 1;
        tracing::info!(module, version, name = m.name, "applied migration");
    }
    Ok(applied)
}
