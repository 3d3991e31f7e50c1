//! `store:`: where the catalog and the archives live when several replicas share them
//! (docs/configuration.md, docs/operations.md "Several replicas"). Absent: SQLite and
//! files under `data_dir`, as on one machine.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub database_url_env: Option<String>,
    pub archives: Option<RawArchives>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArchives {
    pub s3: Option<RawS3>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    pub bucket: String,
    pub endpoint: String,
    pub region: String,
    pub access_key_env: String,
    pub secret_key_env: String,
    pub prefix: Option<String>,
}

/// The shared stores of a replicated installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// The environment variable holding the PostgreSQL URL; `None`: SQLite in `data_dir`.
    pub database_url_env: Option<String>,
    /// Archives in an S3-compatible bucket; `None`: files in `data_dir`.
    pub s3: Option<S3Settings>,
}

/// An S3-compatible bucket holding the archives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// `https://s3.eu-west-1.amazonaws.com`, or `http://127.0.0.1:9000` for a local server.
    pub endpoint: url::Url,
    pub region: String,
    pub access_key_env: String,
    pub secret_key_env: String,
    /// Prepended to every key: empty, or ending in `/`.
    pub prefix: String,
}

impl StoreSettings {
    /// The PostgreSQL URL, read from the environment at start-up.
    pub fn database_url(&self) -> Option<Result<String, String>> {
        let var = self.database_url_env.as_ref()?;
        Some(match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(format!(
                "store.database_url_env: the environment variable {var} is not set or empty; set it to the PostgreSQL URL, like postgres://tagpub@db.internal/tagpub (the password in the URL or in PGPASSWORD)"
            )),
        })
    }

    /// Variables named here that are not set where tagpub runs.
    pub fn environment_problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .database_url()
            .and_then(Result::err)
            .into_iter()
            .collect();
        if let Some(s3) = &self.s3 {
            out.extend(
                [false, true]
                    .into_iter()
                    .filter_map(|secret| s3.key(secret).err()),
            );
        }
        out
    }
}

impl S3Settings {
    /// The access key (`secret: false`) or the secret key, read from the environment now;
    /// an unset or empty variable is a message naming it.
    pub fn key(&self, secret: bool) -> Result<String, String> {
        let (key, var) = if secret {
            ("secret_key_env", &self.secret_key_env)
        } else {
            ("access_key_env", &self.access_key_env)
        };
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!(
                "store.archives.s3.{key}: the environment variable {var} is not set or empty, so the bucket {} cannot be reached; set {var} where tagpub runs",
                self.bucket
            )),
        }
    }
}

pub(super) fn validate(raw: RawStore, problems: &mut Vec<String>) -> Option<StoreSettings> {
    let env = |key: &str, v: &str, what: &str, problems: &mut Vec<String>| {
        if !super::validate::is_env_name(v) {
            problems.push(format!(
                "store.{key}: `{v}` is not an environment variable name; name the variable that holds {what}, never the value itself"
            ));
        }
    };
    if let Some(v) = &raw.database_url_env {
        env("database_url_env", v, "the PostgreSQL URL", problems);
    }
    let named_any = raw.database_url_env.is_some() || raw.archives.is_some();
    let s3 = raw
        .archives
        .and_then(|a| match a.s3 {
            Some(s3) => validate_s3(s3, problems),
            None => {
                problems.push(
                    "store.archives: names no archive store; add `s3:` with its bucket, endpoint, region, access_key_env and secret_key_env, or remove `archives` to keep archives in data_dir".into(),
                );
                None
            }
        });
    if !named_any {
        problems.push(
            "store: names neither database_url_env nor archives; remove `store:` to keep everything in data_dir, or name the shared stores".into(),
        );
    }
    Some(StoreSettings {
        database_url_env: raw.database_url_env,
        s3,
    })
}

