//! `/admin`, for admins: each repository's last fetch, its result and errors, tags not
//! served, warnings, package names held by two sources, and recent audit entries. The
//! same facts as `GET api/status` and `GET api/audit`.

use super::{Error, Layout, Visitor};
use crate::app::AppState;
use crate::auth::policy;
use askama::Template;

/// Audit entries shown.
const AUDIT_ENTRIES: usize = 50;

#[derive(Debug, Clone)]
pub struct RepoRow {
    pub url: String,
    pub last_fetch: String,
    pub took: String,
    /// `ok`, `failed` or `never` (not fetched since the daemon started).
    pub result: &'static str,
    pub error: Option<String>,
    pub last_webhook: String,
    pub served: usize,
    /// `(package, tag, reason)`: the latest few per package.
    pub rejected: Vec<(String, String, String)>,
    /// Rejected tags in all, shown or not.
    pub rejected_count: usize,
    /// The latest few.
    pub warnings: Vec<String>,
    pub warnings_count: usize,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub package: String,
    pub version: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub repositories: Vec<RepoRow>,
    /// `(package, served from, also in, hidden versions)`.
    pub conflicts: Vec<(String, String, String, String)>,
    pub audit: Vec<AuditRow>,
}

pub fn admin_page(state: &AppState, visitor: &Visitor) -> Result<AdminPage, Error> {
    let config = state.config.load();
    let member = visitor
        .member()
        .ok_or_else(|| Error::SignIn("Sign in as an admin to see the registry's status.".into()))?;
    if !policy::is_admin(&config, member) {
        return Err(Error::Forbidden(format!(
            "{member} is not an admin; only admins see the registry's status"
        )));
    }
    let never = || "never".to_string();
    let repositories = config
        .repositories
        .iter()
        .map(|repo| {
            let s = state.tracker.status(&repo.key);
            let report = s.last_report.unwrap_or_default();
            RepoRow {
                url: repo.url.display(),
                last_fetch: s.last_fetch.map_or_else(never, super::date_time),
                took: s
                    .last_fetch_ms
                    .map(|ms| format!("{ms} ms"))
                    .unwrap_or_default(),
                result: match (s.last_fetch, &s.last_error) {
                    (None, _) => "never",
                    (Some(_), None) => "ok",
                    (Some(_), Some(_)) => "failed",
                },
                error: s.last_error,
                last_webhook: s.last_webhook.map_or_else(never, super::date_time),
                served: report.served,
                rejected_count: report.rejected_count(),
                warnings_count: report.warnings.1,
                rejected: report
                    .rejected
                    .into_values()
                    .flat_map(|(kept, _)| kept)
                    .map(|p| (p.package, p.tag, p.reason))
                    .collect(),
                warnings: report.warnings.0,
            }
        })
        .collect();
    let conflicts = state
        .store
        .catalog
        .conflicts()
        .map_err(Error::store("list package name conflicts"))?
        .iter()
        .map(|c| {
            let (owner, other) = crate::app::status::conflict_sources(&config, c);
            (c.package.clone(), owner, other, c.hidden.join(", "))
        })
        .collect();
    let audit = state
        .store
        .publishing
        .audit_log(None, AUDIT_ENTRIES)
        .map_err(Error::store("read the audit trail"))?
        .into_iter()
        .map(|e| AuditRow {
            at: super::date_time(e.at),
            actor: e.actor,
            action: e.action,
            package: e.package,
            version: e.version.unwrap_or_default(),
            detail: e.detail,
        })
        .collect();
    Ok(AdminPage {
        layout: Layout::new(
            &config,
            visitor,
            "Registry status".into(),
            &format!("{}admin", config.base_url.path()),
        ),
        repositories,
        conflicts,
        audit,
    })
}
