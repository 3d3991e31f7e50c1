//! Signed webhook deliveries from each forge: reading the event never panics, and a
//! push it accepts names its repository and only full ref names.
//!
//! Input: a byte choosing the provider (GitHub, GitLab, Gitea/Forgejo, Bitbucket),
//! a byte choosing the event name (the forge's own names, or the rest of the first
//! line), then the body. The signature is checked before `parse` in the server, so
//! here every body counts as signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagpub::webhook::{self, EventKind, Provider};

const PROVIDERS: [(Provider, &str, &[&str]); 4] = [
    (
        Provider::GitHub,
        "X-GitHub-Event",
        &["push", "create", "ping", "delete", "release"],
    ),
    (
        Provider::GitLab,
        "X-Gitlab-Event",
        &[
            "Push Hook",
            "Tag Push Hook",
            "System Hook",
            "Merge Request Hook",
        ],
    ),
    (
        Provider::Gitea,
        "X-Gitea-Event",
        &["push", "create", "ping", "delete", "release"],
    ),
    (
        Provider::Bitbucket,
        "X-Event-Key",
        &[
            "repo:push",
            "repo:refs_changed",
            "diagnostics:ping",
            "pullrequest:created",
        ],
    ),
];

fuzz_target!(|data: &[u8]| {
    let [which, event, body @ ..] = data else {
        return;
    };
    let (provider, header, names) = PROVIDERS[usize::from(which % 4)];
    let (name, body) = match names.get(usize::from(*event)) {
        Some(name) => ((*name).to_owned(), body),
        // Any other event name: the first line of the rest.
        None => {
            let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            let name = String::from_utf8_lossy(&body[..end]).into_owned();
            (name, body.get(end + 1..).unwrap_or_default())
        }
    };
    let headers = |asked: &str| asked.eq_ignore_ascii_case(header).then(|| name.clone());
    let Ok(event) = webhook::parse(provider, &headers, body) else {
        return;
    };
    if event.kind == EventKind::Push {
        assert!(!event.clone_urls.is_empty(), "a push without a repository");
    }
    for (i, url) in event.clone_urls.iter().enumerate() {
        assert!(!url.is_empty());
        assert!(!event.clone_urls[..i].contains(url), "{url:?} twice");
    }
    for r in &event.refs {
        assert!(r.starts_with("refs/"), "{r:?} is not a full ref name");
    }
    // Matching a payload URL against the configuration: symmetric, and reflexive for
    // every URL that names a remote repository.
    for url in &event.clone_urls {
        if let Some(tagpub::config::RepoKey::Remote { .. }) = tagpub::config::key::normalize(url) {
            assert!(event.names_repository(url), "{url:?} does not match itself");
        }
        if let Some(first) = event.clone_urls.first() {
            assert_eq!(
                tagpub::config::key::same_repository(url, first),
                tagpub::config::key::same_repository(first, url)
            );
        }
    }
});
