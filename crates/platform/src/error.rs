//! The one error type of the platform crate, and how errors become HTTP responses: JSON of one
//! shape for the API, an HTML page for the browser (see `web::respond`).

use axum::http::StatusCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Migration(String),
    #[error("{0}")]
    Config(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error("sign in required")]
    Unauthenticated,
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("too many failed sign-ins; try again after {until}")]
    Locked { until: String },
    #[error("you do not have a role that may do this")]
    Forbidden,
    #[error("the form has expired or did not come from Rounds; reload the page and try again")]
    Csrf,
    #[error("request body too large")]
    TooLarge,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    /// A stable machine-readable code for the JSON error shape.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Database(_) | Error::Io(_) | Error::Internal(_) => "internal",
            Error::Migration(_) => "migration",
            Error::Config(_) => "config",
            Error::NotFound { .. } => "not_found",
            Error::Invalid { .. } => "invalid",
            Error::Conflict(_) => "conflict",
            Error::Unauthenticated => "unauthenticated",
            Error::BadCredentials => "bad_credentials",
            Error::Locked { .. } => "locked",
            Error::Forbidden => "forbidden",
            Error::Csrf => "csrf",
            Error::TooLarge => "too_large",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Database(_)
            | Error::Io(_)
            | Error::Internal(_)
            | Error::Migration(_)
            | Error::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unauthenticated | Error::BadCredentials => StatusCode::UNAUTHORIZED,
            Error::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Forbidden | Error::Csrf => StatusCode::FORBIDDEN,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// The message shown to a user. Internal failures are not described to the client (they are
    /// logged with the request id instead), so no SQL or file paths leak.
    pub fn public_message(&self) -> String {
        match self.status() {
            StatusCode::INTERNAL_SERVER_ERROR => {
                "something went wrong on the server; the error has been logged".to_string()
            }
            _ => self.to_string(),
        }
    }

    /// Turns a unique-constraint violation into a conflict naming what clashed.
    pub fn unique_violation(self, what: &str) -> Self {
        if let Error::Database(sqlx::Error::Database(db)) = &self {
            if db.is_unique_violation() {
                return Error::Conflict(format!("{what} already exists"));
            }
            if db.is_foreign_key_violation() {
                return Error::Conflict(format!("{what} refers to a record that does not exist"));
            }
        }
        self
    }
}
