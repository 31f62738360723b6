//! `rounds user …`: local accounts from the server's console. Every change is recorded in the
//! audit chain with the actor `console`.

use super::database::{self, DatabaseArgs};
use clap::{Args, Subcommand};
use platform::Role;
use platform::users::{self, Actor};

#[derive(Debug, Args)]
#[command(after_help = roles_help())]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; prints a generated password once unless --password-stdin is given
    Add {
        /// User name: 2 to 64 letters, digits, '.', '-', '_' or '@'
        name: String,
        /// A role the user holds; repeat for several
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<Role>,
        /// The name shown in the web app (e.g. "Dr Ama Okafor")
        #[arg(long, value_name = "TEXT", default_value = "")]
        display_name: String,
        /// Read the password from the first line of standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts with their roles
    List,
    /// Replace a user's roles with those given
    SetRoles {
        name: String,
        /// A role the user holds; repeat for several
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<Role>,
    },
    /// Set a new password (printed once, or read with --password-stdin); ends the user's sessions
    ResetPassword {
        name: String,
        /// Read the password from the first line of standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it can no longer sign in, its sessions end and its API tokens are revoked
    Disable { name: String },
    /// Enable a disabled account again (its revoked API tokens stay revoked)
    Enable { name: String },
}

fn roles_help() -> String {
    let mut text = String::from("Roles:\n");
    for role in Role::ALL {
        text.push_str(&format!("  {:<22}{}\n", role.as_str(), role.description()));
    }
    text
}

/// The password to set: read from standard input, or generated (and then shown once).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        Ok((database::password_from_stdin()?, false))
    } else {
        Ok((users::random_password(), true))
    }
}

fn show_generated(name: &str, password: &str) {
    println!("password: {password}");
    eprintln!(
        "The password for '{name}' is shown only this once; give it to them over a safe channel."
    );
}

pub fn run(args: UserArgs) -> anyhow::Result<()> {
    match args.command {
        UserCommand::Add {
            name,
            roles,
            display_name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let user = database::with_db(&args.db, async |_, db| {
                Ok(
                    users::create(db, Actor::CONSOLE, &name, &display_name, &password, &roles)
                        .await?,
                )
            })?;
            println!(
                "created user '{}' with roles {}",
                user.username,
                Role::join(&user.roles)
            );
            if generated {
                show_generated(&user.username, &password);
            }
        }
        UserCommand::List => {
            let list = database::with_db(&args.db, async |_, db| Ok(users::list(db).await?))?;
            let mut rows = vec![
                ["NAME", "DISPLAY NAME", "ROLES", "DISABLED"]
                    .map(String::from)
                    .to_vec(),
            ];
            for user in list {
                rows.push(vec![
                    user.username,
                    user.display_name,
                    Role::join(&user.roles),
                    if user.disabled { "yes" } else { "no" }.to_string(),
                ]);
            }
            print!("{}", database::table(&rows));
        }
        UserCommand::SetRoles { name, roles } => {
            let user = database::with_db(&args.db, async |_, db| {
                Ok(users::set_roles(db, Actor::CONSOLE, &name, &roles).await?)
            })?;
            println!(
                "user '{}' now has roles {}",
                user.username,
                Role::join(&user.roles)
            );
        }
        UserCommand::ResetPassword {
            name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            database::with_db(&args.db, async |_, db| {
                Ok(users::set_password(db, Actor::CONSOLE, &name, &password).await?)
            })?;
            println!("password of '{name}' changed; their sessions have ended");
            if generated {
                show_generated(&name, &password);
            }
        }
        UserCommand::Disable { name } => {
            database::with_db(&args.db, async |_, db| {
                Ok(users::set_disabled(db, Actor::CONSOLE, &name, true).await?)
            })?;
            println!(
                "user '{name}' disabled; their sessions have ended and their API tokens are revoked"
            );
        }
        UserCommand::Enable { name } => {
            database::with_db(&args.db, async |_, db| {
                Ok(users::set_disabled(db, Actor::CONSOLE, &name, false).await?)
            })?;
            println!("user '{name}' enabled");
        }
    }
    Ok(())
}
