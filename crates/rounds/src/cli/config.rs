//! `rounds config`: the effective configuration after every layer (defaults < rounds.toml <
//! ROUNDS_* environment < flags), as TOML, with the database password masked.

use super::database::DatabaseArgs;
use clap::Args;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    db: DatabaseArgs,
}

pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    let config = args.db.config()?;
    print!("{}", config.describe());
    Ok(())
}
