//! Test support for every crate's integration tests (behind the `testing` feature): throwaway
//! databases and a running server. Throwaway databases: `backends()` gives a fresh, migrated database on SQLite (a temp
//! directory) and, when `ROUNDS_TEST_POSTGRES_URL` names a PostgreSQL server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`), on PostgreSQL (a new database per call, dropped
//! when the `TestDb` is). With `ROUNDS_TEST_REQUIRE_ALL=1`, a missing PostgreSQL URL fails the test
//! instead of skipping that backend, so CI cannot pass on SQLite alone.

use crate::Db;
use crate::audit;
use crate::config::Config;
use crate::migrate::{self, Migration};
use crate::roles::Role;
use crate::users::{self, Actor};
use crate::web::{self, Access, AppState};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use sqlx::Row;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const POSTGRES_ENV: &str = "ROUNDS_TEST_POSTGRES_URL";
pub const REQUIRE_ALL_ENV: &str = "ROUNDS_TEST_REQUIRE_ALL";

/// A fresh database with every platform migration applied.
pub struct TestDb {
    pub db: Db,
    /// The URL it was opened with (for a second connection or a spawned server).
    pub url: String,
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Database { admin_url: String, database: String },
}

/// One database per backend available, with the platform's migrations: SQLite always,
/// PostgreSQL when configured.
pub async fn backends() -> Vec<TestDb> {
    backends_with(&[migrate::PLATFORM]).await
}

/// As `backends`, with the given modules' migrations applied.
pub async fn backends_with(migrations: &[&'static [Migration]]) -> Vec<TestDb> {
    let mut all = vec![TestDb::sqlite_with(migrations).await];
    if let Some(admin) = postgres_admin_url() {
        all.push(TestDb::postgres_with(&admin, migrations).await);
    }
    all
}

/// The PostgreSQL admin URL, or `None` (a skip) unless every backend is required.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
    {
        Some(url) => Some(url),
        None if std::env::var(REQUIRE_ALL_ENV).as_deref() == Ok("1") => {
            panic!(
                "{REQUIRE_ALL_ENV}=1 but {POSTGRES_ENV} is not set: the PostgreSQL run would be skipped"
            )
        }
        None => None,
    }
}

fn unique_suffix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// `postgres://u@h:5432/postgres?x=y` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        TestDb::sqlite_with(&[migrate::PLATFORM]).await
    }

    pub async fn sqlite_with(migrations: &[&'static [Migration]]) -> TestDb {
        let dir = std::env::temp_dir().join(format!("rounds-test-{}", unique_suffix()));
        let url = Db::sqlite_url(&dir).expect("a temporary data directory");
        let db = Db::connect(&url)
            .await
            .expect("the SQLite test database opens");
        migrate::run(&db, migrations)
            .await
            .expect("migrations apply on SQLite");
        TestDb {
            db,
            url,
            name: "sqlite",
            cleanup: Cleanup::Directory(dir),
        }
    }

    pub async fn postgres(admin_url: &str) -> TestDb {
        TestDb::postgres_with(admin_url, &[migrate::PLATFORM]).await
    }

    pub async fn postgres_with(admin_url: &str, migrations: &[&'static [Migration]]) -> TestDb {
        let database = format!("rounds_test_{}", unique_suffix());
        let admin = Db::connect(admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {}: {e}",
                crate::db::mask_url(admin_url)
            )
        });
        // The name is ours (digits, letters and underscores), so it is safe to splice in.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin.pool)
            .await
            .expect("CREATE DATABASE for a test");
        admin.close().await;
        let url = with_database(admin_url, &database);
        let db = Db::connect(&url)
            .await
            .expect("the PostgreSQL test database opens");
        migrate::run(&db, migrations)
            .await
            .expect("migrations apply on PostgreSQL");
        TestDb {
            db,
            url,
            name: "postgres",
            cleanup: Cleanup::Database {
                admin_url: admin_url.to_string(),
                database,
            },
        }
    }

    /// Runs one statement that needs no parameters (a hand edit, a count…).
    pub async fn exec(&self, statement: &'static str) -> u64 {
        sqlx::query(statement)
            .execute(&self.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{}: {statement}: {e}", self.name))
            .rows_affected()
    }

    /// The single integer a query returns (e.g. `SELECT COUNT(*) AS n FROM users`).
    pub async fn number(&self, query: &'static str) -> i64 {
        use sqlx::Row;
        let row = sqlx::query(query)
            .fetch_one(&self.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{}: {query}: {e}", self.name));
        row.try_get::<i64, _>(0)
            .unwrap_or_else(|e| panic!("{}: {query}: {e}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database {
                admin_url,
                database,
            } => {
                // Drop runs inside the test's runtime, which cannot be blocked on; a thread with a
                // runtime of its own drops the database (ending the pool's connections).
                let (admin_url, statement) = (
                    admin_url.clone(),
                    format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                );
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let admin = Db::connect(&admin_url).await.ok()?;
                        let result = sqlx::query(sqlx::AssertSqlSafe(statement))
                            .execute(&admin.pool)
                            .await;
                        admin.close().await;
                        result.ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(_))) {
                    eprintln!("note: could not drop the test database {database}");
                }
            }
        }
    }
}

