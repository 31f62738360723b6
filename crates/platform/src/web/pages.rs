//! The platform's HTML pages: sign-in and sign-out, the home dashboard, the organisation
//! (facilities, departments, units), user administration, the job queue and audit search. A
//! successful change redirects (303) to a page that shows it; a rejected one shows the form again
//! with what the user typed and what was wrong.

use super::access::{
    Access, ClientAddress, MaybePrincipal, Principal, Routes, SESSION_COOKIE, cookie_value,
};
use super::forms::FormBody;
use super::layout::{ADMIN, AUDIT_READERS, Layout, Notice, render};
use super::{AppState, HtmlError};
use crate::audit::{self, Event};
use crate::error::Error;
use crate::org::{self, DepartmentInput, FacilityInput, UnitInput};
use crate::roles::Role;
use crate::users::{self, Actor};
use crate::{auth, jobs};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

type PageResult = Result<Response, HtmlError>;

const SIGNIN_COOKIE: &str = "rounds_signin";

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/signin", Access::Public, signin_page)
        .post("/signin", Access::Public, signin)
        .post("/signout", Access::Authenticated, signout)
        .get("/", Access::Authenticated, dashboard)
        .get("/account/password", Access::Authenticated, password_page)
        .post("/account/password", Access::Authenticated, change_password)
        .get("/facilities", Access::Authenticated, facilities)
        .post("/facilities", Access::Roles(ADMIN), create_facility)
        .get("/facilities/{id}", Access::Authenticated, facility)
        .post("/facilities/{id}", Access::Roles(ADMIN), update_facility)
        .get("/departments", Access::Authenticated, departments)
        .post("/departments", Access::Roles(ADMIN), create_department)
        .get("/departments/{id}", Access::Authenticated, department)
        .post("/departments/{id}", Access::Roles(ADMIN), update_department)
        .get("/units", Access::Authenticated, units)
        .post("/units", Access::Roles(ADMIN), create_unit)
        .get("/units/{id}", Access::Authenticated, unit)
        .post("/units/{id}", Access::Roles(ADMIN), update_unit)
        .get("/admin/users", Access::Roles(ADMIN), users_page)
        .post("/admin/users", Access::Roles(ADMIN), create_user)
        .get("/admin/users/{username}", Access::Roles(ADMIN), user_page)
        .post(
            "/admin/users/{username}/roles",
            Access::Roles(ADMIN),
            set_user_roles,
        )
        .post(
            "/admin/users/{username}/password",
            Access::Roles(ADMIN),
            reset_user_password,
        )
        .post(
            "/admin/users/{username}/disable",
            Access::Roles(ADMIN),
            disable_user,
        )
        .post(
            "/admin/users/{username}/enable",
            Access::Roles(ADMIN),
            enable_user,
        )
        .get("/admin/jobs", Access::Roles(ADMIN), jobs_page)
        .post("/admin/jobs/{id}/retry", Access::Roles(ADMIN), retry_job)
        .get("/audit", Access::Roles(AUDIT_READERS), audit_page)
}

fn actor<'a>(principal: &'a Principal, address: &'a ClientAddress) -> Actor<'a> {
    Actor {
        name: &principal.username,
        address: &address.0,
    }
}

fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// Only paths on this site may be a post-sign-in destination.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

// ---- Sign-in -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    layout: Layout,
    username: String,
    next: String,
    form_token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SigninQuery {
    next: Option<String>,
}

/// The sign-in form carries a token that must equal a cookie set with it (double submit), so a
/// form on another site cannot sign a browser in.
fn signin_form(
    state: &AppState,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<String>,
) -> Response {
    let form_token = auth::random_token();
    let page = SigninPage {
        layout: Layout::bare("Sign in"),
        username: username.to_string(),
        next: next.to_string(),
        form_token: form_token.clone(),
        error,
    };
    let set = cookie(
        SIGNIN_COOKIE,
        &form_token,
        3600,
        state.config.secure_cookies(),
    );
    (status, [(header::SET_COOKIE, set)], render(&page)).into_response()
}

async fn signin_page(
    State(state): State<AppState>,
    MaybePrincipal(who): MaybePrincipal,
    Query(q): Query<SigninQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if who.is_some() {
        return see_other(&next);
    }
    signin_form(&state, StatusCode::OK, "", &next, None)
}

