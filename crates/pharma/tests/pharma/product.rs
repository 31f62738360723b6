//! The drug-safety product on each test database: the screening job over a FAERS folder stores a
//! run; the run's signal table filters and sorts; a pair's history follows it across runs; the
//! pages and API are reachable by pharmacovigilance physicians and the CMO only.

use pharma::runs::{self, Method, SignalFilter, Sort};
use pharma::{job, migrations, web};
use platform::config::Config;
use platform::migrate;
use platform::roles::Role;
use platform::testing::{TestApp, TestDb, backends_with, spawn_routes};
use reqwest::StatusCode;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use utoipa::OpenApi;

const DRUG: &str = "ZOLDRONIX";
const EVENT: &str = "Osteonecrosis of jaw";

/// A FAERS quarter of `reports` (primaryid, suspect drug, event) with the real files' headers.
fn write_quarter(dir: &Path, quarter: &str, reports: &[(u32, &str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut demo = String::from(
        "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$rept_dt$to_mfr$occp_cod$reporter_country$occr_country$\n",
    );
    let mut drug = String::from(
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq$\n",
    );
    let mut reac = String::from("primaryid$caseid$pt$drug_rec_act$\n");
    for (id, d, e) in reports {
        let case = id * 10;
        writeln!(demo, "{id}${case}$1$I$20250101$$20250110$20250115$EXP$$$ACME$$60$YR$A$F$Y$70$KG$20250115$$MD$US$US$").unwrap();
        writeln!(drug, "{id}${case}$1$PS${d}${d}$1$Oral$$$$U$U$$$$$$TABLET$$").unwrap();
        writeln!(reac, "{id}${case}${e}$$").unwrap();
    }
    std::fs::write(dir.join(format!("DEMO{quarter}.txt")), demo).unwrap();
    std::fs::write(dir.join(format!("DRUG{quarter}.txt")), drug).unwrap();
    std::fs::write(dir.join(format!("REAC{quarter}.txt")), reac).unwrap();
}

/// 400 reports: ZOLDRONIX with osteonecrosis of the jaw in 20 of its 40, the event in 2 of the
/// other 360; the other drugs and events spread evenly.
fn reports() -> Vec<(u32, &'static str, &'static str)> {
    const DRUGS: [&str; 4] = ["ASPIRIN", "IBUPROFEN", "METFORMIN", "LISINOPRIL"];
    const EVENTS: [&str; 4] = ["Nausea", "Headache", "Rash", "Dizziness"];
    let mut out = Vec::new();
    for i in 0..400u32 {
        let (drug, event) = if i < 40 {
            (
                DRUG,
                if i < 20 {
                    EVENT
                } else {
                    EVENTS[i as usize % 4]
                },
            )
        } else if i < 42 {
            (DRUGS[i as usize % 4], EVENT)
        } else {
            (DRUGS[i as usize % 4], EVENTS[(i as usize / 4) % 4])
        };
        out.push((1000 + i, drug, event));
    }
    out
}

struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let dir = std::env::temp_dir().join(format!(
            "rounds-pv-{}-{}",
            std::process::id(),
            platform::auth::random_token().get(..8).unwrap_or("x")
        ));
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn databases() -> Vec<TestDb> {
    backends_with(&[migrate::PLATFORM, migrations::MIGRATIONS]).await
}

#[tokio::test]
async fn the_screening_job_stores_a_run_whose_table_filters_sorts_and_follows_a_pair() {
    let folder = Folder::new();
    write_quarter(&folder.0.join("ASCII"), "25Q1", &reports());
    for t in databases().await {
        job::screen(&t.db, &folder.0, r#"{"requested_by": "dr.pv"}"#)
            .await
            .unwrap();
        let all = runs::list(&t.db).await.unwrap();
        assert_eq!(all.len(), 1, "{}", t.name);
        let run = &all[0];
        assert_eq!(
            (run.quarters.as_str(), run.reports, run.drugs, run.events),
            ("25Q1", 400, 5, 5),
            "{}",
            t.name
        );

        let flagged = SignalFilter {
            method: Some(Method::Ebgm),
            sort: Some(Sort::Eb05),
            ..Default::default()
        };
        let (rows, total) = runs::signals(&t.db, run.id, &flagged).await.unwrap();
        assert_eq!(total, run.ebgm_signals, "{}", t.name);
        assert_eq!(
            (rows[0].drug.as_str(), rows[0].event.as_str()),
            (DRUG, EVENT),
            "{}: the planted pair leads",
            t.name
        );
        let top = &rows[0];
        assert_eq!(
            (top.a, top.drug_reports, top.event_reports, top.n),
            (20, 40, 22, 400)
        );
        assert_eq!(top.table(), [[20, 20], [2, 358]]);
        assert!(top.signal_prr && top.signal_ror && top.signal_ic && top.signal_ebgm);
        assert!(top.eb05.unwrap() >= 2.0);
        // PRR = (20/40) / (2/360) = 90, computed here from the table it was stored with.
        assert!((top.prr.unwrap() - 90.0).abs() < 1e-9, "{:?}", top.prr);

        let searched = SignalFilter {
            drug: Some("zold".into()),
            event: Some("JAW".into()),
            ..Default::default()
        };
        let (rows, total) = runs::signals(&t.db, run.id, &searched).await.unwrap();
        assert_eq!(
            (total, rows.len()),
            (1, 1),
            "{}: search ignores case",
            t.name
        );

        // The monthly schedule skips a folder it has screened; a physician's request does not.
        job::screen(&t.db, &folder.0, r#"{"requested_by": "schedule"}"#)
            .await
            .unwrap();
        assert_eq!(runs::list(&t.db).await.unwrap().len(), 1, "{}", t.name);
        job::screen(
            &t.db,
            &folder.0,
            r#"{"requested_by": "dr.pv", "force": true, "role": "all"}"#,
        )
        .await
        .unwrap();
        let history = runs::history(&t.db, DRUG, EVENT).await.unwrap();
        assert_eq!(
            history.iter().map(|(r, s)| (r.id, s.a)).collect::<Vec<_>>(),
            [(run.id, 20), (run.id + 1, 20)]
        );

        let err = job::screen(&t.db, &folder.0, r#"{"role": "some"}"#)
            .await
            .unwrap_err();
        assert_eq!(err, "role 'some' is not suspect or all");
        let empty = Folder::new();
        std::fs::create_dir_all(&empty.0).unwrap();
        let err = job::screen(&t.db, &empty.0, "{}").await.unwrap_err();
        assert!(err.contains("no FAERS quarter"), "{err}");
    }
}

async fn app(test: TestDb, data_dir: &Path) -> TestApp {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    spawn_routes(
        test,
        config,
        |state| {
            state
                .with_migrations(&[migrate::PLATFORM, migrations::MIGRATIONS])
                .with_module(web::nav(), web::PharmaApi::openapi())
                .with_panel(web::panel())
        },
        |state| web::routes(platform::web::platform_routes(state)),
    )
    .await
}

#[tokio::test]
async fn pharmacovigilance_physicians_read_runs_and_queue_screens_and_no_one_else_does() {
    let data = Folder::new();
    write_quarter(&web::faers_dir(&data.0), "25Q2", &reports());
    for t in databases().await {
        job::screen(
            &t.db,
            &web::faers_dir(&data.0),
            r#"{"requested_by": "dr.pv"}"#,
        )
        .await
        .unwrap();
        let app = app(t, &data.0).await;
        assert!(
            app.check_route_access().await >= 8,
            "every drug-safety route is walked"
        );

        app.add_user("dr.pv", &[Role::PvPhysician]).await;
        let pv = app.sign_in("dr.pv").await;
        let home = app.get("/", &pv).await.text().await.unwrap();
        assert!(
            home.contains("<a href=\"/pv\">Drug safety</a>"),
            "the module is in the navigation"
        );
        let runs_page = app.get("/pv", &pv).await.text().await.unwrap();
        assert!(runs_page.contains("quarters 25Q2."), "{runs_page}");
        assert!(
            runs_page.contains(
                "<td><a href=\"/pv/runs/1\">1</a></td><td>25Q2</td><td class=\"num\">400</td>"
            ),
            "{runs_page}"
        );

        let table = app
            .get("/pv/runs/1?method=ebgm&sort=eb05&drug=zold", &pv)
            .await
            .text()
            .await
            .unwrap();
        assert!(table.contains("<td>ZOLDRONIX</td>"), "{table}");
        assert!(
            table.contains("<option value=\"ebgm\" selected>"),
            "the filter is kept"
        );
        let pair = app
            .get(
                "/pv/pair?drug=ZOLDRONIX&event=Osteonecrosis%20of%20jaw",
                &pv,
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(
            pair.contains("a = 20")
                && pair.contains("b = 20")
                && pair.contains("c = 2")
                && pair.contains("d = 358"),
            "{pair}"
        );

        let queued = app
            .post_form(
                "/pv/runs",
                &pv,
                &[("role", "suspect"), ("drug_field", "prod_ai")],
            )
            .await;
        assert_eq!(queued.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            app.number(
                "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'pv.screen' AND status = 'queued'"
            )
            .await,
            1
        );
        assert_eq!(
            app.audit_actions("dr.pv").await,
            ["pv.run.create", "signin.success", "pv.run.request"],
            "the stored run is audited in the requester's name"
        );

        app.add_user("dr.cmo", &[Role::Cmo]).await;
        let cmo = app.sign_in("dr.cmo").await;
        assert_eq!(app.get("/pv/runs/1", &cmo).await.status(), StatusCode::OK);
        assert_eq!(
            app.post_form("/pv/runs", &cmo, &[]).await.status(),
            StatusCode::FORBIDDEN,
            "the CMO reads but does not run screens"
        );

        let token = app.bearer("dr.pv").await;
        let api = app
            .get_json("/api/v1/pv/runs/1/signals?method=ebgm", &token)
            .await;
        assert_eq!(api["signals"][0]["drug"], DRUG);
        assert_eq!(api["signals"][0]["a"], 20);
        let doc: serde_json::Value = app
            .http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/api/v1/pv/runs/{id}/signals"]["get"].is_object());
        assert!(
            doc["paths"]["/api/v1/facilities"]["get"].is_object(),
            "merged with the platform's document"
        );
    }
}
