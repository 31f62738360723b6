//! The JSON API under `/api/v1` for what the platform's pages manage, the operations endpoints
//! (`/healthz`, `/readyz`, `/metrics`) and the OpenAPI document, generated from the handlers'
//! annotations by utoipa. Errors have one shape: `{"error": {"code", "message"}}`.

use super::access::{Access, ClientAddress, Principal, Routes};
use super::forms::JsonBody;
use super::layout::{ADMIN, AUDIT_READERS};
use super::{AppState, JsonError};
use crate::org::{self, Department, DepartmentInput, Facility, FacilityInput, Unit, UnitInput};
use crate::roles::Role;
use crate::users::{self, Actor, User};
use crate::{audit, jobs, migrate};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

type ApiResult<T> = Result<T, JsonError>;

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/healthz", Access::Public, healthz)
        .get("/readyz", Access::Public, readyz)
        .get("/metrics", Access::Public, metrics)
        .get("/api/v1/openapi.json", Access::Public, openapi)
        .get("/api/v1/me", Access::Authenticated, me)
        .get("/api/v1/facilities", Access::Authenticated, list_facilities)
        .post("/api/v1/facilities", Access::Roles(ADMIN), create_facility)
        .get(
            "/api/v1/facilities/{id}",
            Access::Authenticated,
            get_facility,
        )
        .put(
            "/api/v1/facilities/{id}",
            Access::Roles(ADMIN),
            update_facility,
        )
        .get(
            "/api/v1/departments",
            Access::Authenticated,
            list_departments,
        )
        .post(
            "/api/v1/departments",
            Access::Roles(ADMIN),
            create_department,
        )
        .get(
            "/api/v1/departments/{id}",
            Access::Authenticated,
            get_department,
        )
        .put(
            "/api/v1/departments/{id}",
            Access::Roles(ADMIN),
            update_department,
        )
        .get("/api/v1/units", Access::Authenticated, list_units)
        .post("/api/v1/units", Access::Roles(ADMIN), create_unit)
        .get("/api/v1/units/{id}", Access::Authenticated, get_unit)
        .put("/api/v1/units/{id}", Access::Roles(ADMIN), update_unit)
        .get("/api/v1/users", Access::Roles(ADMIN), list_users)
        .post("/api/v1/users", Access::Roles(ADMIN), create_user)
        .get("/api/v1/audit", Access::Roles(AUDIT_READERS), search_audit)
        .get("/api/v1/jobs", Access::Roles(ADMIN), list_jobs)
}

fn actor<'a>(principal: &'a Principal, address: &'a ClientAddress) -> Actor<'a> {
    Actor {
        name: &principal.username,
        address: &address.0,
    }
}

/// The error body, for the document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: invalid, not_found, conflict, unauthenticated, forbidden, csrf, too_large, …
    pub code: String,
    pub message: String,
}

