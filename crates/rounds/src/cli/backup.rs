//! `rounds backup --output FILE`: a consistent copy of the SQLite database taken while Rounds
//! runs (`VACUUM INTO` reads one snapshot), checked before the command reports success. A
//! PostgreSQL database is backed up with PostgreSQL's own tools; the command says how.

use super::database::{self, DatabaseArgs};
use anyhow::{Context, bail};
use clap::Args;
use platform::db::mask_url;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Row};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist yet
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// The advice for a PostgreSQL database, naming the tool and a command line.
pub fn postgres_advice(url: &str, verb: &str) -> String {
    let url = mask_url(url);
    format!(
        "rounds {verb} handles the SQLite database only; this configuration uses PostgreSQL ({url}). \
         Use PostgreSQL's tools instead:\n  \
         backup:  pg_dump --format=custom --file=rounds-$(date +%F).dump '{url}'\n  \
         restore: pg_restore --clean --if-exists --no-owner --dbname='{url}' rounds-YYYY-MM-DD.dump\n\
         (stop every rounds serve before restoring)"
    )
}

pub fn run(args: BackupArgs) -> anyhow::Result<()> {
    let config = args.db.config()?;
    let Some(source) = database::sqlite_file(&config)? else {
        bail!("{}", postgres_advice(&config.database_url, "backup"));
    };
    let output = &args.output;
    if output.exists() {
        bail!(
            "{}: already exists; a backup never overwrites a file, so name a new one",
            output.display()
        );
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "{}: the folder {} does not exist",
            output.display(),
            parent.display()
        );
    }
    if !source.is_file() {
        bail!("{}: there is no database to back up", source.display());
    }
    let text = output
        .to_str()
        .with_context(|| format!("{}: the path is not UTF-8", output.display()))?;
    database::block_on(async {
        // The database is copied as it is, not migrated: a backup taken before an upgrade must
        // hold the old schema.
        let (_, db) = args.db.connect().await?;
        // A string literal in SQL: single quotes doubled, nothing else is special inside one.
        let sql = format!("VACUUM INTO '{}'", text.replace('\'', "''"));
        let copied = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db.pool)
            .await;
        db.close().await;
        copied.with_context(|| format!("{}: cannot write the backup", output.display()))?;
        match check_copy(output).await {
            Ok(()) => {
                let bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
                println!(
                    "backup written to {} ({bytes} bytes, integrity check ok)",
                    output.display()
                );
                Ok(())
            }
            Err(e) => {
                // A copy that does not check out is no backup: do not leave it to be trusted.
                let _ = std::fs::remove_file(output);
                Err(e.context(format!(
                    "{}: the copy failed its check and was removed",
                    output.display()
                )))
            }
        }
    })
}

/// Opens the copy, makes it one self-contained file (rollback journal, not WAL), and checks it:
/// `PRAGMA integrity_check` is `ok` and the migration ledger is there.
async fn check_copy(path: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .context("cannot open the copy")?;
    let verdict = integrity(&mut conn).await;
    let migrations = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations")
        .fetch_one(&mut conn)
        .await;
    conn.close().await.ok();
    let verdict = verdict?;
    if verdict != "ok" {
        bail!("integrity check: {verdict}");
    }
    migrations.context("the copy has no schema_migrations table")?;
    Ok(())
}

/// The result of `PRAGMA integrity_check`: `ok`, or its first problems.
pub async fn integrity(conn: &mut sqlx::SqliteConnection) -> anyhow::Result<String> {
    let rows = sqlx::query("PRAGMA integrity_check(10)")
        .fetch_all(&mut *conn)
        .await
        .context("integrity check")?;
    let lines: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
    Ok(lines.join("; "))
}
