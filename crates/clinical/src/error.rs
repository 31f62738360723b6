//! The one error type of the clinical crate.

use crate::import::{Problem, Summary};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Platform(#[from] platform::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A file that cannot be opened or read at all (not a bad record inside one).
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    /// The input was refused; nothing was written. The summary counts what was read.
    #[error("{}", rejected_message(.problems, .summary))]
    Rejected {
        summary: Box<Summary>,
        problems: Vec<Problem>,
    },
    #[error("{0}")]
    Invalid(String),
}

fn rejected_message(problems: &[Problem], summary: &Summary) -> String {
    let mut text = format!(
        "import refused, nothing was written: {} bad record{}",
        summary.rejected_total(),
        if summary.rejected_total() == 1 {
            ""
        } else {
            "s"
        }
    );
    for p in problems {
        text.push('\n');
        text.push_str(&p.to_string());
    }
    if summary.rejected_total() > problems.len() as u64 {
        text.push_str(&format!(
            "\n… and {} more",
            summary.rejected_total() - problems.len() as u64
        ));
    }
    text
}
