//! `rounds serve`: the web application. Opens (and on first run creates) the database, applies
//! migrations, creates the first `admin` account on an empty database and prints its password
//! once, runs the job worker, and serves until SIGTERM or Ctrl-C, finishing requests in flight.

use crate::app;
use anyhow::Context;
use clap::Args;
use platform::config::{Config, Overrides};
use platform::web::{self, AppState};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; 0.0.0.0:8080 to expose)
    #[arg(long)]
    pub bind: Option<String>,
    /// Data directory holding the SQLite database (default ./rounds-data; ./rounds-demo with --demo)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user:password@host/db) instead of the SQLite file
    #[arg(long, value_name = "URL", env = "ROUNDS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Configuration file (default ./rounds.toml when present)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Demonstration: a sample health system in its own data directory and a `demo` account
    /// with every role, whose password is printed at start
    #[arg(long)]
    pub demo: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        config_file: args.config,
        data_dir: args.data_dir,
        database_url: args.database_url,
        bind: args.bind,
    };
    if args.demo && overrides.data_dir.is_none() && overrides.database_url.is_none() {
        overrides.data_dir = Some(PathBuf::from("rounds-demo"));
    }
    let config = Config::load(&overrides)?;
    platform::telemetry::init(&config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(serve(config, args.demo))
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let migrations = app::migrations();
    let (db, first_password) = web::prepare(&config, &migrations).await?;
    let demo_password = if demo {
        platform::demo::seed(&db).await?;
        Some(platform::demo::demo_account(&db).await?)
    } else {
        None
    };
    let state = AppState::new(db.clone(), config.clone());
    let router = web::app(app::routes(&state));
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;

    // Sign-in details go to the terminal only, never to the log.
    println!("Rounds is serving http://{address}/");
    if let Some(password) = first_password {
        println!("First run: sign in as `admin` with the password {password}");
        println!("(shown once; change it under Password after signing in)");
    }
    if let Some(password) = demo_password {
        println!("Demo: sign in as `demo` (every role) with the password {password}");
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = config.jobs.then(|| {
        let mut stopped = stopped.clone();
        tokio::spawn(platform::jobs::work(db.clone(), app::jobs(), async move {
            let _ = stopped.changed().await;
        }))
    });
    tracing::info!(%address, database = %platform::db::mask_url(&config.database()?), "serving");
    web::serve(listener, router, web::shutdown_signal()).await?;
    let _ = stop.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    db.close().await;
    Ok(())
}
