//! Who may use which route. Every route is added through `Routes::add` with an `Access`
//! declaration, which both guards the route and records it in the route table (a test walks that
//! table checking each route refuses a user without the role). The guard resolves the principal
//! from the session cookie or an `Authorization: Bearer` token, refuses and audits what is not
//! allowed, and checks the CSRF token of every state-changing request made with a session cookie.

use super::AppState;
use super::respond::{HtmlError, JsonError};
use crate::audit::{self, Event};
use crate::auth::{self, Via};
use crate::error::Error;
use crate::roles::Role;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodFilter, on};
use std::net::SocketAddr;

pub use crate::auth::Principal;

pub const SESSION_COOKIE: &str = "rounds_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in page, health checks, assets).
    Public,
    /// Any signed-in user.
    Authenticated,
    /// A signed-in user holding at least one of these roles.
    Roles(&'static [Role]),
}

/// One row of the route table.
#[derive(Clone, Debug)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Builds the router and the route table together, so no route escapes its declaration.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
    state: AppState,
}

impl Routes {
    pub fn new(state: AppState) -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
            state,
        }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn table(&self) -> &[RouteInfo] {
        &self.table
    }

    pub fn add<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("routes use standard methods");
        let guard = middleware::from_fn_with_state(
            self.state.clone(),
            move |state: State<AppState>, req: Request, next: Next| guard(access, state, req, next),
        );
        self.router = self
            .router
            .route(path, on(filter, handler).route_layer(guard));
        self.table.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::GET, path, access, handler)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::POST, path, access, handler)
    }

    /// A POST of uploaded files (multipart): the body may be as large as `max_upload_bytes`, and
    /// the form carries its CSRF token in the query string (`?_csrf=`), since a multipart body is
    /// not read before the handler streams it.
    pub fn post_upload<H: Handler<T, AppState>, T: 'static>(
        mut self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        let limit = self.state.config.max_upload_bytes;
        let guard = middleware::from_fn_with_state(
            self.state.clone(),
            move |state: State<AppState>, req: Request, next: Next| guard(access, state, req, next),
        );
        let route = on(MethodFilter::POST, handler)
            .route_layer(guard)
            .layer(axum::extract::DefaultBodyLimit::max(limit));
        self.router = self.router.route(path, route);
        self.table.push(RouteInfo {
            method: Method::POST,
            path,
            access,
        });
        self
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Routes {
        self.add(Method::PUT, path, access, handler)
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// The client's address: the socket peer, or behind a reverse proxy (`behind_proxy`) the
/// address the proxy appended last to `X-Forwarded-For`.
#[derive(Clone, Debug)]
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(address_of(parts, state.config.behind_proxy)))
    }
}

fn address_of(parts: &Parts, behind_proxy: bool) -> String {
    let forwarded = behind_proxy
        .then(|| {
            parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        })
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|a| a.parse::<std::net::IpAddr>().is_ok());
    match forwarded {
        Some(address) => address.to_string(),
        None => parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string()),
    }
}

/// The signed-in user, for handlers behind `Authenticated` or `Roles`.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(Error::Unauthenticated)
    }
}

/// The signed-in user if there is one, for public routes that change with it.
#[derive(Clone, Debug)]
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybePrincipal(parts.extensions.get::<Principal>().cloned()))
    }
}

pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Renders an error as the route's kind of response: JSON under `/api/`, a page elsewhere.
pub fn error_response(path: &str, error: Error) -> Response {
    if is_api(path) {
        JsonError(error).into_response()
    } else {
        HtmlError(error).into_response()
    }
}

pub fn cookie_value<'a>(parts: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    parts
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn resolve(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> crate::Result<Option<Principal>> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = value.strip_prefix("Bearer ").map(str::trim).unwrap_or("");
        return auth::bearer(&state.db, token).await;
    }
    match cookie_value(headers, SESSION_COOKIE) {
        Some(token) => auth::session(&state.db, &state.config, token).await,
        None => Ok(None),
    }
}

async fn guard(
    access: Access,
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let (mut parts, body) = req.into_parts();
    let principal = match resolve(&state, &parts.headers).await {
        Ok(p) => p,
        Err(e) => return error_response(&path, e),
    };
    let address = address_of(&parts, state.config.behind_proxy);
    let principal = match (access, principal) {
        (Access::Public, p) => p,
        (_, None) => {
            if !is_api(&path) && parts.method == Method::GET {
                let target = parts
                    .uri
                    .path_and_query()
                    .map(|pq| pq.as_str())
                    .unwrap_or("/");
                return Redirect::to(&format!("/signin?next={}", encode_query(target)))
                    .into_response();
            }
            return error_response(&path, Error::Unauthenticated);
        }
        (Access::Roles(allowed), Some(p)) if !p.has_any(allowed) => {
            let route = format!("{} {path}", parts.method);
            let detail = format!("needs one of: {}", Role::join(allowed));
            let recorded = audit::record(
                &state.db,
                &Event {
                    actor: &p.username,
                    address: &address,
                    action: "access.denied",
                    record_type: "route",
                    record_id: &route,
                    outcome: "denied",
                    detail: &detail,
                },
            )
            .await;
            if let Err(e) = recorded {
                return error_response(&path, e);
            }
            return error_response(&path, Error::Forbidden);
        }
        (_, Some(p)) => Some(p),
    };

    let mut body = body;
    let changes_state = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(p) = &principal {
        // Public routes (the sign-in form) protect themselves; the others need the session's token.
        if changes_state
            && access != Access::Public
            && let Via::Session { csrf, .. } = &p.via
        {
            match check_csrf(&parts, body, csrf, state.config.max_body_bytes).await {
                Ok(b) => body = b,
                Err(e) => {
                    let route = format!("{} {path}", parts.method);
                    let event = Event {
                        actor: &p.username,
                        address: &address,
                        action: "csrf.rejected",
                        record_type: "route",
                        record_id: &route,
                        outcome: "denied",
                        detail: "",
                    };
                    if let Err(audit_error) = audit::record(&state.db, &event).await {
                        return error_response(&path, audit_error);
                    }
                    return error_response(&path, e);
                }
            }
        }
        parts.extensions.insert(p.clone());
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Accepts the token from the `X-CSRF-Token` header (htmx and API clients), the `_csrf` query
/// parameter (multipart uploads) or the `_csrf` field of a form body; returns the body for the
/// handler.
async fn check_csrf(
    parts: &Parts,
    body: Body,
    expected: &str,
    limit: usize,
) -> Result<Body, Error> {
    let in_query = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned())
    });
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(sent) = sent.or(in_query) {
        return if auth::same_secret(&sent, expected) {
            Ok(body)
        } else {
            Err(Error::Csrf)
        };
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Error::Csrf);
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Error::TooLarge)?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(sent) if auth::same_secret(&sent, expected) => Ok(Body::from(bytes)),
        _ => Err(Error::Csrf),
    }
}

pub fn encode_query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
