//! Stored screening runs: each run of the screen over the FAERS folder keeps its settings, the
//! quarters it read, the MGPS prior and its signal table, so a drug-safety physician can filter
//! and sort a run and follow one drug–event pair across runs. A run is written in one
//! transaction with its audit entry.

use crate::screening::Screening;
use platform::audit::{self, Actor, Event};
use platform::db::{Backend, Db, Tx};
use platform::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub source: String,
    /// The FAERS quarters read, e.g. `24Q3, 24Q4`.
    pub quarters: String,
    /// The screen's settings, as JSON.
    pub options: String,
    pub reports: i64,
    pub drugs: i64,
    pub events: i64,
    /// Pairs stored (those with at least the minimum count).
    pub pairs: i64,
    /// The MGPS prior used, as JSON.
    pub prior: String,
    pub requested_by: String,
    pub started_at: String,
    pub finished_at: String,
    /// Pairs flagged by EB05 at or above the threshold.
    pub ebgm_signals: i64,
}

/// One row of a run's signal table. Non-finite measures are `None`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StoredSignal {
    pub run_id: i64,
    pub drug: String,
    pub event: String,
    pub a: i64,
    pub drug_reports: i64,
    pub event_reports: i64,
    pub n: i64,
    pub expected: Option<f64>,
    pub prr: Option<f64>,
    pub prr_lower: Option<f64>,
    pub prr_upper: Option<f64>,
    pub chi2: Option<f64>,
    pub ror: Option<f64>,
    pub ror_lower: Option<f64>,
    pub ror_upper: Option<f64>,
    pub ic: Option<f64>,
    pub ic025: Option<f64>,
    pub ic975: Option<f64>,
    pub ebgm: Option<f64>,
    pub eb05: Option<f64>,
    pub eb95: Option<f64>,
    pub signal_prr: bool,
    pub signal_ror: bool,
    pub signal_ic: bool,
    pub signal_ebgm: bool,
}

impl StoredSignal {
    /// The 2×2 table in the run's unit: (a, b; c, d).
    pub fn table(&self) -> [[i64; 2]; 2] {
        let b = self.drug_reports - self.a;
        let c = self.event_reports - self.a;
        [[self.a, b], [c, self.n - self.a - b - c]]
    }
}

/// What a run was asked to do, stored with it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRequest {
    pub source: String,
    pub quarters: Vec<String>,
    pub options: serde_json::Value,
    pub requested_by: String,
    pub started_at: String,
}

const COLUMNS: &str = "run_id, drug, event, a, drug_reports, event_reports, n, expected, prr, prr_lower, prr_upper, \
     chi2, ror, ror_lower, ror_upper, ic, ic025, ic975, ebgm, eb05, eb95, signal_prr, signal_ror, signal_ic, signal_ebgm";