fn validate_s3(raw: RawS3, problems: &mut Vec<String>) -> Option<S3Settings> {
    let at = "store.archives.s3";
    let before = problems.len();
    if let Err(e) = check_bucket(&raw.bucket) {
        problems.push(format!("{at}.bucket: `{}` {e}", raw.bucket));
    }
    let endpoint = match check_endpoint(&raw.endpoint) {
        Ok(u) => Some(u),
        Err(e) => {
            problems.push(format!("{at}.endpoint: `{}` {e}", raw.endpoint));
            None
        }
    };
    if raw.region.is_empty()
        || !raw
            .region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(format!(
            "{at}.region: `{}` is not a region name; write it like eu-west-1 (servers like MinIO accept us-east-1)",
            raw.region
        ));
    }
    for (key, v) in [
        ("access_key_env", &raw.access_key_env),
        ("secret_key_env", &raw.secret_key_env),
    ] {
        if !super::validate::is_env_name(v) {
            problems.push(format!(
                "{at}.{key}: `{v}` is not an environment variable name; name the variable that holds the key, never the key itself"
            ));
        }
    }
    let prefix = match raw.prefix.as_deref().map(check_prefix).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            problems.push(format!(
                "{at}.prefix: `{}` {e}",
                raw.prefix.unwrap_or_default()
            ));
            String::new()
        }
    };
    (problems.len() == before).then(|| S3Settings {
        bucket: raw.bucket,
        endpoint: endpoint.expect("no problem means the endpoint parsed"),
        region: raw.region,
        access_key_env: raw.access_key_env,
        secret_key_env: raw.secret_key_env,
        prefix,
    })
}

/// S3's bucket naming rules (they are also what other servers accept).
fn check_bucket(b: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&b.len()) {
        return Err("is not a bucket name: it must be 3 to 63 characters long");
    }
    if !b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(
            "is not a bucket name: only lower-case letters, digits, `-` and `.` are allowed",
        );
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(b.chars().next()) || !edge(b.chars().last()) {
        return Err("is not a bucket name: it must start and end with a letter or digit");
    }
    if b.contains("..") || b.contains(".-") || b.contains("-.") {
        return Err("is not a bucket name: `..`, `.-` and `-.` are not allowed; use one separator");
    }
    if b.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("is not a bucket name: it must not look like an IP address");
    }
    Ok(())
}

fn check_endpoint(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| {
        format!("is not a URL ({e}); write it like https://s3.eu-west-1.amazonaws.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(
            "is not an http(s) URL with a host; write it like https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000".into(),
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("holds credentials; keep them out of the file and name their variables in access_key_env and secret_key_env".into());
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err("has a path, query or fragment; give the server only (the bucket goes in `bucket`, a key prefix in `prefix`)".into());
    }
    Ok(url)
}

/// A key prefix: relative segments of safe characters; returned ending in `/`.
fn check_prefix(p: &str) -> Result<String, &'static str> {
    let trimmed = p.strip_suffix('/').unwrap_or(p);
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(
                "is not a key prefix: no leading `/`, empty, `.` or `..` segments; write it like prod/ or team/registry/",
            );
        }
        if !segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(
                "is not a key prefix: only letters, digits, `-`, `_`, `.` and `/` are allowed",
            );
        }
    }
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Error};
    use std::path::Path;

    fn load(store: &str) -> Result<Config, Error> {
        let text = format!("base_url: https://pub.acme.dev/\nstore:\n{store}");
        Config::from_yaml(&text, Path::new("/etc/tagpub/registry.yaml"))
    }

    const FULL: &str = "  database_url_env: TAGPUB_DATABASE_URL
  archives:
    s3:
      bucket: tagpub-archives
      endpoint: https://s3.eu-west-1.amazonaws.com
      region: eu-west-1
      access_key_env: S3_ACCESS_KEY
      secret_key_env: S3_SECRET_KEY
      prefix: prod/