/// The password `TestApp::add_user` gives every account.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub backend: &'static str,
    pub http: reqwest::Client,
    pub routes: Vec<web::RouteInfo>,
    _stop: tokio::sync::oneshot::Sender<()>,
    // Declared last: the database outlives the server that uses it.
    _test: TestDb,
}

/// A signed-in browser session: its cookie and CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Serves the platform's routes on port 0 over `test`'s database.
pub async fn spawn_app(test: TestDb) -> TestApp {
    spawn_app_with(test, Config::default()).await
}

pub async fn spawn_app_with(test: TestDb, config: Config) -> TestApp {
    spawn_routes(test, config, |state| state, web::platform_routes).await
}

/// Serves the routes `routes` builds (a module's added to the platform's) on port 0, with the
/// application state `modules` completes (`AppState::with_module`).
pub async fn spawn_routes(
    test: TestDb,
    config: Config,
    modules: impl FnOnce(AppState) -> AppState,
    routes: impl FnOnce(&AppState) -> web::Routes,
) -> TestApp {
    let state = modules(AppState::new(test.db.clone(), config));
    let routes = routes(&state);
    let table = routes.table().to_vec();
    let router = web::app(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        db: test.db.clone(),
        backend: test.name,
        http,
        routes: table,
        _stop: stop,
        _test: test,
    }
}

