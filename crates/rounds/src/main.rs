//! `rounds`: the one binary. Parses the command line and hands each command to its module.

mod app;
mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: a large import allocates values on one thread and
/// frees them on the database's (sqlx's SQLite worker), which glibc's allocator handles slowly
/// (bench/import/README.md has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}
