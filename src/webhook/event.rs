//! What a verified delivery announces: its kind, the URLs of the repository it concerns
//! and the refs it touched, read from each provider's documented payload fields.

use super::{Error, Provider};
use crate::config::key::{self, RepoKey};
use serde_json::Value;

/// A delivery as tagpub cares about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// Every URL the payload gives for the repository (https, ssh, web page…), in
    /// payload order, without duplicates. Never empty for [`EventKind::Push`].
    pub clone_urls: Vec<String>,
    /// Full ref names the event touched (`refs/tags/v1.0.0`), where the payload says.
    pub refs: Vec<String>,
}

/// The kinds of event a handler treats differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Refs changed: fetch the repository.
    Push,
    /// The forge checking the endpoint: acknowledge only.
    Ping,
    /// Anything else, by the provider's own event name: acknowledge and ignore.
    Other(String),
}

impl Event {
    /// Whether this event concerns the repository at `url` (any form of it).
    pub fn names_repository(&self, url: &str) -> bool {
        key::normalize(url).is_some_and(|repo| self.names(&repo))
    }

    /// Whether this event concerns the repository whose key is `repo`.
    pub fn names(&self, repo: &RepoKey) -> bool {
        self.clone_urls
            .iter()
            .any(|u| key::normalize(u).as_ref() == Some(repo))
    }
}

