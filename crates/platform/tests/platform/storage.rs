//! The storage layer on every backend: the audit chain and what it catches, accounts, sign-in
//! throttling, sessions, API tokens, the organisation, transactions, the job queue and
//! migrations. Each test runs its body once per database from `platform::testing::backends()`.

use chrono::Duration;
use platform::audit::{self, Event, Verdict};
use platform::jobs::{self, Registry};
use platform::org::{self, DepartmentInput, FacilityInput, UnitInput};
use platform::testing::{TestDb, backends};
use platform::users::{self, Actor};
use platform::{Config, Error, Role, auth, migrate, time};
use sqlx::Row;
use std::collections::BTreeSet;

const ADMIN: Actor<'static> = Actor {
    name: "admin",
    address: "10.0.0.1",
};
const PASSWORD: &str = "correct horse battery";

async fn append(db: &platform::Db, record_id: &str) -> i64 {
    audit::record(
        db,
        &Event {
            actor: "tester",
            address: "127.0.0.1",
            action: "test.append",
            record_type: "test",
            record_id,
            outcome: "success",
            detail: "",
        },
    )
    .await
    .unwrap()
}

/// A database holding a chain of `n` entries.
async fn chains(n: i64) -> Vec<TestDb> {
    let all = backends().await;
    for t in &all {
        for i in 1..=n {
            assert_eq!(append(&t.db, &i.to_string()).await, i, "{}", t.name);
        }
    }
    all
}

async fn verdict(t: &TestDb) -> Verdict {
    audit::verify(&t.db)
        .await
        .unwrap_or_else(|e| panic!("{}: verify: {e}", t.name))
}

fn broken(seq: i64, reason: &str) -> Verdict {
    Verdict::Broken {
        seq,
        reason: reason.to_string(),
    }
}

#[tokio::test]
async fn an_untouched_chain_verifies() {
    for t in backends().await {
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact { entries: 0 },
            "{}: empty",
            t.name
        );
        for i in 1..=7 {
            append(&t.db, &i.to_string()).await;
        }
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact { entries: 7 },
            "{}",
            t.name
        );
        let first = t.number("SELECT COUNT(*) AS n FROM audit_log WHERE seq = 1 AND prev_hash = '0000000000000000000000000000000000000000000000000000000000000000'").await;
        assert_eq!(
            first, 1,
            "{}: the first entry follows the genesis hash",
            t.name
        );
    }
}

#[tokio::test]
async fn an_altered_field_is_found_at_its_entry() {
    for t in chains(5).await {
        assert_eq!(
            t.exec("UPDATE audit_log SET outcome = 'denied' WHERE seq = 3")
                .await,
            1
        );
        assert_eq!(
            verdict(&t).await,
            broken(3, "its content does not match its hash (altered)"),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_deleted_middle_entry_is_found() {
    for t in chains(5).await {
        t.exec("DELETE FROM audit_log WHERE seq = 3").await;
        assert_eq!(
            verdict(&t).await,
            broken(3, "entry 3 is missing (the next entry is 4)"),
            "{}",
            t.name
        );
    }
    // Deleting and renumbering the rest to close the gap still breaks the links.
    for t in chains(5).await {
        t.exec("DELETE FROM audit_log WHERE seq = 3").await;
        t.exec("UPDATE audit_log SET seq = seq - 1 WHERE seq > 3")
            .await;
        t.exec("UPDATE audit_head SET seq = 4").await;
        let expected = "does not follow the entry before it (removed, inserted or reordered)";
        assert_eq!(verdict(&t).await, broken(3, expected), "{}", t.name);
    }
}

#[tokio::test]
async fn a_deleted_last_entry_is_found_through_the_head() {
    for t in chains(5).await {
        t.exec("DELETE FROM audit_log WHERE seq = 5").await;
        let expected = "the chain ends at entry 4 but its head records entry 5 (entries removed from the end, or the head altered)";
        assert_eq!(verdict(&t).await, broken(5, expected), "{}", t.name);
    }
}

#[tokio::test]
async fn swapped_entries_are_found() {
    const FIELDS: [&str; 10] = [
        "at",
        "actor",
        "address",
        "action",
        "record_type",
        "record_id",
        "outcome",
        "detail",
        "prev_hash",
        "hash",
    ];
    for t in chains(5).await {
        // Entries 2 and 3 trade their whole contents (all but the sequence number).
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq IN (2, 3) ORDER BY seq")
            .fetch_all(&t.db.pool)
            .await
            .unwrap();
        for (row, seq) in rows.iter().zip([3_i64, 2]) {
            for field in FIELDS {
                let value: String = row.try_get(field).unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE audit_log SET {field} = $1 WHERE seq = $2"
                )))
                .bind(value)
                .bind(seq)
                .execute(&t.db.pool)
                .await
                .unwrap();
            }
        }
        let expected = "does not follow the entry before it (removed, inserted or reordered)";
        assert_eq!(verdict(&t).await, broken(2, expected), "{}", t.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_make_one_contiguous_chain() {
    const TASKS: i64 = 12;
    const EACH: i64 = 8;
    for t in backends().await {
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let db = t.db.clone();
            handles.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..EACH {
                    seqs.push(append(&db, &format!("{task}-{i}")).await);
                }
                seqs
            }));
        }
        let mut seqs = BTreeSet::new();
        for handle in handles {
            seqs.extend(handle.await.unwrap());
        }
        assert_eq!(
            seqs,
            (1..=TASKS * EACH).collect::<BTreeSet<_>>(),
            "{}: every append got its own number",
            t.name
        );
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact {
                entries: TASKS * EACH
            },
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(DISTINCT record_id) AS n FROM audit_log")
                .await,
            TASKS * EACH
        );
    }
}

