//! The assembled application: which modules' migrations, routes, navigation, API documents and
//! jobs make up Rounds. Module crates contribute here; the platform provides the shell.

use platform::Db;
use platform::config::Config;
use platform::jobs::Registry;
use platform::migrate::{self, Migration};
use platform::web::{self, AppState, Routes};
use utoipa::OpenApi;

/// Every module's migrations, in the order they apply. A module crate adds its list here.
pub const MIGRATIONS: &[&[Migration]] = &[
    migrate::PLATFORM,
    clinical::MIGRATIONS,
    pharma::migrations::MIGRATIONS,
];

/// The application state with every module's navigation, migrations and API document.
pub fn state(db: Db, config: Config) -> AppState {
    AppState::new(db, config)
        .with_migrations(MIGRATIONS)
        .with_module(clinical::web::nav(), clinical::web::ClinicalApi::openapi())
        .with_module(pharma::web::nav(), pharma::web::PharmaApi::openapi())
        .with_panel(clinical::web::panel())
        .with_panel(pharma::web::panel())
}

pub fn routes(state: &AppState) -> Routes {
    let routes = web::platform_routes(state);
    let routes = clinical::web::routes(routes);
    pharma::web::routes(routes)
}

pub fn jobs(config: &Config) -> Registry {
    let mut registry = platform::jobs::platform_registry();
    clinical::job::register(&mut registry);
    pharma::job::register(&mut registry, pharma::web::faers_dir(&config.data_dir));
    registry
}
