//! The clinical pages and API: the encounters browser (filters by facility, unit, attending
//! practitioner, class, DRG and dates), a patient's timeline, and the import history. Every view
//! of patient-level data is audited: one entry per page or API read, naming the filter or patient.

use crate::browse::{self, EncounterFilter, EncounterRow, Timeline};
use crate::history::{self, ImportRun};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use platform::audit::{self, Actor, Event};
use platform::roles::Role;
use platform::web::access::ClientAddress;
use platform::web::layout::{Layout, render};
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
        .get("/api/v1/encounters", Access::Roles(READERS), api_encounters)
        .get("/api/v1/patients/{id}", Access::Roles(READERS), api_patient)
        .get(
            "/api/v1/imports",
            Access::Roles(IMPORT_READERS),
            api_imports,
        )
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
}

async fn imports_page(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, HtmlError> {
    let runs = history::recent(&state.db, 100)
        .await
        .map_err(platform::Error::from)?;
    Ok(render(&ImportsPage {
        layout: Layout::new(&state, &principal, "Imports", "/imports"),
        runs,
    }))
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

#[derive(OpenApi)]
#[openapi(paths(api_encounters, api_patient, api_imports))]
pub struct ClinicalApi;