/// The answer to a request that queued a job (`202 Accepted`).
#[derive(Serialize, ToSchema)]
pub struct Queued {
    pub job: i64,
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and its schema is what this binary expects.
async fn readyz(State(state): State<AppState>) -> Response {
    let ready = state.db.ping().await
        && migrate::status(&state.db, &state.migrations)
            .await
            .is_ok_and(|s| s.pending.is_empty());
    if ready {
        (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not ready"})),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> ApiResult<Response> {
    let jobs = jobs::counts(&state.db).await?;
    let text = state
        .metrics
        .render(&jobs, state.started.elapsed().as_secs_f64());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn openapi(State(state): State<AppState>) -> Response {
    match state.openapi.to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => JsonError(crate::Error::Internal(e.to_string())).into_response(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
}

/// The signed-in user or token holder.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        username: principal.username,
        display_name: principal.display_name,
        roles: principal.roles,
    })
}

/// All facilities, by name.
#[utoipa::path(get, path = "/api/v1/facilities", tag = "organisation", responses((status = 200, body = [Facility])))]
async fn list_facilities(State(state): State<AppState>) -> ApiResult<Json<Vec<Facility>>> {
    Ok(Json(org::facilities(&state.db).await?))
}

/// Creates a facility (admin).
#[utoipa::path(post, path = "/api/v1/facilities", tag = "organisation", request_body = FacilityInput,
    responses((status = 201, body = Facility), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_facility(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    JsonBody(input): JsonBody<FacilityInput>,
) -> ApiResult<(StatusCode, Json<Facility>)> {
    Ok((
        StatusCode::CREATED,
        Json(org::save_facility(&state.db, actor(&principal, &address), None, &input).await?),
    ))
}

/// One facility.
#[utoipa::path(get, path = "/api/v1/facilities/{id}", tag = "organisation", params(("id" = i64, Path)),
    responses((status = 200, body = Facility), (status = 404, body = ErrorBody)))]
async fn get_facility(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Facility>> {
    Ok(Json(org::facility(&state.db, id).await?))
}

/// Replaces a facility's fields (admin).
#[utoipa::path(put, path = "/api/v1/facilities/{id}", tag = "organisation", params(("id" = i64, Path)), request_body = FacilityInput,
    responses((status = 200, body = Facility), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_facility(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<FacilityInput>,
) -> ApiResult<Json<Facility>> {
    Ok(Json(
        org::save_facility(&state.db, actor(&principal, &address), Some(id), &input).await?,
    ))
}

/// All departments, by facility and name.
#[utoipa::path(get, path = "/api/v1/departments", tag = "organisation", responses((status = 200, body = [Department])))]
async fn list_departments(State(state): State<AppState>) -> ApiResult<Json<Vec<Department>>> {
    Ok(Json(org::departments(&state.db).await?))
}

/// Creates a department (admin).
#[utoipa::path(post, path = "/api/v1/departments", tag = "organisation", request_body = DepartmentInput,
    responses((status = 201, body = Department), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_department(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    JsonBody(input): JsonBody<DepartmentInput>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    Ok((
        StatusCode::CREATED,
        Json(org::save_department(&state.db, actor(&principal, &address), None, &input).await?),
    ))
}

/// One department.
#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "organisation", params(("id" = i64, Path)),
    responses((status = 200, body = Department), (status = 404, body = ErrorBody)))]
async fn get_department(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Department>> {
    Ok(Json(org::department(&state.db, id).await?))
}

/// Replaces a department's fields (admin).
#[utoipa::path(put, path = "/api/v1/departments/{id}", tag = "organisation", params(("id" = i64, Path)), request_body = DepartmentInput,
    responses((status = 200, body = Department), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_department(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<DepartmentInput>,
) -> ApiResult<Json<Department>> {
    Ok(Json(
        org::save_department(&state.db, actor(&principal, &address), Some(id), &input).await?,
    ))
}

/// All units, by facility and name.
#[utoipa::path(get, path = "/api/v1/units", tag = "organisation", responses((status = 200, body = [Unit])))]
async fn list_units(State(state): State<AppState>) -> ApiResult<Json<Vec<Unit>>> {
    Ok(Json(org::units(&state.db).await?))
}

/// Creates a unit (admin).
#[utoipa::path(post, path = "/api/v1/units", tag = "organisation", request_body = UnitInput,
    responses((status = 201, body = Unit), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_unit(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    JsonBody(input): JsonBody<UnitInput>,
) -> ApiResult<(StatusCode, Json<Unit>)> {
    Ok((
        StatusCode::CREATED,
        Json(org::save_unit(&state.db, actor(&principal, &address), None, &input).await?),
    ))
}

/// One unit.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "organisation", params(("id" = i64, Path)),
    responses((status = 200, body = Unit), (status = 404, body = ErrorBody)))]
async fn get_unit(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Json<Unit>> {
    Ok(Json(org::unit(&state.db, id).await?))
}

/// Replaces a unit's fields (admin).
#[utoipa::path(put, path = "/api/v1/units/{id}", tag = "organisation", params(("id" = i64, Path)), request_body = UnitInput,
    responses((status = 200, body = Unit), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_unit(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<UnitInput>,
) -> ApiResult<Json<Unit>> {
    Ok(Json(
        org::save_unit(&state.db, actor(&principal, &address), Some(id), &input).await?,
    ))
}

/// All accounts (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "administration", responses((status = 200, body = [User])))]
async fn list_users(State(state): State<AppState>) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(users::list(&state.db).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// At least 12 characters, not containing the user name.
    pub password: String,
    pub roles: Vec<Role>,
}

/// Creates an account (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "administration", request_body = NewUser,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    JsonBody(input): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = users::create(
        &state.db,
        actor(&principal, &address),
        input.username.trim(),
        &input.display_name,
        &input.password,
        &input.roles,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Audit entries, newest first, 100 at a time (auditor, compliance). The search is itself audited.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(audit::Search), responses((status = 200, body = [audit::Entry])))]
async fn search_audit(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Query(filter): Query<audit::Search>,
) -> ApiResult<Json<Vec<audit::Entry>>> {
    Ok(Json(
        super::pages::audited_search(&state, &principal, &address.0, &filter).await?,
    ))
}

/// Recent jobs, failed first (admin).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "administration", responses((status = 200, body = [jobs::Job])))]
async fn list_jobs(State(state): State<AppState>) -> ApiResult<Json<Vec<jobs::Job>>> {
    Ok(Json(jobs::recent(&state.db, 200).await?))
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(super::access::SESSION_COOKIE),
            )),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Rounds API", description = "Clinical governance for the office of a Chief Medical Officer. \
        Authenticate with `Authorization: Bearer rnd_…` (tokens from `rounds token create`) or a session \
        cookie plus the `X-CSRF-Token` header for changes."),
    paths(me, list_facilities, create_facility, get_facility, update_facility, list_departments, create_department,
        get_department, update_department, list_units, create_unit, get_unit, update_unit, list_users, create_user,
        search_audit, list_jobs),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
