//! `rounds token …`: API tokens for service accounts. A token is shown once, when created; the
//! database keeps only its hash.

use super::database::{self, DatabaseArgs};
use clap::{Args, Subcommand};
use platform::Role;
use platform::auth;
use platform::users::Actor;

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a bearer token for a user and print it once (on standard output)
    Create {
        /// The account the token acts as
        #[arg(long, value_name = "NAME")]
        user: String,
        /// Limit the token to this role (one the user holds); repeat for several. Default: all the user's roles
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<Role>,
        /// Days until the token expires (1 to 3650); by default it lasts until revoked
        #[arg(long, value_name = "DAYS")]
        expires: Option<i64>,
    },
    /// List API tokens (never the tokens themselves)
    List,
    /// Revoke an API token by its id (from `rounds token list`)
    Revoke { id: i64 },
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Create {
            user,
            roles,
            expires,
        } => {
            let (token, info) = database::with_db(&args.db, async |_, db| {
                Ok(auth::create_token(db, Actor::CONSOLE, &user, &roles, expires).await?)
            })?;
            println!("{token}");
            let expiry = info
                .expires_at
                .as_deref()
                .map_or("does not expire".to_string(), |at| format!("expires {at}"));
            eprintln!(
                "API token {} for '{}' (roles {}; {expiry}). It cannot be shown again: store it now.",
                info.id,
                info.username,
                Role::join(&info.roles)
            );
        }
        TokenCommand::List => {
            let tokens =
                database::with_db(&args.db, async |_, db| Ok(auth::list_tokens(db).await?))?;
            let now = platform::time::now_text();
            let mut rows = vec![
                [
                    "ID",
                    "USER",
                    "ROLES",
                    "CREATED",
                    "EXPIRES",
                    "LAST USED",
                    "STATUS",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for t in tokens {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
                    "expired"
                } else {
                    "live"
                };
                rows.push(vec![
                    t.id.to_string(),
                    t.username,
                    Role::join(&t.roles),
                    day(&t.created_at),
                    t.expires_at.as_deref().map_or("never".to_string(), day),
                    t.last_used_at.as_deref().map_or("never".to_string(), day),
                    status.to_string(),
                ]);
            }
            print!("{}", database::table(&rows));
        }
        TokenCommand::Revoke { id } => {
            database::with_db(&args.db, async |_, db| {
                Ok(auth::revoke_token(db, Actor::CONSOLE, id).await?)
            })?;
            println!("API token {id} revoked");
        }
    }
    Ok(())
}

/// `2026-11-24T13:05:00.000000Z` → `2026-11-24 13:05`.
fn day(at: &str) -> String {
    match (at.get(..10), at.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => at.to_string(),
    }
}
