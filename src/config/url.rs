//! The two kinds of URL in `registry.yaml`: the registry's own `base_url`, and the
//! location of each watched git repository.

use std::path::{Path, PathBuf};

/// The hosted-url that clients use, normalised the way `dart pub` normalises it
/// (docs/protocol.md §1.1): a path other than `/` always ends in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Always ends in `/`, e.g. `https://pub.acme.dev/` or `https://acme.dev/pub/`.
    url: String,
    /// The path part, always starting and ending with `/` (`/` for no prefix).
    path: String,
}

impl BaseUrl {
    /// Parses and normalises a base URL, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        let parsed = url::Url::parse(text.trim()).map_err(|e| {
            format!("`{text}` is not a URL ({e}); write it like https://pub.acme.dev/")
        })?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(format!("`{text}` must start with https:// or http://"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(format!("`{text}` has no host name"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(format!("`{text}` must not contain a user name or password"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "`{text}` must not have a query (?…) or fragment (#…)"
            ));
        }
        let mut path = parsed.path().to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        // `url` already lower-cases the host and drops default ports, like Dart's `Uri`.
        let origin = parsed.origin().ascii_serialization();
        Ok(BaseUrl {
            url: format!("{origin}{path}"),
            path,
        })
    }

    /// The URL with its trailing slash, e.g. `https://acme.dev/pub/`.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The path prefix, `/` or `/pub/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Joins a relative path (no leading `/`) onto the base URL.
    pub fn join(&self, relative: &str) -> String {
        format!("{}{relative}", self.url)
    }
}

/// Where a watched repository lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoUrl {
    /// A working clone or bare repository on this machine, read in place.
    Local(PathBuf),
    /// Anything fetched into a mirror in `data_dir`: `file://`, `https://`, `http://`,
    /// `ssh://` or scp-like `git@host:path`.
    Remote(String),
}

impl RepoUrl {
    /// Classifies `text`; relative local paths are resolved against `base_dir`, the
    /// directory holding `registry.yaml`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<RepoUrl, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty; give a local path or a file://, https:// or ssh:// URL".into());
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return match scheme {
                "file" | "https" | "http" | "ssh" | "git" => {
                    refuse_credentials(text, scheme)?;
                    Ok(RepoUrl::Remote(text.to_string()))
                }
                other => Err(format!(
                    "`{}` uses the scheme `{other}`; tagpub supports local paths, file://, https://, http:// and ssh://",
                    redact(text)
                )),
            };
        }
        if is_scp_like(text) {
            refuse_credentials(text, "ssh")?;
            return Ok(RepoUrl::Remote(text.to_string()));
        }
        let path = Path::new(text);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            base_dir.join(path)
        };
        Ok(RepoUrl::Local(path))
    }

    /// A text for logs and error messages, with any password removed.
    pub fn display(&self) -> String {
        match self {
            RepoUrl::Local(p) => p.display().to_string(),
            RepoUrl::Remote(u) => redact(u),
        }
    }

    /// Whether an https/http URL needs credentials from the environment.
    pub fn is_http(&self) -> bool {
        matches!(self, RepoUrl::Remote(u) if u.starts_with("https://") || u.starts_with("http://"))
    }

    /// Whether this is unencrypted `http://`, where credentials must never go.
    pub fn is_plain_http(&self) -> bool {
        matches!(self, RepoUrl::Remote(u) if u.starts_with("http://"))
    }
}

/// `git@host:path` (scp-like ssh). A Windows drive (`C:\x`) or a path with a slash
/// before the colon is not scp-like, following git's own rule.
fn is_scp_like(text: &str) -> bool {
    match text.find(':') {
        Some(colon) => {
            let before = &text[..colon];
            colon > 1 && !before.contains('/')
        }
        None => false,
    }
}

/// The user-info of a URL (`user:password` in `https://user:password@host/x`) or of
/// scp-like ssh (`git` in `git@host:x`), with the byte range it occupies.
fn user_info(text: &str) -> Option<(std::ops::Range<usize>, &str)> {
    let start = text.find("://").map_or(0, |i| i + 3);
    let authority_end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| start + i);
    // The last `@` of the authority: a password may itself contain an unescaped `@`.
    let at = start + text[start..authority_end].rfind('@')?;
    Some((start..at, &text[start..at]))
}

/// Refuses secrets inside a repository URL, where they would show in every log line,
/// metric and status page. ssh user names (`git@host`) are not secrets and stay.
fn refuse_credentials(text: &str, scheme: &str) -> Result<(), String> {
    let Some((_, info)) = user_info(text) else {
        return Ok(());
    };
    let shown = redact(text);
    match scheme {
        "https" | "http" => Err(format!(
            "`{shown}` has a user name or password in the URL, where it would show in logs and metrics (a token in the user name is a password too); remove it and give it as credentials: {{username: USER, password_env: VARIABLE_HOLDING_THE_PASSWORD}}{}",
            if scheme == "http" {
                ", with the repository's https:// URL"
            } else {
                ""
            }
        )),
        "ssh" if info.contains(':') => Err(format!(
            "`{shown}` has a password in the URL; ssh repositories authenticate with a key (ssh-agent or ~/.ssh/config), so remove the password"
        )),
        "ssh" => Ok(()),
        _ => Err(format!(
            "`{shown}` has a user name or password in the URL, which {scheme}:// does not use; remove it"
        )),
    }
}

