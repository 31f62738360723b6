//! The clinical pages and API: the encounters browser (filters by facility, unit, attending
//! practitioner, class, DRG and dates), a patient's timeline, and the import history. Every view
//! of patient-level data is audited: one entry per page or API read, naming the filter or patient.

use crate::browse::{self, EncounterFilter, EncounterRow, Timeline};
use crate::history::{self, ImportRun};
use crate::job::{self, ImportKind};
use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use platform::audit::{self, Actor, Event};
use platform::roles::Role;
use platform::web::access::ClientAddress;
use platform::web::api::Queued;
use platform::web::layout::{Layout, Notice, render};
use platform::web::{Access, AppState, HtmlError, JsonError, NavItem, Principal, Routes};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Who reads patient-level encounter data.
pub const READERS: &[Role] = &[
    Role::Cmo,
    Role::Quality,
    Role::SafetyOfficer,
    Role::DepartmentChair,
];
/// Who sees the import history (the data team).
pub const IMPORT_READERS: &[Role] = &[Role::Admin, Role::Quality];
/// Who uploads data for import.
pub const IMPORTERS: &[Role] = &[Role::Admin];

impl From<crate::Error> for platform::Error {
    fn from(e: crate::Error) -> platform::Error {
        match e {
            crate::Error::Platform(e) => e,
            crate::Error::Database(e) => platform::Error::Database(e),
            other => platform::Error::invalid("import", other.to_string()),
        }
    }
}

pub fn nav() -> Vec<NavItem> {
    vec![
        NavItem {
            label: "Encounters",
            href: "/encounters",
            roles: READERS,
        },
        NavItem {
            label: "Imports",
            href: "/imports",
            roles: IMPORT_READERS,
        },
    ]
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/encounters", Access::Roles(READERS), encounters_page)
        .get("/patients/{id}", Access::Roles(READERS), patient_page)
        .get("/imports", Access::Roles(IMPORT_READERS), imports_page)
        .post_upload("/imports", Access::Roles(IMPORTERS), upload)
        .get("/api/v1/encounters", Access::Roles(READERS), api_encounters)
        .get("/api/v1/patients/{id}", Access::Roles(READERS), api_patient)
        .get(
            "/api/v1/imports",
            Access::Roles(IMPORT_READERS),
            api_imports,
        )
        .post_upload("/api/v1/imports", Access::Roles(IMPORTERS), api_upload)
}

async fn audit_read(
    state: &AppState,
    principal: &Principal,
    address: &str,
    action: &str,
    record_type: &str,
    record_id: &str,
    detail: &str,
) -> platform::Result<()> {
    let actor = Actor {
        name: &principal.username,
        address,
    };
    audit::record(
        &state.db,
        &Event::success(actor, action, record_type, record_id, detail),
    )
    .await?;
    Ok(())
}

fn describe(filter: &EncounterFilter, shown: usize, total: i64) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("facility", filter.facility),
        ("unit", filter.unit),
        ("practitioner", filter.practitioner),
        ("page", filter.page),
    ] {
        if let Some(v) = value {
            parts.push(format!("{name}={v}"));
        }
    }
    for (name, value) in [
        ("class", &filter.class),
        ("drg", &filter.drg),
        ("from", &filter.from),
        ("to", &filter.to),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{name}={v}"));
        }
    }
    format!("{shown} of {total} encounters; {}", parts.join(" "))
}

/// Reads a page of encounters and audits the read.
async fn read_encounters(
    state: &AppState,
    principal: &Principal,
    address: &str,
    filter: &EncounterFilter,
) -> platform::Result<(Vec<EncounterRow>, i64)> {
    let (rows, total) = browse::encounters(&state.db, filter).await?;
    audit_read(
        state,
        principal,
        address,
        "encounters.view",
        "encounter",
        "",
        &describe(filter, rows.len(), total),
    )
    .await?;
    Ok((rows, total))
}

