//! The command line: one subcommand per file in this folder; this file only dispatches.

pub mod io;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "rounds", version, about = "Rounds: clinical governance for the office of a Chief Medical Officer")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // Analysis commands (pure statistics over files): one variant per file in cli/.
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {}
}
