//! The command line: one subcommand per file in this folder; this file only dispatches.

mod audit;
mod backup;
mod config;
pub mod database;
mod demo;
mod funnel;
mod import;
pub mod io;
mod migrate;
mod pv;
mod restore;
mod riskadj;
mod serve;
mod spc;
mod surveil;
mod token;
mod user;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "rounds",
    version,
    about = "Rounds: clinical governance for the office of a Chief Medical Officer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (first run creates the database and an admin account)
    Serve(serve::ServeArgs),
    /// Write a synthetic health system with planted signals and their truth (FHIR, FAERS, surveillance)
    Demo(demo::DemoArgs),
    // Analysis commands (pure statistics over files): one variant per file in cli/.
    /// Funnel plot of groups against overdispersion-adjusted limits (FunnelPlotR's method)
    Funnel(funnel::FunnelArgs),
    /// Risk-adjusted observed/expected per group from a patient-level logistic model
    Riskadj(riskadj::RiskAdjArgs),
    /// Pharmacovigilance: disproportionality signals (PRR, ROR, BCPNN IC, MGPS) over spontaneous reports
    Pv(pv::PvArgs),
    /// Control chart with qicharts2's limits, Anhøj runs rules and the sigma signal
    Spc(spc::Args),
    /// Public-health surveillance: outbreak alarms (Farrington, Noufaily, EARS, CUSUM) and Rt
    Surveil(surveil::SurveilArgs),

    // Operations: commands on the database (SQLite in --data-dir, or PostgreSQL).
    /// Import clinical data (FHIR R4 NDJSON or Bundles, Synthea CSV, Rounds CSV templates)
    Import(import::ImportArgs),
    /// Manage local accounts: add, list, set roles, reset passwords, disable, enable
    User(user::UserArgs),
    /// Manage API tokens for service accounts: create (shown once), list, revoke
    Token(token::TokenArgs),
    /// Check the audit chain for altered, removed or reordered entries
    Audit(audit::AuditArgs),
    /// Apply pending database migrations (also done when the server starts)
    Migrate(migrate::MigrateArgs),
    /// Print the effective configuration, secrets masked
    Config(config::ConfigArgs),
    /// Write a consistent, checked copy of the SQLite database while Rounds runs
    Backup(backup::BackupArgs),
    /// Replace the SQLite database with a backup, keeping the current one beside it
    #[command(long_about = restore::ABOUT)]
    Restore(restore::RestoreArgs),
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => io::finish(serve::run(args)),
        Command::Demo(args) => io::finish(demo::run(args)),
        Command::Funnel(args) => io::finish(funnel::run(args)),
        Command::Riskadj(args) => io::finish(riskadj::run(args)),
        Command::Pv(args) => io::finish(pv::run(args)),
        Command::Spc(args) => io::finish(spc::run(args)),
        Command::Surveil(args) => io::finish(surveil::run(args)),
        Command::Import(args) => io::finish(import::run(args)),
        Command::User(args) => io::finish(user::run(args)),
        Command::Token(args) => io::finish(token::run(args)),
        Command::Audit(args) => finish_with(audit::run(args)),
        Command::Migrate(args) => finish_with(migrate::run(args)),
        Command::Config(args) => io::finish(config::run(args)),
        Command::Backup(args) => io::finish(backup::run(args)),
        Command::Restore(args) => io::finish(restore::run(args)),
    }
}

/// As `io::finish`, for commands whose success can still end in a failing status (a broken audit
/// chain, pending migrations).
fn finish_with(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => io::finish(Err(error)),
    }
}