#[derive(Template)]
#[template(path = "encounters.html")]
struct EncountersPage {
    layout: Layout,
    filter: EncounterFilter,
    choices: browse::Choices,
    rows: Vec<EncounterRow>,
    total: i64,
    page: i64,
    error: Option<String>,
    previous: Option<String>,
    next: Option<String>,
}

fn page_link(filter: &EncounterFilter, page: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("facility", filter.facility),
        ("unit", filter.unit),
        ("practitioner", filter.practitioner),
    ] {
        if let Some(v) = value {
            query.append_pair(name, &v.to_string());
        }
    }
    for (name, value) in [
        ("class", &filter.class),
        ("drg", &filter.drg),
        ("from", &filter.from),
        ("to", &filter.to),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, v);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("/encounters?{}", query.finish())
}

async fn encounters_page(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Query(filter): Query<EncounterFilter>,
) -> Result<Response, HtmlError> {
    let (rows, total, error) = match read_encounters(&state, &principal, &address.0, &filter).await
    {
        Ok((rows, total)) => (rows, total, None),
        Err(e @ platform::Error::Invalid { .. }) => (Vec::new(), 0, Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let page = filter.page.unwrap_or(0).max(0);
    Ok(render(&EncountersPage {
        layout: Layout::new(&state, &principal, "Encounters", "/encounters"),
        choices: browse::choices(&state.db)
            .await
            .map_err(platform::Error::from)?,
        previous: (page > 0).then(|| page_link(&filter, page - 1)),
        next: ((page + 1) * browse::PAGE < total).then(|| page_link(&filter, page + 1)),
        filter,
        rows,
        total,
        page,
        error,
    }))
}

#[derive(Template)]
#[template(path = "patient.html")]
struct PatientPage {
    layout: Layout,
    timeline: Timeline,
}

async fn read_patient(
    state: &AppState,
    principal: &Principal,
    address: &str,
    id: i64,
) -> platform::Result<Timeline> {
    let timeline = browse::timeline(&state.db, id).await?;
    let detail = format!("{} encounters", timeline.encounters.len());
    audit_read(
        state,
        principal,
        address,
        "patient.view",
        "patient",
        &id.to_string(),
        &detail,
    )
    .await?;
    Ok(timeline)
}

async fn patient_page(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
) -> Result<Response, HtmlError> {
    let timeline = read_patient(&state, &principal, &address.0, id).await?;
    Ok(render(&PatientPage {
        layout: Layout::new(&state, &principal, &format!("Patient {id}"), "/encounters"),
        timeline,
    }))
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    layout: Layout,
    runs: Vec<ImportRun>,
    /// Import jobs queued or running.
    pending: Vec<platform::jobs::Job>,
    kinds: &'static [(ImportKind, &'static str)],
    can_upload: bool,
}

async fn imports_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> Result<Response, HtmlError> {
    let runs = history::recent(&state.db, 100)
        .await
        .map_err(platform::Error::from)?;
    let pending = platform::jobs::recent(&state.db, 200)
        .await?
        .into_iter()
        .filter(|j| j.kind == job::KIND && matches!(j.status.as_str(), "queued" | "running"))
        .collect();
    Ok(render(&ImportsPage {
        layout: Layout::new(&state, &principal, "Imports", "/imports")
            .with_notice(q.notice.as_deref()),
        runs,
        pending,
        kinds: &ImportKind::ALL,
        can_upload: principal.has_any(IMPORTERS),
    }))
}

