//! The `demo` account of `rounds serve --demo`: every role, its password renewed and printed at
//! each start. The demonstration data itself comes from the synthetic generator (`synth`).

use crate::db::Db;
use crate::error::Result;
use crate::roles::Role;
use crate::users::{self, Actor};

pub const DEMO_USER: &str = "demo";
const SEEDER: Actor<'static> = Actor {
    name: "demo",
    address: "local",
};

/// Makes sure the `demo` account exists with every role and a fresh password; returns it.
pub async fn demo_account(db: &Db) -> Result<String> {
    let password = users::random_password();
    match users::find(db, DEMO_USER).await {
        Ok(user) => {
            if user.disabled {
                users::set_disabled(db, SEEDER, DEMO_USER, false).await?;
            }
            users::set_roles(db, SEEDER, DEMO_USER, &Role::ALL).await?;
            users::set_password(db, SEEDER, DEMO_USER, &password).await?;
        }
        Err(crate::Error::NotFound { .. }) => {
            users::create(
                db,
                SEEDER,
                DEMO_USER,
                "Demo user (every role)",
                &password,
                &Role::ALL,
            )
            .await?;
        }
        Err(e) => return Err(e),
    }
    Ok(password)
}
