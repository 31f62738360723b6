//! The platform crate's one integration-test binary. Each submodule is a suite; `support` gives
//! every test a fresh database on each backend available (SQLite always; PostgreSQL when
//! `ROUNDS_TEST_POSTGRES_URL` is set).

#[path = "platform/storage.rs"]
mod storage;

#[path = "platform/web.rs"]
mod web;

#[path = "platform/browser.rs"]
mod browser;
