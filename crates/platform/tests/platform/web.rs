//! The web application over real HTTP on port 0, on every test database: sign-in, sessions,
//! CSRF, throttling, the route table's access declarations, the JSON API's error shape, the
//! OpenAPI document, operations endpoints and the audit entries all of these leave.

use platform::audit::{self, Verdict};
use platform::auth;
use platform::config::Config;
use platform::roles::Role;
use platform::testing::{
    PASSWORD, TestApp, backends, cookie_from, hidden_field, spawn_app, spawn_app_with,
};
use platform::users::{self, Actor};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sqlx::Row;

async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for test in backends().await {
        apps.push(spawn_app(test).await);
    }
    apps
}

#[tokio::test]
async fn signing_in_shows_the_dashboard_and_signing_out_ends_the_session() {
    for app in apps().await {
        app.add_user("dr.okafor", &[Role::Cmo]).await;
        platform::org::save_facility(
            &app.db,
            Actor::CONSOLE,
            None,
            &platform::org::FacilityInput {
                name: "Mercy West".into(),
                ccn: Some("050454".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

        let home = app.http.get(app.url("/")).send().await.unwrap();
        assert_eq!(home.status(), StatusCode::SEE_OTHER);
        assert_eq!(home.headers()[LOCATION], "/signin?next=%2F");

        let wrong = app.post_signin("dr.okafor", "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("wrong user name or password")
        );
        assert_eq!(
            app.number("SELECT COUNT(*) AS n FROM sessions").await,
            0,
            "a failed sign-in opens no session"
        );

        let response = app.post_signin("dr.okafor", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie: Vec<&str> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let session_cookie = set_cookie
            .iter()
            .find(|c| c.starts_with("rounds_session="))
            .unwrap();
        assert!(
            session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
            "{session_cookie}"
        );
        assert!(
            !session_cookie.contains("Secure"),
            "plain http in tests: no Secure flag"
        );

        let session = app.sign_in("dr.okafor").await;
        let dashboard = app.get("/", &session).await;
        assert_eq!(dashboard.status(), StatusCode::OK);
        let html = dashboard.text().await.unwrap();
        assert!(html.contains("<h1>Dashboard</h1>"));
        assert!(
            html.contains("<dt>Facilities</dt><dd><a href=\"/facilities\">1</a></dd>"),
            "the dashboard counts the facility"
        );
        assert!(
            !html.contains("href=\"/admin/users\""),
            "a CMO has no user-admin entry in the navigation"
        );

        let out = app.post_form("/signout", &session, &[]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let after = app.get("/", &session).await;
        assert_eq!(
            after.status(),
            StatusCode::SEE_OTHER,
            "the old cookie no longer works on {}",
            app.backend
        );
        let actions = app.audit_actions("dr.okafor").await;
        assert_eq!(
            actions,
            [
                "signin.failure",
                "signin.success",
                "signin.success",
                "signout"
            ]
        );
    }
}

#[tokio::test]
async fn every_route_refuses_a_user_without_the_role() {
    for app in apps().await {
        let checked = app.check_route_access().await;
        assert!(
            checked >= 15,
            "the walk covered the role-restricted routes ({checked})"
        );
    }
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_change_nothing() {
    for app in apps().await {
        app.add_user("it.admin", &[Role::Admin]).await;
        let session = app.sign_in("it.admin").await;
        let fields = [
            ("name", "Forged General"),
            ("ccn", ""),
            ("city", ""),
            ("state", ""),
        ];

        let missing = app
            .http
            .post(app.url("/facilities"))
            .header(COOKIE, &session.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::FORBIDDEN);
        let mut forged = fields.to_vec();
        forged.push(("_csrf", "not-the-token"));
        let wrong = app
            .http
            .post(app.url("/facilities"))
            .header(COOKIE, &session.cookie)
            .form(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("the form has expired or did not come from Rounds")
        );
        assert_eq!(app.number("SELECT COUNT(*) AS n FROM facilities").await, 0);

        let good = app.post_form("/facilities", &session, &fields).await;
        assert_eq!(good.status(), StatusCode::SEE_OTHER);
        assert_eq!(good.headers()[LOCATION], "/facilities?notice=created");
        assert_eq!(app.number("SELECT COUNT(*) AS n FROM facilities").await, 1);
        let actions = app.audit_actions("it.admin").await;
        assert_eq!(
            actions,
            [
                "signin.success",
                "csrf.rejected",
                "csrf.rejected",
                "facility.create"
            ]
        );
    }
}

#[tokio::test]
async fn a_rejected_form_keeps_what_was_typed_and_names_the_field() {
    for app in apps().await {
        app.add_user("it.admin", &[Role::Admin]).await;
        let session = app.sign_in("it.admin").await;
        let response = app
            .post_form(
                "/facilities",
                &session,
                &[
                    ("name", "St. Agnes <Main>"),
                    ("ccn", "12"),
                    ("city", "Baltimore"),
                    ("state", "MD"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("ccn: &#39;12&#39; is not a CMS Certification Number"),
            "{html}"
        );
        assert!(
            html.contains("value=\"St. Agnes &#60;Main&#62;\""),
            "the typed name comes back, escaped"
        );
        assert!(html.contains("value=\"Baltimore\""));
        assert_eq!(app.number("SELECT COUNT(*) AS n FROM facilities").await, 0);
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_the_lock_is_audited() {
    for app in apps().await {
        app.add_user("dr.lee", &[Role::Quality]).await;
        for _ in 0..5 {
            assert_eq!(
                app.post_signin("dr.lee", "guess guess guess")
                    .await
                    .status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let locked = app.post_signin("dr.lee", PASSWORD).await;
        assert_eq!(
            locked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "the right password is refused while locked"
        );
        assert!(
            locked
                .text()
                .await
                .unwrap()
                .contains("too many failed sign-ins")
        );
        let actions = app.audit_actions("dr.lee").await;
        assert_eq!(actions.iter().filter(|a| *a == "signin.failure").count(), 5);
        assert_eq!(actions.last().map(String::as_str), Some("signin.locked"));
        assert_eq!(app.number("SELECT COUNT(*) AS n FROM sessions").await, 0);
    }
}

#[tokio::test]
async fn an_idle_session_expires() {
    for app in apps().await {
        app.add_user("dr.idle", &[Role::Cmo]).await;
        let session = app.sign_in("dr.idle").await;
        assert_eq!(app.get("/", &session).await.status(), StatusCode::OK);
        let long_ago =
            platform::time::format(platform::time::now() - chrono::Duration::minutes(31));
        sqlx::query("UPDATE sessions SET last_seen_at = $1")
            .bind(long_ago)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let response = app.get("/", &session).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            app.number("SELECT COUNT(*) AS n FROM sessions").await,
            0,
            "the expired session is deleted"
        );
    }
}

async fn bearer(app: &TestApp, username: &str, roles: &[Role]) -> (String, i64) {
    let (token, info) = auth::create_token(&app.db, Actor::CONSOLE, username, roles, Some(30))
        .await
        .unwrap();
    (token, info.id)
}

#[tokio::test]
async fn the_api_takes_bearer_tokens_and_answers_errors_in_one_shape() {
    for app in apps().await {
        app.add_user("etl", &[Role::Admin, Role::Quality]).await;
        let (token, id) = bearer(&app, "etl", &[Role::Admin]).await;
        let auth = format!("Bearer {token}");

        let name = "O'Brien \"Memorial\"; DROP TABLE facilities;--";
        let created = app
            .http
            .post(app.url("/api/v1/facilities"))
            .header("authorization", &auth)
            .json(&json!({"name": name, "ccn": "390111", "state": "pa"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let body: Value = created.json().await.unwrap();
        assert_eq!(body["name"], name, "SQL metacharacters are stored as text");
        assert_eq!(body["state"], "PA");
        let listed: Value = app
            .http
            .get(app.url("/api/v1/facilities"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);

        let duplicate = app
            .http
            .post(app.url("/api/v1/facilities"))
            .header("authorization", &auth)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);
        assert_eq!(
            duplicate.json::<Value>().await.unwrap()["error"]["code"],
            "conflict"
        );

        let malformed = app
            .http
            .post(app.url("/api/v1/facilities"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = malformed.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("body:")
        );

        let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
        let too_large = app
            .http
            .post(app.url("/api/v1/facilities"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            too_large.json::<Value>().await.unwrap()["error"]["code"],
            "too_large"
        );

        let unknown = app
            .http
            .get(app.url("/api/v1/nothing-here"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            unknown.json::<Value>().await.unwrap()["error"]["code"],
            "not_found"
        );

        let scoped = app
            .http
            .get(app.url("/api/v1/me"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(
            scoped["roles"],
            json!(["admin"]),
            "the token carries only the roles it was given"
        );

        auth::revoke_token(&app.db, Actor::CONSOLE, id)
            .await
            .unwrap();
        let revoked = app
            .http
            .get(app.url("/api/v1/facilities"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            revoked.json::<Value>().await.unwrap()["error"]["code"],
            "unauthenticated"
        );
        assert_eq!(app.number("SELECT COUNT(*) AS n FROM facilities").await, 1);
        assert!(matches!(
            audit::verify(&app.db).await.unwrap(),
            Verdict::Intact { .. }
        ));
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = apps().await.remove(0);
    let doc: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for route in app
        .routes
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/") && r.path != "/api/v1/openapi.json")
    {
        let method = route.method.as_str().to_lowercase();
        assert!(
            doc["paths"][route.path][&method].is_object(),
            "{} {} is in the document",
            route.method,
            route.path
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_answer_without_signing_in() {
    for app in apps().await {
        assert_eq!(
            app.http
                .get(app.url("/healthz"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "ok"
        );
        let ready: Value = app
            .http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["status"], "ready");
        let metrics = app
            .http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains(
                "rounds_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
            ),
            "{metrics}"
        );
        assert!(metrics.contains("rounds_jobs{status=\"failed\"} 0"));
        let unknown = app.http.get(app.url("/no/such/page")).send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert!(unknown.text().await.unwrap().contains("<h1>Not Found</h1>"));
    }
}

#[tokio::test]
async fn an_auditor_searches_the_log_and_the_search_is_itself_audited() {
    for app in apps().await {
        app.add_user("ms.audit", &[Role::Auditor]).await;
        app.add_user("dr.target", &[Role::Cmo]).await;
        app.post_signin("dr.target", "wrong wrong wrong").await;
        let session = app.sign_in("ms.audit").await;
        let page = app
            .get("/audit?actor=dr.target&action=signin.failure", &session)
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("1 entries, newest first"), "{html}");
        assert!(html.contains("<td>signin.failure</td>"));
        let partial = app
            .http
            .get(app.url("/audit?actor=dr.target"))
            .header(COOKIE, &session.cookie)
            .header("hx-request", "true")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            partial.starts_with("<table>") || partial.trim_start().starts_with("<table>"),
            "htmx gets the table alone"
        );
        let bad_date = app
            .get("/audit?from=yesterday", &session)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            bad_date.contains("from: &#39;yesterday&#39; is not a date"),
            "{bad_date}"
        );
        assert_eq!(
            app.audit_actions("ms.audit").await,
            ["signin.success", "audit.search", "audit.search"]
        );
    }
}

#[tokio::test]
async fn an_admin_creates_an_account_whose_first_password_is_shown_once() {
    for app in apps().await {
        app.add_user("it.admin", &[Role::Admin]).await;
        let admin = app.sign_in("it.admin").await;
        let created = app
            .post_form(
                "/admin/users",
                &admin,
                &[
                    ("username", "dr.new"),
                    ("display_name", "Dr New"),
                    ("password", ""),
                    ("role", "peer-reviewer"),
                    ("role", "practitioner"),
                ],
            )
            .await;
        assert_eq!(created.status(), StatusCode::OK);
        let html = created.text().await.unwrap();
        let start = html
            .find("<code class=\"secret\">")
            .expect("the generated password is shown")
            + "<code class=\"secret\">".len();
        let password = &html[start..start + 20];
        let user = users::find(&app.db, "dr.new").await.unwrap();
        assert_eq!(user.roles, [Role::PeerReviewer, Role::Practitioner]);
        assert_eq!(
            app.post_signin("dr.new", password).await.status(),
            StatusCode::SEE_OTHER,
            "the shown password works"
        );
        let listing = app.get("/admin/users", &admin).await.text().await.unwrap();
        assert!(!listing.contains(password), "and is not shown again");

        let weak = app
            .post_form(
                "/admin/users",
                &admin,
                &[
                    ("username", "dr.weak"),
                    ("password", "dr.weak-1234567"),
                    ("role", "cmo"),
                ],
            )
            .await;
        assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            weak.text()
                .await
                .unwrap()
                .contains("password: must not contain the user name")
        );

        let roles = app
            .post_form(
                "/admin/users/dr.new/roles",
                &admin,
                &[("role", "department-chair")],
            )
            .await;
        assert_eq!(roles.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            users::find(&app.db, "dr.new").await.unwrap().roles,
            [Role::DepartmentChair]
        );

        let doctor = app.sign_in_with("dr.new", password).await;
        assert_eq!(app.get("/", &doctor).await.status(), StatusCode::OK);
        let disabled = app
            .post_form("/admin/users/dr.new/disable", &admin, &[])
            .await;
        assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            app.get("/", &doctor).await.status(),
            StatusCode::SEE_OTHER,
            "disabling ends the user's sessions"
        );
        assert_eq!(
            app.post_signin("dr.new", password).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let mine = app
            .post_form("/admin/users/it.admin/disable", &admin, &[])
            .await;
        assert_eq!(
            mine.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an admin cannot lock themself out"
        );
        assert_eq!(
            app.audit_actions("it.admin").await,
            [
                "signin.success",
                "user.create",
                "user.set-roles",
                "user.disable"
            ]
        );
    }
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_current_one_and_ends_the_session() {
    for app in apps().await {
        app.add_user("dr.shah", &[Role::Gme]).await;
        let session = app.sign_in("dr.shah").await;
        let wrong = app
            .post_form(
                "/account/password",
                &session,
                &[
                    ("current", "not it at all"),
                    ("new", "a much longer passphrase"),
                    ("confirm", "a much longer passphrase"),
                ],
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("current: is not your current password")
        );
        let changed = app
            .post_form(
                "/account/password",
                &session,
                &[
                    ("current", PASSWORD),
                    ("new", "a much longer passphrase"),
                    ("confirm", "a much longer passphrase"),
                ],
            )
            .await;
        assert_eq!(changed.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get("/", &session).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            app.post_signin("dr.shah", "a much longer passphrase")
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            app.post_signin("dr.shah", PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_listed_and_can_be_retried() {
    for app in apps().await {
        app.add_user("it.admin", &[Role::Admin]).await;
        let id = platform::jobs::enqueue(&app.db, "exclusion.screen", "{}", platform::time::now())
            .await
            .unwrap();
        sqlx::query("UPDATE jobs SET attempts = max_attempts - 1 WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let registry = platform::jobs::Registry::new();
        let (job, outcome) = platform::jobs::run_once(&app.db, &registry, "test-worker")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.id, id);
        assert_eq!(
            outcome.unwrap_err(),
            "no handler for job kind 'exclusion.screen' in this version of Rounds"
        );

        let admin = app.sign_in("it.admin").await;
        let page = app.get("/admin/jobs", &admin).await.text().await.unwrap();
        assert!(page.contains("<tr class=\"status-failed\">"), "{page}");
        assert!(page.contains("no handler for job kind &#39;exclusion.screen&#39;"));
        let retried = app
            .post_form(&format!("/admin/jobs/{id}/retry"), &admin, &[])
            .await;
        assert_eq!(retried.status(), StatusCode::SEE_OTHER);
        let status: String = sqlx::query("SELECT status FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
            .try_get("status")
            .unwrap();
        assert_eq!(status, "queued");
        let again = app
            .post_form(&format!("/admin/jobs/{id}/retry"), &admin, &[])
            .await;
        assert_eq!(
            again.status(),
            StatusCode::NOT_FOUND,
            "only a failed job can be retried"
        );
    }
}

#[tokio::test]
async fn the_audited_address_comes_from_the_proxy_only_when_configured() {
    for (behind_proxy, expected) in [(false, "127.0.0.1"), (true, "10.20.30.40")] {
        let test = backends().await.remove(0);
        let app = spawn_app_with(
            test,
            Config {
                behind_proxy,
                ..Config::default()
            },
        )
        .await;
        let form = app.http.get(app.url("/signin")).send().await.unwrap();
        let cookie = cookie_from(&form, "rounds_signin").unwrap();
        let token = hidden_field(&form.text().await.unwrap(), "form_token").unwrap();
        app.http
            .post(app.url("/signin"))
            .header(COOKIE, cookie)
            .header("x-forwarded-for", "203.0.113.9, 10.20.30.40")
            .form(&[
                ("username", "nobody"),
                ("password", "whatever it is"),
                ("form_token", &token),
            ])
            .send()
            .await
            .unwrap();
        let entries = audit::search(
            &app.db,
            &audit::Search {
                actor: Some("nobody".into()),
                ..Default::default()
            },
            5,
        )
        .await
        .unwrap();
        assert_eq!(
            entries[0].address, expected,
            "behind_proxy = {behind_proxy}"
        );
        assert_eq!(entries[0].detail, "unknown user");
    }
}

#[tokio::test]
async fn signing_in_as_someone_else_from_a_signed_in_browser_works() {
    let app = apps().await.remove(0);
    app.add_user("dr.first", &[Role::Cmo]).await;
    app.add_user("dr.second", &[Role::Quality]).await;
    let first = app.sign_in("dr.first").await;
    let form = app.http.get(app.url("/signin")).send().await.unwrap();
    let form_cookie = cookie_from(&form, "rounds_signin").unwrap();
    let token = hidden_field(&form.text().await.unwrap(), "form_token").unwrap();
    let second = app
        .http
        .post(app.url("/signin"))
        .header(COOKIE, format!("{}; {form_cookie}", first.cookie))
        .form(&[
            ("username", "dr.second"),
            ("password", PASSWORD),
            ("form_token", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        second.status(),
        StatusCode::SEE_OTHER,
        "the sign-in form's own token is enough"
    );
    assert!(cookie_from(&second, "rounds_session").is_some());
}
