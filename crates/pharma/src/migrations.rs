//! The pharma module's schema.

use platform::migrate::Migration;

pub const MIGRATIONS: &[Migration] = &[Migration {
    module: "pharma",
    version: 1,
    name: "pharmacovigilance screening runs and signal tables",
    sqlite: include_str!("../migrations/sqlite/0001_pv.sql"),
    postgres: include_str!("../migrations/postgres/0001_pv.sql"),
}];