const WIDTH: usize = 25;
/// Rows per INSERT: well under both databases' limits on bound parameters.
const BATCH: usize = 500;

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Stores a screening and its signal table; returns the run's id.
pub async fn save(db: &Db, request: &RunRequest, screening: &Screening) -> Result<i64> {
    let prior = serde_json::json!({
        "alpha1": screening.prior.alpha1, "beta1": screening.prior.beta1,
        "alpha2": screening.prior.alpha2, "beta2": screening.prior.beta2, "p": screening.prior.p,
        "n_star": screening.n_star, "log_likelihood": finite(screening.log_likelihood),
        "fitted": screening.fitted,
    });
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO pv_runs (source, quarters, options, reports, drugs, events, pairs, prior, requested_by, started_at, finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&request.source)
    .bind(request.quarters.join(", "))
    .bind(request.options.to_string())
    .bind(screening.reports as i64)
    .bind(screening.drugs.len() as i64)
    .bind(screening.events.len() as i64)
    .bind(screening.pairs.len() as i64)
    .bind(prior.to_string())
    .bind(&request.requested_by)
    .bind(&request.started_at)
    .bind(platform::time::now_text())
    .fetch_one(&mut *tx)
    .await?;
    let run_id: i64 = row.try_get("id")?;
    for chunk in screening.pairs.chunks(BATCH) {
        insert_batch(&mut tx, db.backend, run_id, chunk, screening).await?;
    }
    let detail = format!(
        "{} reports, {} pairs, quarters {}",
        screening.reports,
        screening.pairs.len(),
        request.quarters.join(", ")
    );
    let actor = Actor {
        name: &request.requested_by,
        address: "job",
    };
    audit::append(
        &mut tx,
        &Event::success(
            actor,
            "pv.run.create",
            "pv_run",
            &run_id.to_string(),
            &detail,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(run_id)
}

async fn insert_batch(
    tx: &mut Tx,
    backend: Backend,
    run_id: i64,
    chunk: &[stats::disproportionality::PairSignal],
    s: &Screening,
) -> Result<()> {
    // The statement is built from constant text and numbered placeholders only.
    let mut sql = format!("INSERT INTO pv_signals ({COLUMNS}) VALUES ");
    for i in 0..chunk.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for k in 0..WIDTH {
            if k > 0 {
                sql.push(',');
            }
            // SQLite's driver looks each `$n` up by name, which is slow in a statement of
            // thousands; its anonymous `?` binds in order.
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", i * WIDTH + k + 1)),
            }
        }
        sql.push(')');
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in chunk {
        query = query
            .bind(run_id)
            .bind(s.drugs.name(p.drug).to_string())
            .bind(s.events.name(p.event).to_string())
            .bind(p.a as i64)
            .bind(p.drug_margin as i64)
            .bind(p.event_margin as i64)
            .bind(p.n as i64)
            .bind(finite(p.expected))
            .bind(finite(p.prr.estimate))
            .bind(finite(p.prr.lower))
            .bind(finite(p.prr.upper))
            .bind(finite(p.chi2))
            .bind(finite(p.ror.estimate))
            .bind(finite(p.ror.lower))
            .bind(finite(p.ror.upper))
            .bind(finite(p.ic.ic))
            .bind(finite(p.ic.ic025))
            .bind(finite(p.ic.ic975))
            .bind(finite(p.eb.ebgm))
            .bind(finite(p.eb.eb05))
            .bind(finite(p.eb.eb95))
            .bind(i64::from(p.signal_prr))
            .bind(i64::from(p.signal_ror))
            .bind(i64::from(p.signal_ic))
            .bind(i64::from(p.signal_ebgm));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

fn run_from_row(row: &sqlx::any::AnyRow) -> Result<Run> {
    Ok(Run {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        quarters: row.try_get("quarters")?,
        options: row.try_get("options")?,
        reports: row.try_get("reports")?,
        drugs: row.try_get("drugs")?,
        events: row.try_get("events")?,
        pairs: row.try_get("pairs")?,
        prior: row.try_get("prior")?,
        requested_by: row.try_get("requested_by")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        ebgm_signals: row.try_get("ebgm_signals")?,
    })
}

const RUN_SELECT: &str = "SELECT r.id, r.source, r.quarters, r.options, r.reports, r.drugs, r.events, r.pairs, r.prior, \
     r.requested_by, r.started_at, r.finished_at, \
     (SELECT COUNT(*) FROM pv_signals s WHERE s.run_id = r.id AND s.signal_ebgm = 1) AS ebgm_signals FROM pv_runs r";

/// Runs, newest first.
pub async fn list(db: &Db) -> Result<Vec<Run>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{RUN_SELECT} ORDER BY r.id DESC"
    )))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(run_from_row).collect()
}

pub async fn get(db: &Db, id: i64) -> Result<Run> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RUN_SELECT} WHERE r.id = $1")))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("screening run {id}")))?;
    run_from_row(&row)
}

/// Which method's signal a filter asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every stored pair, signal or not.
    #[default]
    Any,
    Prr,
    Ror,
    Ic,
    Ebgm,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Any => "any",
            Method::Prr => "prr",
            Method::Ror => "ror",
            Method::Ic => "ic",
            Method::Ebgm => "ebgm",
        }
    }
}

/// The sort orders offered; each is descending with ties by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Eb05,
    Ebgm,
    Ic025,
    Prr,
    Ror,
    A,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Eb05 => "eb05",
            Sort::Ebgm => "ebgm",
            Sort::Ic025 => "ic025",
            Sort::Prr => "prr",
            Sort::Ror => "ror",
            Sort::A => "a",
        }
    }
}

/// Filters of the signals page and API.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct SignalFilter {
    /// Part of the drug name (case-insensitive).
    pub drug: Option<String>,
    /// Part of the event (MedDRA preferred term, case-insensitive).
    pub event: Option<String>,
    /// Only pairs flagged by this method.
    pub method: Option<Method>,
    pub sort: Option<Sort>,
    /// 0-based page of 100 rows.
    pub page: Option<i64>,
}

pub const PAGE: i64 = 100;

