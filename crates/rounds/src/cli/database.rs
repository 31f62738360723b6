//! What every command that touches the database shares: the `--data-dir` / `--database-url` /
//! `--config` options, turning them into the layered configuration, opening the database with its
//! migrations applied, and a runtime to run the platform's async storage code from a plain
//! command.

pub use crate::app::MIGRATIONS;
use anyhow::Context;
use clap::Args;
use platform::config::{Config, Overrides};
use platform::db::{self, Backend, Db};
use platform::migrate;
use std::future::Future;
use std::path::PathBuf;

/// Where the database is. Flags override `ROUNDS_*` environment variables, which override
/// `rounds.toml`, which overrides the defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct DatabaseArgs {
    /// Folder of the SQLite database `rounds.db` (default ./rounds-data; also ROUNDS_DATA_DIR)
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database instead of the SQLite file: postgres://USER:PASSWORD@HOST/DB
    #[arg(
        long,
        value_name = "URL",
        env = "ROUNDS_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
    /// Configuration file (default ./rounds.toml when it exists; also ROUNDS_CONFIG)
    #[arg(long = "config", value_name = "FILE", global = true)]
    pub config_file: Option<PathBuf>,
}

impl DatabaseArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config_file.clone(),
            data_dir: self.data_dir.clone(),
            // An empty ROUNDS_DATABASE_URL means "not set", as in the environment layer.
            database_url: self
                .database_url
                .clone()
                .filter(|url| !url.trim().is_empty()),
            bind: None,
        }
    }

    /// The effective configuration.
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(&self.overrides())?)
    }

    /// Opens the database as it is, without migrating it (for `migrate` and `backup`).
    pub async fn connect(&self) -> anyhow::Result<(Config, Db)> {
        let config = self.config()?;
        let url = config.database()?;
        let db = Db::connect(&url)
            .await
            .with_context(|| format!("database {}", db::mask_url(&url)))?;
        Ok((config, db))
    }

    /// Opens the database and applies pending migrations, so a command works against a fresh data
    /// directory. A database migrated by a newer Rounds is refused here.
    pub async fn open(&self) -> anyhow::Result<(Config, Db)> {
        let (config, db) = self.connect().await?;
        if let Err(e) = migrate::run(&db, MIGRATIONS).await {
            db.close().await;
            return Err(e.into());
        }
        Ok((config, db))
    }
}

/// The SQLite file a configuration points at, or `None` for PostgreSQL.
pub fn sqlite_file(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    if config.database_url.is_empty() {
        return Ok(Some(config.data_dir.join(db::SQLITE_FILE)));
    }
    Ok(match db::backend_of(&config.database_url)? {
        Backend::Sqlite => {
            let path = config
                .database_url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            Some(PathBuf::from(path))
        }
        Backend::Postgres => None,
    })
}

/// Runs a command's async body to completion on a runtime of its own: the body on this thread,
/// and what it spawns (an import's batched inserts, which overlap its reading) on one other.
pub fn block_on<T>(body: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(body)
}

/// Runs `body` with the migrated database, closing it afterwards (which also checkpoints the
/// SQLite write-ahead log) whether or not `body` succeeded.
pub fn with_db<T>(
    args: &DatabaseArgs,
    body: impl AsyncFnOnce(&Config, &Db) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    block_on(async {
        let (config, db) = args.open().await?;
        let result = body(&config, &db).await;
        db.close().await;
        result
    })
}

/// One line read from standard input without its line ending: a password given with
/// `--password-stdin`.
pub fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        anyhow::bail!("--password-stdin: standard input held no password (give it on one line)");
    }
    Ok(password.to_string())
}

/// Rows as columns padded to their widest cell, the first row being the header.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let rows = vec![
            vec!["NAME".to_string(), "ROLES".to_string()],
            vec!["dr.okafor".to_string(), "cmo".to_string()],
        ];
        assert_eq!(table(&rows), "NAME       ROLES\ndr.okafor  cmo\n");
    }

    #[test]
    fn the_sqlite_file_follows_the_data_dir_or_url() {
        let config = Config {
            data_dir: PathBuf::from("/srv/rounds"),
            ..Config::default()
        };
        assert_eq!(
            sqlite_file(&config).unwrap(),
            Some(PathBuf::from("/srv/rounds/rounds.db"))
        );
        let config = Config {
            database_url: "sqlite:///srv/x/rounds.db?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(
            sqlite_file(&config).unwrap(),
            Some(PathBuf::from("/srv/x/rounds.db"))
        );
        let config = Config {
            database_url: "postgres://rounds@db/rounds".into(),
            ..Config::default()
        };
        assert_eq!(sqlite_file(&config).unwrap(), None);
    }
}
