//! The job queue. Jobs live in the database so that any `rounds serve` process can run them:
//! a worker claims the oldest due job with a row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the
//! single writer lock on SQLite), so two processes never run the same job. A failed job is retried
//! with exponential back-off until `max_attempts`, then stays `failed`, visible on the admin page.
//! Schedules (cron expressions, UTC) enqueue jobs; advancing a schedule is a compare-and-set on
//! its next run time, so only one process enqueues each run. Modules register handlers and
//! schedules in a `Registry`.

use crate::audit::{self, Event};
use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use crate::time::{self, Timestamp};
use crate::users::Actor;
use chrono::Duration;
use croner::Cron;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

/// What a handler returns: `Err` carries the message shown on the admin page.
pub type Outcome = std::result::Result<(), String>;
type Handler =
    Arc<dyn Fn(JobContext, String) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// What a handler gets besides its payload: the database and a way to report progress.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub db: Db,
    pub job_id: i64,
}

impl JobContext {
    /// Records how far the job has got, shown on the jobs page while it runs.
    pub async fn progress(&self, text: &str) -> Result<()> {
        sqlx::query("UPDATE jobs SET progress = $1 WHERE id = $2")
            .bind(text)
            .bind(self.job_id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

pub const DEFAULT_MAX_ATTEMPTS: i64 = 5;
/// How long a claimed job is held before another worker may take it over (its worker died).
const LEASE_MINUTES: i64 = 30;

#[derive(Clone)]
struct Schedule {
    name: &'static str,
    kind: &'static str,
    cron: &'static str,
    payload: String,
}

/// Job kinds and their handlers, and the schedules that enqueue them.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Handler>,
    schedules: Arc<Vec<Schedule>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn handle<F, Fut>(&mut self, kind: &'static str, handler: F)
    where
        F: Fn(JobContext, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.handlers.insert(
            kind,
            Arc::new(move |context, payload| Box::pin(handler(context, payload))),
        );
    }

    /// Runs `kind` with `payload` whenever the cron expression (UTC, five or six fields) matches.
    pub fn schedule(
        &mut self,
        name: &'static str,
        kind: &'static str,
        cron: &'static str,
        payload: &str,
    ) -> Result<()> {
        next_run(cron, time::now())?;
        Arc::make_mut(&mut self.schedules).push(Schedule {
            name,
            kind,
            cron,
            payload: payload.to_string(),
        });
        Ok(())
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }
}

/// The platform's own jobs: the hourly purge of expired sessions and old sign-in failures.
pub fn platform_registry() -> Registry {
    let mut registry = Registry::new();
    registry.handle("sessions.purge", |context, _| async move {
        let db = context.db;
        crate::auth::purge(&db)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    registry
        .schedule("sessions.purge", "sessions.purge", "17 * * * *", "{}")
        .expect("the purge schedule is a valid cron expression");
    registry
}

pub fn next_run(cron: &str, after: Timestamp) -> Result<Timestamp> {
    let parsed =
        Cron::from_str(cron).map_err(|e| Error::invalid("cron", format!("'{cron}': {e}")))?;
    parsed
        .find_next_occurrence(&after, false)
        .map_err(|e| Error::invalid("cron", format!("'{cron}' has no next run: {e}")))
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub run_at: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: String,
    pub schedule: String,
    pub created_at: String,
    pub finished_at: String,
    /// What the job last reported while running.
    pub progress: String,
}

impl Job {
    /// When it runs (or ran), as people read it.
    pub fn when(&self) -> String {
        time::display(&self.run_at)
    }
}

fn job_from_row(row: &sqlx::any::AnyRow) -> Result<Job> {
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        status: row.try_get("status")?,
        run_at: row.try_get("run_at")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        last_error: row.try_get("last_error")?,
        schedule: row.try_get("schedule")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        progress: row.try_get("progress")?,
    })
}

const JOB_COLUMNS: &str = "id, kind, payload, status, run_at, attempts, max_attempts, last_error, schedule, created_at, finished_at, progress";

async fn insert_job(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    payload: &str,
    run_at: Timestamp,
    schedule: &str,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO jobs (kind, payload, status, run_at, attempts, max_attempts, schedule, created_at) \
         VALUES ($1, $2, 'queued', $3, 0, $4, $5, $6) RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(time::format(run_at))
    .bind(DEFAULT_MAX_ATTEMPTS)
    .bind(schedule)
    .bind(time::now_text())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// Queues a job to run at `run_at` (now or later).
pub async fn enqueue(db: &Db, kind: &str, payload: &str, run_at: Timestamp) -> Result<i64> {
    let mut conn = db.pool.acquire().await?;
    insert_job(&mut conn, kind, payload, run_at, "").await
}

/// Records the registry's schedules, keeping the next run time of those whose cron is unchanged.
pub async fn install_schedules(db: &Db, registry: &Registry) -> Result<()> {
    let now = time::now();
    for s in registry.schedules.iter() {
        let next = time::format(next_run(s.cron, now)?);
        let mut tx = db.begin().await?;
        let existing = sqlx::query("SELECT cron FROM job_schedules WHERE name = $1")
            .bind(s.name)
            .fetch_optional(&mut *tx)
            .await?;
        match existing {
            None => {
                sqlx::query("INSERT INTO job_schedules (name, kind, cron, payload, next_run_at, enabled) VALUES ($1, $2, $3, $4, $5, 1)")
                    .bind(s.name)
                    .bind(s.kind)
                    .bind(s.cron)
                    .bind(&s.payload)
                    .bind(&next)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(row) if row.try_get::<String, _>("cron")? != s.cron => {
                sqlx::query("UPDATE job_schedules SET kind = $1, cron = $2, payload = $3, next_run_at = $4 WHERE name = $5")
                    .bind(s.kind)
                    .bind(s.cron)
                    .bind(&s.payload)
                    .bind(&next)
                    .bind(s.name)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(_) => {}
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Enqueues one job for each schedule that is due, and moves the schedule to its next run
/// (skipping runs missed while no server was up). Returns how many jobs this process enqueued.
pub async fn enqueue_due(db: &Db, now: Timestamp) -> Result<usize> {
    let due = sqlx::query("SELECT name, kind, cron, payload, next_run_at FROM job_schedules WHERE enabled = 1 AND next_run_at <= $1")
        .bind(time::format(now))
        .fetch_all(&db.pool)
        .await?;
    let mut enqueued = 0;
    for row in &due {
        let name: String = row.try_get("name")?;
        let cron: String = row.try_get("cron")?;
        let was: String = row.try_get("next_run_at")?;
        let next = time::format(next_run(&cron, now)?);
        let mut tx = db.begin().await?;
        let won = sqlx::query(
            "UPDATE job_schedules SET next_run_at = $1 WHERE name = $2 AND next_run_at = $3",
        )
        .bind(&next)
        .bind(&name)
        .bind(&was)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if won {
            insert_job(
                &mut tx,
                &row.try_get::<String, _>("kind")?,
                &row.try_get::<String, _>("payload")?,
                now,
                &name,
            )
            .await?;
            enqueued += 1;
        }
        tx.commit().await?;
    }
    Ok(enqueued)
}

/// Takes the oldest due job for `worker`, if any.
pub async fn claim(db: &Db, worker: &str, now: Timestamp) -> Result<Option<Job>> {
    let sql = match db.backend {
        Backend::Postgres => {
            "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $3 ORDER BY run_at, id \
             LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, payload, status, run_at, attempts, max_attempts, last_error, schedule, created_at, finished_at, progress"
        }
        Backend::Sqlite => {
            "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $3 ORDER BY run_at, id LIMIT 1) \
             RETURNING id, kind, payload, status, run_at, attempts, max_attempts, last_error, schedule, created_at, finished_at, progress"
        }
    };
    let mut tx = db.begin().await?;
    // A job whose worker died goes back to the queue when its lease runs out, unless that was
    // its last attempt (a job that kills its worker must not be retried for ever).
    sqlx::query(
        "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
         last_error = 'its worker stopped before finishing (lease expired)', locked_by = '', locked_until = '', \
         finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE '' END \
         WHERE status = 'running' AND locked_until < $1",
    )
    .bind(time::format(now))
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(sql)
        .bind(worker)
        .bind(time::format(now + Duration::minutes(LEASE_MINUTES)))
        .bind(time::format(now))
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.as_ref().map(job_from_row).transpose()
}

/// Back-off before retry `attempt` (1-based): 30 s, 1 min, 2 min, … capped at 6 hours.
pub fn backoff(attempt: i64) -> Duration {
    let exponent = (attempt - 1).clamp(0, 20) as u32;
    Duration::seconds((30_i64 << exponent).min(6 * 3600))
}

/// Records a job's outcome: done, queued again after a back-off, or failed for good. Only the
/// worker still holding the job may record it; a worker whose lease ran out (and whose job was
/// taken over) finds its outcome discarded.
pub async fn finish(
    db: &Db,
    job: &Job,
    worker: &str,
    outcome: &Outcome,
    now: Timestamp,
) -> Result<()> {
    let (status, run_at, error) = match outcome {
        Ok(()) => ("done", job.run_at.clone(), String::new()),
        Err(e) if job.attempts < job.max_attempts => (
            "queued",
            time::format(now + backoff(job.attempts)),
            e.clone(),
        ),
        Err(e) => ("failed", job.run_at.clone(), e.clone()),
    };
    let finished = if status == "queued" {
        String::new()
    } else {
        time::format(now)
    };
    let recorded = sqlx::query(
        "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, finished_at = $4, locked_by = '', locked_until = '' \
         WHERE id = $5 AND status = 'running' AND locked_by = $6",
    )
    .bind(status)
    .bind(run_at)
    .bind(error.chars().take(2000).collect::<String>())
    .bind(finished)
    .bind(job.id)
    .bind(worker)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if recorded == 0 {
        tracing::warn!(job = job.id, kind = %job.kind, "job outcome discarded: its lease expired and another worker took it");
    }
    Ok(())
}

/// Enqueues due schedules, then claims and runs one job. Returns the job run and its outcome.
pub async fn run_once(
    db: &Db,
    registry: &Registry,
    worker: &str,
) -> Result<Option<(Job, Outcome)>> {
    enqueue_due(db, time::now()).await?;
    let Some(job) = claim(db, worker, time::now()).await? else {
        return Ok(None);
    };
    let outcome = match registry.handlers.get(job.kind.as_str()) {
        Some(handler) => {
            // A panicking handler is a failed attempt, not a dead worker.
            let context = JobContext {
                db: db.clone(),
                job_id: job.id,
            };
            let task = tokio::spawn(handler(context, job.payload.clone()));
            task.await
                .unwrap_or_else(|e| Err(format!("the job stopped unexpectedly: {e}")))
        }
        None => Err(format!(
            "no handler for job kind '{}' in this version of Rounds",
            job.kind
        )),
    };
    if let Err(e) = &outcome {
        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
    }
    finish(db, &job, worker, &outcome, time::now()).await?;
    Ok(Some((job, outcome)))
}

/// Runs jobs until `stop` resolves: polls every few seconds when the queue is empty.
pub async fn work(db: Db, registry: Registry, stop: impl Future<Output = ()>) {
    let worker = format!(
        "{}-{}",
        std::process::id(),
        crate::auth::random_token().get(..8).unwrap_or("worker")
    );
    if let Err(e) = install_schedules(&db, &registry).await {
        tracing::error!(error = %e, "cannot install job schedules");
    }
    tokio::pin!(stop);
    loop {
        let pause = match run_once(&db, &registry, &worker).await {
            Ok(Some(_)) => std::time::Duration::ZERO,
            Ok(None) => std::time::Duration::from_secs(5),
            Err(e) => {
                tracing::error!(error = %e, "job worker");
                std::time::Duration::from_secs(15)
            }
        };
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Job>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs ORDER BY CASE status WHEN 'failed' THEN 0 WHEN 'running' THEN 1 \
         WHEN 'queued' THEN 2 ELSE 3 END, id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(job_from_row).collect()
}

/// Jobs by status, for the dashboard and `/metrics`.
pub async fn counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status ORDER BY status")
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleInfo {
    pub name: String,
    pub kind: String,
    pub cron: String,
    pub next_run_at: String,
    pub enabled: bool,
}

pub async fn schedules(db: &Db) -> Result<Vec<ScheduleInfo>> {
    let rows = sqlx::query(
        "SELECT name, kind, cron, next_run_at, enabled FROM job_schedules ORDER BY name",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ScheduleInfo {
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                cron: r.try_get("cron")?,
                next_run_at: r.try_get("next_run_at")?,
                enabled: r.try_get::<i64, _>("enabled")? != 0,
            })
        })
        .collect()
}

/// Puts a failed job back in the queue with fresh attempts.
pub async fn retry(db: &Db, actor: Actor<'_>, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, finished_at = '' WHERE id = $2 AND status = 'failed'",
    )
    .bind(time::now_text())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::not_found(format!("failed job {id}")));
    }
    audit::append(
        &mut tx,
        &Event::success(actor, "job.retry", "job", &id.to_string(), ""),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retries_back_off_exponentially_up_to_six_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(40), Duration::hours(6));
    }

    #[test]
    fn a_monthly_schedule_runs_on_the_first() {
        let after = chrono::Utc
            .with_ymd_and_hms(2026, 11, 24, 13, 0, 0)
            .unwrap();
        let next = next_run("0 2 1 * *", after).unwrap();
        assert_eq!(time::format(next), "2026-12-01T02:00:00.000000Z");
        assert!(
            next_run("every tuesday", after)
                .unwrap_err()
                .to_string()
                .starts_with("cron: 'every tuesday'")
        );
    }
}