/// Reads the event that `body` announces. Call only after [`super::verify`] accepted
/// the delivery. Pings and events tagpub ignores parse even when their body is not
/// usable; a push must name its repository.
pub fn parse(
    provider: Provider,
    headers: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Event, Error> {
    let name = event_name(provider, headers)?;
    let payload = payload(provider, body);
    let event = match provider {
        Provider::GitHub | Provider::Gitea => github_like(&name, payload)?,
        Provider::GitLab => gitlab(&name, payload)?,
        Provider::Bitbucket => bitbucket(&name, payload)?,
    };
    if event.kind == EventKind::Push && event.clone_urls.is_empty() {
        return Err(Error::NoRepository {
            provider,
            event: name,
            field: repository_field(provider),
        });
    }
    Ok(event)
}

/// The provider's event name header. Forgejo sends `X-Forgejo-Event` and, for
/// compatibility, `X-Gitea-Event` with the same value; Gitea sends only the latter.
fn event_name(
    provider: Provider,
    headers: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    let candidates: &[&'static str] = match provider {
        Provider::GitHub => &["X-GitHub-Event"],
        Provider::GitLab => &["X-Gitlab-Event"],
        Provider::Gitea => &["X-Forgejo-Event", "X-Gitea-Event"],
        Provider::Bitbucket => &["X-Event-Key"],
    };
    candidates
        .iter()
        .find_map(|h| {
            headers(h)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
        .ok_or(Error::MissingEventHeader {
            header: candidates[candidates.len() - 1],
        })
}

fn repository_field(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub | Provider::Gitea => "repository.clone_url",
        Provider::GitLab => "project.git_http_url",
        Provider::Bitbucket => "repository.links.html.href",
    }
}

/// The JSON payload. GitHub, Gitea and Forgejo can also be set to post
/// `application/x-www-form-urlencoded` with the JSON in a `payload` field (GitHub's
/// form default); the signature covers the encoded body, so this runs after it.
fn payload(provider: Provider, body: &[u8]) -> Result<Value, Error> {
    let looks_like_json = matches!(body.trim_ascii_start().first(), Some(b'{' | b'['));
    if looks_like_json {
        return serde_json::from_slice(body).map_err(|source| Error::Json { provider, source });
    }
    let field = ::url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or(Error::NoFormPayload { provider })?;
    serde_json::from_str(&field).map_err(|source| Error::Json { provider, source })
}

/// Pings and ignored events are acknowledged whatever their body holds, so a payload
/// that does not parse only costs them their URLs.
fn lenient(kind: EventKind, payload: Result<Value, Error>) -> Result<(EventKind, Value), Error> {
    match (kind, payload) {
        (EventKind::Push, Err(e)) => Err(e),
        (kind, payload) => Ok((kind, payload.unwrap_or(Value::Null))),
    }
}

/// GitHub's format, which Gitea and Forgejo follow field for field where it matters.
fn github_like(name: &str, payload: Result<Value, Error>) -> Result<Event, Error> {
    let kind = match name {
        "push" => EventKind::Push,
        "ping" => EventKind::Ping,
        // A `create` event's kind depends on `ref_type`, so its body must parse.
        "create" => EventKind::Push,
        other => EventKind::Other(other.to_owned()),
    };
    let (mut kind, payload) = lenient(kind, payload)?;
    let mut refs = Vec::new();
    match name {
        "push" => refs.extend(text(&payload, &["ref"]).and_then(full_ref)),
        "create" => match text(&payload, &["ref_type"]) {
            // Tag creation is announced separately from the push on some
            // configurations (a hook subscribed to "create" only), so it counts.
            Some("tag") => refs.extend(text(&payload, &["ref"]).map(tag_ref)),
            _ => kind = EventKind::Other(name.to_owned()),
        },
        _ => {}
    }
    let urls = urls(
        &payload,
        &[
            &["repository", "clone_url"],
            &["repository", "ssh_url"],
            &["repository", "git_url"],
            &["repository", "html_url"],
            &["repository", "url"],
        ],
    );
    Ok(Event {
        kind,
        clone_urls: urls,
        refs,
    })
}

/// GitLab's format; `System Hook` deliveries carry the real event in the body.
fn gitlab(name: &str, payload: Result<Value, Error>) -> Result<Event, Error> {
    let kind = match name {
        "Push Hook" | "Tag Push Hook" | "System Hook" => EventKind::Push,
        other => EventKind::Other(other.to_owned()),
    };
    let (mut kind, payload) = lenient(kind, payload)?;
    if name == "System Hook" {
        let inner = text(&payload, &["event_name"]).or_else(|| text(&payload, &["object_kind"]));
        if !matches!(inner, Some("push" | "tag_push" | "repository_update")) {
            kind = EventKind::Other(format!("{name}: {}", inner.unwrap_or("unknown")));
        }
    }
    let mut refs: Vec<String> = text(&payload, &["ref"])
        .and_then(full_ref)
        .into_iter()
        .collect();
    // `repository_update` system events list their refs under `changes`.
    refs.extend(
        items(&payload, &["changes"])
            .filter_map(|change| text(change, &["ref"]))
            .filter_map(full_ref),
    );
    let urls = urls(
        &payload,
        &[
            &["project", "git_http_url"],
            &["project", "git_ssh_url"],
            &["project", "web_url"],
            // Deprecated duplicates of the above, still sent.
            &["project", "http_url"],
            &["project", "ssh_url"],
            &["repository", "git_http_url"],
            &["repository", "git_ssh_url"],
            &["repository", "homepage"],
            &["repository", "url"],
        ],
    );
    Ok(Event {
        kind,
        clone_urls: urls,
        refs,
    })
}

/// Bitbucket Cloud (`repo:push`) and Bitbucket Data Center (`repo:refs_changed`,
/// `diagnostics:ping` from its "Test connection" button).
fn bitbucket(name: &str, payload: Result<Value, Error>) -> Result<Event, Error> {
    let kind = match name {
        "repo:push" | "repo:refs_changed" => EventKind::Push,
        "diagnostics:ping" => EventKind::Ping,
        other => EventKind::Other(other.to_owned()),
    };
    let (kind, payload) = lenient(kind, payload)?;
    let mut refs = Vec::new();
    for change in items(&payload, &["push", "changes"]) {
        // Cloud names a ref by type and short name; `new` is null for a deletion.
        for side in ["new", "old"] {
            let prefix = match text(change, &[side, "type"]) {
                Some("tag") => "refs/tags/",
                Some("branch") => "refs/heads/",
                _ => continue,
            };
            if let Some(short) = text(change, &[side, "name"]) {
                push_unique(&mut refs, format!("{prefix}{short}"));
            }
        }
    }
    for change in items(&payload, &["changes"]) {
        let id = text(change, &["refId"]).or_else(|| text(change, &["ref", "id"]));
        if let Some(id) = id.and_then(full_ref) {
            push_unique(&mut refs, id);
        }
    }
    let mut urls = urls(&payload, &[&["repository", "links", "html", "href"]]);
    // Data Center lists its clone URLs; Cloud gives none, so they are derived below.
    for link in items(&payload, &["repository", "links", "clone"]) {
        if let Some(href) = text(link, &["href"]) {
            push_unique(&mut urls, href.to_owned());
        }
    }
    if let Some(full_name) = text(&payload, &["repository", "full_name"]) {
        let host = urls
            .first()
            .and_then(|u| ::url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "bitbucket.org".to_owned());
        push_unique(&mut urls, format!("https://{host}/{full_name}.git"));
        push_unique(&mut urls, format!("git@{host}:{full_name}.git"));
    }
    Ok(Event {
        kind,
        clone_urls: urls,
        refs,
    })
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

fn items<'a>(value: &'a Value, path: &[&str]) -> impl Iterator<Item = &'a Value> {
    at(value, path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The non-empty strings at `paths`, in order, without duplicates.
fn urls(payload: &Value, paths: &[&[&str]]) -> Vec<String> {
    let mut found = Vec::new();
    for path in paths {
        if let Some(url) = text(payload, path).map(str::trim).filter(|u| !u.is_empty()) {
            push_unique(&mut found, url.to_owned());
        }
    }
    found
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Push payloads carry full ref names; a short one could be a branch or a tag, so it
/// is left out rather than guessed.
fn full_ref(name: &str) -> Option<String> {
    name.starts_with("refs/").then(|| name.to_owned())
}

/// `create` events name the tag by its short name.
fn tag_ref(name: &str) -> String {
    if name.starts_with("refs/") {
        name.to_owned()
    } else {
        format!("refs/tags/{name}")
    }
}
