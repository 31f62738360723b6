//! The drug-safety pages and API: screening runs over the server's FAERS folder, a run's signal
//! table (filter by drug, event and method; sort by EB05 and the other measures), and one
//! drug–event pair's 2×2 table and history across runs. For pharmacovigilance physicians and the
//! CMO; only pharmacovigilance physicians start runs.

use crate::job::{self, Request};
use crate::runs::{self, Run, SignalFilter, StoredSignal};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use platform::audit::{self, Actor, Event};
use platform::roles::Role;
use platform::web::access::ClientAddress;
use platform::web::api::Queued;
use platform::web::forms::{FormBody, JsonBody};
use platform::web::layout::{Layout, Notice, render};
use platform::web::{Access, AppState, HtmlError, JsonError, NavItem, Principal, Routes};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use utoipa::{OpenApi, ToSchema};

pub const READERS: &[Role] = &[Role::PvPhysician, Role::Cmo];
pub const RUNNERS: &[Role] = &[Role::PvPhysician];

/// The folder the screening job reads: `faers/` in the data directory.
pub fn faers_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("faers")
}

pub fn nav() -> Vec<NavItem> {
    vec![NavItem {
        label: "Drug safety",
        href: "/pv",
        roles: READERS,
    }]
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/pv", Access::Roles(READERS), runs_page)
        .post("/pv/runs", Access::Roles(RUNNERS), request_run)
        .get("/pv/runs/{id}", Access::Roles(READERS), run_page)
        .get("/pv/pair", Access::Roles(READERS), pair_page)
        .get("/api/v1/pv/runs", Access::Roles(READERS), api_runs)
        .post("/api/v1/pv/runs", Access::Roles(RUNNERS), api_request_run)
        .get(
            "/api/v1/pv/runs/{id}/signals",
            Access::Roles(READERS),
            api_signals,
        )
        .get("/api/v1/pv/pair", Access::Roles(READERS), api_pair)
}

/// Queues a screening run and audits the request; returns the job's id.
async fn enqueue(
    state: &AppState,
    principal: &Principal,
    address: &str,
    mut request: Request,
) -> platform::Result<i64> {
    request.requested_by = principal.username.clone();
    request.force = true;
    request.role = match request.role.as_str() {
        "" | "suspect" | "all" => request.role,
        other => {
            return Err(platform::Error::invalid(
                "role",
                format!("'{other}' is not suspect or all"),
            ));
        }
    };
    request.drug_field = match request.drug_field.as_str() {
        "" | "drugname" | "prod_ai" => request.drug_field,
        other => {
            return Err(platform::Error::invalid(
                "drug_field",
                format!("'{other}' is not drugname or prod_ai"),
            ));
        }
    };
    let payload =
        serde_json::to_string(&request).map_err(|e| platform::Error::Internal(e.to_string()))?;
    let id = platform::jobs::enqueue(&state.db, job::KIND, &payload, platform::time::now()).await?;
    let actor = Actor {
        name: &principal.username,
        address,
    };
    audit::record(
        &state.db,
        &Event::success(actor, "pv.run.request", "job", &id.to_string(), &payload),
    )
    .await?;
    Ok(id)
}

#[derive(Template)]
#[template(path = "pv_runs.html")]
struct RunsPage {
    layout: Layout,
    runs: Vec<Run>,
    folder: String,
    quarters: Vec<String>,
    folder_error: Option<String>,
    can_run: bool,
}