pub fn cookie_from(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// The value of the first hidden input named `name` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_string())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn add_user(&self, username: &str, roles: &[Role]) {
        users::create(&self.db, Actor::CONSOLE, username, "", PASSWORD, roles)
            .await
            .unwrap();
    }

    /// Posts the sign-in form as a browser would (fetching the form first for its token).
    pub async fn post_signin(&self, username: &str, password: &str) -> reqwest::Response {
        let form_page = self.http.get(self.url("/signin")).send().await.unwrap();
        let form_cookie = cookie_from(&form_page, "rounds_signin")
            .expect("the sign-in page sets its form cookie");
        let token = hidden_field(&form_page.text().await.unwrap(), "form_token").unwrap();
        self.http
            .post(self.url("/signin"))
            .header(COOKIE, form_cookie)
            .form(&[
                ("username", username),
                ("password", password),
                ("form_token", &token),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, username: &str) -> Session {
        self.sign_in_with(username, PASSWORD).await
    }

    pub async fn sign_in_with(&self, username: &str, password: &str) -> Session {
        let response = self.post_signin(username, password).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {username} on {}",
            self.backend
        );
        let cookie = cookie_from(&response, "rounds_session").expect("a session cookie");
        let home = self
            .http
            .get(self.url("/"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        let csrf =
            hidden_field(&home.text().await.unwrap(), "_csrf").expect("pages carry the CSRF token");
        Session { cookie, csrf }
    }

    /// A bearer token (`Authorization` header value) for `username`, with all the user's roles.
    pub async fn bearer(&self, username: &str) -> String {
        let (token, _) = crate::auth::create_token(&self.db, Actor::CONSOLE, username, &[], None)
            .await
            .unwrap();
        format!("Bearer {token}")
    }

    /// GET `path` with a bearer token and read the JSON answer.
    pub async fn get_json(&self, path: &str, bearer: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .header(reqwest::header::AUTHORIZATION, bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, session: &Session) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header(COOKIE, &session.cookie)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(
        &self,
        path: &str,
        session: &Session,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("_csrf", &session.csrf));
        self.http
            .post(self.url(path))
            .header(COOKIE, &session.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn audit_actions(&self, actor: &str) -> Vec<String> {
        let filter = audit::Search {
            actor: Some(actor.to_string()),
            ..Default::default()
        };
        let mut actions: Vec<String> = audit::search(&self.db, &filter, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        actions.reverse();
        actions
    }

    /// Walks the route table: a public route admits anyone; every other route refuses a request
    /// without a session; a role-restricted route refuses (403, audited as `access.denied`) a
    /// user holding every role but the allowed ones, and admits a user with an allowed role.
    /// Returns how many role-restricted routes were checked.
    pub async fn check_route_access(&self) -> usize {
        let mut checked = 0;
        for (i, route) in self.routes.iter().enumerate() {
            let path = concrete(route.path);
            let request = |session: Option<&Session>| {
                let mut r = self.http.request(route.method.clone(), self.url(&path));
                if let Some(s) = session {
                    r = r.header(COOKIE, &s.cookie).header("x-csrf-token", &s.csrf);
                }
                r
            };
            match route.access {
                Access::Public => {
                    let status = request(None).send().await.unwrap().status();
                    assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{} {path} is public",
                        route.method
                    );
                }
                Access::Authenticated => {
                    let status = request(None).send().await.unwrap().status();
                    assert!(
                        matches!(status, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER),
                        "{} {path} without a session: {status}",
                        route.method
                    );
                }
                Access::Roles(allowed) => {
                    let status = request(None).send().await.unwrap().status();
                    assert!(
                        matches!(status, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER),
                        "{} {path} without a session: {status}",
                        route.method
                    );
                    let others: Vec<Role> = Role::ALL
                        .into_iter()
                        .filter(|r| !allowed.contains(r))
                        .collect();
                    let outsider = format!("outsider{i}");
                    self.add_user(&outsider, &others).await;
                    let session = self.sign_in(&outsider).await;
                    let response = request(Some(&session)).send().await.unwrap();
                    assert_eq!(
                        response.status(),
                        StatusCode::FORBIDDEN,
                        "{} {path} with roles {others:?}",
                        route.method
                    );
                    let denied = audit::search(
                        &self.db,
                        &audit::Search {
                            actor: Some(outsider.clone()),
                            action: Some("access.denied".into()),
                            ..Default::default()
                        },
                        10,
                    )
                    .await
                    .unwrap();
                    assert_eq!(
                        denied.len(),
                        1,
                        "the refusal of {} {path} is audited",
                        route.method
                    );
                    assert_eq!(denied[0].record_id, format!("{} {path}", route.method));

                    let insider = format!("insider{i}");
                    self.add_user(&insider, &allowed[..1]).await;
                    let session = self.sign_in(&insider).await;
                    let status = request(Some(&session)).send().await.unwrap().status();
                    assert!(
                        status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                        "{} {path} with {:?}: {status}",
                        route.method,
                        allowed[0]
                    );
                    checked += 1;
                }
            }
        }
        checked
    }

    /// The single integer a query returns (e.g. `SELECT COUNT(*) AS n FROM users`).
    pub async fn number(&self, query: &'static str) -> i64 {
        sqlx::query(query)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }
}

/// A path from the route table with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{username}", "nobody")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_replaces_the_one_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "t3"),
            "postgres://u@h:5432/t3"
        );
    }
}
