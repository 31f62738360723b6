//! Static files compiled into the binary: htmx (vendored, 0BSD licence) and the stylesheet. No CDN
//! and no JavaScript build step.

use super::access::{Access, Routes};
use axum::http::header;
use axum::response::IntoResponse;

const HTMX: &str = include_str!("../../assets/htmx.min.js");
const CSS: &str = include_str!("../../assets/rounds.css");

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/assets/htmx.min.js", Access::Public, async || {
            asset("text/javascript; charset=utf-8", HTMX)
        })
        .get("/assets/rounds.css", Access::Public, async || {
            asset("text/css; charset=utf-8", CSS)
        })
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
