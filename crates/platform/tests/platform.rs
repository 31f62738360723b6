//! The platform's one integration-test binary: storage on SQLite and PostgreSQL, the web
//! application over real HTTP, and a browser suite in headless Chromium.

#[path = "platform/support.rs"]
mod support;
#[path = "platform/web.rs"]
mod web;
#[path = "platform/browser.rs"]
mod browser;
