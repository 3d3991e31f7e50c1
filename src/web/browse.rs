//! `/`: the packages a visitor may read, searched with `?q=` over names and
//! descriptions, sorted and paged.

use super::{Error, Layout, Visitor};
use crate::app::AppState;
use crate::auth::{self, Decision};
use crate::index::PackageView;
use crate::package::version::{self, Version};
use crate::store::{Source, StoredVersion};
use askama::Template;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Packages per page.
pub const PAGE_SIZE: usize = 25;

/// What the list shows of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    pub latest: String,
    pub description: String,
    /// When its newest version was published.
    pub updated: i64,
    /// Where its versions come from: a repository URL (no credentials) or `upload`.
    pub source: String,
    pub discontinued: bool,
    /// What the summary was made from; a different key means it is stale.
    key: String,
}

/// Summaries by package name, rebuilt when the package changes.
#[derive(Debug, Default)]
pub struct SummaryCache {
    inner: Mutex<HashMap<String, Arc<Summary>>>,
}

/// What makes a summary stale: a new latest version, a new version at all, or a
/// change of discontinuation.
fn key(view: &PackageView) -> String {
    let latest = latest(view).map(|v| v.as_str().to_string());
    let sha = latest
        .as_deref()
        .and_then(|v| view.version(v))
        .map(|v| v.sha256());
    format!(
        "{}|{}|{}|{}|{:?}",
        latest.unwrap_or_default(),
        sha.unwrap_or_default(),
        view.versions.len(),
        view.discontinued,
        view.repo
    )
}

/// The version advertised as `latest` in the listing (docs/protocol.md §7.2).
pub fn latest(view: &PackageView) -> Option<Version> {
    let versions = view.versions.parsed();
    version::latest(versions.iter().map(|v| (v, view.is_retracted(v)))).cloned()
}

