//! `dart pub get` of an app with a private and a public dependency through one hosted-url
//! (`PUB_HOSTED_URL` pointing at tagpub): the client emulation lists, picks, downloads,
//! verifies and extracts every package, following the dependencies in the archives.

use super::support::PubClient;
use super::support::version::PubVersion;
use std::collections::BTreeMap;

/// `^x.y.z` (and `any`) as pub reads them: `>=x.y.z <(x+1).0.0`, or `<0.(y+1).0` below 1.0.
fn allows(constraint: &str, version: &PubVersion) -> bool {
    if constraint == "any" {
        return true;
    }
    let min = PubVersion::parse(
        constraint
            .strip_prefix('^')
            .expect("caret constraints only"),
    )
    .expect("a valid version");
    let max = if min.major > 0 {
        PubVersion::parse(&format!("{}.0.0", min.major + 1))
    } else {
        PubVersion::parse(&format!("0.{}.0", min.minor + 1))
    }
    .unwrap();
    *version >= min && *version < max && !version.is_prerelease()
}

/// Resolves `dependencies` (name, constraint) against one hosted-url, as the solver does
/// for an app without conflicts: the highest allowed non-retracted version of each, then
/// the dependencies of what was picked. Returns name → (version, archive sha256).
fn resolve(
    client: &PubClient,
    dependencies: &[(&str, &str)],
) -> BTreeMap<String, (String, String)> {
    let mut picked: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut todo: Vec<(String, String)> = dependencies
        .iter()
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect();
    while let Some((name, constraint)) = todo.pop() {
        if let Some((version, _)) = picked.get(&name) {
            assert!(allows(&constraint, &PubVersion::parse(version).unwrap()));
            continue;
        }
        let listing = client.list(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let best = listing
            .versions
            .iter()
            .filter(|v| {
                !v.retracted && allows(&constraint, &PubVersion::parse(&v.version).unwrap())
            })
            .max_by_key(|v| PubVersion::parse(&v.version).unwrap())
            .unwrap_or_else(|| panic!("no version of {name} matches {constraint}"));
        assert!(
            best.archive_url.starts_with(client.hosted_url()),
            "{} is not under the hosted-url",
            best.archive_url
        );
        let download = client.download_response(best).expect("verified download");
        let extracted = super::support::extract(&download.bytes).expect("extracts");
        let pubspec = extracted.pubspec();
        assert_eq!(
            pubspec, best.pubspec,
            "the archive's pubspec is the listed one"
        );
        if let Some(deps) = pubspec.get("dependencies").and_then(|d| d.as_object()) {
            for (dep, c) in deps {
                todo.push((
                    dep.clone(),
                    c.as_str().expect("a version constraint").to_string(),
                ));
            }
        }
        picked.insert(name, (best.version.clone(), download.sha256));
    }
    picked
}

#[test]
fn one_hosted_url_resolves_an_app_with_a_public_and_a_private_dependency() {
    let s = super::setup();
    s.upstream.publish("meta", "1.0.0", &[]);
    s.upstream.publish("meta", "1.16.0", &[]);
    s.upstream.publish("meta", "2.0.0", &[]);
    s.upstream.publish("http", "1.1.0", &[("meta", "^1.3.0")]);
    s.upstream.publish("http", "1.2.0", &[("meta", "^1.3.0")]);
    s.upstream.retract("http", "1.2.0");
    // The upstream also has a package named like our private one, higher: never used.
    s.upstream.publish("acme_core", "1.9.0", &[]);
    let client = s.server.client();
    let resolved = resolve(&client, &[("acme_core", "^1.0.0"), ("http", "^1.0.0")]);
    let versions: Vec<(&str, &str)> = resolved
        .iter()
        .map(|(n, (v, _))| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        versions,
        [
            ("acme_core", "1.1.0"),
            ("http", "1.1.0"),
            ("meta", "1.16.0")
        ]
    );
    assert_eq!(
        resolved["http"].1,
        super::upstream::sha256(&s.upstream.archive_of("http", "1.1.0"))
    );
    assert_eq!(s.upstream.count_prefix("api/packages/acme_core"), 0);
}