const SIGNAL_SELECT: &str = "SELECT run_id, drug, event, a, drug_reports, event_reports, n, expected, prr, prr_lower, \
     prr_upper, chi2, ror, ror_lower, ror_upper, ic, ic025, ic975, ebgm, eb05, eb95, signal_prr, signal_ror, signal_ic, \
     signal_ebgm FROM pv_signals";

fn signal_from_row(row: &sqlx::any::AnyRow) -> Result<StoredSignal> {
    Ok(StoredSignal {
        run_id: row.try_get("run_id")?,
        drug: row.try_get("drug")?,
        event: row.try_get("event")?,
        a: row.try_get("a")?,
        drug_reports: row.try_get("drug_reports")?,
        event_reports: row.try_get("event_reports")?,
        n: row.try_get("n")?,
        expected: row.try_get("expected")?,
        prr: row.try_get("prr")?,
        prr_lower: row.try_get("prr_lower")?,
        prr_upper: row.try_get("prr_upper")?,
        chi2: row.try_get("chi2")?,
        ror: row.try_get("ror")?,
        ror_lower: row.try_get("ror_lower")?,
        ror_upper: row.try_get("ror_upper")?,
        ic: row.try_get("ic")?,
        ic025: row.try_get("ic025")?,
        ic975: row.try_get("ic975")?,
        ebgm: row.try_get("ebgm")?,
        eb05: row.try_get("eb05")?,
        eb95: row.try_get("eb95")?,
        signal_prr: row.try_get::<i64, _>("signal_prr")? != 0,
        signal_ror: row.try_get::<i64, _>("signal_ror")? != 0,
        signal_ic: row.try_get::<i64, _>("signal_ic")? != 0,
        signal_ebgm: row.try_get::<i64, _>("signal_ebgm")? != 0,
    })
}

/// A page of a run's signal table and the number of rows the filter matches.
pub async fn signals(
    db: &Db,
    run_id: i64,
    filter: &SignalFilter,
) -> Result<(Vec<StoredSignal>, i64)> {
    let method = match filter.method.unwrap_or_default() {
        Method::Any => "",
        Method::Prr => " AND signal_prr = 1",
        Method::Ror => " AND signal_ror = 1",
        Method::Ic => " AND signal_ic = 1",
        Method::Ebgm => " AND signal_ebgm = 1",
    };
    // NULLs (non-finite values) sort last on both databases through the CASE.
    let order = match filter.sort.unwrap_or_default() {
        Sort::Eb05 => "CASE WHEN eb05 IS NULL THEN 1 ELSE 0 END, eb05 DESC",
        Sort::Ebgm => "CASE WHEN ebgm IS NULL THEN 1 ELSE 0 END, ebgm DESC",
        Sort::Ic025 => "CASE WHEN ic025 IS NULL THEN 1 ELSE 0 END, ic025 DESC",
        Sort::Prr => "CASE WHEN prr IS NULL THEN 1 ELSE 0 END, prr DESC",
        Sort::Ror => "CASE WHEN ror IS NULL THEN 1 ELSE 0 END, ror DESC",
        Sort::A => "a DESC",
    };
    let pattern = |text: &Option<String>| {
        format!("%{}%", text.as_deref().unwrap_or("").trim().to_uppercase())
    };
    let page = filter.page.unwrap_or(0).max(0);
    // Only constant fragments are spliced in; the search terms are bound.
    let condition =
        format!("WHERE run_id = $1 AND UPPER(drug) LIKE $2 AND UPPER(event) LIKE $3{method}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SIGNAL_SELECT} {condition} ORDER BY {order}, drug, event LIMIT $4 OFFSET $5"
    )))
    .bind(run_id)
    .bind(pattern(&filter.drug))
    .bind(pattern(&filter.event))
    .bind(PAGE)
    .bind(page * PAGE)
    .fetch_all(&db.pool)
    .await?;
    let total = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM pv_signals {condition}"
    )))
    .bind(run_id)
    .bind(pattern(&filter.drug))
    .bind(pattern(&filter.event))
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok((
        rows.iter().map(signal_from_row).collect::<Result<_>>()?,
        total,
    ))
}

/// One pair in every run that stored it, oldest run first.
pub async fn history(db: &Db, drug: &str, event: &str) -> Result<Vec<(Run, StoredSignal)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SIGNAL_SELECT} WHERE drug = $1 AND event = $2 ORDER BY run_id"
    )))
    .bind(drug)
    .bind(event)
    .fetch_all(&db.pool)
    .await?;
    let mut history = Vec::with_capacity(rows.len());
    for row in &rows {
        let signal = signal_from_row(row)?;
        history.push((get(db, signal.run_id).await?, signal));
    }
    Ok(history)
}
