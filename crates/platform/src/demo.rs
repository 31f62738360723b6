//! The accounts of `rounds serve --demo`: `demo` with every role and one per role, their
//! passwords renewed and printed at each start. The demonstration data itself comes from the synthetic generator (`synth`).

use crate::db::Db;
use crate::error::Result;
use crate::roles::Role;
use crate::users::{self, Actor};

pub const DEMO_USER: &str = "demo";
const SEEDER: Actor<'static> = Actor {
    name: "demo",
    address: "local",
};

/// Makes sure `username` exists, enabled, with exactly `roles` and a fresh password; returns it.
async fn account(db: &Db, username: &str, display_name: &str, roles: &[Role]) -> Result<String> {
    let password = users::random_password();
    match users::find(db, username).await {
        Ok(user) => {
            if user.disabled {
                users::set_disabled(db, SEEDER, username, false).await?;
            }
            users::set_roles(db, SEEDER, username, roles).await?;
            users::set_password(db, SEEDER, username, &password).await?;
        }
        Err(crate::Error::NotFound { .. }) => {
            users::create(db, SEEDER, username, display_name, &password, roles).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(password)
}

/// The demonstration accounts, each with a fresh password: `demo` with every role, and one
/// account per role (`demo.cmo`, `demo.quality`, …) to see Rounds as each kind of user does.
pub async fn demo_accounts(db: &Db) -> Result<Vec<(String, String)>> {
    let mut accounts = vec![(
        DEMO_USER.to_string(),
        account(db, DEMO_USER, "Demo user (every role)", &Role::ALL).await?,
    )];
    for role in Role::ALL {
        let username = format!("{DEMO_USER}.{role}");
        let password = account(db, &username, &format!("Demo {role}"), &[role]).await?;
        accounts.push((username, password));
    }
    Ok(accounts)
}
