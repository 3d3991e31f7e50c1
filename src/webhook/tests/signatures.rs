//! Each provider's signature scheme: accepted when right, refused when wrong, missing
//! or malformed, without a secret or header value in any message.

use super::*;

#[test]
fn each_provider_accepts_its_own_signature() {
    for (provider, event, body) in pushes() {
        let headers = signed(provider, event, body.as_bytes(), SECRET);
        check(provider, headers, body).unwrap_or_else(|e| panic!("{provider}: {e}"));
    }
    check(
        Provider::Gitea,
        forgejo_headers(FORGEJO_PUSH.as_bytes(), SECRET),
        FORGEJO_PUSH,
    )
    .unwrap();
}

#[test]
fn each_provider_rejects_a_wrong_secret() {
    for (provider, event, body) in pushes() {
        let headers = signed(provider, event, body.as_bytes(), b"not-the-secret");
        let err = check(provider, headers, body).unwrap_err();
        assert!(
            matches!(err, Error::SignatureMismatch { .. }),
            "{provider}: {err}"
        );
        assert!(err.is_unauthenticated());
    }
    let headers = forgejo_headers(FORGEJO_PUSH.as_bytes(), b"not-the-secret");
    assert!(check(Provider::Gitea, headers, FORGEJO_PUSH).is_err());
}

#[test]
fn hmac_providers_reject_a_tampered_body() {
    for (provider, event, body) in pushes() {
        if provider == Provider::GitLab {
            continue; // GitLab's token does not cover the body.
        }
        let headers = signed(provider, event, body.as_bytes(), SECRET);
        // The same JSON with one more space: the signature covers bytes, not meaning.
        let tampered = body.replacen('{', "{ ", 1);
        let err = check(provider, headers, &tampered).unwrap_err();
        assert!(
            matches!(err, Error::SignatureMismatch { .. }),
            "{provider}: {err}"
        );
    }
}

#[test]
fn a_missing_signature_header_is_named() {
    for (provider, header) in [
        (Provider::GitHub, "X-Hub-Signature-256"),
        (Provider::GitLab, "X-Gitlab-Token"),
        (Provider::Gitea, "X-Forgejo-Signature or X-Gitea-Signature"),
        (Provider::Bitbucket, "X-Hub-Signature"),
    ] {
        let err = check(provider, vec![("X-GitHub-Event", "push".into())], "{}").unwrap_err();
        assert!(
            matches!(err, Error::MissingHeader { header: h } if h == header),
            "{err}"
        );
        assert!(err.to_string().contains(header));
    }
}

#[test]
fn github_documented_test_vector_verifies() {
    // From GitHub's "Validating webhook deliveries".
    let headers = lookup(vec![(
        "x-hub-signature-256",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".into(),
    )]);
    verify(
        Provider::GitHub,
        &headers,
        b"Hello, World!",
        b"It's a Secret to Everybody",
    )
    .unwrap();
}

#[test]
fn malformed_signatures_say_why_without_echoing_the_value() {
    let good = hmac_hex(SECRET, b"{}");
    for (value, reason) in [
        (good.clone(), "expected sha256="),
        (format!("sha1={good}"), "only sha256"),
        ("sha256=zz".to_owned(), "not hexadecimal"),
        (format!("sha256={}", &good[..40]), "64 hex digits"),
    ] {
        for (provider, header) in [
            (Provider::GitHub, "X-Hub-Signature-256"),
            (Provider::Bitbucket, "X-Hub-Signature"),
        ] {
            let err = check(provider, vec![(header, value.clone())], "{}").unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, Error::MalformedSignature { .. }), "{message}");
            assert!(
                message.contains(reason) && message.contains(header),
                "{message}"
            );
            assert!(!message.contains(&good[..40]), "{message}");
        }
    }
}

#[test]
fn gitea_checks_the_most_specific_signature_present() {
    let body = GITEA_PUSH.as_bytes();
    let good = hmac_hex(SECRET, body);
    let wrong = hmac_hex(b"other", body);
    // Gitea's GitHub-compatible header alone is enough.
    check(
        Provider::Gitea,
        vec![("X-Hub-Signature-256", format!("sha256={good}"))],
        GITEA_PUSH,
    )
    .unwrap();
    // A wrong Forgejo signature is not rescued by a right Gitea one.
    let headers = vec![
        ("X-Forgejo-Signature", wrong),
        ("X-Gitea-Signature", good.clone()),
    ];
    let err = check(Provider::Gitea, headers, GITEA_PUSH).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SignatureMismatch {
                header: "X-Forgejo-Signature"
            }
        ),
        "{err}"
    );
    // Gitea sends empty signature headers for a hook without a secret.
    let headers = vec![
        ("X-Gitea-Signature", String::new()),
        ("X-Hub-Signature-256", "sha256=".into()),
    ];
    let err = check(Provider::Gitea, headers, GITEA_PUSH).unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
}

#[test]
fn gitlab_token_compares_whole_values_and_never_shows_them() {
    for token in [
        "s3cr3t-for-tests-onl",
        "s3cr3t-for-tests-only!",
        "S3CR3T-FOR-TESTS-ONLY",
    ] {
        let err = check(
            Provider::GitLab,
            vec![("X-Gitlab-Token", token.into())],
            "{}",
        )
        .unwrap_err();
        assert!(matches!(
            err,
            Error::SignatureMismatch {
                header: "X-Gitlab-Token"
            }
        ));
        assert!(!err.to_string().contains(token));
    }
}

#[test]
fn an_empty_secret_is_refused_before_any_header_is_read() {
    let headers = lookup(vec![(
        "X-Hub-Signature-256",
        format!("sha256={}", hmac_hex(b"", b"{}")),
    )]);
    let err = verify(Provider::GitHub, &headers, b"{}", b"").unwrap_err();
    assert!(matches!(err, Error::EmptySecret) && !err.is_unauthenticated());
}

#[test]
fn path_segments_name_the_four_providers() {
    for provider in [
        Provider::GitHub,
        Provider::GitLab,
        Provider::Gitea,
        Provider::Bitbucket,
    ] {
        assert_eq!(
            Provider::from_path_segment(provider.as_str()),
            Some(provider)
        );
    }
    assert_eq!(Provider::from_path_segment("GitHub"), None);
    assert_eq!(Provider::from_path_segment("git"), None);
}