";

    #[test]
    fn the_issue_example_loads_and_absent_means_data_dir() {
        let c = load(FULL).unwrap();
        let store = c.store.unwrap();
        assert_eq!(
            store.database_url_env.as_deref(),
            Some("TAGPUB_DATABASE_URL")
        );
        let s3 = store.s3.unwrap();
        assert_eq!(s3.bucket, "tagpub-archives");
        assert_eq!(s3.endpoint.as_str(), "https://s3.eu-west-1.amazonaws.com/");
        assert_eq!(s3.prefix, "prod/");
        let plain =
            Config::from_yaml("base_url: https://pub.acme.dev/\n", Path::new("/r.yaml")).unwrap();
        assert_eq!(plain.store, None);
        let db_only = load("  database_url_env: DB\n").unwrap().store.unwrap();
        assert_eq!(db_only.s3, None);
    }

    #[test]
    fn each_bad_setting_is_named_with_its_fix() {
        let cases = [
            (
                "database_url_env: TAGPUB_DATABASE_URL",
                "database_url_env: 'postgres://u@h/db'",
                "store.database_url_env: `postgres://u@h/db` is not an environment variable name",
            ),
            (
                "bucket: tagpub-archives",
                "bucket: Tagpub_Archives",
                "store.archives.s3.bucket: `Tagpub_Archives` is not a bucket name: only lower-case",
            ),
            (
                "bucket: tagpub-archives",
                "bucket: ab",
                "3 to 63 characters",
            ),
            (
                "bucket: tagpub-archives",
                "bucket: -tagpub",
                "start and end with a letter or digit",
            ),
            ("bucket: tagpub-archives", "bucket: tag..pub", "`..`"),
            (
                "bucket: tagpub-archives",
                "bucket: 192.168.1.10",
                "IP address",
            ),
            (
                "endpoint: https://s3.eu-west-1.amazonaws.com",
                "endpoint: s3.amazonaws.com",
                "store.archives.s3.endpoint: `s3.amazonaws.com` is not a URL",
            ),
            (
                "endpoint: https://s3.eu-west-1.amazonaws.com",
                "endpoint: ftp://s3.example.com",
                "is not an http(s) URL",
            ),
            (
                "endpoint: https://s3.eu-west-1.amazonaws.com",
                "endpoint: https://key:secret@s3.example.com",
                "holds credentials",
            ),
            (
                "endpoint: https://s3.eu-west-1.amazonaws.com",
                "endpoint: https://s3.example.com/tagpub-archives",
                "the bucket goes in `bucket`",
            ),
            (
                "region: eu-west-1",
                "region: ''",
                "store.archives.s3.region",
            ),
            (
                "access_key_env: S3_ACCESS_KEY",
                "access_key_env: AKIAIOSFODNN7EXAMPLE/x",
                "store.archives.s3.access_key_env",
            ),
            (
                "secret_key_env: S3_SECRET_KEY",
                "secret_key_env: ''",
                "store.archives.s3.secret_key_env",
            ),
            (
                "prefix: prod/",
                "prefix: /prod/",
                "store.archives.s3.prefix: `/prod/` is not a key prefix",
            ),
            ("prefix: prod/", "prefix: prod/../other", "`..`"),
            ("prefix: prod/", "prefix: 'prod env/'", "only letters"),
        ];
        for (from, to, expected) in cases {
            let yaml = FULL.replace(from, to);
            assert_ne!(yaml, FULL, "{from}");
            let e = load(&yaml).unwrap_err().to_string();
            assert!(e.contains(expected), "{to}: {e}");
        }
        let e = load("  archives: {}\n").unwrap_err().to_string();
        assert!(e.contains("store.archives: names no archive store"), "{e}");
        let e = load("  {}\n").unwrap_err().to_string();
        assert!(e.contains("store: names neither"), "{e}");
        let e = load("  database_url: postgres://x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("database_url"), "{e}");
    }

    #[test]
    fn a_prefix_is_kept_with_one_trailing_slash() {
        for (written, kept) in [("prod", "prod/"), ("prod/", "prod/"), ("a/b", "a/b/")] {
            let c = load(&FULL.replace("prefix: prod/", &format!("prefix: {written}"))).unwrap();
            assert_eq!(c.store.unwrap().s3.unwrap().prefix, kept);
        }
    }

    #[test]
    fn unset_variables_are_reported_not_refused() {
        let c = load(
            &FULL
                .replace("TAGPUB_DATABASE_URL", "TAGPUB_TEST_NEVER_SET_DB")
                .replace("S3_SECRET_KEY", "TAGPUB_TEST_NEVER_SET_S3"),
        )
        .unwrap();
        let problems = c.environment_problems().join("\n");
        assert!(
            problems.contains("TAGPUB_TEST_NEVER_SET_DB is not set"),
            "{problems}"
        );
        assert!(
            problems.contains("TAGPUB_TEST_NEVER_SET_S3 is not set"),
            "{problems}"
        );
    }
}