async fn runs_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> Result<Response, HtmlError> {
    let folder = faers_dir(&state.config.data_dir);
    let (quarters, folder_error) = match crate::faers::find_quarters(&folder) {
        Ok(found) => (found.into_iter().map(|q| q.quarter).collect(), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    Ok(render(&RunsPage {
        layout: Layout::new(
            &state,
            &principal,
            "Drug safety: disproportionality screening",
            "/pv",
        )
        .with_notice(q.notice.as_deref()),
        runs: runs::list(&state.db).await?,
        folder: folder.display().to_string(),
        quarters,
        folder_error,
        can_run: principal.has_any(RUNNERS),
    }))
}

async fn request_run(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    FormBody(request): FormBody<Request>,
) -> Result<Response, HtmlError> {
    enqueue(&state, &principal, &address.0, request).await?;
    Ok(Redirect::to("/pv?notice=queued").into_response())
}

#[derive(Template)]
#[template(path = "pv_run.html")]
struct RunPage {
    layout: Layout,
    run: Run,
    signals: Vec<StoredSignal>,
    total: i64,
    filter: SignalFilter,
    method: String,
    sort: String,
    page: i64,
    previous: Option<String>,
    next: Option<String>,
}

fn page_link(run: i64, filter: &SignalFilter, page: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in [("drug", &filter.drug), ("event", &filter.event)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(key, v);
        }
    }
    if let Some(method) = filter.method {
        query.append_pair("method", method.as_str());
    }
    if let Some(sort) = filter.sort {
        query.append_pair("sort", sort.as_str());
    }
    query.append_pair("page", &page.to_string());
    format!("/pv/runs/{run}?{}", query.finish())
}

async fn run_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(filter): Query<SignalFilter>,
) -> Result<Response, HtmlError> {
    let run = runs::get(&state.db, id).await?;
    let (signals, total) = runs::signals(&state.db, id, &filter).await?;
    let page = filter.page.unwrap_or(0).max(0);
    let previous = (page > 0).then(|| page_link(id, &filter, page - 1));
    let next = ((page + 1) * runs::PAGE < total).then(|| page_link(id, &filter, page + 1));
    Ok(render(&RunPage {
        layout: Layout::new(&state, &principal, &format!("Screening run {id}"), "/pv"),
        method: filter.method.unwrap_or_default().as_str().to_string(),
        sort: filter.sort.unwrap_or_default().as_str().to_string(),
        run,
        signals,
        total,
        filter,
        page,
        previous,
        next,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct PairQuery {
    drug: String,
    event: String,
}

#[derive(Template)]
#[template(path = "pv_pair.html")]
struct PairPage {
    layout: Layout,
    drug: String,
    event: String,
    history: Vec<(Run, StoredSignal)>,
}

async fn pair_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<PairQuery>,
) -> Result<Response, HtmlError> {
    let history = runs::history(&state.db, &q.drug, &q.event).await?;
    if history.is_empty() {
        return Err(platform::Error::not_found(format!(
            "the pair {} – {} in any run",
            q.drug, q.event
        ))
        .into());
    }
    Ok(render(&PairPage {
        layout: Layout::new(
            &state,
            &principal,
            &format!("{} – {}", q.drug, q.event),
            "/pv",
        ),
        drug: q.drug,
        event: q.event,
        history,
    }))
}

/// Screening runs, newest first.
#[utoipa::path(get, path = "/api/v1/pv/runs", tag = "drug safety", responses((status = 200, body = [Run])))]
async fn api_runs(State(state): State<AppState>) -> Result<Json<Vec<Run>>, JsonError> {
    Ok(Json(runs::list(&state.db).await?))
}

/// Queues a screening of the FAERS folder (pharmacovigilance physicians).
#[utoipa::path(post, path = "/api/v1/pv/runs", tag = "drug safety", request_body = Request, responses((status = 202, body = Queued)))]
async fn api_request_run(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    JsonBody(request): JsonBody<Request>,
) -> Result<(StatusCode, Json<Queued>), JsonError> {
    let job = enqueue(&state, &principal, &address.0, request).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { job })))
}

#[derive(Serialize, ToSchema)]
struct SignalPage {
    total: i64,
    signals: Vec<StoredSignal>,
}

/// A page of a run's signal table.
#[utoipa::path(get, path = "/api/v1/pv/runs/{id}/signals", tag = "drug safety", params(("id" = i64, Path), SignalFilter),
    responses((status = 200, body = SignalPage), (status = 404)))]
async fn api_signals(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(filter): Query<SignalFilter>,
) -> Result<Json<SignalPage>, JsonError> {
    runs::get(&state.db, id).await?;
    let (signals, total) = runs::signals(&state.db, id, &filter).await?;
    Ok(Json(SignalPage { total, signals }))
}

/// One drug–event pair in every run that stored it, oldest first.
#[utoipa::path(get, path = "/api/v1/pv/pair", tag = "drug safety", params(PairQuery), responses((status = 200, body = [StoredSignal])))]
async fn api_pair(
    State(state): State<AppState>,
    Query(q): Query<PairQuery>,
) -> Result<Json<Vec<StoredSignal>>, JsonError> {
    Ok(Json(
        runs::history(&state.db, &q.drug, &q.event)
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
    ))
}

#[derive(OpenApi)]
#[openapi(paths(api_runs, api_request_run, api_signals, api_pair))]
pub struct PharmaApi;

/// The drug-safety panel of the home dashboard: the latest screening run.
pub fn panel() -> platform::web::dashboard::PanelSource {
    platform::web::dashboard::PanelSource {
        roles: READERS,
        build: |db| Box::pin(async move { pv_panel(&db).await }),
    }
}

async fn pv_panel(db: &platform::Db) -> platform::Result<platform::web::dashboard::Panel> {
    use platform::web::dashboard::{Figure, Panel};
    let all = runs::list(db).await?;
    let mut figures = vec![Figure::new("Screening runs", all.len(), Some("/pv"))];
    if let Some(latest) = all.first() {
        let href = format!("/pv/runs/{}?method=ebgm", latest.id);
        figures.push(Figure::new(
            "Latest run: EB05 ≥ 2 signals",
            latest.ebgm_signals,
            Some(&href),
        ));
        figures.push(Figure::new("Latest run: reports", latest.reports, None));
        figures.push(Figure::new(
            "Latest quarter",
            latest.quarters.rsplit(", ").next().unwrap_or("–"),
            None,
        ));
    }
    Ok(Panel {
        title: "Drug safety".into(),
        figures,
    })
}
