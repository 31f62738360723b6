//! The command line: one subcommand per file in this folder; this file only dispatches.

mod funnel;
pub mod io;
mod pv;
mod riskadj;
mod serve;
mod spc;
mod surveil;

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
    /// Serve the web application (first run creates the database and an admin account)
    Serve(serve::ServeArgs),
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
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => io::finish(serve::run(args)),
        Command::Funnel(args) => io::finish(funnel::run(args)),
        Command::Riskadj(args) => io::finish(riskadj::run(args)),
        Command::Pv(args) => io::finish(pv::run(args)),
        Command::Spc(args) => io::finish(spc::run(args)),
        Command::Surveil(args) => io::finish(surveil::run(args)),
    }
}
