//! The clinical pages and API over a real server: the encounters browser and its filters, a
//! patient's timeline, the import history; each patient-level read audited, each route refusing
//! users without the role.

use clinical::import::{self, Options};
use clinical::web;
use platform::config::Config;
use platform::migrate;
use platform::roles::Role;
use platform::testing::{TestApp, backends_with, spawn_routes};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::PathBuf;
use utoipa::OpenApi;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clinical/fixtures/ndjson")
}

async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for test in backends_with(&[migrate::PLATFORM, clinical::MIGRATIONS]).await {
        import::run(&test.db, &[fixture()], &mut Options::default())
            .await
            .unwrap();
        let app = spawn_routes(
            test,
            Config::default(),
            |state| {
                state
                    .with_migrations(&[migrate::PLATFORM, clinical::MIGRATIONS])
                    .with_module(web::nav(), web::ClinicalApi::openapi())
            },
            |state| web::routes(platform::web::platform_routes(state)),
        )
        .await;
        apps.push(app);
    }
    apps
}

#[tokio::test]
async fn the_encounters_browser_filters_and_every_patient_level_read_is_audited() {
    for app in apps().await {
        assert!(
            app.check_route_access().await >= 6,
            "the clinical routes are walked"
        );
        let encounters = app.number("SELECT COUNT(*) AS n FROM encounters").await;
        assert!(encounters >= 3, "the fixture has encounters ({encounters})");
        app.add_user("ms.quality", &[Role::Quality]).await;
        let quality = app.sign_in("ms.quality").await;

        let page = app.get("/encounters", &quality).await.text().await.unwrap();
        assert!(
            page.contains(&format!(
                "<caption>{encounters} encounters, page 1, newest first</caption>"
            )),
            "{page}"
        );
        assert!(
            !page.contains("Jane") && !page.contains("Doe") && !page.contains("555-1234"),
            "no names or phone numbers are stored or shown"
        );

        let inpatient = app
            .number("SELECT COUNT(*) AS n FROM encounters WHERE class = 'inpatient'")
            .await;
        let filtered = app
            .get("/encounters?class=inpatient", &quality)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            filtered.contains(&format!("<caption>{inpatient} encounters")),
            "{filtered}"
        );
        let future = app
            .get("/encounters?from=2099-01-01", &quality)
            .await
            .text()
            .await
            .unwrap();
        assert!(future.contains("<caption>0 encounters</caption>"));
        let bad = app
            .get("/encounters?from=last%20week", &quality)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            bad.contains("from: &#39;last week&#39; is not a date (YYYY-MM-DD)"),
            "{bad}"
        );

        let patient = app.number("SELECT MIN(id) AS n FROM patients").await;
        let timeline = app.get(&format!("/patients/{patient}"), &quality).await;
        assert_eq!(timeline.status(), StatusCode::OK);
        let timeline = timeline.text().await.unwrap();
        let visits = app.number("SELECT COUNT(*) AS n FROM encounters WHERE patient_id = (SELECT MIN(id) FROM patients)").await;
        assert_eq!(
            timeline.matches("<section class=\"card\"").count() as i64,
            visits,
            "one section per encounter"
        );
        assert_eq!(
            app.get("/patients/999999", &quality).await.status(),
            StatusCode::NOT_FOUND
        );

        let reads = platform::audit::search(
            &app.db,
            &platform::audit::Search {
                actor: Some("ms.quality".into()),
                ..Default::default()
            },
            20,
        )
        .await
        .unwrap();
        let views: Vec<(String, String)> = reads
            .iter()
            .rev()
            .filter(|e| e.action.ends_with(".view"))
            .map(|e| (e.action.clone(), e.record_id.clone()))
            .collect();
        assert_eq!(
            views,
            [
                ("encounters.view".to_string(), String::new()),
                ("encounters.view".to_string(), String::new()),
                ("encounters.view".to_string(), String::new()),
                ("patient.view".to_string(), patient.to_string()),
            ],
            "every successful patient-level read is audited, the refused date filter is not a read"
        );
        assert!(
            reads
                .iter()
                .any(|e| e.action == "encounters.view" && e.detail.contains("class=inpatient")),
            "the filter is in the entry"
        );

        app.add_user("dr.chair", &[Role::DepartmentChair]).await;
        let (token, _) = platform::auth::create_token(
            &app.db,
            platform::audit::Actor::CONSOLE,
            "dr.chair",
            &[],
            None,
        )
        .await
        .unwrap();
        let api: Value = app
            .http
            .get(app.url("/api/v1/encounters?class=inpatient"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["total"], inpatient);
        assert!(api["encounters"][0]["admit_at"].is_string());

        app.add_user("it.admin", &[Role::Admin]).await;
        let admin = app.sign_in("it.admin").await;
        let imports = app.get("/imports", &admin).await.text().await.unwrap();
        assert!(
            imports.contains("<caption>1 imports, newest first</caption>"),
            "{imports}"
        );
        assert_eq!(
            app.get("/encounters", &admin).await.status(),
            StatusCode::FORBIDDEN,
            "admin does not read patient data"
        );
    }
}