#[tokio::test]
async fn a_second_user_of_the_same_name_is_a_conflict() {
    for t in backends().await {
        let user = users::create(
            &t.db,
            ADMIN,
            "dr.okafor",
            " Dr Ama Okafor ",
            PASSWORD,
            &[Role::Quality, Role::Cmo, Role::Cmo],
        )
        .await
        .unwrap();
        assert_eq!(
            (user.display_name.as_str(), user.roles.as_slice()),
            ("Dr Ama Okafor", &[Role::Cmo, Role::Quality][..]),
            "{}",
            t.name
        );
        let again = users::create(
            &t.db,
            ADMIN,
            "dr.okafor",
            "",
            "another long password",
            &[Role::Gme],
        )
        .await;
        match again {
            Err(Error::Conflict(message)) => assert_eq!(
                message, "a user named 'dr.okafor' already exists",
                "{}",
                t.name
            ),
            other => panic!("{}: expected a conflict, got {other:?}", t.name),
        }
        let no_roles = users::create(&t.db, ADMIN, "m.chen", "", PASSWORD, &[])
            .await
            .unwrap_err();
        assert_eq!(
            no_roles.to_string(),
            "roles: a user needs at least one role"
        );
        let bad_name = users::create(
            &t.db,
            ADMIN,
            "x'; DROP TABLE users;--",
            "",
            PASSWORD,
            &[Role::Cmo],
        )
        .await
        .unwrap_err();
        assert!(
            matches!(bad_name, Error::Invalid { ref field, .. } if field == "username"),
            "{bad_name:?}"
        );
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM users").await,
            1,
            "{}",
            t.name
        );
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact { entries: 1 },
            "{}: refused creations leave no entry",
            t.name
        );
        let entry = &audit::search(&t.db, &audit::Search::default(), 10)
            .await
            .unwrap()[0];
        assert_eq!(
            (
                entry.actor.as_str(),
                entry.address.as_str(),
                entry.action.as_str(),
                entry.record_id.as_str(),
                entry.detail.as_str()
            ),
            (
                "admin",
                "10.0.0.1",
                "user.create",
                "dr.okafor",
                "roles: cmo,quality"
            ),
        );
    }
}

async fn sessions(t: &TestDb) -> i64 {
    t.number("SELECT COUNT(*) AS n FROM sessions").await
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_the_lock_is_audited() {
    let config = Config {
        signin_max_failures: 3,
        ..Config::default()
    };
    for t in backends().await {
        users::create(&t.db, ADMIN, "dr.okafor", "", PASSWORD, &[Role::Cmo])
            .await
            .unwrap();
        for attempt in 1..=3 {
            let result = auth::sign_in(
                &t.db,
                &config,
                "dr.okafor",
                "wrong password here",
                "192.0.2.7",
            )
            .await;
            assert!(
                matches!(result, Err(Error::BadCredentials)),
                "{}: attempt {attempt}: {:?}",
                t.name,
                result.err()
            );
        }
        let locked = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "192.0.2.8").await;
        assert!(
            matches!(locked, Err(Error::Locked { .. })),
            "{}: even the right password is refused while locked",
            t.name
        );
        assert_eq!(sessions(&t).await, 0, "{}", t.name);

        let search = |action: &str| audit::Search {
            action: Some(action.to_string()),
            ..Default::default()
        };
        let failures = audit::search(&t.db, &search("signin.failure"), 10)
            .await
            .unwrap();
        let details: Vec<&str> = failures.iter().rev().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "wrong password",
                "wrong password",
                "wrong password; account locked"
            ],
            "{}",
            t.name
        );
        let lock = audit::search(&t.db, &search("signin.locked"), 10)
            .await
            .unwrap();
        assert_eq!(lock.len(), 1, "{}", t.name);
        assert_eq!(
            (
                lock[0].record_id.as_str(),
                lock[0].outcome.as_str(),
                lock[0].address.as_str()
            ),
            ("dr.okafor", "denied", "192.0.2.8")
        );

        // The lock is per account: another user signs in from the same address.
        users::create(&t.db, ADMIN, "m.chen", "", PASSWORD, &[Role::Auditor])
            .await
            .unwrap();
        assert!(
            auth::sign_in(&t.db, &config, "m.chen", PASSWORD, "192.0.2.7")
                .await
                .is_ok(),
            "{}",
            t.name
        );

        // Once the failures are older than the lock period, the account opens again.
        sqlx::query("UPDATE signin_failures SET at = $1")
            .bind(time::format(
                time::now() - Duration::minutes(config.signin_lock_minutes + 1),
            ))
            .execute(&t.db.pool)
            .await
            .unwrap();
        assert!(
            auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "192.0.2.8")
                .await
                .is_ok(),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn guessing_across_accounts_from_one_address_locks_the_address() {
    let config = Config {
        signin_max_failures: 5,
        signin_max_failures_per_address: 4,
        ..Config::default()
    };
    for t in backends().await {
        users::create(&t.db, ADMIN, "dr.okafor", "", PASSWORD, &[Role::Cmo])
            .await
            .unwrap();
        for user in ["a.one", "b.two", "c.three", "d.four"] {
            let result = auth::sign_in(&t.db, &config, user, PASSWORD, "198.51.100.4").await;
            assert!(
                matches!(result, Err(Error::BadCredentials)),
                "{}: {user}",
                t.name
            );
        }
        let from_there = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "198.51.100.4").await;
        assert!(
            matches!(from_there, Err(Error::Locked { .. })),
            "{}: the address is locked",
            t.name
        );
        assert!(
            auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "198.51.100.5")
                .await
                .is_ok(),
            "{}: other addresses are not",
            t.name
        );
    }
}

