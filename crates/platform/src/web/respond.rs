//! Errors as responses: one JSON shape for the API (`{"error": {"code", "message"}}`) and an
//! error page for the browser. Internal failures are logged (with the request's span, so with its
//! id) and described to the client only in general terms.

use crate::error::Error;
use askama::Template;
use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

/// An error from an API handler.
#[derive(Debug)]
pub struct JsonError(pub Error);

/// An error from a page handler.
#[derive(Debug)]
pub struct HtmlError(pub Error);

impl<E: Into<Error>> From<E> for JsonError {
    fn from(e: E) -> Self {
        JsonError(e.into())
    }
}

impl<E: Into<Error>> From<E> for HtmlError {
    fn from(e: E) -> Self {
        HtmlError(e.into())
    }
}

fn log(error: &Error) {
    if error.status() == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %error, "request failed");
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        JsonError(self).into_response()
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        log(&self.0);
        let body = serde_json::json!({"error": {"code": self.0.code(), "message": self.0.public_message()}});
        (self.0.status(), Json(body)).into_response()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: super::layout::Layout,
    status: u16,
    reason: &'static str,
    message: String,
    sign_in: bool,
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        log(&self.0);
        let status = self.0.status();
        let page = ErrorPage {
            layout: super::layout::Layout::bare(status.canonical_reason().unwrap_or("Error")),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            message: self.0.public_message(),
            sign_in: matches!(self.0, Error::Unauthenticated | Error::Csrf),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.0.public_message()).into_response(),
        }
    }
}

/// The fallback for paths no route matches.
pub async fn not_found(uri: Uri) -> Response {
    super::access::error_response(
        uri.path(),
        Error::not_found(format!("the page {}", uri.path())),
    )
}
