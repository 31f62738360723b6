//! The screening job: reads every FAERS quarter in the server's FAERS folder, screens it with
//! every method and stores the run. Enqueued from the drug-safety page, or monthly by schedule
//! (the run is skipped when the folder holds the same quarters as the last run).

use crate::faers::{self, DrugField, FaersOptions, Role};
use crate::runs::{self, RunRequest};
use crate::screening::{self, Settings};
use platform::Db;
use platform::jobs::Registry;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const KIND: &str = "pv.screen";

/// The job's payload.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Request {
    /// `suspect` (PS and SS, the default) or `all`.
    #[serde(default)]
    pub role: String,
    /// `drugname` (the default) or `prod_ai`.
    #[serde(default)]
    pub drug_field: String,
    /// Who asked; `schedule` for the monthly run.
    #[serde(default)]
    pub requested_by: String,
    /// Screen even when the quarters are those of the last run.
    #[serde(default)]
    pub force: bool,
}

impl Request {
    fn faers_options(&self) -> Result<FaersOptions, String> {
        Ok(FaersOptions {
            role: match self.role.as_str() {
                "" | "suspect" => Role::Suspect,
                "all" => Role::All,
                other => return Err(format!("role '{other}' is not suspect or all")),
            },
            drug_field: match self.drug_field.as_str() {
                "" | "drugname" => DrugField::DrugName,
                "prod_ai" => DrugField::ProdAi,
                other => return Err(format!("drug field '{other}' is not drugname or prod_ai")),
            },
        })
    }
}

/// Registers the job and its monthly schedule (03:30 UTC on the 2nd: FAERS publishes quarterly).
pub fn register(registry: &mut Registry, faers_dir: PathBuf) {
    registry.handle(KIND, move |context, payload| {
        let dir = faers_dir.clone();
        async move { screen(&context.db, &dir, &payload).await }
    });
    let schedule = serde_json::json!({"requested_by": "schedule"}).to_string();
    registry
        .schedule("pv.screen.monthly", KIND, "30 3 2 * *", &schedule)
        .expect("a valid cron expression");
}

/// Runs one screening; the error text is what the jobs page shows.
pub async fn screen(db: &Db, dir: &Path, payload: &str) -> Result<(), String> {
    let request: Request = serde_json::from_str(payload).map_err(|e| format!("payload: {e}"))?;
    let options = request.faers_options()?;
    // An empty folder is an error here, with the folder named.
    let quarters = faers::find_quarters(dir).map_err(|e| e.to_string())?;
    let names: Vec<String> = quarters.iter().map(|q| q.quarter.clone()).collect();
    if !request.force {
        let last = runs::list(db)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .next();
        if last.is_some_and(|run| {
            run.quarters == names.join(", ") && request.requested_by == "schedule"
        }) {
            tracing::info!("FAERS screening skipped: no new quarter since the last run");
            return Ok(());
        }
    }
    let started_at = platform::time::now_text();
    let dir = dir.to_path_buf();
    let settings = Settings::default();
    let (min_count, eb05_threshold) = (settings.min_count, settings.eb05_threshold);
    let screened = tokio::task::spawn_blocking(move || {
        let faers = faers::load_dir(&dir, options).map_err(|e| e.to_string())?;
        screening::run(faers.pairs, &settings).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("the screen stopped: {e}"))??;
    let run = RunRequest {
        source: "faers".into(),
        quarters: names,
        options: serde_json::json!({
            "role": if request.role.is_empty() { "suspect" } else { &request.role },
            "drug_field": if request.drug_field.is_empty() { "drugname" } else { &request.drug_field },
            "margins": "reports", "min_count": min_count, "eb05_threshold": eb05_threshold,
        }),
        requested_by: if request.requested_by.is_empty() {
            "system".into()
        } else {
            request.requested_by.clone()
        },
        started_at,
    };
    runs::save(db, &run, &screened)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