#[tokio::test]
async fn a_refused_sign_in_never_opens_a_session() {
    let config = Config::default();
    for t in backends().await {
        users::create(&t.db, ADMIN, "dr.okafor", "", PASSWORD, &[Role::Cmo])
            .await
            .unwrap();
        users::create(&t.db, ADMIN, "m.chen", "", PASSWORD, &[Role::Cmo])
            .await
            .unwrap();
        users::set_disabled(&t.db, ADMIN, "m.chen", true)
            .await
            .unwrap();
        for (user, password) in [
            ("dr.okafor", "correct horse batterY"),
            ("nobody", PASSWORD),
            ("m.chen", PASSWORD),
            ("dr.okafor", ""),
        ] {
            let result = auth::sign_in(&t.db, &config, user, password, "192.0.2.9").await;
            assert!(
                matches!(result, Err(Error::BadCredentials)),
                "{}: {user}",
                t.name
            );
        }
        assert_eq!(sessions(&t).await, 0, "{}", t.name);
        let reasons: Vec<String> = audit::search(
            &t.db,
            &audit::Search {
                action: Some("signin.failure".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.detail)
        .collect();
        assert_eq!(
            reasons,
            [
                "wrong password",
                "unknown user",
                "account disabled",
                "wrong password"
            ],
            "{}",
            t.name
        );

        let session = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "192.0.2.9")
            .await
            .unwrap();
        assert_eq!(sessions(&t).await, 1);
        let stored = t
            .number("SELECT COUNT(*) AS n FROM sessions WHERE token_hash <> csrf_token")
            .await;
        assert_eq!(stored, 1);
        let raw: String = sqlx::query("SELECT token_hash FROM sessions")
            .fetch_one(&t.db.pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            raw,
            auth::token_hash(&session.token),
            "{}: only the hash of the cookie is stored",
            t.name
        );
    }
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_limit() {
    let config = Config {
        session_idle_minutes: 30,
        ..Config::default()
    };
    for t in backends().await {
        users::create(
            &t.db,
            ADMIN,
            "dr.okafor",
            "Dr Ama Okafor",
            PASSWORD,
            &[Role::Cmo, Role::Quality],
        )
        .await
        .unwrap();
        let session = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "::1")
            .await
            .unwrap();
        let principal = auth::session(&t.db, &config, &session.token)
            .await
            .unwrap()
            .expect("a live session");
        assert_eq!(
            (principal.username.as_str(), principal.roles.as_slice()),
            ("dr.okafor", &[Role::Cmo, Role::Quality][..])
        );
        assert_eq!(principal.csrf(), session.csrf);
        assert!(
            auth::session(&t.db, &config, "not-a-session")
                .await
                .unwrap()
                .is_none()
        );

        let set_last_seen = async |minutes_ago: i64| {
            sqlx::query("UPDATE sessions SET last_seen_at = $1")
                .bind(time::format(time::now() - Duration::minutes(minutes_ago)))
                .execute(&t.db.pool)
                .await
                .unwrap();
        };
        // 29 idle minutes: still live, and the visit moves last_seen_at forward.
        set_last_seen(29).await;
        assert!(
            auth::session(&t.db, &config, &session.token)
                .await
                .unwrap()
                .is_some(),
            "{}",
            t.name
        );
        let fresh = time::format(time::now() - Duration::minutes(1));
        let touched: String = sqlx::query("SELECT last_seen_at FROM sessions")
            .fetch_one(&t.db.pool)
            .await
            .unwrap()
            .get(0);
        assert!(touched > fresh, "{}: {touched}", t.name);
        // 31 idle minutes: over, and the row is gone.
        set_last_seen(31).await;
        assert!(
            auth::session(&t.db, &config, &session.token)
                .await
                .unwrap()
                .is_none(),
            "{}",
            t.name
        );
        assert_eq!(sessions(&t).await, 0, "{}", t.name);

        // The absolute limit holds however active the session is.
        let session = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "::1")
            .await
            .unwrap();
        sqlx::query("UPDATE sessions SET expires_at = $1")
            .bind(time::format(time::now() - Duration::seconds(1)))
            .execute(&t.db.pool)
            .await
            .unwrap();
        assert!(
            auth::session(&t.db, &config, &session.token)
                .await
                .unwrap()
                .is_none(),
            "{}",
            t.name
        );

        // Signing out and a password reset end sessions.
        let session = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "::1")
            .await
            .unwrap();
        let principal = auth::session(&t.db, &config, &session.token)
            .await
            .unwrap()
            .unwrap();
        auth::sign_out(&t.db, &principal, "::1").await.unwrap();
        assert!(
            auth::session(&t.db, &config, &session.token)
                .await
                .unwrap()
                .is_none(),
            "{}",
            t.name
        );
        let session = auth::sign_in(&t.db, &config, "dr.okafor", PASSWORD, "::1")
            .await
            .unwrap();
        users::set_password(&t.db, ADMIN, "dr.okafor", "a different passphrase")
            .await
            .unwrap();
        assert!(
            auth::session(&t.db, &config, &session.token)
                .await
                .unwrap()
                .is_none(),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn api_tokens_carry_their_scoped_roles_until_revoked() {
    for t in backends().await {
        users::create(
            &t.db,
            ADMIN,
            "svc.quality",
            "",
            PASSWORD,
            &[Role::Cmo, Role::Quality],
        )
        .await
        .unwrap();
        let (scoped, info) =
            auth::create_token(&t.db, ADMIN, "svc.quality", &[Role::Quality], Some(30))
                .await
                .unwrap();
        assert!(
            scoped.starts_with("rnd_") && info.expires_at.is_some(),
            "{}",
            t.name
        );
        let (full, _) = auth::create_token(&t.db, ADMIN, "svc.quality", &[], None)
            .await
            .unwrap();
        let roles = async |token: &str| auth::bearer(&t.db, token).await.unwrap().map(|p| p.roles);
        assert_eq!(
            roles(&scoped).await,
            Some(vec![Role::Quality]),
            "{}",
            t.name
        );
        assert_eq!(
            roles(&full).await,
            Some(vec![Role::Cmo, Role::Quality]),
            "{}",
            t.name
        );
        assert_eq!(roles("rnd_not-a-token").await, None);
        assert_eq!(
            roles(scoped.trim_start_matches("rnd_")).await,
            None,
            "{}: the prefix is required",
            t.name
        );

        let unheld = auth::create_token(&t.db, ADMIN, "svc.quality", &[Role::Gme], None)
            .await
            .unwrap_err();
        assert_eq!(
            unheld.to_string(),
            "role: 'svc.quality' does not hold the role gme"
        );
        let forever = auth::create_token(&t.db, ADMIN, "svc.quality", &[], Some(0))
            .await
            .unwrap_err();
        assert_eq!(
            forever.to_string(),
            "expires: must be between 1 and 3650 days"
        );

        // A token never grants more than the user still holds.
        users::set_roles(&t.db, ADMIN, "svc.quality", &[Role::Cmo])
            .await
            .unwrap();
        assert_eq!(roles(&scoped).await, Some(vec![]), "{}", t.name);
        assert_eq!(roles(&full).await, Some(vec![Role::Cmo]), "{}", t.name);

        auth::revoke_token(&t.db, ADMIN, info.id).await.unwrap();
        assert_eq!(roles(&scoped).await, None, "{}", t.name);
        assert!(
            matches!(
                auth::revoke_token(&t.db, ADMIN, info.id).await,
                Err(Error::NotFound { .. })
            ),
            "{}",
            t.name
        );
        let listed = auth::list_tokens(&t.db).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|k| k.revoked_at.is_some())
                .collect::<Vec<_>>(),
            [true, false],
            "{}",
            t.name
        );
        assert!(
            listed[1].last_used_at.is_some(),
            "{}: use is recorded",
            t.name
        );
        let stored = t
            .number("SELECT COUNT(*) AS n FROM api_tokens WHERE token_hash LIKE 'rnd_%'")
            .await;
        assert_eq!(stored, 0, "{}: tokens are stored hashed", t.name);

        // An expired token and a disabled user's token are refused.
        t.exec("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE revoked_at IS NULL").await;
        assert_eq!(roles(&full).await, None, "{}", t.name);
        t.exec("UPDATE api_tokens SET expires_at = NULL").await;
        assert!(roles(&full).await.is_some());
        users::set_disabled(&t.db, ADMIN, "svc.quality", true)
            .await
            .unwrap();
        assert_eq!(roles(&full).await, None, "{}", t.name);
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL")
                .await,
            0,
            "{}",
            t.name
        );
    }
}

