//! The assembled application: which modules' migrations, routes, navigation and jobs make up
//! Rounds. Module crates contribute here; the platform provides the shell.

use platform::jobs::Registry;
use platform::migrate::{self, Migration};
use platform::web::{self, AppState, Routes};

/// Every module's migrations, in the order they apply. A module crate adds its list here.
pub const MIGRATIONS: &[&[Migration]] = &[migrate::PLATFORM, clinical::MIGRATIONS];

pub fn routes(state: &AppState) -> Routes {
    web::platform_routes(state)
}

pub fn jobs() -> Registry {
    platform::jobs::platform_registry()
}
