//! `rounds restore FILE`: puts a backup made by `rounds backup` in place of the SQLite database,
//! after checking it, and keeps the database it replaces.

use super::backup::{integrity, postgres_advice};
use super::database::{self, DatabaseArgs, MIGRATIONS};
use anyhow::{Context, bail};
use clap::Args;
use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection, Row};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Long help of `rounds restore`.
pub const ABOUT: &str = "Replace the SQLite database with a backup made by `rounds backup`.

Stop every `rounds serve` that uses the data directory first: restore refuses while another \
process has the database open. The backup is checked before anything changes (it must be an \
SQLite database with Rounds' schema_migrations table, pass PRAGMA integrity_check, and not come \
from a newer version of Rounds), copied into the data directory, and then swapped in. The \
database it replaces is kept beside it as rounds.db.before-restore-<timestamp> (with its -wal \
and -shm files), so a restore can itself be undone. A backup from an older version is migrated \
when Rounds next starts (or by `rounds migrate`).

PostgreSQL databases are restored with pg_restore; the command says how.";

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (from `rounds backup --output FILE`)
    file: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

pub fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let config = args.db.config()?;
    let Some(target) = database::sqlite_file(&config)? else {
        bail!("{}", postgres_advice(&config.database_url, "restore"));
    };
    let file = &args.file;
    check_header(file)?;
    let wal = with_suffix(file, "-wal");
    if wal.exists() {
        bail!(
            "{}: a write-ahead log ({}) lies beside it, so it is a live database rather than a backup; \
             make a backup of it with rounds backup and restore that",
            file.display(),
            wal.display()
        );
    }
    let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create the data directory", dir.display()))?;
    }
    let stamp = platform::time::now().format("%Y%m%dT%H%M%SZ").to_string();
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(platform::db::SQLITE_FILE)
        .to_string();
    let staged = target.with_file_name(format!("{name}.restoring-{stamp}"));
    std::fs::copy(file, &staged)
        .with_context(|| format!("cannot copy {} to {}", file.display(), staged.display()))?;

    let result = database::block_on(async {
        check_backup(file, &staged).await?;
        if target.exists() {
            ensure_unused(&target).await?;
        }
        Ok(())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }

    let kept = target.with_file_name(format!("{name}.before-restore-{stamp}"));
    if target.exists() {
        std::fs::rename(&target, &kept).with_context(|| {
            format!(
                "cannot move {} aside to {}",
                target.display(),
                kept.display()
            )
        })?;
        println!("the previous database is kept as {}", kept.display());
    }
    for suffix in ["-wal", "-shm"] {
        let side = with_suffix(&target, suffix);
        if side.exists() {
            let aside = with_suffix(&kept, suffix);
            std::fs::rename(&side, &aside).with_context(|| {
                format!(
                    "cannot move {} aside to {}",
                    side.display(),
                    aside.display()
                )
            })?;
        }
    }
    std::fs::rename(&staged, &target).with_context(|| {
        format!(
            "cannot move {} into place as {}",
            staged.display(),
            target.display()
        )
    })?;
    println!("restored {} into {}", file.display(), target.display());
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// An SQLite database starts with these 16 bytes.
fn check_header(file: &Path) -> anyhow::Result<()> {
    let mut header = [0u8; 16];
    let mut f =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    if !f.metadata().map(|m| m.is_file()).unwrap_or(false) {
        bail!("{}: not a file", file.display());
    }
    if f.read_exact(&mut header).is_err() || &header != b"SQLite format 3\0" {
        bail!(
            "{}: not an SQLite database (a backup from rounds backup is one)",
            file.display()
        );
    }
    Ok(())
}

/// Checks the staged copy of the backup: integrity, the migration ledger, no unknown migration.
async fn check_backup(file: &Path, staged: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::new()
        .filename(staged)
        .create_if_missing(false)
        .connect()
        .await
        .with_context(|| format!("{}: cannot open as an SQLite database", file.display()))?;
    let result = async {
        let verdict = integrity(&mut conn).await?;
        if verdict != "ok" {
            bail!("integrity check failed: {verdict}");
        }
        let ledger = sqlx::query("SELECT module, version FROM schema_migrations").fetch_all(&mut conn).await;
        let Ok(ledger) = ledger else {
            bail!("it has no schema_migrations table, so it is not a Rounds database");
        };
        for row in &ledger {
            let module: String = row.try_get("module")?;
            let version: i64 = row.try_get("version")?;
            if !MIGRATIONS.iter().flat_map(|list| list.iter()).any(|m| m.module == module && m.version == version) {
                bail!(
                    "it was made by a newer version of Rounds (it has {module} migration {version}, which \
                     this binary does not know); restore it with that version"
                );
            }
        }
        Ok(())
    }
    .await;
    conn.close().await.ok();
    result.with_context(|| format!("{}: refused", file.display()))
}

/// Refuses when another process (a running `rounds serve`) has the database open: taking it in
/// exclusive locking mode fails while any other connection holds it. On the way it checkpoints
/// the write-ahead log into the file being set aside.
async fn ensure_unused(target: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::new()
        .filename(target)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_millis(500))
        .connect()
        .await
        .with_context(|| format!("{}: cannot open the current database", target.display()))?;
    let locked = sqlx::raw_sql("BEGIN EXCLUSIVE; COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
        .execute(&mut conn)
        .await;
    conn.close().await.ok();
    if locked.is_err() {
        bail!(
            "{}: the database is in use by another process; stop every rounds serve using it, then restore",
            target.display()
        );
    }
    Ok(())
}
