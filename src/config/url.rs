//! The two kinds of URL in `registry.yaml`: the registry's own `base_url`, and the
//! location of each watched git repository.

use std::path::{Path, PathBuf};

/// The hosted-url that clients use, normalised the way `dart pub` normalises it
/// (PUB_PROTOCOL.md §1.1): a path other than `/` always ends in `/`.
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
                    if text.contains('@') && (scheme == "https" || scheme == "http") {
                        let parsed = url::Url::parse(text)
                            .map_err(|e| format!("`{text}` is not a URL ({e})"))?;
                        if parsed.password().is_some() {
                            return Err(format!(
                                "`{}` carries a password; put it in an environment variable and name it with credentials.password_env",
                                redact(text)
                            ));
                        }
                    }
                    Ok(RepoUrl::Remote(text.to_string()))
                }
                other => Err(format!(
                    "`{text}` uses the scheme `{other}`; tagpub supports local paths, file://, https://, http:// and ssh://"
                )),
            };
        }
        if is_scp_like(text) {
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

/// Removes `user:password@` from a URL so it can be logged.
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => text.to_string(),
    }
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
}
