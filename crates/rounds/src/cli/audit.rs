//! `rounds audit verify`: walks the hash-chained audit log and names the first entry that was
//! altered, removed or reordered.

use super::database::{self, DatabaseArgs};
use clap::{Args, Subcommand};
use platform::audit::{self, Verdict};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the audit chain: exit status 0 when intact, 1 naming the first bad entry when not
    ///
    /// Each entry holds the SHA-256 of the entry before it and of its own content, and the chain's
    /// head records the last entry, so an edited, deleted, inserted or reordered entry, or entries
    /// cut from the end, are all found. A failure to read the database also exits with status 1.
    Verify,
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify => {
            let verdict = database::with_db(&args.db, async |_, db| Ok(audit::verify(db).await?))?;
            Ok(match verdict {
                Verdict::Intact { entries } => {
                    println!("audit chain intact: {entries} entries");
                    ExitCode::SUCCESS
                }
                Verdict::Broken { seq, reason } => {
                    println!("audit chain broken at entry {seq}: {reason}");
                    ExitCode::FAILURE
                }
            })
        }
    }
}
