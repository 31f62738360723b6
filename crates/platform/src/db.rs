//! The database handle: one pool over SQLite (the embedded default) or PostgreSQL (production),
//! and the few places where the two differ (connection set-up, how a write transaction starts,
//! row locking when claiming jobs, bulk loads). Everything else runs the same SQL on both.

use crate::error::{Error, Result};
use either::Either;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use sqlx::AnyConnection;
use sqlx::any::{
    AnyConnectOptions, AnyPoolOptions, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo,
};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Any, AnyPool, Connection, Execute, Executor, SqlStr, Transaction};
use sqlx_core::any::AnyConnectionBackend;
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

    /// Starts a write transaction for a bulk load (see `BulkTx`).
    pub async fn begin_bulk(&self) -> Result<BulkTx> {
        match self.backend {
            Backend::Sqlite => Ok(BulkTx::Pooled(self.begin().await?)),
            Backend::Postgres => {
                let options = PgConnectOptions::try_from(&*self.pool.connect_options())?;
                let mut conn = PgConnection::connect_with(&options).await?;
                AnyConnectionBackend::begin(&mut conn, None).await?;
                Ok(BulkTx::Postgres(Box::new(conn)))
            }
        }
    }

    /// Is the database reachable?
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction for bulk loads. On SQLite it is the pool's. On PostgreSQL it runs on a
/// connection of its own, outside the pool, so that rows can be sent with `COPY` (sqlx's `Any`
/// driver has no `COPY`), while every other statement goes through the `Any` interface as
/// everywhere else (`exec`). Dropped without `commit`, it is rolled back (on PostgreSQL by
/// closing its connection).
#[derive(Debug)]
pub enum BulkTx {
    Pooled(Tx),
    Postgres(Box<PgConnection>),
}

impl BulkTx {
    /// Sends `data`, in the text format of `COPY`, to `statement` (`COPY table (columns) FROM
    /// STDIN`); PostgreSQL only. Returns the rows copied.
    pub async fn copy_in(&mut self, statement: &str, data: &[u8]) -> Result<u64> {
        match self {
            BulkTx::Postgres(conn) => {
                let mut copy = conn.copy_in_raw(statement).await?;
                copy.send(data).await?;
                Ok(copy.finish().await?)
            }
            BulkTx::Pooled(_) => Err(Error::Config(
                "COPY is only used on a PostgreSQL bulk transaction".into(),
            )),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            BulkTx::Pooled(tx) => tx.commit().await?,
            BulkTx::Postgres(mut conn) => {
                AnyConnectionBackend::commit(&mut *conn).await?;
                conn.close().await?;
            }
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            BulkTx::Pooled(tx) => tx.rollback().await?,
            BulkTx::Postgres(mut conn) => {
                AnyConnectionBackend::rollback(&mut *conn).await?;
                conn.close().await?;
            }
        }
        Ok(())
    }
}

/// Something statements can be run on through sqlx's `Any` interface: a pooled transaction or
/// a `BulkTx`. `exec` gives an executor for one statement.
pub trait Executes: Send {
    fn exec(&mut self) -> Exec<'_>;
}

impl Executes for Tx {
    fn exec(&mut self) -> Exec<'_> {
        Exec::Any(self)
    }
}

impl Executes for BulkTx {
    fn exec(&mut self) -> Exec<'_> {
        match self {
            BulkTx::Pooled(tx) => Exec::Any(tx),
            BulkTx::Postgres(conn) => Exec::Postgres(conn),
        }
    }
}

/// An `Any` executor over either an `Any` connection or a native PostgreSQL one, which sqlx
/// drives through the same `Any` interface (`AnyConnectionBackend`): the same statements, binds
/// and rows on both.
#[derive(Debug)]
pub enum Exec<'c> {
    Any(&'c mut AnyConnection),
    Postgres(&'c mut PgConnection),
}

impl<'c> Executor<'c> for Exec<'c> {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        mut query: E,
    ) -> BoxStream<'e, std::result::Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Exec::Any(conn) => conn.fetch_many(query),
            Exec::Postgres(conn) => match query.take_arguments() {
                Ok(arguments) => {
                    let persistent = query.persistent();
                    AnyConnectionBackend::fetch_many(conn, query.sql(), persistent, arguments)
                }
                Err(e) => futures_util::stream::once(async { Err(sqlx::Error::Encode(e)) }).boxed(),
            },
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        mut query: E,
    ) -> BoxFuture<'e, std::result::Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Exec::Any(conn) => conn.fetch_optional(query),
            Exec::Postgres(conn) => match query.take_arguments() {
                Ok(arguments) => {
                    let persistent = query.persistent();
                    AnyConnectionBackend::fetch_optional(conn, query.sql(), persistent, arguments)
                }
                Err(e) => async { Err(sqlx::Error::Encode(e)) }.boxed(),
            },
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, std::result::Result<AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Exec::Any(conn) => conn.prepare_with(sql, parameters),
            Exec::Postgres(conn) => AnyConnectionBackend::prepare_with(conn, sql, parameters),
        }
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