/// A URL as it may be shown in logs, metrics, `api/status` and command output: any
/// user-info is masked (`https://***@host/x.git`), except an ssh user name without a
/// password (`git@host:x`, `ssh://git@host/x`). Every place that shows a repository
/// URL goes through this (or [`RepoUrl::display`], which calls it). Text that is not a
/// URL comes back unchanged.
pub fn redact(text: &str) -> String {
    let Some((range, info)) = user_info(text) else {
        return text.to_string();
    };
    let ssh = text.starts_with("ssh://") || !text.contains("://");
    let masked = match info.split_once(':') {
        Some((user, _)) if ssh => format!("{user}:***"),
        None if ssh => return text.to_string(),
        _ => "***".to_string(),
    };
    format!("{}{masked}{}", &text[..range.start], &text[range.end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_trailing_slash_and_lowercase_host() {
        let b = BaseUrl::parse("https://Pub.Acme.dev/some/prefix").unwrap();
        assert_eq!(b.as_str(), "https://pub.acme.dev/some/prefix/");
        assert_eq!(b.path(), "/some/prefix/");
        assert_eq!(
            b.join("api/packages/foo"),
            "https://pub.acme.dev/some/prefix/api/packages/foo"
        );
        let root = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(root.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(root.path(), "/");
        assert_eq!(
            BaseUrl::parse("https://h:443/").unwrap().as_str(),
            "https://h/"
        );
    }

    #[test]
    fn base_url_rejects_what_the_client_rejects() {
        for bad in [
            "ftp://h/",
            "https://u:p@h/",
            "https://h/?q=1",
            "https://h/#f",
            "not a url",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn repo_urls_are_classified() {
        let base = Path::new("/etc/tagpub");
        assert_eq!(
            RepoUrl::parse("repos/w.git", base).unwrap(),
            RepoUrl::Local(PathBuf::from("/etc/tagpub/repos/w.git"))
        );
        assert_eq!(
            RepoUrl::parse("/srv/git/w.git", base).unwrap(),
            RepoUrl::Local(PathBuf::from("/srv/git/w.git"))
        );
        for remote in [
            "file:///srv/w.git",
            "https://git.acme.dev/m.git",
            "ssh://git@h/x.git",
            "git@github.com:acme/x.git",
        ] {
            assert_eq!(
                RepoUrl::parse(remote, base).unwrap(),
                RepoUrl::Remote(remote.into())
            );
        }
        assert!(RepoUrl::parse("ftp://h/x", base).is_err());
        let err = RepoUrl::parse("https://u:secret@h/x.git", base).unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn credentials_inside_urls_are_refused_but_ssh_user_names_stay() {
        let base = Path::new("/etc/tagpub");
        for (url, secret) in [
            ("https://ghp_x1y2@github.com/acme/x.git", "ghp_x1y2"),
            ("https://oauth2:glpat-77@gitlab.com/acme/x.git", "glpat-77"),
            ("http://u:hunter2@git.acme.dev/x.git", "hunter2"),
            ("http://ghp_x1y2@git.acme.dev/x.git", "ghp_x1y2"),
            ("https://u:p@ss@h/x.git", "p@ss"),
            ("ssh://git:hunter2@h/x.git", "hunter2"),
            ("git:hunter2@github.com:acme/x.git", "hunter2"),
            ("git://tok3n@h/x.git", "tok3n"),
            ("file://tok3n@localhost/srv/x.git", "tok3n"),
        ] {
            let err = RepoUrl::parse(url, base).unwrap_err();
            assert!(!err.contains(secret), "{url}: {err}");
            assert!(err.contains("URL"), "{url}: {err}");
        }
        let err = RepoUrl::parse("https://ghp_x1y2@github.com/acme/x.git", base).unwrap_err();
        assert!(
            err.contains("credentials:") && err.contains("password_env"),
            "{err}"
        );
        for fine in [
            "ssh://git@h/x.git",
            "git@github.com:acme/x.git",
            "https://h/a@b.git",
        ] {
            assert!(RepoUrl::parse(fine, base).is_ok(), "{fine}");
        }
    }

    #[test]
    fn redaction_masks_every_secret_and_keeps_the_rest() {
        for (url, shown) in [
            ("https://ghp_x@h/x.git", "https://***@h/x.git"),
            ("https://u:p@h/x.git", "https://***@h/x.git"),
            (
                "https://u:p@ss@h:8443/x.git?q",
                "https://***@h:8443/x.git?q",
            ),
            ("http://U@H/x", "http://***@H/x"),
            ("ssh://git:pw@h/x.git", "ssh://git:***@h/x.git"),
            ("ssh://git@h/x.git", "ssh://git@h/x.git"),
            ("git@github.com:acme/x.git", "git@github.com:acme/x.git"),
            (
                "git:pw@github.com:acme/x.git",
                "git:***@github.com:acme/x.git",
            ),
            ("https://h/a@b.git", "https://h/a@b.git"),
            ("/srv/git/x@y.git", "/srv/git/x@y.git"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}
