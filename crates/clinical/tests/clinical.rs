//! The clinical crate's one integration-test binary. `support` gives every test a fresh database
//! on each backend available (SQLite always; PostgreSQL when `ROUNDS_TEST_POSTGRES_URL` is set).

#[path = "clinical/support.rs"]
mod support;

#[path = "clinical/fhir.rs"]
mod fhir;

#[path = "clinical/synthea_csv.rs"]
mod synthea_csv;

#[path = "clinical/templates.rs"]
mod templates;

#[path = "clinical/web.rs"]
mod web;
