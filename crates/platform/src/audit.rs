//! The audit chain (HIPAA §164.312(b)): an append-only log of who did what, to which record, from
//! where, and with what outcome. Each entry stores the hash of the entry before it and the
//! SHA-256 of its own canonical content; `audit_head` holds the last sequence number and hash and
//! is updated in the same transaction as every append, which serialises appends and makes a
//! removed tail visible. `verify` walks the chain and names the first entry that does not fit.

use crate::db::{Db, Executes};
use crate::error::Result;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The hash that stands before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who is making a change, for the audit entry.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub name: &'a str,
    pub address: &'a str,
}

impl Actor<'_> {
    /// Changes made from the command line on the server itself.
    pub const CONSOLE: Actor<'static> = Actor {
        name: "console",
        address: "local",
    };
}

/// What happened, as the caller states it; the chain adds the time, sequence and hashes.
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    /// The user name, `system` for the server itself, or `anonymous`.
    pub actor: &'a str,
    /// The client address.
    pub address: &'a str,
    /// A dotted verb such as `user.create`, `signin.failure`, `access.denied`, `facility.read`.
    pub action: &'a str,
    pub record_type: &'a str,
    pub record_id: &'a str,
    /// `success`, `failure` or `denied`.
    pub outcome: &'a str,
    /// A short, identifier-free description (never passwords, tokens or patient identifiers).
    pub detail: &'a str,
}

