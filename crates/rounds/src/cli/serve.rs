//! `rounds serve`: the web application. Opens (and on first run creates) the database, applies
//! migrations, creates the first `admin` account on an empty database and prints its password
//! once, runs the job worker, and serves until SIGTERM or Ctrl-C, finishing requests in flight.

use super::database::DatabaseArgs;
use crate::app;
use anyhow::Context;
use clap::Args;
use platform::config::Config;
use platform::web;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; 0.0.0.0:8080 to expose; also ROUNDS_BIND)
    #[arg(long)]
    pub bind: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Demonstration: a synthetic health system in its own data directory (./rounds-demo) and
    /// demo accounts (one with every role, one per role) whose passwords are printed at start
    #[arg(long)]
    pub demo: bool,
    /// Size of the demo health system built on the first --demo run
    #[arg(long, value_enum, default_value_t = DemoScale::Small, requires = "demo")]
    pub demo_scale: DemoScale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoScale {
    /// About 25,000 encounters: browsing within a minute
    Small,
    /// About 120,000 inpatient and 300,000 emergency encounters
    Medium,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut overrides = args.database.overrides();
    overrides.bind = args.bind;
    if args.demo && overrides.data_dir.is_none() && overrides.database_url.is_none() {
        overrides.data_dir = Some(PathBuf::from("rounds-demo"));
    }
    let config = Config::load(&overrides)?;
    platform::telemetry::init(&config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let demo = args.demo.then_some(args.demo_scale);
    runtime.block_on(serve(config, demo))
}

/// The demonstration data, built once per data directory: a small synthetic health system
/// (`synth`, seed 1) written into the data directory, its FHIR export imported through the
/// normal import path (which brings the organisation), a first screening of its FAERS extract
/// queued, and the demo accounts. Returns the accounts and their passwords.
async fn prepare_demo(
    db: &platform::Db,
    config: &Config,
    scale: DemoScale,
) -> anyhow::Result<Vec<(String, String)>> {
    let dir = config.data_dir.clone();
    if !dir.join("truth.json").exists() {
        let scale = match scale {
            DemoScale::Small => synth::Scale::Small,
            DemoScale::Medium => synth::Scale::Medium,
        };
        let options = synth::Options::new(1, scale);
        let out = dir.clone();
        tokio::task::spawn_blocking(move || synth::generate(&options, &out))
            .await?
            .with_context(|| format!("writing the demo data to {}", dir.display()))?;
        let request = serde_json::json!({"requested_by": "demo"}).to_string();
        platform::jobs::enqueue(db, pharma::job::KIND, &request, platform::time::now()).await?;
    }
    if platform::org::facilities(db).await?.is_empty() {
        println!("Importing the demo health system (FHIR) …");
        let mut options = clinical::import::Options {
            actor: "demo".into(),
            ..Default::default()
        };
        let summary = clinical::import::run(db, &[dir.join("fhir")], &mut options)
            .await
            .context("importing the demo health system")?;
        println!("{} records imported", summary.read_total());
    }
    Ok(platform::demo::demo_accounts(db).await?)
}

async fn serve(config: Config, demo: Option<DemoScale>) -> anyhow::Result<()> {
    let (db, first_password) = web::prepare(&config, app::MIGRATIONS).await?;
    let demo_accounts = match demo {
        Some(scale) => prepare_demo(&db, &config, scale).await?,
        None => Vec::new(),
    };
    let state = app::state(db.clone(), config.clone());
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
    if !demo_accounts.is_empty() {
        println!(
            "Demo accounts (`demo` holds every role; each other holds the role it is named after):"
        );
        for (username, password) in &demo_accounts {
            println!("  {username:<28} {password}");
        }
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = config.jobs.then(|| {
        let mut stopped = stopped.clone();
        tokio::spawn(platform::jobs::work(
            db.clone(),
            app::jobs(&config),
            async move {
                let _ = stopped.changed().await;
            },
        ))
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
