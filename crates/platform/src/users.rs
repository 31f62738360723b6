//! Local accounts: user names, argon2id password hashes, the password policy, roles and the
//! disabled flag. Every change is audited in the same transaction.

use crate::audit::{self, Event};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::roles::Role;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sqlx::Row;

pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub created_at: String,
}

pub use crate::audit::Actor;

pub fn check_username(username: &str) -> Result<()> {
    let ok = (2..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "username",
            "use 2 to 64 letters, digits, '.', '-', '_' or '@'",
        ))
    }
}

/// At least 12 characters and not the user name (in any case, nor containing it).
pub fn check_password(username: &str, password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    if password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(Error::invalid("password", "must not contain the user name"));
    }
    Ok(())
}

pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password for first-run and reset accounts: 20 characters from an alphabet without
/// look-alikes.
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The roles as stored (sorted, each once), for the audit entry's detail.
fn stored_roles(roles: &[Role]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    Role::join(&roles)
}

fn check_roles(roles: &[Role]) -> Result<()> {
    if roles.is_empty() {
        return Err(Error::invalid("roles", "a user needs at least one role"));
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    display_name: &str,
    password: &str,
    roles: &[Role],
) -> Result<User> {
    check_username(username)?;
    check_password(username, password)?;
    check_roles(roles)?;
    let display_name = display_name.trim();
    if display_name.len() > 200 {
        return Err(Error::invalid(
            "display_name",
            "must be at most 200 characters",
        ));
    }
    let hash = hash_password(password)?;
    let now = crate::time::now_text();
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO users (username, display_name, password_hash, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $4) RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(&hash)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| Error::from(e).unique_violation(&format!("a user named '{username}'")))?;
    let id: i64 = row.try_get("id")?;
    replace_roles(&mut tx, id, roles).await?;
    audit::append(
        &mut tx,
        &Event::success(
            actor,
            "user.create",
            "user",
            username,
            &format!("roles: {}", stored_roles(roles)),
        ),
    )
    .await?;
    tx.commit().await?;
    find(db, username).await
}

async fn replace_roles(tx: &mut crate::db::Tx, user_id: i64, roles: &[Role]) -> Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn roles_of(db: &Db, user_id: i64) -> Result<Vec<Role>> {
    let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?;
    // A role name this binary does not know (written by a newer version) grants nothing.
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("role").ok())
        .filter_map(|r| Role::parse(&r).ok())
        .collect())
}

fn user_from_row(row: &sqlx::any::AnyRow, roles: Vec<Role>) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        roles,
    })
}

pub async fn find(db: &Db, username: &str) -> Result<User> {
    let row = sqlx::query(
        "SELECT id, username, display_name, disabled, created_at FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| Error::not_found(format!("user '{username}'")))?;
    let id: i64 = row.try_get("id")?;
    user_from_row(&row, roles_of(db, id).await?)
}

pub async fn list(db: &Db) -> Result<Vec<User>> {
    let rows = sqlx::query(
        "SELECT id, username, display_name, disabled, created_at FROM users ORDER BY username",
    )
    .fetch_all(&db.pool)
    .await?;
    let role_rows = sqlx::query("SELECT user_id, role FROM user_roles ORDER BY user_id, role")
        .fetch_all(&db.pool)
        .await?;
    let mut users = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let roles = role_rows
            .iter()
            .filter(|r| r.try_get::<i64, _>("user_id").ok() == Some(id))
            .filter_map(|r| r.try_get::<String, _>("role").ok())
            .filter_map(|r| Role::parse(&r).ok())
            .collect();
        users.push(user_from_row(row, roles)?);
    }
    Ok(users)
}

/// The stored password hash, for checking a user's current password.
pub async fn password_hash(db: &Db, user_id: i64) -> Result<String> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(row
        .try_get::<Option<String>, _>("password_hash")?
        .unwrap_or_default())
}

pub async fn count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE disabled = 0")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

/// Starts a change to `username`'s account: the write transaction and the user's id.
async fn begin_change(db: &Db, username: &str) -> Result<(crate::db::Tx, i64)> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("user '{username}'")))?;
    let id: i64 = row.try_get("id")?;
    Ok((tx, id))
}

/// Stamps the account, audits the change and commits it.
async fn finish_change(
    db: &Db,
    mut tx: crate::db::Tx,
    id: i64,
    actor: Actor<'_>,
    username: &str,
    action: &str,
    detail: &str,
) -> Result<User> {
    sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
        .bind(crate::time::now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        &Event::success(actor, action, "user", username, detail),
    )
    .await?;
    tx.commit().await?;
    find(db, username).await
}

pub async fn set_roles(db: &Db, actor: Actor<'_>, username: &str, roles: &[Role]) -> Result<User> {
    check_roles(roles)?;
    let (mut tx, id) = begin_change(db, username).await?;
    replace_roles(&mut tx, id, roles).await?;
    let detail = format!("roles: {}", stored_roles(roles));
    finish_change(db, tx, id, actor, username, "user.set-roles", &detail).await
}

/// Sets a new password and ends the user's sessions.
pub async fn set_password(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    password: &str,
) -> Result<User> {
    check_password(username, password)?;
    let hash = hash_password(password)?;
    let (mut tx, id) = begin_change(db, username).await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    finish_change(db, tx, id, actor, username, "user.set-password", "").await
}

/// Disables (or re-enables) an account; disabling ends its sessions and revokes its API tokens.
pub async fn set_disabled(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    disabled: bool,
) -> Result<User> {
    let (mut tx, id) = begin_change(db, username).await?;
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(crate::time::now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    finish_change(db, tx, id, actor, username, action, "").await
}

/// On an empty database, creates `admin` with a random password and returns the password (to be
/// shown once on the terminal). Returns `None` when any account exists.
pub async fn ensure_first_admin(db: &Db) -> Result<Option<String>> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&db.pool)
        .await?;
    if row.try_get::<i64, _>("n")? > 0 {
        return Ok(None);
    }
    let password = random_password();
    let actor = Actor {
        name: "system",
        address: "local",
    };
    match create(
        db,
        actor,
        "admin",
        "Administrator",
        &password,
        &[Role::Admin],
    )
    .await
    {
        Ok(_) => Ok(Some(password)),
        // Another server created it first.
        Err(Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy_names_what_is_wrong() {
        assert!(
            check_password("dr.lee", "short")
                .unwrap_err()
                .to_string()
                .contains("at least 12")
        );
        assert!(
            check_password("dr.lee", "xxDR.LEExx1234")
                .unwrap_err()
                .to_string()
                .contains("user name")
        );
        assert!(check_password("dr.lee", "correct horse battery").is_ok());
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password("not a hash", "anything"));
    }

    #[test]
    fn user_names_are_plain() {
        assert!(check_username("m.osei-bonsu").is_ok());
        assert!(check_username("x").is_err());
        assert!(check_username("robert'); DROP TABLE users;--").is_err());
    }

    #[test]
    fn random_passwords_pass_the_policy() {
        let password = random_password();
        assert_eq!(password.len(), 20);
        assert!(check_password("admin", &password).is_ok());
        assert_ne!(password, random_password());
    }
}
