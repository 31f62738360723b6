//! Signing in and staying signed in: password sign-in with throttling per account and per
//! address, server-side sessions (random 256-bit tokens stored as SHA-256, idle and absolute
//! timeouts, a CSRF token each) and API tokens for service accounts (bearer, hashed, scoped to
//! roles, revocable). Returns a `Principal`: who is asking and with which roles.

use crate::audit::{self, Event};
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::roles::Role;
use crate::time;
use crate::users::{self, Actor};
use base64::Engine;
use chrono::Duration;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// A signed-in user as seen by a request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub via: Via,
}

#[derive(Clone, Debug)]
pub enum Via {
    /// A browser session; forms must carry its CSRF token.
    Session { token_hash: String, csrf: String },
    /// A bearer token (no cookies, so no CSRF).
    Token { id: i64 },
}

impl Principal {
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }

    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::Token { .. } => "",
        }
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// A real hash of a throwaway password, verified against when the user does not exist so that
// unknown and known user names take the same time.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| users::hash_password("not-a-real-password-at-all").unwrap_or_default())
}

/// A new session: the cookie value (shown to the browser only) and its CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// Checks a user name and password and opens a session. Refuses (and audits) unknown users,
/// wrong passwords, disabled accounts and locked accounts or addresses.
pub async fn sign_in(
    db: &Db,
    config: &Config,
    username: &str,
    password: &str,
    address: &str,
) -> Result<NewSession> {
    let now = time::now();
    let window_start = time::format(now - Duration::minutes(config.signin_lock_minutes));
    let username = username.trim();
    let account_failures = failures_since(db, "account", username, &window_start).await?;
    let address_failures = failures_since(db, "address", address, &window_start).await?;
    if account_failures.0 >= config.signin_max_failures
        || address_failures.0 >= config.signin_max_failures_per_address
    {
        let last = account_failures.1.max(address_failures.1);
        let until =
            time::parse(&last).unwrap_or(now) + Duration::minutes(config.signin_lock_minutes);
        let until = until.format("%H:%M UTC").to_string();
        audit::record(
            db,
            &Event {
                actor: username,
                address,
                action: "signin.locked",
                record_type: "user",
                record_id: username,
                outcome: "denied",
                detail: "sign-in refused while locked",
            },
        )
        .await?;
        return Err(Error::Locked { until });
    }

    let row = sqlx::query("SELECT id, password_hash, disabled FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?;
    let (user_id, ok, reason) = match row {
        Some(row) => {
            let hash: Option<String> = row.try_get("password_hash")?;
            let verified = users::verify_password(hash.as_deref().unwrap_or(""), password);
            let disabled = row.try_get::<i64, _>("disabled")? != 0;
            let reason = if !verified {
                "wrong password"
            } else {
                "account disabled"
            };
            (row.try_get::<i64, _>("id")?, verified && !disabled, reason)
        }
        None => {
            users::verify_password(dummy_hash(), password);
            (0, false, "unknown user")
        }
    };

    let mut tx = db.begin().await?;
    if !ok {
        for (scope, subject) in [("account", username), ("address", address)] {
            sqlx::query("INSERT INTO signin_failures (scope, subject, at) VALUES ($1, $2, $3)")
                .bind(scope)
                .bind(subject)
                .bind(time::format(now))
                .execute(&mut *tx)
                .await?;
        }
        let locks_now = account_failures.0 + 1 >= config.signin_max_failures;
        let detail = if locks_now {
            format!("{reason}; account locked")
        } else {
            reason.to_string()
        };
        audit::append(
            &mut tx,
            &Event {
                actor: username,
                address,
                action: "signin.failure",
                record_type: "user",
                record_id: username,
                outcome: "failure",
                detail: &detail,
            },
        )
        .await?;
        tx.commit().await?;
        return Err(Error::BadCredentials);
    }
    sqlx::query("DELETE FROM signin_failures WHERE scope = 'account' AND subject = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?;
    let session = NewSession {
        token: random_token(),
        csrf: random_token(),
    };
    let expires = now + Duration::hours(config.session_max_hours);
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, address) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(token_hash(&session.token))
    .bind(user_id)
    .bind(&session.csrf)
    .bind(time::format(now))
    .bind(time::format(expires))
    .bind(address)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        &Event {
            actor: username,
            address,
            action: "signin.success",
            record_type: "user",
            record_id: username,
            outcome: "success",
            detail: "",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(session)
}

/// Failures since `since` and the time of the latest.
async fn failures_since(db: &Db, scope: &str, subject: &str, since: &str) -> Result<(i64, String)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(MAX(at), '') AS last FROM signin_failures \
         WHERE scope = $1 AND subject = $2 AND at >= $3",
    )
    .bind(scope)
    .bind(subject)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok((row.try_get("n")?, row.try_get("last")?))
}

