//! Event kinds, refs and repository URLs read from each provider's payloads.

use super::*;

fn event(provider: Provider, name: &str, body: &str) -> Result<Event, Error> {
    let headers = signed(provider, name, body.as_bytes(), SECRET);
    parse(provider, &lookup(headers), body.as_bytes())
}

#[test]
fn tag_pushes_are_pushes_with_their_refs() {
    for (provider, name, body, tag) in [
        (Provider::GitHub, "push", GITHUB_PUSH, "refs/tags/v1.2.0"),
        (
            Provider::GitLab,
            "Tag Push Hook",
            GITLAB_TAG_PUSH,
            "refs/tags/v2.0.0",
        ),
        (Provider::Gitea, "push", GITEA_PUSH, "refs/tags/v0.4.1"),
        (Provider::Gitea, "push", FORGEJO_PUSH, "refs/tags/v3.1.0"),
        (
            Provider::Bitbucket,
            "repo:push",
            BITBUCKET_PUSH,
            "refs/tags/v1.0.3",
        ),
    ] {
        let event = event(provider, name, body).unwrap();
        assert_eq!(event.kind, EventKind::Push, "{provider}");
        assert_eq!(event.refs, vec![tag.to_owned()], "{provider}");
    }
}

#[test]
fn forgejo_event_header_is_read() {
    let headers = lookup(forgejo_headers(FORGEJO_PUSH.as_bytes(), SECRET));
    let event = parse(Provider::Gitea, &headers, FORGEJO_PUSH.as_bytes()).unwrap();
    assert_eq!(event.kind, EventKind::Push);
    let only_forgejo = lookup(vec![("X-Forgejo-Event", "push".into())]);
    assert_eq!(
        parse(Provider::Gitea, &only_forgejo, FORGEJO_PUSH.as_bytes())
            .unwrap()
            .kind,
        EventKind::Push
    );
}

#[test]
fn pings_and_other_events_are_recognised() {
    let ping = event(Provider::GitHub, "ping", GITHUB_PING).unwrap();
    assert_eq!(ping.kind, EventKind::Ping);
    assert!(ping.names_repository("git@github.com:acme-corp/widgets.git"));
    let ping = event(Provider::Bitbucket, "diagnostics:ping", r#"{"test": true}"#).unwrap();
    assert_eq!(ping.kind, EventKind::Ping);
    for (provider, name) in [
        (Provider::GitHub, "issues"),
        (Provider::GitLab, "Merge Request Hook"),
        (Provider::Gitea, "pull_request"),
        (Provider::Bitbucket, "pullrequest:created"),
    ] {
        // Ignored events are acknowledged even when their body is of no use.
        let other = event(provider, name, "not json").unwrap();
        assert_eq!(other.kind, EventKind::Other(name.to_owned()));
    }
}

#[test]
fn tag_creation_counts_as_a_push_and_branch_creation_does_not() {
    let tag = r#"{"ref":"v1.3.0","ref_type":"tag","master_branch":"main","pusher_type":"user",
        "repository":{"clone_url":"https://github.com/Acme-Corp/Widgets.git"}}"#;
    for provider in [Provider::GitHub, Provider::Gitea] {
        let event = event(provider, "create", tag).unwrap();
        assert_eq!(
            (event.kind, event.refs),
            (EventKind::Push, vec!["refs/tags/v1.3.0".to_owned()])
        );
    }
    let branch = tag.replace(r#""ref_type":"tag""#, r#""ref_type":"branch""#);
    let event = event(Provider::GitHub, "create", &branch).unwrap();
    assert_eq!(event.kind, EventKind::Other("create".into()));
}

#[test]
fn gitlab_system_hooks_are_read_from_the_body() {
    let push = GITLAB_TAG_PUSH.to_owned();
    assert_eq!(
        event(Provider::GitLab, "System Hook", &push).unwrap().kind,
        EventKind::Push
    );
    let update = r#"{"event_name":"repository_update","changes":[{"ref":"refs/tags/v9.0.0"}],
        "project":{"git_http_url":"https://gitlab.acme.dev/a/b.git"}}"#;
    let event_ = event(Provider::GitLab, "System Hook", update).unwrap();
    assert_eq!(event_.refs, vec!["refs/tags/v9.0.0".to_owned()]);
    let created = r#"{"event_name":"project_create","path_with_namespace":"a/b"}"#;
    let other = event(Provider::GitLab, "System Hook", created).unwrap();
    assert_eq!(
        other.kind,
        EventKind::Other("System Hook: project_create".into())
    );
}

