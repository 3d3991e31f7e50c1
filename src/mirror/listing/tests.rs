use super::*;
use std::io::Read;

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

fn entry(name: &str, version: &str, sha: Option<&str>) -> Value {
    let mut e = json!({
        "version": version,
        "pubspec": {"name": name, "version": version, "environment": {"sdk": "^3.0.0"}},
        "archive_url": format!("https://pub.dev/api/archives/{name}-{version}.tar.gz"),
        "published": "2024-01-01T00:00:00.000Z",
    });
    if let Some(sha) = sha {
        e["archive_sha256"] = json!(sha);
    }
    e
}

fn pub_dev() -> BaseUrl {
    BaseUrl::parse("https://pub.dev/").unwrap()
}

fn parse(name: &str, listing: Value) -> Result<(Mirrored, Vec<String>), Refusal> {
    parse_upstream(
        name,
        &serde_json::to_vec(&listing).unwrap(),
        1_700_000_000,
        &pub_dev(),
    )
}

fn plain(gzip: &[u8]) -> Value {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gzip)
        .read_to_end(&mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn versions_without_a_verifiable_archive_are_left_out() {
    let (m, dropped) = parse(
        "http",
        json!({"name": "http", "versions": [
            entry("http", "1.0.0", Some(SHA_A)),
            entry("http", "1.1.0", None),
            entry("http", "1.2.0", Some("abc")),
            entry("other", "1.3.0", Some(SHA_A)),
            entry("http", "1.0.0", Some(SHA_A)),
            {"pubspec": {"name": "http", "version": "2.0.0"}, "archive_url": "/relative.tar.gz", "archive_sha256": SHA_A},
            {"pubspec": {"name": "http", "version": "2.1.0"}, "archive_url": "https://x/a.tar.gz", "archive_sha256": SHA_A, "retracted": "yes"},
        ]}),
    )
    .unwrap();
    assert_eq!(
        m.versions.iter().map(|v| &v.version).collect::<Vec<_>>(),
        ["1.0.0"]
    );
    assert_eq!(dropped.len(), 6, "{dropped:?}");
    assert!(dropped[0].contains("no `archive_sha256`"), "{dropped:?}");
    assert!(dropped[2].contains("not named `http`"), "{dropped:?}");
    assert!(dropped[3].contains("twice"), "{dropped:?}");
}

#[test]
fn a_listing_with_nothing_verifiable_is_refused_and_an_empty_one_is_missing() {
    let only_unhashed = json!({"versions": [entry("a", "1.0.0", None)]});
    match parse("a", only_unhashed) {
        Err(Refusal::Unusable(why)) => assert!(why.contains("archive_sha256"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(parse("a", json!({"versions": []})), Err(Refusal::Empty));
    assert!(matches!(parse("a", json!([1])), Err(Refusal::Unusable(_))));
    assert!(matches!(
        parse_upstream("a", b"<html>", 0, &pub_dev()),
        Err(Refusal::Unusable(_))
    ));
}

#[test]
fn rendering_rewrites_archive_urls_and_passes_status_through() {
    let mut retracted = entry("http", "1.1.0", Some(SHA_B));
    retracted["retracted"] = json!(true);
    let (m, _) = parse(
        "http",
        json!({"versions": [retracted, entry("http", "1.0.0+1", Some(SHA_A))],
               "isDiscontinued": true, "replacedBy": "http2",
               "advisoriesUpdated": "2024-05-03T14:38:46.123456Z"}),
    )
    .unwrap();
    let base = BaseUrl::parse("https://pub.acme.dev/prefix").unwrap();
    let out = plain(&render(&m, &base));
    assert_eq!(
        out["versions"][0]["archive_url"],
        "https://pub.acme.dev/prefix/packages/http/versions/1.0.0%2B1.tar.gz"
    );
    assert_eq!(out["versions"][1]["archive_sha256"], SHA_B.to_lowercase());
    assert_eq!(out["versions"][1]["retracted"], true);
    assert_eq!(
        out["latest"]["version"], "1.0.0+1",
        "retracted is not latest"
    );
    assert_eq!(out["isDiscontinued"], true);
    assert_eq!(out["replacedBy"], "http2");
    assert_eq!(out["advisoriesUpdated"], "2024-05-03T14:38:46.123456Z");
    let text = out.to_string();
    assert!(!text.contains("pub.dev"), "no upstream URL leaks: {text}");
}

#[test]
fn an_unparseable_advisories_date_is_dropped_not_passed_on() {
    for (date, kept) in [
        ("2024-05-03", true),
        ("2024-05-03T14:38:46Z", true),
        ("2024-05-03T14:38:46.123+02:00", true),
        ("yesterday", false),
        ("2024-5-3", false),
        ("2024-05-03T<script>", false),
    ] {
        let (m, _) = parse(
            "a",
            json!({"versions": [entry("a", "1.0.0", Some(SHA_A))], "advisoriesUpdated": date}),
        )
        .unwrap();
        assert_eq!(m.advisories_updated.is_some(), kept, "{date}");
    }
}

#[test]
fn a_stored_archive_keeps_its_hash_when_the_upstream_changes_it() {
    let (old, _) = parse(
        "a",
        json!({"versions": [entry("a", "1.0.0", Some(SHA_A)), entry("a", "1.1.0", Some(SHA_A))]}),
    )
    .unwrap();
    let mut changed = entry("a", "1.0.0", Some(SHA_B));
    changed["retracted"] = json!(true);
    changed["pubspec"]["description"] = json!("new");
    let (mut fresh, _) = parse("a", json!({"versions": [changed]})).unwrap();
    let kept = keep_served(&mut fresh, &old, |sha| sha == SHA_A);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fresh.versions.len(), 1, "1.1.0 was taken down upstream");
    let v = &fresh.versions[0];
    assert_eq!(v.sha256, SHA_A);
    assert!(v.pubspec.get("description").is_none(), "the old pubspec");
    assert!(v.retracted, "retraction follows the upstream");
    // Nothing stored: the upstream's new hash is taken.
    let (mut fresh, _) =
        parse("a", json!({"versions": [entry("a", "1.0.0", Some(SHA_B))]})).unwrap();
    assert!(keep_served(&mut fresh, &old, |_| false).is_empty());
    assert_eq!(fresh.versions[0].sha256, SHA_B.to_lowercase());
}

#[test]
fn the_stored_form_round_trips() {
    let (m, _) = parse("a", json!({"versions": [entry("a", "1.0.0", Some(SHA_A))]})).unwrap();
    let text = serde_json::to_string(&m).unwrap();
    let back: Mirrored = serde_json::from_str(&text).unwrap();
    assert_eq!(back, m);
}

#[test]
fn an_archive_url_on_another_origin_than_the_upstreams_is_left_out() {
    let at = |version: &str, url: &str| {
        let mut e = entry("a", version, Some(SHA_A));
        e["archive_url"] = json!(url);
        e
    };
    let (m, dropped) = parse(
        "a",
        json!({"versions": [
            at("1.0.0", "https://pub.dev/api/archives/a-1.0.0.tar.gz"),
            at("1.0.1", "https://PUB.dev:443/api/archives/a-1.0.1.tar.gz"),
            at("1.1.0", "http://169.254.169.254/latest/meta-data/"),
            at("1.2.0", "http://pub.dev/api/archives/a-1.2.0.tar.gz"),
            at("1.3.0", "https://pub.dev:8443/api/archives/a-1.3.0.tar.gz"),
            at("1.4.0", "https://pub.dev.evil.example/a.tar.gz"),
            at("1.5.0", "https://user@pub.devil/a.tar.gz"),
        ]}),
    )
    .unwrap();
    assert_eq!(
        m.versions.iter().map(|v| &v.version).collect::<Vec<_>>(),
        ["1.0.0", "1.0.1"]
    );
    assert_eq!(dropped.len(), 5, "{dropped:?}");
    assert!(
        dropped
            .iter()
            .all(|d| d.contains("not on the upstream's own host")),
        "{dropped:?}"
    );
    let elsewhere = json!({"versions": [at("1.0.0", "http://127.0.0.1:2375/containers/json")]});
    match parse("a", elsewhere) {
        Err(Refusal::Unusable(why)) => assert!(why.contains("own host"), "{why}"),
        other => panic!("{other:?}"),
    }
}
