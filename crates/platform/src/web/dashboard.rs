//! What modules put on the home dashboard: a panel of figures each, built from the database when
//! the page is shown, for the roles that may see the module. Figures are aggregates, never
//! patient-level rows.

use crate::db::Db;
use crate::error::Result;
use crate::roles::Role;
use std::future::Future;
use std::pin::Pin;

/// One figure: a label, its value, and where to read more.
#[derive(Clone, Debug)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
}

impl Figure {
    pub fn new(label: &str, value: impl ToString, href: Option<&str>) -> Figure {
        Figure {
            label: label.to_string(),
            value: value.to_string(),
            href: href.map(str::to_string),
        }
    }
}

/// A module's section of the dashboard.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub figures: Vec<Figure>,
}

type Build = fn(Db) -> Pin<Box<dyn Future<Output = Result<Panel>> + Send>>;

/// A panel and who sees it (empty: every signed-in user).
#[derive(Clone)]
pub struct PanelSource {
    pub roles: &'static [Role],
    pub build: Build,
}