fn facility(name: &str, ccn: Option<&str>) -> FacilityInput {
    FacilityInput {
        name: name.into(),
        ccn: ccn.map(Into::into),
        city: "Springfield".into(),
        state: "il".into(),
    }
}

fn field_of(error: Error) -> String {
    match error {
        Error::Invalid { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_organisation_validates_input_and_names_clashes() {
    for t in backends().await {
        let db = &t.db;
        let general = org::save_facility(
            db,
            ADMIN,
            None,
            &facility("Springfield General", Some("140001")),
        )
        .await
        .unwrap();
        assert_eq!(
            (general.state.as_str(), general.ccn.as_deref()),
            ("IL", Some("140001"))
        );
        let north = org::save_facility(
            db,
            ADMIN,
            None,
            &facility("O'Brien North; DROP TABLE units;--", None),
        )
        .await
        .unwrap();
        assert_eq!(
            org::facility(db, north.id).await.unwrap().name,
            "O'Brien North; DROP TABLE units;--",
            "{}",
            t.name
        );

        let same_name =
            org::save_facility(db, ADMIN, None, &facility("Springfield General", None)).await;
        assert!(
            matches!(same_name, Err(Error::Conflict(_))),
            "{}: {same_name:?}",
            t.name
        );
        let same_ccn =
            org::save_facility(db, ADMIN, None, &facility("Shelbyville", Some("140001"))).await;
        assert!(
            matches!(same_ccn, Err(Error::Conflict(_))),
            "{}: {same_ccn:?}",
            t.name
        );
        let rename = org::save_facility(
            db,
            ADMIN,
            Some(north.id),
            &facility("Springfield General", None),
        )
        .await;
        assert!(
            matches!(rename, Err(Error::Conflict(_))),
            "{}: an update clashes too",
            t.name
        );
        assert_eq!(
            field_of(
                org::save_facility(db, ADMIN, None, &facility("X", Some("14-001")))
                    .await
                    .unwrap_err()
            ),
            "ccn"
        );
        assert_eq!(
            field_of(
                org::save_facility(
                    db,
                    ADMIN,
                    None,
                    &FacilityInput {
                        state: "Illinois".into(),
                        ..facility("Y", None)
                    }
                )
                .await
                .unwrap_err()
            ),
            "state"
        );
        assert_eq!(
            field_of(
                org::save_facility(db, ADMIN, None, &facility("   ", None))
                    .await
                    .unwrap_err()
            ),
            "name"
        );
        assert!(matches!(
            org::save_facility(db, ADMIN, Some(9999), &facility("Z", None)).await,
            Err(Error::NotFound { .. })
        ));

        let dept = |facility_id, name: &str| DepartmentInput {
            facility_id,
            name: name.into(),
            service_line: "Surgery".into(),
        };
        let surgery = org::save_department(db, ADMIN, None, &dept(general.id, "Surgery"))
            .await
            .unwrap();
        assert_eq!(surgery.facility, "Springfield General");
        assert!(
            matches!(
                org::save_department(db, ADMIN, None, &dept(general.id, "Surgery")).await,
                Err(Error::Conflict(_))
            ),
            "{}",
            t.name
        );
        org::save_department(db, ADMIN, None, &dept(north.id, "Surgery"))
            .await
            .expect("the same name in another facility");
        assert_eq!(
            field_of(
                org::save_department(db, ADMIN, None, &dept(9999, "Medicine"))
                    .await
                    .unwrap_err()
            ),
            "facility_id"
        );

        let unit = |department_id, name: &str, kind: &str, beds| UnitInput {
            facility_id: general.id,
            department_id,
            name: name.into(),
            kind: kind.into(),
            beds,
        };
        let icu = org::save_unit(db, ADMIN, None, &unit(Some(surgery.id), "SICU", "icu", 16))
            .await
            .unwrap();
        assert_eq!((icu.department.as_deref(), icu.beds), (Some("Surgery"), 16));
        assert!(
            matches!(
                org::save_unit(db, ADMIN, None, &unit(None, "SICU", "icu", 8)).await,
                Err(Error::Conflict(_))
            ),
            "{}",
            t.name
        );
        assert_eq!(
            field_of(
                org::save_unit(db, ADMIN, None, &unit(None, "5 East", "ward", 20))
                    .await
                    .unwrap_err()
            ),
            "kind"
        );
        assert_eq!(
            field_of(
                org::save_unit(db, ADMIN, None, &unit(None, "5 East", "med-surg", 5000))
                    .await
                    .unwrap_err()
            ),
            "beds"
        );
        let north_surgery = org::departments(db)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.facility_id == north.id)
            .unwrap();
        assert_eq!(
            field_of(
                org::save_unit(
                    db,
                    ADMIN,
                    None,
                    &unit(Some(north_surgery.id), "5 East", "med-surg", 20)
                )
                .await
                .unwrap_err()
            ),
            "department_id"
        );
        let updated = org::save_unit(
            db,
            ADMIN,
            Some(icu.id),
            &unit(Some(surgery.id), "SICU", "icu", 18),
        )
        .await
        .unwrap();
        assert_eq!(updated.beds, 18);

        let summary = org::summary(db).await.unwrap();
        assert_eq!(
            (
                summary.facilities,
                summary.departments,
                summary.units,
                summary.beds
            ),
            (2, 2, 1, 18),
            "{}",
            t.name
        );
        // Six changes succeeded: six entries, no more.
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact { entries: 6 },
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_transaction_that_fails_midway_leaves_neither_record_nor_entry() {
    for t in backends().await {
        append(&t.db, "before").await;
        let mut tx = t.db.begin().await.unwrap();
        sqlx::query("INSERT INTO facilities (name, city, state, created_at, updated_at) VALUES ('Half Written', '', '', 'x', 'x')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let seq = audit::append(
            &mut tx,
            &Event {
                actor: "admin",
                action: "facility.create",
                record_id: "Half Written",
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(seq, 2);
        let clash = sqlx::query("INSERT INTO facilities (name, city, state, created_at, updated_at) VALUES ('Half Written', '', '', 'x', 'x')")
            .execute(&mut *tx)
            .await;
        assert!(clash.is_err(), "{}", t.name);
        drop(tx); // The caller's `?` returns here; the transaction rolls back.

        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM facilities").await,
            0,
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM audit_log").await,
            1,
            "{}",
            t.name
        );
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact { entries: 1 },
            "{}",
            t.name
        );
        assert_eq!(
            append(&t.db, "after").await,
            2,
            "{}: the head did not move",
            t.name
        );
        assert_eq!(
            verdict(&t).await,
            Verdict::Intact { entries: 2 },
            "{}",
            t.name
        );
    }
}

/// A registry with one every-minute schedule.
fn minutely() -> Registry {
    let mut registry = Registry::new();
    registry
        .schedule("test.minutely", "test.noop", "* * * * *", "{}")
        .unwrap();
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_due_schedule_is_enqueued_once_when_two_servers_race() {
    const ROUNDS: i64 = 8;
    for t in backends().await {
        jobs::install_schedules(&t.db, &minutely()).await.unwrap();
        jobs::install_schedules(&t.db, &minutely()).await.unwrap();
        assert_eq!(jobs::schedules(&t.db).await.unwrap().len(), 1);
        for round in 0..ROUNDS {
            sqlx::query("UPDATE job_schedules SET next_run_at = $1")
                .bind(time::format(time::now() - Duration::minutes(1)))
                .execute(&t.db.pool)
                .await
                .unwrap();
            let now = time::now();
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let db = t.db.clone();
                    tokio::spawn(async move { jobs::enqueue_due(&db, now).await.unwrap() })
                })
                .collect();
            let mut enqueued = 0;
            for racer in racers {
                enqueued += racer.await.unwrap();
            }
            assert_eq!(enqueued, 1, "{}: round {round}", t.name);
            // Not due again until the next minute.
            assert_eq!(
                jobs::enqueue_due(&t.db, now).await.unwrap(),
                0,
                "{}",
                t.name
            );
        }
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM jobs WHERE schedule = 'test.minutely'")
                .await,
            ROUNDS,
            "{}",
            t.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_claim_the_same_job() {
    const JOBS: usize = 50;
    const WORKERS: usize = 4;
    for t in backends().await {
        let now = time::now();
        for i in 0..JOBS {
            jobs::enqueue(
                &t.db,
                "test.noop",
                &format!("{{\"n\":{i}}}"),
                now - Duration::seconds(1),
            )
            .await
            .unwrap();
        }
        jobs::enqueue(
            &t.db,
            "test.noop",
            "{\"later\":true}",
            now + Duration::hours(1),
        )
        .await
        .unwrap();
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let db = t.db.clone();
                tokio::spawn(async move {
                    let mut claimed = Vec::new();
                    while let Some(job) =
                        jobs::claim(&db, &format!("worker-{w}"), now).await.unwrap()
                    {
                        assert_eq!((job.status.as_str(), job.attempts), ("running", 1));
                        claimed.push((job.id, w));
                    }
                    claimed
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.await.unwrap());
        }
        let ids: BTreeSet<i64> = all.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            (all.len(), ids.len()),
            (JOBS, JOBS),
            "{}: each due job claimed exactly once",
            t.name
        );
        for (id, w) in &all {
            let row = sqlx::query("SELECT locked_by FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&t.db.pool)
                .await
                .unwrap();
            assert_eq!(row.get::<String, _>(0), format!("worker-{w}"), "{}", t.name);
        }
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'")
                .await,
            1,
            "{}: the future job waits",
            t.name
        );
    }
}

async fn job(t: &TestDb, id: i64) -> jobs::Job {
    jobs::recent(&t.db, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap()
}

#[tokio::test]
async fn a_failing_job_backs_off_then_fails_for_good() {
    for t in backends().await {
        let start = time::now();
        let id = jobs::enqueue(&t.db, "test.flaky", "{}", start)
            .await
            .unwrap();
        let mut now = start;
        for attempt in 1..=jobs::DEFAULT_MAX_ATTEMPTS {
            let claimed = jobs::claim(&t.db, "w", now)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{}: attempt {attempt} is due", t.name));
            assert_eq!((claimed.id, claimed.attempts), (id, attempt), "{}", t.name);
            jobs::finish(
                &t.db,
                &claimed,
                "w",
                &Err(format!("upstream down ({attempt})")),
                now,
            )
            .await
            .unwrap();
            let after = job(&t, id).await;
            assert_eq!(after.last_error, format!("upstream down ({attempt})"));
            if attempt < jobs::DEFAULT_MAX_ATTEMPTS {
                let wait = jobs::backoff(attempt);
                assert_eq!(
                    (after.status.as_str(), after.run_at.clone()),
                    ("queued", time::format(now + wait)),
                    "{}",
                    t.name
                );
                // Not before its back-off is over.
                assert!(
                    jobs::claim(&t.db, "w", now + wait - Duration::seconds(1))
                        .await
                        .unwrap()
                        .is_none(),
                    "{}",
                    t.name
                );
                now += wait;
            } else {
                assert_eq!(after.status, "failed", "{}", t.name);
                assert_eq!(after.finished_at, time::format(now));
            }
        }
        assert!(
            jobs::claim(&t.db, "w", now + Duration::days(1))
                .await
                .unwrap()
                .is_none(),
            "{}: a failed job stays failed",
            t.name
        );
        assert_eq!(
            jobs::counts(&t.db).await.unwrap(),
            [("failed".to_string(), 1)]
        );

        // An administrator puts it back with fresh attempts.
        jobs::retry(&t.db, ADMIN, id).await.unwrap();
        let again = job(&t, id).await;
        assert_eq!(
            (again.status.as_str(), again.attempts),
            ("queued", 0),
            "{}",
            t.name
        );
        assert!(
            matches!(
                jobs::retry(&t.db, ADMIN, id).await,
                Err(Error::NotFound { .. })
            ),
            "{}: only failed jobs",
            t.name
        );
    }
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_after_its_lease() {
    for t in backends().await {
        let start = time::now();
        let id = jobs::enqueue(&t.db, "test.noop", "{}", start)
            .await
            .unwrap();
        assert_eq!(
            jobs::claim(&t.db, "dead", start)
                .await
                .unwrap()
                .map(|j| j.id),
            Some(id)
        );
        assert!(
            jobs::claim(&t.db, "alive", start + Duration::minutes(29))
                .await
                .unwrap()
                .is_none(),
            "{}: still leased",
            t.name
        );
        let taken = jobs::claim(&t.db, "alive", start + Duration::minutes(31))
            .await
            .unwrap()
            .expect("the lease ran out");
        assert_eq!((taken.id, taken.attempts), (id, 2), "{}", t.name);

        // The first worker wakes up late: its outcome no longer counts.
        let stale = jobs::Job {
            attempts: 1,
            ..taken.clone()
        };
        jobs::finish(
            &t.db,
            &stale,
            "dead",
            &Err("late".into()),
            start + Duration::minutes(32),
        )
        .await
        .unwrap();
        assert_eq!(
            job(&t, id).await.status,
            "running",
            "{}: still the new worker's",
            t.name
        );
        jobs::finish(
            &t.db,
            &taken,
            "alive",
            &Ok(()),
            start + Duration::minutes(33),
        )
        .await
        .unwrap();
        assert_eq!(job(&t, id).await.status, "done", "{}", t.name);
    }
}

#[tokio::test]
async fn a_job_that_kills_its_worker_on_every_attempt_fails_for_good() {
    for t in backends().await {
        let start = time::now();
        let id = jobs::enqueue(&t.db, "test.crash", "{}", start)
            .await
            .unwrap();
        let mut now = start;
        for attempt in 1..=jobs::DEFAULT_MAX_ATTEMPTS {
            let claimed = jobs::claim(&t.db, "doomed", now)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{}: attempt {attempt}", t.name));
            assert_eq!(claimed.attempts, attempt, "{}", t.name);
            now += Duration::minutes(31);
        }
        assert!(
            jobs::claim(&t.db, "doomed", now).await.unwrap().is_none(),
            "{}: no sixth attempt",
            t.name
        );
        let dead = job(&t, id).await;
        assert_eq!(dead.status, "failed", "{}", t.name);
        assert_eq!(
            dead.last_error,
            "its worker stopped before finishing (lease expired)"
        );
    }
}

#[tokio::test]
async fn run_once_records_a_handlers_failure_and_a_panic() {
    let mut registry = Registry::new();
    registry.handle("test.ok", |_, _| async { Ok(()) });
    registry.handle("test.error", |_, payload| async move {
        Err(format!("cannot process {payload}"))
    });
    registry.handle("test.panic", |_, _| async { panic!("handler bug") });
    for t in backends().await {
        for kind in ["test.ok", "test.error", "test.panic", "test.unknown"] {
            let id = jobs::enqueue(&t.db, kind, "{\"x\":1}", time::now() - Duration::seconds(1))
                .await
                .unwrap();
            let (ran, outcome) = jobs::run_once(&t.db, &registry, "w")
                .await
                .unwrap()
                .expect("a due job runs");
            assert_eq!(ran.id, id);
            let after = job(&t, id).await;
            match kind {
                "test.ok" => assert_eq!(
                    (after.status.as_str(), outcome),
                    ("done", Ok(())),
                    "{}",
                    t.name
                ),
                _ => {
                    assert_eq!(after.status, "queued", "{}: {kind} is retried", t.name);
                    let expected = match kind {
                        "test.error" => "cannot process {\"x\":1}",
                        "test.panic" => "the job stopped unexpectedly",
                        _ => "no handler for job kind 'test.unknown' in this version of Rounds",
                    };
                    assert!(
                        after.last_error.starts_with(expected),
                        "{}: {kind}: {}",
                        t.name,
                        after.last_error
                    );
                }
            }
        }
        assert!(
            jobs::run_once(&t.db, &registry, "w")
                .await
                .unwrap()
                .is_none(),
            "{}: nothing else is due",
            t.name
        );
    }
}

#[tokio::test]
async fn migrations_apply_once_and_a_newer_database_is_refused() {
    for t in backends().await {
        assert_eq!(
            migrate::run(&t.db, &[migrate::PLATFORM]).await.unwrap(),
            0,
            "{}",
            t.name
        );
        assert_eq!(
            migrate::status(&t.db, &[migrate::PLATFORM])
                .await
                .unwrap()
                .pending,
            Vec::<(String, i64)>::new()
        );

        t.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE module = 'platform' AND version = 1").await;
        let edited = migrate::run(&t.db, &[migrate::PLATFORM])
            .await
            .unwrap_err()
            .to_string();
        assert!(edited.starts_with("platform migration 1 (") && edited.ends_with("differs from the one applied to this database; this binary was built from altered sources"), "{edited}");

        t.exec("DELETE FROM schema_migrations WHERE module = 'platform'")
            .await;
        t.exec("INSERT INTO schema_migrations (module, version, name, checksum, applied_at) VALUES ('platform', 99, 'next', 'x', 'x')").await;
        let newer = migrate::run(&t.db, &[migrate::PLATFORM]).await.unwrap_err();
        assert!(matches!(newer, Error::Migration(_)), "{}", t.name);
        assert_eq!(
            newer.to_string(),
            "the database was migrated by a newer version of Rounds (it has platform migration 99, which this binary does \
             not know); run the newer version or restore a backup taken before the upgrade"
        );
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM schema_migrations")
                .await,
            1,
            "{}: nothing was applied",
            t.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_starting_together_migrate_a_fresh_database_once() {
    for t in backends().await {
        // An empty database: drop everything the test database was given.
        t.exec("DROP TABLE schema_migrations").await;
        for table in [
            "user_roles",
            "sessions",
            "api_tokens",
            "signin_failures",
            "audit_log",
            "audit_head",
            "units",
            "departments",
            "facilities",
            "jobs",
            "job_schedules",
            "users",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
                .execute(&t.db.pool)
                .await
                .unwrap();
        }
        let servers: Vec<_> = (0..3)
            .map(|_| {
                let url = t.url.clone();
                tokio::spawn(async move {
                    let db = platform::Db::connect(&url).await.unwrap();
                    let applied = migrate::run(&db, &[migrate::PLATFORM]).await;
                    db.close().await;
                    applied.map_err(|e| e.to_string())
                })
            })
            .collect();
        let mut applied = Vec::new();
        for server in servers {
            applied.push(server.await.unwrap());
        }
        applied.sort();
        let all = migrate::PLATFORM.len();
        assert_eq!(
            applied,
            [Ok(0), Ok(0), Ok(all)],
            "{}: one server applies, the others find it done",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) AS n FROM schema_migrations")
                .await,
            all as i64
        );
        assert_eq!(verdict(&t).await, Verdict::Intact { entries: 0 });
    }
}

/// A bulk transaction (on PostgreSQL a connection of its own, which can `COPY`) commits its rows
/// and its audit entry together, and one dropped without a commit leaves nothing behind.
#[tokio::test]
async fn a_bulk_transaction_commits_whole_or_leaves_nothing() {
    use platform::db::{Backend, Executes};
    let event = Event {
        actor: "tester",
        address: "127.0.0.1",
        action: "test.bulk",
        record_type: "test",
        record_id: "",
        outcome: "success",
        detail: "",
    };
    for t in backends().await {
        {
            let mut tx = t.db.begin_bulk().await.unwrap();
            sqlx::query(
                "INSERT INTO facilities (name, created_at, updated_at) VALUES ('Dropped', '', '')",
            )
            .execute(tx.exec())
            .await
            .unwrap();
            audit::append(&mut tx, &event).await.unwrap();
        }
        let mut tx = t.db.begin_bulk().await.unwrap();
        let copy = "COPY facilities (name, city, created_at, updated_at) FROM STDIN";
        // COPY's text format: a backslash and a tab inside a value are escaped.
        let rows = b"North\tSpring\\\\field\tt\tt\nSouth\tTab\\tbed\tt\tt\n";
        match t.db.backend {
            Backend::Postgres => assert_eq!(tx.copy_in(copy, rows).await.unwrap(), 2),
            Backend::Sqlite => {
                assert!(tx.copy_in(copy, rows).await.is_err(), "COPY on SQLite");
                sqlx::query(
                    "INSERT INTO facilities (name, city, created_at, updated_at) \
                     VALUES ('North', 'Spring\\field', 't', 't'), ('South', 'Tab\tbed', 't', 't')",
                )
                .execute(tx.exec())
                .await
                .unwrap();
            }
        }
        audit::append(&mut tx, &event).await.unwrap();
        tx.commit().await.unwrap();

        let cities: Vec<(String, String)> =
            sqlx::query("SELECT name, city FROM facilities ORDER BY name")
                .fetch_all(&t.db.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        assert_eq!(
            cities,
            [
                ("North".to_string(), "Spring\\field".to_string()),
                ("South".to_string(), "Tab\tbed".to_string())
            ],
            "{}",
            t.name
        );
        assert_eq!(
            t.number("SELECT COUNT(*) FROM audit_log WHERE action = 'test.bulk'")
                .await,
            1,
            "{}",
            t.name
        );
    }
}
