//! The one error type of the pharma crate.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PharmaError {
    /// A file that cannot be used as it is; `line` is 1-based (the header is line 1), 0 when the
    /// problem is the file as a whole.
    #[error("{file}:{line}: {reason}")]
    BadInput {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

impl PharmaError {
    pub fn bad(file: impl Into<String>, line: usize, reason: impl Into<String>) -> PharmaError {
        PharmaError::BadInput {
            file: file.into(),
            line,
            reason: reason.into(),
        }
    }
}