#[test]
fn bitbucket_data_center_refs_and_clone_links_are_read() {
    let body = r#"{"eventKey":"repo:refs_changed","repository":{"slug":"json-utils",
        "links":{"clone":[{"href":"ssh://git@bitbucket.acme.dev:7999/mob/json-utils.git","name":"ssh"},
        {"href":"https://bitbucket.acme.dev/scm/mob/json-utils.git","name":"http"}]}},
        "changes":[{"ref":{"id":"refs/tags/v2.1.0","displayId":"v2.1.0","type":"TAG"},
        "refId":"refs/tags/v2.1.0","type":"ADD"}]}"#;
    let event = event(Provider::Bitbucket, "repo:refs_changed", body).unwrap();
    assert_eq!(event.kind, EventKind::Push);
    assert_eq!(event.refs, vec!["refs/tags/v2.1.0".to_owned()]);
    assert!(event.names_repository("git@bitbucket.acme.dev:mob/json-utils"));
    assert!(event.names_repository("https://bitbucket.acme.dev/scm/mob/json-utils"));
}

#[test]
fn github_form_encoded_deliveries_are_read() {
    let body: String = ::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", GITHUB_PUSH)
        .finish();
    let event = event(Provider::GitHub, "push", &body).unwrap();
    assert_eq!(event.refs, vec!["refs/tags/v1.2.0".to_owned()]);
    let err = self::event(Provider::GitHub, "push", "other=1").unwrap_err();
    assert!(matches!(err, Error::NoFormPayload { .. }), "{err}");
}

#[test]
fn unusable_pushes_are_errors() {
    let err = event(Provider::GitHub, "push", "{not json").unwrap_err();
    assert!(
        matches!(err, Error::Json { .. }) && !err.is_unauthenticated(),
        "{err}"
    );
    let err = event(Provider::Gitea, "push", r#"{"ref":"refs/tags/v1"}"#).unwrap_err();
    assert!(err.to_string().contains("repository.clone_url"), "{err}");
    let err = parse(
        Provider::GitLab,
        &lookup(vec![]),
        GITLAB_TAG_PUSH.as_bytes(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingEventHeader {
                header: "X-Gitlab-Event"
            }
        ),
        "{err}"
    );
}

#[test]
fn each_fixture_matches_its_repository_in_every_url_form() {
    let cases: [(Provider, &str, &str, &[&str]); 5] = [
        (
            Provider::GitHub,
            "push",
            GITHUB_PUSH,
            &[
                "https://github.com/Acme-Corp/Widgets.git",
                "https://GitHub.com/acme-corp/widgets",
                "git@github.com:Acme-Corp/Widgets.git",
                "ssh://git@github.com/Acme-Corp/Widgets",
                "ssh://git@github.com:22/Acme-Corp/Widgets.git/",
            ],
        ),
        (
            Provider::GitLab,
            "Tag Push Hook",
            GITLAB_TAG_PUSH,
            &[
                "https://gitlab.acme.dev/mobile/flutter/design-system.git",
                "http://GITLAB.acme.dev/mobile/flutter/design-system",
                "git@gitlab.acme.dev:mobile/flutter/design-system",
            ],
        ),
        (
            Provider::Gitea,
            "push",
            GITEA_PUSH,
            &[
                "https://gitea.acme.dev/acme/http_client",
                "ssh://git@gitea.acme.dev:2222/acme/http_client.git",
                "git@gitea.acme.dev:acme/http_client.git",
            ],
        ),
        (
            Provider::Gitea,
            "push",
            FORGEJO_PUSH,
            &[
                "https://forge.acme.dev/mobile/l10n.git",
                "ssh://git@forge.acme.dev/mobile/l10n.git",
            ],
        ),
        (
            Provider::Bitbucket,
            "repo:push",
            BITBUCKET_PUSH,
            &[
                "https://bitbucket.org/acme-mobile/json-utils.git",
                "git@bitbucket.org:acme-mobile/json-utils.git",
                "ssh://git@bitbucket.org/acme-mobile/json-utils",
            ],
        ),
    ];
    for (provider, name, body, forms) in cases {
        let event = event(provider, name, body).unwrap();
        for form in forms {
            assert!(
                event.names_repository(form),
                "{provider} should match {form}: {:?}",
                event.clone_urls
            );
        }
        assert!(!event.names_repository("https://github.com/acme-corp/other.git"));
        assert!(!event.names_repository("https://example.com/acme/widgets.git"));
    }
}
