//! The database handle: one pool over SQLite (the embedded default) or PostgreSQL (production),
//! and the few places where the two differ (connection set-up, how a write transaction starts,
//! row locking when claiming jobs). Everything else runs the same SQL on both.

use crate::error::{Error, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub type Tx = Transaction<'static, Any>;

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// The SQLite file inside a data directory.
pub const SQLITE_FILE: &str = "rounds.db";

impl Db {
    /// Opens the database named by `url` (`sqlite://…` or `postgres://…`), creating an SQLite
    /// file if it does not exist yet.
    pub async fn connect(url: &str) -> Result<Db> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = backend_of(url)?;
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| Error::Config(format!("database URL is not valid: {e}")))?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the one writer; the busy timeout makes a
                            // second writer wait instead of failing at once.
                            sqlx::raw_sql(
                                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                                 PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                            )
                            .execute(conn)
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
            }
        }
        .map_err(|e| Error::Config(format!("cannot open the database: {e}")))?;
        Ok(Db { pool, backend })
    }

    /// The SQLite URL of the database file in `data_dir`, creating the directory.
    pub fn sqlite_url(data_dir: &Path) -> Result<String> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::Config(format!(
                "cannot create the data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join(SQLITE_FILE).display()
        ))
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing when
    /// it upgrades a read lock.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Is the database reachable?
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(Error::Config(
            "the database URL must start with sqlite:// or postgres://".to_string(),
        ))
    }
}

/// Hides the password in a database URL for display and logs.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_masked() {
        assert_eq!(
            mask_url("postgres://rounds:s3cret@db:5432/rounds"),
            "postgres://rounds:****@db:5432/rounds"
        );
        assert_eq!(
            mask_url("postgres://rounds@db/rounds"),
            "postgres://rounds@db/rounds"
        );
        assert_eq!(
            mask_url("sqlite://data/rounds.db?mode=rwc"),
            "sqlite://data/rounds.db?mode=rwc"
        );
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(backend_of("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgresql://h/db").unwrap(), Backend::Postgres);
        assert!(matches!(backend_of("mysql://h/db"), Err(Error::Config(_))));
    }
}
