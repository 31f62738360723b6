//! Copied from crates/platform/tests/platform/support.rs (with the clinical migrations added);
//! a candidate to move into a shared test-support crate.
//! Throwaway databases for tests. `backends()` gives a fresh, migrated database on SQLite (a temp
//! directory) and, when `ROUNDS_TEST_POSTGRES_URL` names a PostgreSQL server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`), on PostgreSQL (a new database per call, dropped
//! when the `TestDb` is). With `ROUNDS_TEST_REQUIRE_ALL=1`, a missing PostgreSQL URL fails the test
//! instead of skipping that backend, so CI cannot pass on SQLite alone.

#![allow(dead_code)]

use platform::{Db, migrate};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const POSTGRES_ENV: &str = "ROUNDS_TEST_POSTGRES_URL";
pub const REQUIRE_ALL_ENV: &str = "ROUNDS_TEST_REQUIRE_ALL";

/// A fresh database with every platform migration applied.
pub struct TestDb {
    pub db: Db,
    /// The URL it was opened with (for a second connection or a spawned server).
    pub url: String,
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Database { admin_url: String, database: String },
}

/// One database per backend available: SQLite always, PostgreSQL when configured.
pub async fn backends() -> Vec<TestDb> {
    let mut all = vec![TestDb::sqlite().await];
    if let Some(admin) = postgres_admin_url() {
        all.push(TestDb::postgres(&admin).await);
    }
    all
}

/// The PostgreSQL admin URL, or `None` (a skip) unless every backend is required.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV).ok().filter(|url| !url.trim().is_empty()) {
        Some(url) => Some(url),
        None if std::env::var(REQUIRE_ALL_ENV).as_deref() == Ok("1") => {
            panic!("{REQUIRE_ALL_ENV}=1 but {POSTGRES_ENV} is not set: the PostgreSQL run would be skipped")
        }
        None => None,
    }
}

fn unique_suffix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// `postgres://u@h:5432/postgres?x=y` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("rounds-test-{}", unique_suffix()));
        let url = Db::sqlite_url(&dir).expect("a temporary data directory");
        let db = Db::connect(&url).await.expect("the SQLite test database opens");
        migrate::run(&db, &[migrate::PLATFORM, clinical::MIGRATIONS]).await.expect("migrations apply on SQLite");
        TestDb { db, url, name: "sqlite", cleanup: Cleanup::Directory(dir) }
    }

    pub async fn postgres(admin_url: &str) -> TestDb {
        let database = format!("rounds_test_{}", unique_suffix());
        let admin = Db::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {}: {e}", platform::db::mask_url(admin_url)));
        // The name is ours (digits, letters and underscores), so it is safe to splice in.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin.pool)
            .await
            .expect("CREATE DATABASE for a test");
        admin.close().await;
        let url = with_database(admin_url, &database);
        let db = Db::connect(&url).await.expect("the PostgreSQL test database opens");
        migrate::run(&db, &[migrate::PLATFORM, clinical::MIGRATIONS]).await.expect("migrations apply on PostgreSQL");
        TestDb { db, url, name: "postgres", cleanup: Cleanup::Database { admin_url: admin_url.to_string(), database } }
    }

    /// Runs one statement that needs no parameters (a hand edit, a count…).
    pub async fn exec(&self, statement: &'static str) -> u64 {
        sqlx::query(statement)
            .execute(&self.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{}: {statement}: {e}", self.name))
            .rows_affected()
    }

    /// The single integer a query returns (e.g. `SELECT COUNT(*) AS n FROM users`).
    pub async fn number(&self, query: &'static str) -> i64 {
        use sqlx::Row;
        let row = sqlx::query(query)
            .fetch_one(&self.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{}: {query}: {e}", self.name));
        row.try_get::<i64, _>(0).unwrap_or_else(|e| panic!("{}: {query}: {e}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, database } => {
                // Drop runs inside the test's runtime, which cannot be blocked on; a thread with a
                // runtime of its own drops the database (ending the pool's connections).
                let (admin_url, statement) = (admin_url.clone(), format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let admin = Db::connect(&admin_url).await.ok()?;
                        let result = sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&admin.pool).await;
                        admin.close().await;
                        result.ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(_))) {
                    eprintln!("note: could not drop the test database {database}");
                }
            }
        }
    }
}

#[test]
fn a_database_name_replaces_the_one_in_the_url() {
    assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"), "postgres://postgres@127.0.0.1:5432/t1");
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
    assert_eq!(with_database("postgres://u@h:5432", "t3"), "postgres://u@h:5432/t3");
}