/// Saves an upload's files in a folder of their own and queues the import; returns the job id.
async fn receive(
    state: &AppState,
    principal: &Principal,
    address: &str,
    mut multipart: Multipart,
) -> platform::Result<i64> {
    let folder = state.config.data_dir.join("uploads").join(format!(
        "{}-{}",
        platform::time::now().format("%Y%m%dT%H%M%S"),
        platform::auth::random_token().get(..12).unwrap_or("upload")
    ));
    let (kind, source_system, skip_invalid, files) =
        match save_upload(&folder, &mut multipart).await {
            Ok(fields) => fields,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&folder);
                return Err(e);
            }
        };
    let request = job::Request {
        kind,
        folder: folder.clone(),
        source_system,
        skip_invalid,
        actor: principal.username.clone(),
        address: address.to_string(),
    };
    let payload =
        serde_json::to_string(&request).map_err(|e| platform::Error::Internal(e.to_string()))?;
    let id = platform::jobs::enqueue(&state.db, job::KIND, &payload, platform::time::now()).await?;
    let detail = format!("{files} file(s) for a {} import", request.kind.as_str());
    audit_read(
        state,
        principal,
        address,
        "import.upload",
        "job",
        &id.to_string(),
        &detail,
    )
    .await?;
    Ok(id)
}

/// Streams the multipart fields: `kind`, `source_system`, `skip_invalid` and any number of
/// `files`. Returns the settings and how many files were saved.
async fn save_upload(
    folder: &std::path::Path,
    multipart: &mut Multipart,
) -> platform::Result<(ImportKind, String, bool, usize)> {
    use std::io::Write;
    let invalid = |reason: String| platform::Error::invalid("upload", reason);
    std::fs::create_dir_all(folder)?;
    let (mut kind, mut source, mut skip, mut files) = (None, String::new(), false, 0usize);
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| invalid(e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "files" {
            let file_name = safe_file_name(field.file_name().unwrap_or(""), files);
            let path = folder.join(&file_name);
            let mut out = std::fs::File::create(&path)?;
            let mut bytes = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(|e| invalid(e.body_text()))? {
                bytes += chunk.len() as u64;
                out.write_all(&chunk)?;
            }
            if bytes > 0 {
                files += 1;
            } else {
                std::fs::remove_file(&path)?;
            }
            continue;
        }
        let value = field.text().await.map_err(|e| invalid(e.body_text()))?;
        let value = value.trim();
        match name.as_str() {
            "kind" => {
                kind = Some(
                    ImportKind::parse(value).map_err(|e| platform::Error::invalid("kind", e))?,
                )
            }
            "source_system" => source = value.to_string(),
            "skip_invalid" => skip = !matches!(value, "" | "0" | "false" | "off"),
            other => return Err(invalid(format!("unexpected field '{other}'"))),
        }
    }
    let kind = kind.ok_or_else(|| platform::Error::invalid("kind", "choose what the files are"))?;
    if files == 0 {
        return Err(platform::Error::invalid(
            "files",
            "choose at least one non-empty file",
        ));
    }
    let source = if source.is_empty() {
        crate::import::DEFAULT_SOURCE.to_string()
    } else {
        source
    };
    if source.len() > 100
        || !source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(platform::Error::invalid(
            "source_system",
            "use up to 100 letters, digits, '-', '_' or '.'",
        ));
    }
    Ok((kind, source, skip, files))
}

/// The uploaded file's base name with anything but letters, digits, '.', '-' and '_' replaced,
/// so no name can leave the upload's folder; a name-less file gets a numbered one.
fn safe_file_name(given: &str, index: usize) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        format!("upload-{index}")
    } else {
        cleaned.to_string()
    }
}

async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    multipart: Multipart,
) -> Result<Response, HtmlError> {
    receive(&state, &principal, &address.0, multipart).await?;
    Ok(Redirect::to("/imports?notice=queued").into_response())
}

#[derive(Serialize, ToSchema)]
struct EncounterPage {
    total: i64,
    encounters: Vec<EncounterRow>,
}