impl<'a> Event<'a> {
    /// A successful change or read by `actor`.
    pub fn success(
        actor: Actor<'a>,
        action: &'a str,
        record_type: &'a str,
        record_id: &'a str,
        detail: &'a str,
    ) -> Event<'a> {
        Event {
            actor: actor.name,
            address: actor.address,
            action,
            record_type,
            record_id,
            outcome: "success",
            detail,
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// When, as people read it (UTC, to the minute).
    pub fn when(&self) -> String {
        crate::time::display(&self.at)
    }

    /// SHA-256 over the previous hash and the entry's fields as a JSON array (so no field can
    /// run into the next).
    fn compute_hash(&self) -> String {
        let content = serde_json::json!([
            self.seq,
            self.at,
            self.actor,
            self.address,
            self.action,
            self.record_type,
            self.record_id,
            self.outcome,
            self.detail
        ]);
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(content.to_string().as_bytes());
        hex::encode(hasher.finalize())
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<Entry> {
        Ok(Entry {
            seq: row.try_get("seq")?,
            at: row.try_get("at")?,
            actor: row.try_get("actor")?,
            address: row.try_get("address")?,
            action: row.try_get("action")?,
            record_type: row.try_get("record_type")?,
            record_id: row.try_get("record_id")?,
            outcome: row.try_get("outcome")?,
            detail: row.try_get("detail")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }
}

/// Appends an entry inside the caller's transaction, so the record change and its audit entry
/// commit together or not at all.
pub async fn append(tx: &mut impl Executes, event: &Event<'_>) -> Result<i64> {
    // Taking the head row first locks it (PostgreSQL) for the rest of the transaction.
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(tx.exec())
        .await?;
    let seq: i64 = head.try_get("seq")?;
    let mut entry = Entry {
        seq,
        at: crate::time::now_text(),
        actor: event.actor.to_string(),
        address: event.address.to_string(),
        action: event.action.to_string(),
        record_type: event.record_type.to_string(),
        record_id: event.record_id.to_string(),
        outcome: event.outcome.to_string(),
        detail: event.detail.to_string(),
        prev_hash: head.try_get("hash")?,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, address, action, record_type, record_id, outcome, \
         detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(entry.seq)
    .bind(&entry.at)
    .bind(&entry.actor)
    .bind(&entry.address)
    .bind(&entry.action)
    .bind(&entry.record_type)
    .bind(&entry.record_id)
    .bind(&entry.outcome)
    .bind(&entry.detail)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(tx.exec())
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&entry.hash)
        .execute(tx.exec())
        .await?;
    Ok(seq)
}

/// Appends an entry in a transaction of its own: for events that change nothing else (a refused
/// request, a failed sign-in, a read of protected data).
pub async fn record(db: &Db, event: &Event<'_>) -> Result<i64> {
    let mut tx = db.begin().await?;
    let seq = append(&mut tx, event).await?;
    tx.commit().await?;
    Ok(seq)
}

/// The outcome of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64 },
    Broken { seq: i64, reason: String },
}

/// Walks the chain from the first entry: sequence numbers must run 1, 2, 3… without gaps, each
/// entry must name the previous entry's hash, its own hash must match its content, and the head
/// must point at the last entry.
pub async fn verify(db: &Db) -> Result<Verdict> {
    const PAGE: i64 = 5_000;
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_string();
    loop {
        let rows = sqlx::query(
            "SELECT seq, at, actor, address, action, record_type, record_id, outcome, detail, \
             prev_hash, hash FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(&db.pool)
        .await?;
        let page_len = rows.len() as i64;
        for row in &rows {
            let entry = Entry::from_row(row)?;
            if entry.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!(
                        "entry {expected_seq} is missing (the next entry is {})",
                        entry.seq
                    ),
                });
            }
            if entry.prev_hash != prev_hash {
                return Ok(Verdict::Broken {
                    seq: entry.seq,
                    reason: "does not follow the entry before it (removed, inserted or reordered)"
                        .into(),
                });
            }
            if entry.compute_hash() != entry.hash {
                return Ok(Verdict::Broken {
                    seq: entry.seq,
                    reason: "its content does not match its hash (altered)".into(),
                });
            }
            prev_hash = entry.hash;
            expected_seq += 1;
        }
        if page_len < PAGE {
            break;
        }
    }
    let last = expected_seq - 1;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    if head_seq != last || head_hash != prev_hash {
        return Ok(Verdict::Broken {
            seq: last + 1,
            reason: format!(
                "the chain ends at entry {last} but its head records entry {head_seq} \
                 (entries removed from the end, or the head altered)"
            ),
        });
    }
    Ok(Verdict::Intact { entries: last })
}

/// Filters of the audit search page and API; empty fields do not filter.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Search {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    /// First day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// Return entries with a sequence number below this (paging backwards).
    pub before: Option<i64>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Newest first, at most `limit` entries.
pub async fn search(db: &Db, filter: &Search, limit: i64) -> Result<Vec<Entry>> {
    for (field, day) in [("from", &filter.from), ("to", &filter.to)] {
        if let Some(day) = non_empty(day)
            && chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err()
        {
            return Err(crate::Error::invalid(
                field,
                format!("'{day}' is not a date (YYYY-MM-DD)"),
            ));
        }
    }
    // Every filter is a bound parameter; an empty one matches everything.
    let rows = sqlx::query(
        "SELECT seq, at, actor, address, action, record_type, record_id, outcome, detail, prev_hash, hash \
         FROM audit_log \
         WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) \
           AND ($3 = '' OR record_type = $3) AND ($4 = '' OR record_id = $4) \
           AND ($5 = '' OR at >= $5) AND ($6 = '' OR at < $6) AND seq < $7 \
         ORDER BY seq DESC LIMIT $8",
    )
    .bind(non_empty(&filter.actor).unwrap_or(""))
    .bind(non_empty(&filter.action).unwrap_or(""))
    .bind(non_empty(&filter.record_type).unwrap_or(""))
    .bind(non_empty(&filter.record_id).unwrap_or(""))
    .bind(non_empty(&filter.from).unwrap_or(""))
    .bind(non_empty(&filter.to).map(next_day).unwrap_or_default())
    .bind(filter.before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(Entry::from_row).collect()
}

/// `2026-03-01` → `2026-03-02`, for an inclusive last day compared as text.
fn next_day(day: &str) -> String {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub async fn count_since(db: &Db, since: &str) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE at >= $1")
        .bind(since)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}