/// The principal of a session cookie, if the session is live. Touches `last_seen_at` at most
/// once a minute so that reads stay reads.
pub async fn session(db: &Db, config: &Config, token: &str) -> Result<Option<Principal>> {
    let hash = token_hash(token);
    let row = sqlx::query(
        "SELECT s.user_id, s.csrf_token, s.last_seen_at, s.expires_at, u.username, u.display_name, u.disabled \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let now = time::now();
    let last_seen = time::parse(&row.try_get::<String, _>("last_seen_at")?).unwrap_or(now);
    let expires = time::parse(&row.try_get::<String, _>("expires_at")?).unwrap_or(now);
    let idle_limit = last_seen + Duration::minutes(config.session_idle_minutes);
    if now >= expires || now >= idle_limit || row.try_get::<i64, _>("disabled")? != 0 {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&hash)
            .execute(&db.pool)
            .await?;
        return Ok(None);
    }
    if now - last_seen > Duration::seconds(60) {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(time::format(now))
            .bind(&hash)
            .execute(&db.pool)
            .await?;
    }
    let user_id: i64 = row.try_get("user_id")?;
    Ok(Some(Principal {
        user_id,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        roles: users::roles_of(db, user_id).await?,
        via: Via::Session {
            token_hash: hash,
            csrf: row.try_get("csrf_token")?,
        },
    }))
}

pub async fn sign_out(db: &Db, principal: &Principal, address: &str) -> Result<()> {
    let Via::Session { token_hash, .. } = &principal.via else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        &Event {
            actor: &principal.username,
            address,
            action: "signout",
            record_type: "user",
            record_id: &principal.username,
            outcome: "success",
            detail: "",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn active_sessions(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE expires_at > $1")
        .bind(time::now_text())
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

/// Removes expired sessions and sign-in failures older than a day (the `sessions.purge` job).
pub async fn purge(db: &Db) -> Result<u64> {
    let now = time::now();
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(time::format(now))
        .execute(&db.pool)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM signin_failures WHERE at < $1")
        .bind(time::format(now - Duration::days(1)))
        .execute(&db.pool)
        .await?;
    Ok(sessions)
}

/// The prefix that makes a Rounds token recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "rnd_";

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub username: String,
    pub roles: Vec<Role>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// Creates a bearer token for `username`, limited to `roles` (which must be roles the user
/// holds; none given means all of them). Returns the token, shown once.
pub async fn create_token(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    roles: &[Role],
    expires_days: Option<i64>,
) -> Result<(String, ApiToken)> {
    let user = users::find(db, username).await?;
    if user.disabled {
        return Err(Error::invalid("user", format!("'{username}' is disabled")));
    }
    let roles = if roles.is_empty() {
        user.roles.clone()
    } else {
        roles.to_vec()
    };
    if let Some(missing) = roles.iter().find(|r| !user.roles.contains(r)) {
        return Err(Error::invalid(
            "role",
            format!("'{username}' does not hold the role {missing}"),
        ));
    }
    if let Some(days) = expires_days
        && !(1..=3650).contains(&days)
    {
        return Err(Error::invalid("expires", "must be between 1 and 3650 days"));
    }
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let now = time::now();
    let expires = expires_days.map(|d| time::format(now + Duration::days(d)));
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO api_tokens (user_id, token_hash, roles, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.id)
    .bind(token_hash(&token))
    .bind(Role::join(&roles))
    .bind(time::format(now))
    .bind(expires.clone())
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    audit::append(
        &mut tx,
        &Event::success(
            actor,
            "token.create",
            "api_token",
            &id.to_string(),
            &format!("for {username}; roles: {}", Role::join(&roles)),
        ),
    )
    .await?;
    tx.commit().await?;
    let info = ApiToken {
        id,
        username: username.to_string(),
        roles,
        created_at: time::format(now),
        expires_at: expires,
        revoked_at: None,
        last_used_at: None,
    };
    Ok((token, info))
}

/// The principal of a bearer token, if it is live: its roles are those it was given that the
/// user still holds.
pub async fn bearer(db: &Db, token: &str) -> Result<Option<Principal>> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT t.id, t.user_id, t.roles, t.expires_at, t.revoked_at, t.last_used_at, u.username, \
         u.display_name, u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let now = time::now_text();
    let expired = row
        .try_get::<Option<String>, _>("expires_at")?
        .is_some_and(|e| e <= now);
    let revoked = row.try_get::<Option<String>, _>("revoked_at")?.is_some();
    if expired || revoked || row.try_get::<i64, _>("disabled")? != 0 {
        return Ok(None);
    }
    let id: i64 = row.try_get("id")?;
    let last_used: Option<String> = row.try_get("last_used_at")?;
    // Record use at most once a minute.
    let minute_ago = time::format(time::now() - Duration::seconds(60));
    if last_used.is_none_or(|t| t < minute_ago) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    let user_id: i64 = row.try_get("user_id")?;
    let held = users::roles_of(db, user_id).await?;
    let granted = Role::parse_list(&row.try_get::<String, _>("roles")?).unwrap_or_default();
    Ok(Some(Principal {
        user_id,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        roles: granted.into_iter().filter(|r| held.contains(r)).collect(),
        via: Via::Token { id },
    }))
}

pub async fn list_tokens(db: &Db) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(
        "SELECT t.id, u.username, t.roles, t.created_at, t.expires_at, t.revoked_at, t.last_used_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ApiToken {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                roles: Role::parse_list(&row.try_get::<String, _>("roles")?).unwrap_or_default(),
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

pub async fn revoke_token(db: &Db, actor: Actor<'_>, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let changed =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(time::now_text())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(Error::not_found(format!("live API token {id}")));
    }
    audit::append(
        &mut tx,
        &Event::success(actor, "token.revoke", "api_token", &id.to_string(), ""),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let a = random_token();
        assert_eq!(a.len(), 43, "32 bytes in unpadded base64");
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
