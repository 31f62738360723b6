//! What every page shares: the title, the signed-in user, the CSRF token for forms and htmx, and
//! the navigation. A module's navigation entry is listed only for users whose roles may open it.

use super::AppState;
use crate::auth::Principal;
use crate::roles::Role;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};

/// A navigation entry. `roles` empty means any signed-in user.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub roles: &'static [Role],
}

pub const ADMIN: &[Role] = &[Role::Admin];
pub const AUDIT_READERS: &[Role] = &[Role::Auditor, Role::Compliance];

pub fn platform_nav() -> Vec<NavItem> {
    vec![
        NavItem {
            label: "Dashboard",
            href: "/",
            roles: &[],
        },
        NavItem {
            label: "Facilities",
            href: "/facilities",
            roles: &[],
        },
        NavItem {
            label: "Departments",
            href: "/departments",
            roles: &[],
        },
        NavItem {
            label: "Units",
            href: "/units",
            roles: &[],
        },
        NavItem {
            label: "Users",
            href: "/admin/users",
            roles: ADMIN,
        },
        NavItem {
            label: "Jobs",
            href: "/admin/jobs",
            roles: ADMIN,
        },
        NavItem {
            label: "Audit log",
            href: "/audit",
            roles: AUDIT_READERS,
        },
    ]
}

pub struct NavLink {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub roles: String,
    pub csrf: String,
    pub nav: Vec<NavLink>,
    /// A confirmation shown once after a change (from `?notice=`).
    pub notice: Option<String>,
}

impl Layout {
    /// The layout of a signed-in page; `current` is the path of its navigation entry.
    pub fn new(state: &AppState, principal: &Principal, title: &str, current: &str) -> Layout {
        let nav = state
            .nav
            .iter()
            .filter(|item| item.roles.is_empty() || principal.has_any(item.roles))
            .map(|item| NavLink {
                label: item.label,
                href: item.href,
                current: item.href == current,
            })
            .collect();
        Layout {
            title: title.to_string(),
            user: Some(if principal.display_name.is_empty() {
                principal.username.clone()
            } else {
                principal.display_name.clone()
            }),
            roles: Role::join(&principal.roles).replace(',', ", "),
            csrf: principal.csrf().to_string(),
            nav,
            notice: None,
        }
    }

    /// The layout of a page shown without a session (sign-in, errors).
    pub fn bare(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            roles: String::new(),
            csrf: String::new(),
            nav: Vec::new(),
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<&str>) -> Layout {
        self.notice = notice.and_then(notice_text).map(str::to_string);
        self
    }

    /// The htmx header carrying the CSRF token, as JSON for `hx-headers`.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ super::access::CSRF_HEADER: self.csrf }).to_string()
    }
}

/// The `?notice=` query parameter a page shows once after a change (`Layout::with_notice`).
#[derive(serde::Deserialize, Default)]
pub struct Notice {
    pub notice: Option<String>,
}

/// Notices come from a fixed list, so a crafted link cannot put text on the page.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "created" => "Created.",
        "saved" => "Saved.",
        "password" => "Password changed.",
        "disabled" => "Account disabled; its sessions ended and its API tokens were revoked.",
        "enabled" => "Account enabled.",
        "retried" => "The job is queued again.",
        "queued" => {
            "Queued: the job starts within seconds; follow it under Jobs, and its result here."
        }
        _ => return None,
    })
}

/// Renders a template into a response, or the error page if rendering fails.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            super::HtmlError(crate::Error::Internal(format!("template: {e}"))).into_response()
        }
    }
}
