//! The clinical pages and API over a real server: the encounters browser and its filters, a
//! patient's timeline, the import history; each patient-level read audited, each route refusing
//! users without the role.

use clinical::import::{self, Options};
use clinical::web;
use platform::config::Config;
use platform::migrate;
use platform::roles::Role;
use platform::testing::{TestApp, TestDb, backends_with, spawn_routes};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::PathBuf;
use utoipa::OpenApi;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clinical/fixtures/ndjson")
}

/// The platform with the clinical module, as `rounds serve` assembles it.
async fn serve(test: TestDb, config: Config) -> TestApp {
    spawn_routes(
        test,
        config,
        |state| {
            state
                .with_migrations(&[migrate::PLATFORM, clinical::MIGRATIONS])
                .with_module(web::nav(), web::ClinicalApi::openapi())
                .with_panel(web::panel())
        },
        |state| web::routes(platform::web::platform_routes(state)),
    )
    .await
}

async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for test in backends_with(&[migrate::PLATFORM, clinical::MIGRATIONS]).await {
        import::run(&test.db, &[fixture()], &mut Options::default())
            .await
            .unwrap();
        let app = serve(test, Config::default()).await;
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

        let home = app.get("/", &quality).await.text().await.unwrap();
        assert!(
            home.contains(&format!(
                "<dt>Encounters</dt><dd><a href=\"/encounters\">{encounters}</a></dd>"
            )),
            "{home}"
        );
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
        let token = app.bearer("dr.chair").await;
        let api = app
            .get_json("/api/v1/encounters?class=inpatient", &token)
            .await;
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

fn upload_form(kind: &str, files: &[(&str, Vec<u8>)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("kind", kind.to_string())
        .text("source_system", "upload-test");
    for (name, bytes) in files {
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    form
}

#[tokio::test]
async fn an_upload_is_imported_by_a_job_and_its_files_are_removed() {
    let ndjson: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    let files: Vec<(&str, Vec<u8>)> = ndjson
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    for test in backends_with(&[migrate::PLATFORM, clinical::MIGRATIONS]).await {
        let data = std::env::temp_dir().join(format!(
            "rounds-upload-{}-{}",
            std::process::id(),
            test.name
        ));
        let config = Config {
            data_dir: data.clone(),
            ..Config::default()
        };
        let app = serve(test, config).await;
        app.add_user("it.admin", &[Role::Admin]).await;
        let admin = app.sign_in("it.admin").await;

        let forged = app
            .http
            .post(app.url("/imports"))
            .header("cookie", &admin.cookie)
            .multipart(upload_form("fhir", &files))
            .send()
            .await
            .unwrap();
        assert_eq!(
            forged.status(),
            StatusCode::FORBIDDEN,
            "an upload without the CSRF token is refused"
        );
        let url = app.url(&format!("/imports?_csrf={}", admin.csrf));
        let sent = app
            .http
            .post(&url)
            .header("cookie", &admin.cookie)
            .multipart(upload_form("fhir", &files))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        assert_eq!(sent.headers()["location"], "/imports?notice=queued");
        let waiting = app.get("/imports", &admin).await.text().await.unwrap();
        assert!(waiting.contains("Imports waiting or running"), "{waiting}");
        assert_eq!(
            std::fs::read_dir(data.join("uploads")).unwrap().count(),
            1,
            "the files wait in one folder"
        );

        let mut registry = platform::jobs::Registry::new();
        clinical::job::register(&mut registry);
        let (job, outcome) = platform::jobs::run_once(&app.db, &registry, "test")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((job.kind.as_str(), outcome), ("clinical.import", Ok(())));
        let imported = app
            .number("SELECT COUNT(*) AS n FROM encounters WHERE source_system = 'upload-test'")
            .await;
        assert_eq!(imported, 5, "the fixture's encounters are in the store");
        assert_eq!(
            std::fs::read_dir(data.join("uploads")).unwrap().count(),
            0,
            "the uploaded files are gone"
        );
        let progress: Value = app
            .http
            .get(app.url("/api/v1/jobs"))
            .header("cookie", &admin.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            progress[0]["progress"]
                .as_str()
                .unwrap()
                .ends_with("records read, 0 rejected"),
            "{progress}"
        );

        let bad = vec![(
            "Encounter.ndjson",
            b"{\"resourceType\": \"Encounter\", \"id\": \"x\"\n".to_vec(),
        )];
        let token = app.bearer("it.admin").await;
        let api = app
            .http
            .post(app.url("/api/v1/imports"))
            .header("authorization", &token)
            .multipart(upload_form("fhir", &bad))
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::ACCEPTED);
        let (_, outcome) = platform::jobs::run_once(&app.db, &registry, "test")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome,
            Ok(()),
            "a refused import is a result, not a job to retry"
        );
        let history = app.get("/imports", &admin).await.text().await.unwrap();
        assert!(history.contains("refused"), "{history}");
        assert_eq!(
            app.number("SELECT COUNT(*) AS n FROM encounters WHERE source_system = 'upload-test'")
                .await,
            5,
            "nothing of the bad file was written"
        );

        let no_kind = app
            .http
            .post(app.url("/api/v1/imports"))
            .header("authorization", &token)
            .multipart(upload_form("spreadsheet", &bad))
            .send()
            .await
            .unwrap();
        assert_eq!(no_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = no_kind.json().await.unwrap();
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("kind: 'spreadsheet' is not an import kind"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_dir(data.join("uploads")).unwrap().count(),
            0,
            "a rejected upload leaves no files"
        );
        assert_eq!(
            app.audit_actions("it.admin")
                .await
                .iter()
                .filter(|a| *a == "import.upload")
                .count(),
            2
        );
        let _ = std::fs::remove_dir_all(&data);
    }
}