/// The `description` of a pubspec stored as JSON.
pub fn description(pubspec_json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(pubspec_json)
        .ok()
        .and_then(|p| p.get("description")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How people know where a version came from.
pub fn source_label(config: &crate::config::Config, source: &Source) -> String {
    match source {
        Source::Git { repo, .. } => config
            .repository(repo)
            .map_or_else(|| crate::config::redact(repo), |r| r.url.display()),
        Source::Upload { .. } => "uploaded with dart pub publish".to_string(),
    }
}

fn summarize(
    config: &crate::config::Config,
    view: &PackageView,
    stored: &[StoredVersion],
) -> Summary {
    let latest = latest(view)
        .map(|v| v.as_str().to_string())
        .unwrap_or_default();
    let latest_stored = stored.iter().find(|s| s.version == latest);
    Summary {
        name: view.name.clone(),
        description: latest_stored
            .map(|s| description(&s.pubspec_json))
            .unwrap_or_default(),
        updated: stored.iter().map(|s| s.published).max().unwrap_or(0),
        source: latest_stored
            .map(|s| source_label(config, &s.source))
            .unwrap_or_default(),
        discontinued: view.discontinued,
        latest,
        key: key(view),
    }
}

impl SummaryCache {
    /// Summaries of `views`, reading the store for those not cached or stale.
    pub fn of(
        &self,
        state: &AppState,
        views: &[Arc<PackageView>],
    ) -> Result<Vec<Arc<Summary>>, Error> {
        let config = state.config.load();
        let mut out = Vec::with_capacity(views.len());
        for view in views {
            let cached = {
                let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                inner.get(&view.name).cloned()
            };
            let summary = match cached.filter(|s| s.key == key(view)) {
                Some(s) => s,
                None => {
                    let stored = state
                        .store
                        .catalog
                        .versions_of(&view.name)
                        .map_err(Error::store("read a package's versions"))?;
                    let s = Arc::new(summarize(&config, view, &stored));
                    let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                    inner.insert(view.name.clone(), s.clone());
                    s
                }
            };
            out.push(summary);
        }
        Ok(out)
    }
}

/// How well `s` matches every word of `query`: 0 not at all, higher is better.
fn score(s: &Summary, words: &[String]) -> u32 {
    let name = s.name.to_lowercase();
    let description = s.description.to_lowercase();
    let mut total = 0;
    for word in words {
        total += if name == *word {
            8
        } else if name.starts_with(word.as_str()) {
            4
        } else if name.contains(word.as_str()) {
            2
        } else if description.contains(word.as_str()) {
            1
        } else {
            return 0;
        };
    }
    total
}

/// The visitor's packages matching `query`: best match first, otherwise most recently
/// updated first; discontinued packages after the others.
pub fn search(summaries: Vec<Arc<Summary>>, query: &str) -> Vec<Arc<Summary>> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut scored: Vec<(u32, Arc<Summary>)> = summaries
        .into_iter()
        .map(|s| {
            (
                if words.is_empty() {
                    1
                } else {
                    score(&s, &words)
                },
                s,
            )
        })
        .filter(|(score, _)| *score > 0)
        .collect();
    scored.sort_by(|(a, x), (b, y)| {
        x.discontinued
            .cmp(&y.discontinued)
            .then(b.cmp(a))
            .then(y.updated.cmp(&x.updated))
            .then(x.name.cmp(&y.name))
    });
    scored.into_iter().map(|(_, s)| s).collect()
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub query: String,
    pub packages: Vec<Arc<Summary>>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    /// Anonymous, and anonymous visitors may read nothing: say how to sign in.
    pub needs_sign_in: bool,
}

impl IndexPage {
    pub fn page_link(&self, page: usize) -> String {
        let mut link = format!("{}?page={page}", self.layout.base);
        if !self.query.is_empty() {
            link.push_str("&q=");
            link.push_str(&super::query_value(&self.query));
        }
        link
    }

    pub fn date(&self, seconds: &i64) -> String {
        super::date(*seconds)
    }
}

/// The list page: packages `visitor` may read, matching `query`, page `page` (from 1).
pub fn index_page(
    state: &AppState,
    web: &super::Web,
    visitor: &Visitor,
    query: &str,
    page: usize,
) -> Result<IndexPage, Error> {
    let config = state.config.load();
    let index = state.index.load();
    let readable: Vec<Arc<PackageView>> = index
        .names()
        .filter_map(|name| index.package(name))
        .filter(|p| {
            auth::check_read(&config, &visitor.caller, &p.name, Some(&p.readers)) == Decision::Allow
        })
        .cloned()
        .collect();
    let found = search(web.summaries.of(state, &readable)?, query);
    let total = found.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let packages = found
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let title = if query.is_empty() {
        "Packages".to_string()
    } else {
        format!("Packages matching “{query}”")
    };
    let here = if query.is_empty() {
        config.base_url.path().to_string()
    } else {
        format!("{}?q={}", config.base_url.path(), super::query_value(query))
    };
    let mut layout = Layout::new(&config, visitor, title, &here);
    layout.query = query.to_string();
    Ok(IndexPage {
        layout,
        query: query.to_string(),
        packages,
        total,
        page,
        pages,
        needs_sign_in: visitor.caller.member.is_none() && !config.access.anonymous_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, description: &str, updated: i64, discontinued: bool) -> Arc<Summary> {
        Arc::new(Summary {
            name: name.into(),
            latest: "1.0.0".into(),
            description: description.into(),
            updated,
            source: String::new(),
            discontinued,
            key: String::new(),
        })
    }

    fn names(found: Vec<Arc<Summary>>) -> Vec<String> {
        found.iter().map(|s| s.name.clone()).collect()
    }

    #[test]
    fn search_ranks_names_over_descriptions_and_needs_every_word() {
        let all = vec![
            summary("http_cache", "Caches responses", 5, false),
            summary("cache", "A cache", 1, false),
            summary("widgets", "Widgets with a cache", 9, false),
            summary("old_cache", "Replaced", 10, true),
            summary("maps", "Map widgets", 3, false),
        ];
        assert_eq!(
            names(search(all.clone(), "Cache")),
            ["cache", "http_cache", "widgets", "old_cache"]
        );
        assert_eq!(names(search(all.clone(), "widgets cache")), ["widgets"]);
        assert_eq!(
            names(search(all.clone(), "")),
            ["widgets", "http_cache", "maps", "cache", "old_cache"],
            "without a query: most recently updated first, discontinued last"
        );
        assert!(search(all, "nothing").is_empty());
    }
}
