//! `/packages/NAME` and `/packages/NAME/versions/VERSION`: README, CHANGELOG, versions,
//! dependencies, install snippets, provenance and "why isn't my tag here?".

use super::browse::{description, latest, source_label};
use super::docs::{Docs, Document, docs_of};
use super::pubspec::{Dependency, constraint, dependencies, links};
use super::{Error, Layout, Visitor, Web};
use crate::app::AppState;
use crate::auth::{self, Decision, policy};
use crate::config::Config;
use crate::index::PackageView;
use crate::package::version::Version;
use crate::store::{Source, StoredVersion};
use askama::Template;
use serde_json::Value;
use std::sync::Arc;

/// One row of the versions table.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: String,
    pub page: String,
    pub archive_url: String,
    pub published: String,
    pub prerelease: bool,
    pub retracted: bool,
    pub latest: bool,
    pub sha256: String,
    pub size: String,
    /// Repository URL (no credentials), tag and commit; `None` for uploads.
    pub git: Option<(String, String, String)>,
}

/// A tag of this package that is not served, with `tagpub check`'s reason.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub tag: String,
    pub reason: String,
    pub repository: String,
}

#[derive(Template)]
#[template(path = "package.html")]
pub struct PackagePage {
    pub layout: Layout,
    pub name: String,
    /// The version whose README and pubspec are shown; `None` when none is served.
    pub shown: Option<String>,
    pub latest: Option<String>,
    /// `/packages/NAME/versions/VERSION` rather than the package's own page.
    pub version_page: bool,
    pub description: String,
    pub links: Vec<(&'static str, String)>,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
    pub shown_retracted: bool,
    pub docs: Option<Arc<Docs>>,
    pub add_command: String,
    pub pubspec_snippet: String,
    pub versions: Vec<VersionRow>,
    pub dependencies: Vec<Dependency>,
    pub dev_dependencies: Vec<Dependency>,
    pub environment: Vec<(String, String)>,
    pub rejected: Vec<Rejected>,
}

impl PackagePage {
    pub fn readme(&self) -> Option<&Document> {
        self.docs.as_ref()?.readme.as_ref()
    }

    pub fn changelog(&self) -> Option<&Document> {
        self.docs.as_ref()?.changelog.as_ref()
    }

    pub fn pubspec(&self) -> &str {
        self.docs.as_ref().map_or("", |d| d.pubspec.as_str())
    }
}

/// The path of a package's page, or of one version's.
pub fn page_path(base: &str, name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{base}packages/{name}/versions/{}", v.replace('+', "%2B")),
        None => format!("{base}packages/{name}"),
    }
}

/// The page of package `name`, or of its `version`.
pub fn package_page(
    state: &AppState,
    web: &Web,
    visitor: &Visitor,
    name: &str,
    version: Option<&str>,
) -> Result<PackagePage, Error> {
    let config = state.config.load();
    let index = state.index.load();
    let view = index.package(name).cloned();
    let here = page_path(config.base_url.path(), name, version);
    let rejected = rejected_tags(state, &config, visitor, name);
    let decision = auth::check_read(
        &config,
        &visitor.caller,
        name,
        view.as_ref().map(|p| &p.readers),
    );
    match (decision, view) {
        (Decision::Allow, Some(view)) => served_page(
            state, web, visitor, &config, &view, version, rejected, &here,
        ),
        // No version is served, but tags of a repository the visitor reads were
        // refused: that is exactly when "why isn't my tag here?" matters.
        (Decision::NotFound | Decision::Unauthenticated { .. }, None)
            if version.is_none() && !rejected.is_empty() =>
        {
            Ok(unserved_page(&config, visitor, name, rejected, &here))
        }
        (Decision::Allow | Decision::NotFound, _) => {
            Err(Error::NotFound(format!("package `{name}` was not found")))
        }
        (Decision::Unauthenticated { .. }, _) => {
            Err(Error::SignIn(format!("Sign in to see package `{name}`.")))
        }
        (Decision::Forbidden { message }, _) => Err(Error::Forbidden(message)),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct adds nothing"
)]
fn served_page(
    state: &AppState,
    web: &Web,
    visitor: &Visitor,
    config: &Config,
    view: &PackageView,
    version: Option<&str>,
    rejected: Vec<Rejected>,
    here: &str,
) -> Result<PackagePage, Error> {
    let name = view.name.as_str();
    let latest = latest(view).map(|v| v.as_str().to_string());
    let shown = match version {
        Some(v) if view.version(v).is_some() => v.to_string(),
        Some(v) => {
            return Err(Error::NotFound(format!(
                "package `{name}` has no version {v}"
            )));
        }
        None => latest.clone().unwrap_or_default(),
    };
    let stored: Vec<StoredVersion> = state
        .store
        .catalog
        .versions_of(name)
        .map_err(Error::store("read a package's versions"))?
        .into_iter()
        .filter(|s| view.version(&s.version).is_some())
        .collect();
    let Some(current) = stored.iter().find(|s| s.version == shown) else {
        return Err(Error::NotFound(format!(
            "package `{name}` has no version {shown}"
        )));
    };
    let docs = docs_of(state, web, config, current)?;
    let pubspec: Value = serde_json::from_str(&current.pubspec_json).unwrap_or(Value::Null);
    let base = config.base_url.path();
    let title = match version {
        Some(v) => format!("{name} {v}"),
        None => name.to_string(),
    };
    Ok(PackagePage {
        layout: Layout::new(config, visitor, title, here),
        name: name.to_string(),
        version_page: version.is_some(),
        description: description(&current.pubspec_json),
        links: links(&pubspec),
        discontinued: view.discontinued,
        replaced_by: view.replaced_by.clone(),
        shown_retracted: Version::parse(&shown).is_ok_and(|v| view.is_retracted(&v)),
        docs: Some(docs),
        add_command: format!(
            "dart pub add {name} --hosted-url {}",
            config.base_url.as_str()
        ),
        pubspec_snippet: format!(
            "dependencies:\n  {name}:\n    hosted: {}\n    version: ^{shown}",
            config.base_url.as_str()
        ),
        versions: version_rows(config, view, &stored, latest.as_deref(), base),
        dependencies: dependencies(config, pubspec.get("dependencies")),
        dev_dependencies: dependencies(config, pubspec.get("dev_dependencies")),
        environment: pubspec
            .get("environment")
            .and_then(Value::as_object)
            .map(|env| {
                env.iter()
                    .map(|(k, v)| (k.clone(), constraint(v)))
                    .collect()
            })
            .unwrap_or_default(),
        rejected,
        shown: Some(shown),
        latest,
    })
}

