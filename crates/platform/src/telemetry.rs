//! Logging: `tracing` events to standard error, as text or JSON lines, filtered by `RUST_LOG`
//! (default `info`). Request spans carry the request id; no handler logs secrets, tokens or
//! patient identifiers, and request spans hold the path without its query string.

use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests, embedded use) keeps the first subscriber.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