#[derive(Deserialize)]
struct SigninForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    form_token: String,
}

async fn signin(
    State(state): State<AppState>,
    address: ClientAddress,
    headers: HeaderMap,
    FormBody(form): FormBody<SigninForm>,
) -> Response {
    let next = safe_next(Some(&form.next));
    let cookie_token = cookie_value(&headers, SIGNIN_COOKIE).unwrap_or("");
    if cookie_token.is_empty() || !auth::same_secret(cookie_token, &form.form_token) {
        return signin_form(
            &state,
            StatusCode::FORBIDDEN,
            &form.username,
            &next,
            Some(Error::Csrf.to_string()),
        );
    }
    match auth::sign_in(
        &state.db,
        &state.config,
        &form.username,
        &form.password,
        &address.0,
    )
    .await
    {
        Ok(session) => {
            let max_age = state.config.session_max_hours * 3600;
            let secure = state.config.secure_cookies();
            let mut response = see_other(&next);
            let headers = response.headers_mut();
            for value in [
                cookie(SESSION_COOKIE, &session.token, max_age, secure),
                cookie(SIGNIN_COOKIE, "", 0, secure),
            ] {
                if let Ok(v) = value.parse() {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            response
        }
        Err(e @ (Error::BadCredentials | Error::Locked { .. })) => signin_form(
            &state,
            e.status(),
            &form.username,
            &next,
            Some(e.to_string()),
        ),
        Err(e) => HtmlError(e).into_response(),
    }
}

async fn signout(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
) -> PageResult {
    auth::sign_out(&state.db, &principal, &address.0).await?;
    let mut response = see_other("/signin");
    if let Ok(v) = cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies()).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

// ---- Dashboard -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    org: org::Summary,
    users: i64,
    sessions: i64,
    audit_today: i64,
    jobs_queued: i64,
    jobs_failed: i64,
    is_admin: bool,
    panels: Vec<super::dashboard::Panel>,
}

async fn dashboard(State(state): State<AppState>, principal: Principal) -> PageResult {
    let db = &state.db;
    let today = crate::time::now().format("%Y-%m-%d").to_string();
    let job_counts = jobs::counts(db).await?;
    let jobs_in = |status: &str| {
        job_counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let mut panels = Vec::new();
    for source in state.panels.iter() {
        if source.roles.is_empty() || principal.has_any(source.roles) {
            panels.push((source.build)(db.clone()).await?);
        }
    }
    let page = DashboardPage {
        panels,
        org: org::summary(db).await?,
        users: users::count(db).await?,
        sessions: auth::active_sessions(db).await?,
        audit_today: audit::count_since(db, &today).await?,
        jobs_queued: jobs_in("queued"),
        jobs_failed: jobs_in("failed"),
        is_admin: principal.has_any(ADMIN),
        layout: Layout::new(&state, &principal, "Dashboard", "/"),
    };
    Ok(render(&page))
}

// ---- Own password --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    error: Option<String>,
}

async fn password_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> PageResult {
    let layout =
        Layout::new(&state, &principal, "Change password", "").with_notice(q.notice.as_deref());
    Ok(render(&PasswordPage {
        layout,
        error: None,
    }))
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    FormBody(form): FormBody<PasswordForm>,
) -> PageResult {
    let result = async {
        let row = users::find(&state.db, &principal.username).await?;
        let hash = users::password_hash(&state.db, row.id).await?;
        if !users::verify_password(&hash, &form.current) {
            return Err(Error::invalid("current", "is not your current password"));
        }
        if form.new != form.confirm {
            return Err(Error::invalid("confirm", "does not match the new password"));
        }
        users::set_password(
            &state.db,
            actor(&principal, &address),
            &principal.username,
            &form.new,
        )
        .await
    }
    .await;
    match result {
        // Changing the password ends every session, this one included.
        Ok(_) => Ok(see_other("/signin")),
        Err(e @ Error::Invalid { .. }) => {
            let layout = Layout::new(&state, &principal, "Change password", "");
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&PasswordPage {
                    layout,
                    error: Some(e.to_string()),
                }),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Organisation --------------------------------------------------------------------------

/// A rejected form shown again with its error.
fn rejected(page: Response) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

#[derive(Template)]
#[template(path = "facilities.html")]
struct FacilitiesPage {
    layout: Layout,
    facilities: Vec<org::Facility>,
    /// The facility being edited, if any.
    editing: Option<i64>,
    form: FacilityInput,
    error: Option<String>,
    can_edit: bool,
}

async fn facilities_page(
    state: &AppState,
    principal: &Principal,
    editing: Option<i64>,
    form: FacilityInput,
    error: Option<String>,
    notice: Option<&str>,
) -> PageResult {
    let title = if editing.is_some() {
        "Edit facility"
    } else {
        "Facilities"
    };
    Ok(render(&FacilitiesPage {
        layout: Layout::new(state, principal, title, "/facilities").with_notice(notice),
        facilities: org::facilities(&state.db).await?,
        editing,
        form,
        error,
        can_edit: principal.has_any(ADMIN),
    }))
}

async fn facilities(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> PageResult {
    facilities_page(
        &state,
        &principal,
        None,
        FacilityInput::default(),
        None,
        q.notice.as_deref(),
    )
    .await
}

async fn facility(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> PageResult {
    let f = org::facility(&state.db, id).await?;
    let form = FacilityInput {
        name: f.name,
        ccn: f.ccn,
        city: f.city,
        state: f.state,
    };
    facilities_page(&state, &principal, Some(id), form, None, None).await
}

async fn save_facility(
    state: AppState,
    principal: Principal,
    address: ClientAddress,
    id: Option<i64>,
    form: FacilityInput,
) -> PageResult {
    match org::save_facility(&state.db, actor(&principal, &address), id, &form).await {
        Ok(_) => Ok(see_other(if id.is_some() {
            "/facilities?notice=saved"
        } else {
            "/facilities?notice=created"
        })),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => Ok(rejected(
            facilities_page(&state, &principal, id, form, Some(e.to_string()), None).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn create_facility(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    FormBody(form): FormBody<FacilityInput>,
) -> PageResult {
    save_facility(state, principal, address, None, form).await
}

async fn update_facility(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
    FormBody(form): FormBody<FacilityInput>,
) -> PageResult {
    save_facility(state, principal, address, Some(id), form).await
}

/// Department and unit forms arrive as text; numbers are parsed here so that a bad value is
/// named rather than rejected as a malformed body.
#[derive(Deserialize, Default, Clone)]
struct DepartmentForm {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    service_line: String,
}

fn parse_id(field: &str, value: &str) -> Result<i64, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::invalid(field, "choose one"))
}

impl DepartmentForm {
    fn input(&self) -> Result<DepartmentInput, Error> {
        Ok(DepartmentInput {
            facility_id: parse_id("facility_id", &self.facility_id)?,
            name: self.name.clone(),
            service_line: self.service_line.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "departments.html")]
struct DepartmentsPage {
    layout: Layout,
    departments: Vec<org::Department>,
    facilities: Vec<org::Facility>,
    editing: Option<i64>,
    form: DepartmentForm,
    error: Option<String>,
    can_edit: bool,
}

async fn departments_page(
    state: &AppState,
    principal: &Principal,
    editing: Option<i64>,
    form: DepartmentForm,
    error: Option<String>,
    notice: Option<&str>,
) -> PageResult {
    let title = if editing.is_some() {
        "Edit department"
    } else {
        "Departments"
    };
    Ok(render(&DepartmentsPage {
        layout: Layout::new(state, principal, title, "/departments").with_notice(notice),
        departments: org::departments(&state.db).await?,
        facilities: org::facilities(&state.db).await?,
        editing,
        form,
        error,
        can_edit: principal.has_any(ADMIN),
    }))
}

async fn departments(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> PageResult {
    departments_page(
        &state,
        &principal,
        None,
        DepartmentForm::default(),
        None,
        q.notice.as_deref(),
    )
    .await
}

async fn department(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> PageResult {
    let d = org::department(&state.db, id).await?;
    let form = DepartmentForm {
        facility_id: d.facility_id.to_string(),
        name: d.name,
        service_line: d.service_line,
    };
    departments_page(&state, &principal, Some(id), form, None, None).await
}

async fn save_department(
    state: AppState,
    principal: Principal,
    address: ClientAddress,
    id: Option<i64>,
    form: DepartmentForm,
) -> PageResult {
    let saved = match form.input() {
        Ok(input) => org::save_department(&state.db, actor(&principal, &address), id, &input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(see_other(if id.is_some() {
            "/departments?notice=saved"
        } else {
            "/departments?notice=created"
        })),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => Ok(rejected(
            departments_page(&state, &principal, id, form, Some(e.to_string()), None).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn create_department(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    FormBody(form): FormBody<DepartmentForm>,
) -> PageResult {
    save_department(state, principal, address, None, form).await
}

async fn update_department(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
    FormBody(form): FormBody<DepartmentForm>,
) -> PageResult {
    save_department(state, principal, address, Some(id), form).await
}

#[derive(Deserialize, Default, Clone)]
struct UnitForm {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    beds: String,
}

impl UnitForm {
    fn input(&self) -> Result<UnitInput, Error> {
        let department_id = match self.department_id.trim() {
            "" => None,
            d => Some(parse_id("department_id", d)?),
        };
        let beds = self.beds.trim().parse().map_err(|_| {
            Error::invalid(
                "beds",
                format!("'{}' is not a whole number", self.beds.trim()),
            )
        })?;
        Ok(UnitInput {
            facility_id: parse_id("facility_id", &self.facility_id)?,
            department_id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            beds,
        })
    }
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage {
    layout: Layout,
    units: Vec<org::Unit>,
    facilities: Vec<org::Facility>,
    departments: Vec<org::Department>,
    kinds: &'static [(&'static str, &'static str)],
    editing: Option<i64>,
    form: UnitForm,
    error: Option<String>,
    can_edit: bool,
}

async fn units_page(
    state: &AppState,
    principal: &Principal,
    editing: Option<i64>,
    form: UnitForm,
    error: Option<String>,
    notice: Option<&str>,
) -> PageResult {
    let title = if editing.is_some() {
        "Edit unit"
    } else {
        "Units"
    };
    Ok(render(&UnitsPage {
        layout: Layout::new(state, principal, title, "/units").with_notice(notice),
        units: org::units(&state.db).await?,
        facilities: org::facilities(&state.db).await?,
        departments: org::departments(&state.db).await?,
        kinds: org::UNIT_KINDS,
        editing,
        form,
        error,
        can_edit: principal.has_any(ADMIN),
    }))
}

async fn units(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> PageResult {
    units_page(
        &state,
        &principal,
        None,
        UnitForm::default(),
        None,
        q.notice.as_deref(),
    )
    .await
}

async fn unit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> PageResult {
    let u = org::unit(&state.db, id).await?;
    let form = UnitForm {
        facility_id: u.facility_id.to_string(),
        department_id: u.department_id.map(|d| d.to_string()).unwrap_or_default(),
        name: u.name,
        kind: u.kind,
        beds: u.beds.to_string(),
    };
    units_page(&state, &principal, Some(id), form, None, None).await
}

async fn save_unit(
    state: AppState,
    principal: Principal,
    address: ClientAddress,
    id: Option<i64>,
    form: UnitForm,
) -> PageResult {
    let saved = match form.input() {
        Ok(input) => org::save_unit(&state.db, actor(&principal, &address), id, &input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(see_other(if id.is_some() {
            "/units?notice=saved"
        } else {
            "/units?notice=created"
        })),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => Ok(rejected(
            units_page(&state, &principal, id, form, Some(e.to_string()), None).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn create_unit(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    FormBody(form): FormBody<UnitForm>,
) -> PageResult {
    save_unit(state, principal, address, None, form).await
}

async fn update_unit(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
    FormBody(form): FormBody<UnitForm>,
) -> PageResult {
    save_unit(state, principal, address, Some(id), form).await
}

// ---- Users ---------------------------------------------------------------------------------

pub struct RoleChoice {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

fn role_choices(held: &[Role]) -> Vec<RoleChoice> {
    Role::ALL
        .iter()
        .map(|r| RoleChoice {
            name: r.as_str(),
            description: r.description(),
            checked: held.contains(r),
        })
        .collect()
}

/// Role checkboxes arrive as repeated `role` fields, which `serde_urlencoded` cannot put in a
/// `Vec`; they are read from the raw pairs.
fn roles_from_pairs(pairs: &[(String, String)]) -> Result<Vec<Role>, Error> {
    pairs
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| Role::parse(v))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<users::User>,
    roles: Vec<RoleChoice>,
    username: String,
    display_name: String,
    error: Option<String>,
    /// A generated first password, shown once.
    created: Option<(String, String)>,
}

async fn users_page_with(
    state: &AppState,
    principal: &Principal,
    form: (&str, &str, &[Role]),
    error: Option<String>,
    created: Option<(String, String)>,
) -> PageResult {
    Ok(render(&UsersPage {
        layout: Layout::new(state, principal, "Users", "/admin/users"),
        users: users::list(&state.db).await?,
        roles: role_choices(form.2),
        username: form.0.to_string(),
        display_name: form.1.to_string(),
        error,
        created,
    }))
}

async fn users_page(State(state): State<AppState>, principal: Principal) -> PageResult {
    users_page_with(&state, &principal, ("", "", &[]), None, None).await
}

async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> PageResult {
    let username = field(&pairs, "username").trim().to_string();
    let display_name = field(&pairs, "display_name").to_string();
    let given = field(&pairs, "password");
    let password = if given.is_empty() {
        users::random_password()
    } else {
        given.to_string()
    };
    let roles = roles_from_pairs(&pairs);
    let result = match &roles {
        Ok(roles) => {
            users::create(
                &state.db,
                actor(&principal, &address),
                &username,
                &display_name,
                &password,
                roles,
            )
            .await
        }
        Err(e) => Err(Error::invalid("role", e.to_string())),
    };
    match result {
        Ok(user) => {
            let shown = given.is_empty().then(|| (user.username.clone(), password));
            users_page_with(&state, &principal, ("", "", &[]), None, shown).await
        }
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            let roles = roles.unwrap_or_default();
            Ok(rejected(
                users_page_with(
                    &state,
                    &principal,
                    (&username, &display_name, &roles),
                    Some(e.to_string()),
                    None,
                )
                .await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    user: users::User,
    roles: Vec<RoleChoice>,
    error: Option<String>,
    new_password: Option<String>,
}

async fn user_page_with(
    state: &AppState,
    principal: &Principal,
    username: &str,
    error: Option<String>,
    new_password: Option<String>,
    notice: Option<&str>,
) -> PageResult {
    let user = users::find(&state.db, username).await?;
    let title = format!("User {}", user.username);
    Ok(render(&UserPage {
        layout: Layout::new(state, principal, &title, "/admin/users").with_notice(notice),
        roles: role_choices(&user.roles),
        user,
        error,
        new_password,
    }))
}

async fn user_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(username): Path<String>,
    Query(q): Query<Notice>,
) -> PageResult {
    user_page_with(
        &state,
        &principal,
        &username,
        None,
        None,
        q.notice.as_deref(),
    )
    .await
}

async fn set_user_roles(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(username): Path<String>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> PageResult {
    let result = match roles_from_pairs(&pairs) {
        Ok(roles) => {
            users::set_roles(&state.db, actor(&principal, &address), &username, &roles).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/admin/users/{}?notice=saved",
            super::access::encode_query(&username)
        ))),
        Err(e @ Error::Invalid { .. }) => Ok(rejected(
            user_page_with(
                &state,
                &principal,
                &username,
                Some(e.to_string()),
                None,
                None,
            )
            .await?,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn reset_user_password(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(username): Path<String>,
) -> PageResult {
    let password = users::random_password();
    users::set_password(&state.db, actor(&principal, &address), &username, &password).await?;
    user_page_with(&state, &principal, &username, None, Some(password), None).await
}

async fn disable_user(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(username): Path<String>,
) -> PageResult {
    if username == principal.username {
        return Ok(rejected(
            user_page_with(
                &state,
                &principal,
                &username,
                Some("you cannot disable your own account".into()),
                None,
                None,
            )
            .await?,
        ));
    }
    users::set_disabled(&state.db, actor(&principal, &address), &username, true).await?;
    Ok(see_other(&format!(
        "/admin/users/{}?notice=disabled",
        super::access::encode_query(&username)
    )))
}

async fn enable_user(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(username): Path<String>,
) -> PageResult {
    users::set_disabled(&state.db, actor(&principal, &address), &username, false).await?;
    Ok(see_other(&format!(
        "/admin/users/{}?notice=enabled",
        super::access::encode_query(&username)
    )))
}

// ---- Jobs ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    layout: Layout,
    jobs: Vec<jobs::Job>,
    schedules: Vec<jobs::ScheduleInfo>,
}

async fn jobs_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<Notice>,
) -> PageResult {
    Ok(render(&JobsPage {
        layout: Layout::new(&state, &principal, "Jobs", "/admin/jobs")
            .with_notice(q.notice.as_deref()),
        jobs: jobs::recent(&state.db, 200).await?,
        schedules: jobs::schedules(&state.db).await?,
    }))
}

async fn retry_job(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    Path(id): Path<i64>,
) -> PageResult {
    jobs::retry(&state.db, actor(&principal, &address), id).await?;
    Ok(see_other("/admin/jobs?notice=retried"))
}

// ---- Audit ---------------------------------------------------------------------------------

pub const AUDIT_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    filter: audit::Search,
    entries: Vec<audit::Entry>,
    error: Option<String>,
    older: Option<String>,
}

/// The results table alone, for an htmx search.
#[derive(Template)]
#[template(path = "audit_results.html")]
struct AuditResults {
    entries: Vec<audit::Entry>,
    error: Option<String>,
    older: Option<String>,
}

/// Searching the audit log is itself audited: it is a read of who saw what.
pub async fn audited_search(
    state: &AppState,
    principal: &Principal,
    address: &str,
    filter: &audit::Search,
) -> crate::Result<Vec<audit::Entry>> {
    let entries = audit::search(&state.db, filter, AUDIT_PAGE).await?;
    let detail = format!(
        "actor={} action={} record={}/{} from={} to={}",
        filter.actor.as_deref().unwrap_or(""),
        filter.action.as_deref().unwrap_or(""),
        filter.record_type.as_deref().unwrap_or(""),
        filter.record_id.as_deref().unwrap_or(""),
        filter.from.as_deref().unwrap_or(""),
        filter.to.as_deref().unwrap_or(""),
    );
    audit::record(
        &state.db,
        &Event {
            actor: &principal.username,
            address,
            action: "audit.search",
            record_type: "audit_log",
            record_id: "",
            outcome: "success",
            detail: &detail,
        },
    )
    .await?;
    Ok(entries)
}

async fn audit_page(
    State(state): State<AppState>,
    principal: Principal,
    address: ClientAddress,
    headers: HeaderMap,
    Query(filter): Query<audit::Search>,
) -> PageResult {
    let (entries, error) = match audited_search(&state, &principal, &address.0, &filter).await {
        Ok(entries) => (entries, None),
        Err(e @ Error::Invalid { .. }) => (Vec::new(), Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let older = (entries.len() as i64 == AUDIT_PAGE).then(|| {
        let last = entries.last().map_or(0, |e| e.seq);
        let mut query: Vec<(&str, &str)> = Vec::new();
        for (k, v) in [
            ("actor", &filter.actor),
            ("action", &filter.action),
            ("record_type", &filter.record_type),
            ("record_id", &filter.record_id),
            ("from", &filter.from),
            ("to", &filter.to),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                query.push((k, v));
            }
        }
        let before = last.to_string();
        query.push(("before", &before));
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("/audit?{encoded}")
    });
    if headers.contains_key("hx-request") {
        return Ok(render(&AuditResults {
            entries,
            error,
            older,
        }));
    }
    Ok(render(&AuditPage {
        layout: Layout::new(&state, &principal, "Audit log", "/audit"),
        filter,
        entries,
        error,
        older,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/units?notice=saved")),
            "/units?notice=saved"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn role_checkboxes_name_unknown_roles() {
        let pairs = vec![
            ("role".to_string(), "cmo".to_string()),
            ("role".to_string(), "auditor".to_string()),
            ("x".into(), "y".into()),
        ];
        assert_eq!(
            roles_from_pairs(&pairs).unwrap(),
            vec![Role::Cmo, Role::Auditor]
        );
        let bad = vec![("role".to_string(), "root".to_string())];
        assert!(roles_from_pairs(&bad).is_err());
    }
}
