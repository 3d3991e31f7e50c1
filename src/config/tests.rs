use super::*;

const PRODUCT_EXAMPLE: &str = r#"
base_url: https://pub.acme.dev/
listen: 127.0.0.1:8080
data_dir: ./data
access:
  anonymous_read: false
members:
  - email: admin@acme.dev
    admin: true
  - email: alice@acme.dev
  - email: ci-mobile@acme.dev
teams:
  - name: mobile
    leaders: [alice@acme.dev]
    members: [ci-mobile@acme.dev]
uploads:
  publishers: [mobile]
repositories:
  - url: /srv/git/widgets.git
  - url: https://git.acme.dev/mobile/monorepo.git
    credentials: {username: oauth2, password_env: MONOREPO_GIT_TOKEN}
    webhook_secret_env: MONOREPO_HOOK_SECRET
    poll_interval: 5m
    teams: [mobile]
    packages:
      - path: packages/foo
        tag_pattern: "foo-v{{version}}"
      - name: bar
        path: packages/bar
        tag_pattern: ["bar-v{{version}}", "bar-{{version}}"]
        retracted: ["2.0.1"]
        discontinued: true
        replaced_by: baz
"#;

fn load(text: &str) -> Result<Config, Error> {
    Config::from_yaml(text, Path::new("/etc/tagpub/registry.yaml"))
}

fn problems(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn the_product_example_loads() {
    let c = load(PRODUCT_EXAMPLE).unwrap();
    assert_eq!(c.base_url.as_str(), "https://pub.acme.dev/");
    assert_eq!(c.data_dir, PathBuf::from("/etc/tagpub/./data"));
    assert_eq!(c.repositories.len(), 2);
    let widgets = &c.repositories[0];
    assert_eq!(
        widgets.url,
        RepoUrl::Local(PathBuf::from("/srv/git/widgets.git"))
    );
    assert_eq!(widgets.poll_interval, DEFAULT_POLL_INTERVAL);
    assert_eq!(widgets.packages.len(), 1);
    assert_eq!(widgets.packages[0].path, "");
    assert_eq!(widgets.packages[0].tag_patterns.len(), 2);
    let mono = &c.repositories[1];
    assert_eq!(mono.teams, vec!["mobile"]);
    assert_eq!(mono.packages[1].name.as_deref(), Some("bar"));
    assert_eq!(mono.packages[1].retracted[0].to_string(), "2.0.1");
    assert_eq!(mono.packages[1].replaced_by.as_deref(), Some("baz"));
    assert_eq!(c.teams[0].leaders, vec!["alice@acme.dev"]);
}

#[test]
fn unknown_key_is_named() {
    let e = problems(
        "base_url: https://h/\nrepositories:\n  - url: /x\n    tag_patern: v{{version}}\n",
    );
    assert!(e.contains("tag_patern"), "{e}");
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let e = problems(
        r#"
base_url: ftp://h/
listen: nowhere
teams:
  - name: t
    members: [ghost@acme.dev]
repositories:
  - url: /a
    poll_interval: soon
    teams: [nobody]
    packages:
      - name: "class"
        tag_pattern: "v1"
      - path: ../up
        retracted: ["01.0.0"]
"#,
    );
    for needle in [
        "base_url:",
        "listen:",
        "teams[0].members[0]",
        "repositories[0].poll_interval",
        "repositories[0].teams[0]",
        "repositories[0].packages[0].name",
        "repositories[0].packages[0].tag_pattern[0]",
        "repositories[0].packages[1].path",
        "repositories[0].packages[1].retracted[0]",
    ] {
        assert!(e.contains(needle), "missing {needle} in:\n{e}");
    }
}

#[test]
fn shared_patterns_and_names_are_refused() {
    let e = problems(
        "base_url: https://h/\nrepositories:\n  - url: /a\n    packages:\n      - {name: a, path: a}\n      - {name: b, path: b}\n",
    );
    assert!(e.contains("also used by packages[0]"), "{e}");
    let e = problems(
        "base_url: https://h/\nrepositories:\n  - url: /a\n    packages: [{name: a}]\n  - url: /b\n    packages: [{name: a}]\n",
    );
    assert!(e.contains("package `a` is also served from"), "{e}");
}

#[test]
fn secrets_are_named_not_written() {
    let e = problems(
        "base_url: https://h/\nrepositories:\n  - url: https://g/x.git\n    credentials: {username: u, password_env: 'hunter2!'}\n",
    );
    assert!(e.contains("credentials.password_env"), "{e}");
}

#[test]
fn a_dot_path_means_the_repository_root() {
    for (written, expected) in [
        (".", ""),
        ("./", ""),
        ("/", ""),
        ("./packages/foo/", "packages/foo"),
        ("packages/./foo", "packages/foo"),
        ("packages//foo", "packages/foo"),
    ] {
        let config = Config::from_yaml(
            &format!("base_url: https://h/\nrepositories:\n  - url: /a\n    packages: [{{path: \"{written}\"}}]\n"),
            Path::new("/etc/tagpub/registry.yaml"),
        )
        .unwrap_or_else(|e| panic!("path {written:?}: {e}"));
        assert_eq!(
            config.repositories[0].packages[0].path, expected,
            "{written:?}"
        );
    }
    for refused in ["..", "./../x", "a/../../b", "a\\b"] {
        let e = problems(&format!(
            "base_url: https://h/\nrepositories:\n  - url: /a\n    packages: [{{path: '{refused}'}}]\n"
        ));
        assert!(e.contains("packages[0].path"), "{refused}: {e}");
    }
}

#[test]
fn an_uploaded_packages_replaced_by_must_be_a_package_name() {
    let e = problems(
        r#"
base_url: https://h/
teams: [{name: web}]
uploads:
  publishers: [web, nobody]
  packages:
    - name: old_pkg
      teams: [ghost]
      retracted: ["01.0.0"]
      replaced_by: "not a name"
"#,
    );
    for needle in [
        "uploads.publishers[1]: no team is named `nobody`",
        "uploads.packages[0].teams[0]: no team is named `ghost`",
        "uploads.packages[0].retracted[0]",
        "uploads.packages[0].replaced_by: ",
        "only means something with `discontinued: true`",
    ] {
        assert!(e.contains(needle), "missing {needle} in:\n{e}");
    }
    assert_eq!(
        e.matches("uploads.packages[0].replaced_by").count(),
        2,
        "a name problem and a missing `discontinued`: {e}"
    );
}

#[test]
fn duplicate_key_in_registry_yaml_is_refused_with_its_line() {
    let e =
        problems("base_url: https://h/\nrepositories:\n  - url: /a\n    teams: [t]\n    url: /b\n");
    assert!(e.contains("url") && e.contains("line 5"), "{e}");
    let e = problems("base_url: https://h/\nlisten: 127.0.0.1:1\nbase_url: https://other/\n");
    assert!(e.contains("base_url") && e.contains("line 3"), "{e}");
    let e =
        problems("base_url: https://h/\naccess: {anonymous_read: true, anonymous_read: false}\n");
    assert!(e.contains("anonymous_read") && e.contains("line 2"), "{e}");
}
