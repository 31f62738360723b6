//! The Rounds platform: what every module stands on. Configuration, the database (SQLite or
//! PostgreSQL through one code path), migrations, accounts, sessions, roles, the audit chain,
//! the organisation (facilities, departments, units), the job queue and the web shell.

pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod jobs;
pub mod migrate;
pub mod org;
pub mod roles;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod users;
pub mod web;

pub use config::Config;
pub use db::Db;
pub use error::{Error, Result};
pub use roles::Role;
