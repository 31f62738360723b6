//! The web shell: the axum application every module's pages and API live in. This file owns the
//! application state, the assembly of routes and middleware (request ids, tracing, body limit,
//! security headers, metrics) and serving with graceful shutdown. Access control is in
//! `access`, error responses in `respond`, the platform's own pages and API in `pages` and `api`.

pub mod access;
pub mod api;
mod assets;
pub mod dashboard;
pub mod forms;
pub mod layout;
pub mod metrics;
pub mod pages;
pub mod respond;

use crate::config::Config;
use crate::db::Db;
use crate::error::Result;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use access::{Access, Principal, RouteInfo, Routes};
pub use layout::NavItem;
pub use respond::{HtmlError, JsonError};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: Arc<metrics::Metrics>,
    pub nav: Arc<Vec<NavItem>>,
    /// The migrations this server expects applied (for `/readyz`).
    pub migrations: Arc<Vec<&'static [crate::migrate::Migration]>>,
    /// The OpenAPI document: the platform's, with each module's merged in.
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    /// The modules' panels on the home dashboard.
    pub panels: Arc<Vec<dashboard::PanelSource>>,
    pub started: Instant,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::default()),
            nav: Arc::new(layout::platform_nav()),
            migrations: Arc::new(vec![crate::migrate::PLATFORM]),
            openapi: Arc::new(<api::ApiDoc as utoipa::OpenApi>::openapi()),
            panels: Arc::new(Vec::new()),
            started: Instant::now(),
        }
    }

    /// Adds a module: its navigation entries and its API document.
    pub fn with_module(mut self, nav: Vec<NavItem>, openapi: utoipa::openapi::OpenApi) -> AppState {
        Arc::make_mut(&mut self.nav).extend(nav);
        Arc::make_mut(&mut self.openapi).merge(openapi);
        self
    }

    /// Adds a module's panel to the home dashboard.
    pub fn with_panel(mut self, panel: dashboard::PanelSource) -> AppState {
        Arc::make_mut(&mut self.panels).push(panel);
        self
    }

    /// Every migration the application applies (the platform's and its modules'), for `/readyz`.
    pub fn with_migrations(
        mut self,
        migrations: &[&'static [crate::migrate::Migration]],
    ) -> AppState {
        self.migrations = Arc::new(migrations.to_vec());
        self
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The platform's routes: operations, assets, sign-in, dashboard, organisation, administration,
/// audit search, and the JSON API with its OpenAPI document.
pub fn platform_routes(state: &AppState) -> Routes {
    let routes = Routes::new(state.clone());
    let routes = assets::routes(routes);
    let routes = pages::routes(routes);
    api::routes(routes)
}

/// Wraps the routes in the middleware every request passes through.
pub fn app(routes: Routes) -> Router {
    let state = routes.state().clone();
    let limit = state.config.max_body_bytes;
    routes
        .into_router()
        .fallback(respond::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(limit))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // The path only: query strings may carry search terms.
            tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Opens the configured database, applies migrations and, on an empty database, creates the
/// first `admin` account; returns the database and that account's password (to be shown once).
pub async fn prepare(
    config: &Config,
    migrations: &[&'static [crate::migrate::Migration]],
) -> Result<(Db, Option<String>)> {
    let db = Db::connect(&config.database()?).await?;
    let applied = crate::migrate::run(&db, migrations).await?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    let password = crate::users::ensure_first_admin(&db).await?;
    Ok((db, password))
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
