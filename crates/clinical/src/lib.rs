//! The clinical data store: patients (minimum necessary), encounters, procedures, diagnoses,
//! value sets, import history and derived outcomes, with the importers that fill it (FHIR R4
//! NDJSON and Bundles, Synthea CSV, Rounds' own CSV templates). Quality, staff and strategy read
//! what this crate stores; they never write it.

pub mod browse;
pub mod codes;
pub mod error;
pub mod history;
pub mod import;
pub mod job;
pub mod outcomes;
pub mod records;
pub mod spill;
pub mod store;
pub mod value_sets;
pub mod web;

pub use error::{Error, Result};

use platform::migrate::Migration;

/// The clinical store's migrations, for `app::MIGRATIONS`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        module: "clinical",
        version: 1,
        name: "patients, practitioners, encounters, procedures, conditions, value sets, import runs, outcomes",
        sqlite: include_str!("../migrations/sqlite/0001_clinical.sql"),
        postgres: include_str!("../migrations/postgres/0001_clinical.sql"),
    },
    Migration {
        module: "clinical",
        version: 2,
        name: "the principal diagnosis kept with the derived outcomes",
        sqlite: include_str!("../migrations/sqlite/0002_principal_diagnosis_outcome.sql"),
        postgres: include_str!("../migrations/postgres/0002_principal_diagnosis_outcome.sql"),
    },
];
