//! Request bodies with errors in Rounds' own shapes: `JsonBody` for the API (malformed JSON, a
//! wrong type or an oversized body become the JSON error), `FormBody` for pages.

use super::respond::{HtmlError, JsonError};
use crate::error::Error;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);
pub struct FormBody<T>(pub T);

fn body_error(status: StatusCode, text: String) -> Error {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge
    } else {
        Error::invalid("body", text)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = JsonError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => {
                let r: JsonRejection = rejection;
                Err(JsonError(body_error(r.status(), r.body_text())))
            }
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = HtmlError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(FormBody(value)),
            Err(rejection) => {
                let r: FormRejection = rejection;
                Err(HtmlError(body_error(r.status(), r.body_text())))
            }
        }
    }
}