/// A page of encounters, newest first (patient-level: audited).
#[utoipa::path(get, path = "/api/v1/encounters", tag = "clinical", params(EncounterFilter), responses((status = 200, body = EncounterPage)))]
async fn api_encounters(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Query(filter): Query<EncounterFilter>,
) -> Result<Json<EncounterPage>, JsonError> {
    let (encounters, total) = read_encounters(&state, &principal, &address.0, &filter).await?;
    Ok(Json(EncounterPage { total, encounters }))
}

/// One patient's timeline (patient-level: audited).
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "clinical", params(("id" = i64, Path)), responses((status = 200, body = Timeline), (status = 404)))]
async fn api_patient(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
) -> Result<Json<Timeline>, JsonError> {
    Ok(Json(
        read_patient(&state, &principal, &address.0, id).await?,
    ))
}

/// The import history, newest first.
#[utoipa::path(get, path = "/api/v1/imports", tag = "clinical", responses((status = 200)))]
async fn api_imports(State(state): State<AppState>) -> Result<Json<Vec<ImportRun>>, JsonError> {
    Ok(Json(
        history::recent(&state.db, 100)
            .await
            .map_err(platform::Error::from)?,
    ))
}

/// Uploads files for import (multipart: `kind`, optional `source_system` and `skip_invalid`, one or
/// more `files`; the CSRF token as `?_csrf=` when signed in with a session) and queues the import.
#[utoipa::path(post, path = "/api/v1/imports", tag = "clinical", responses((status = 202, body = Queued), (status = 422)))]
async fn api_upload(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    multipart: Multipart,
) -> Result<(StatusCode, Json<Queued>), JsonError> {
    let job = receive(&state, &principal, &address.0, multipart).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { job })))
}

#[derive(OpenApi)]
#[openapi(paths(api_encounters, api_patient, api_imports, api_upload))]
pub struct ClinicalApi;

/// The clinical panel of the home dashboard: volumes and crude outcome rates over the whole store.
pub fn panel() -> platform::web::dashboard::PanelSource {
    platform::web::dashboard::PanelSource {
        roles: READERS,
        build: |db| Box::pin(async move { clinical_panel(&db).await }),
    }
}

async fn clinical_panel(db: &platform::Db) -> platform::Result<platform::web::dashboard::Panel> {
    use platform::web::dashboard::{Figure, Panel};
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM encounters) AS encounters, \
         (SELECT COUNT(*) FROM encounters WHERE class = 'inpatient') AS stays, \
         (SELECT COUNT(*) FROM patients) AS patients, \
         (SELECT COUNT(*) FROM encounter_outcomes WHERE in_hospital_death = 1) AS deaths, \
         (SELECT COUNT(*) FROM encounter_outcomes WHERE readmission_index = 1) AS index_stays, \
         (SELECT COUNT(*) FROM encounter_outcomes WHERE readmitted_30 = 1) AS readmitted, \
         (SELECT COALESCE(MAX(admit_at), '') FROM encounters) AS latest",
    )
    .fetch_one(&db.pool)
    .await?;
    let n = |name: &str| -> platform::Result<i64> { Ok(row.try_get::<i64, _>(name)?) };
    let rate = |num: i64, den: i64| {
        if den == 0 {
            "–".to_string()
        } else {
            format!("{:.1}%", 100.0 * num as f64 / den as f64)
        }
    };
    let latest: String = row.try_get("latest")?;
    Ok(Panel {
        title: "Clinical data".into(),
        figures: vec![
            Figure::new("Encounters", n("encounters")?, Some("/encounters")),
            Figure::new(
                "Inpatient stays",
                n("stays")?,
                Some("/encounters?class=inpatient"),
            ),
            Figure::new("Patients", n("patients")?, None),
            Figure::new(
                "In-hospital mortality",
                rate(n("deaths")?, n("stays")?),
                None,
            ),
            Figure::new(
                "30-day readmission",
                rate(n("readmitted")?, n("index_stays")?),
                None,
            ),
            Figure::new("Latest admission", latest.get(..10).unwrap_or("–"), None),
        ],
    })
}