fn unserved_page(
    config: &Config,
    visitor: &Visitor,
    name: &str,
    rejected: Vec<Rejected>,
    here: &str,
) -> PackagePage {
    PackagePage {
        layout: Layout::new(config, visitor, name.to_string(), here),
        name: name.to_string(),
        shown: None,
        latest: None,
        version_page: false,
        description: String::new(),
        links: Vec::new(),
        discontinued: false,
        replaced_by: None,
        shown_retracted: false,
        docs: None,
        add_command: String::new(),
        pubspec_snippet: String::new(),
        versions: Vec::new(),
        dependencies: Vec::new(),
        dev_dependencies: Vec::new(),
        environment: Vec::new(),
        rejected,
    }
}

fn version_rows(
    config: &Config,
    view: &PackageView,
    stored: &[StoredVersion],
    latest: Option<&str>,
    base: &str,
) -> Vec<VersionRow> {
    let mut rows: Vec<(Version, VersionRow)> = stored
        .iter()
        .filter_map(|s| {
            let v = Version::parse(&s.version).ok()?;
            let git = match &s.source {
                Source::Git { tag, commit, .. } => {
                    Some((source_label(config, &s.source), tag.clone(), commit.clone()))
                }
                Source::Upload { .. } => None,
            };
            let row = VersionRow {
                page: page_path(base, &view.name, Some(&s.version)),
                archive_url: crate::index::archive_url(config, &view.name, &s.version),
                published: super::date(s.published),
                prerelease: v.is_prerelease(),
                retracted: view.is_retracted(&v),
                latest: latest == Some(s.version.as_str()),
                sha256: s.sha256.clone(),
                size: super::size(s.archive_size),
                version: s.version.clone(),
                git,
            };
            Some((v, row))
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// Tags of `name` refused in the last pass over each repository the visitor may read,
/// with the reasons `tagpub check` gives.
fn rejected_tags(
    state: &AppState,
    config: &Config,
    visitor: &Visitor,
    name: &str,
) -> Vec<Rejected> {
    let mut out = Vec::new();
    for repo in &config.repositories {
        let readers = policy::readers(config, Some(&repo.key));
        if auth::check_read(config, &visitor.caller, name, Some(&readers)) != Decision::Allow {
            continue;
        }
        let status = state.tracker.status(&repo.key);
        let Some(report) = status.last_report else {
            continue;
        };
        out.extend(
            report
                .rejected
                .get(name)
                .into_iter()
                .flat_map(|(kept, _)| kept.iter().cloned())
                .map(|p| Rejected {
                    tag: p.tag,
                    reason: p.reason,
                    repository: repo.url.display(),
                }),
        );
    }
    out
}
