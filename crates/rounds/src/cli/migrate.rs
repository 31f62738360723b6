//! `rounds migrate`: applies the schema migrations this version of Rounds knows and the
//! database lacks. `rounds serve` does the same at start-up; this command lets an operator do it
//! (after a backup) before starting the new version.

use super::database::{self, DatabaseArgs, MIGRATIONS};
use clap::Args;
use platform::migrate;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Only list the pending migrations; change nothing (exit status 1 when some are pending)
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    db: DatabaseArgs,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<std::process::ExitCode> {
    database::block_on(async {
        let (_, db) = args.db.connect().await?;
        let result = if args.check {
            check(&db).await
        } else {
            apply(&db).await
        };
        db.close().await;
        result
    })
}

async fn apply(db: &platform::Db) -> anyhow::Result<std::process::ExitCode> {
    let applied = migrate::run(db, MIGRATIONS).await?;
    match applied {
        0 => println!("applied 0 migrations: the database is up to date"),
        1 => println!("applied 1 migration"),
        n => println!("applied {n} migrations"),
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn check(db: &platform::Db) -> anyhow::Result<std::process::ExitCode> {
    let status = migrate::status(db, MIGRATIONS).await?;
    if status.pending.is_empty() {
        println!("the database is up to date");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    for (module, version) in &status.pending {
        println!("pending: {module} migration {version}");
    }
    Ok(std::process::ExitCode::FAILURE)
}
