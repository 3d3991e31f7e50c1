//! One comparable key for every way of writing a repository's location, so that the
//! URLs in a push notification can be matched against the `url` of a watched
//! repository. Each repository's key is computed once, when the config is loaded
//! ([`super::Repository::identity`]).
//!
//! `https://Git.Acme.dev/Org/Repo.git`, `http://git.acme.dev/org/repo`,
//! `ssh://git@git.acme.dev:22/org/repo.git`, `git@git.acme.dev:org/repo.git` and
//! `git://git.acme.dev/org/repo` all become the key `git.acme.dev/org/repo`.
//!
//! Choices, and why:
//! - The scheme, user info and port are dropped. One forge serves the same repository
//!   over https and ssh, often on different non-default ports (Gitea's 3000 and 2222),
//!   and payloads list both forms; host and path are what name the repository. Dropping
//!   user info also keeps credentials out of keys, which may be logged.
//! - Remote paths are compared without regard to ASCII case. Every forge that sends
//!   these webhooks (GitHub, GitLab, Gitea, Forgejo, Bitbucket) resolves `owner/repo`
//!   case-insensitively, and its payload spells the name as the forge stores it, which
//!   need not be how `registry.yaml` spells it. A false match costs one needless fetch
//!   of a repository whose webhook secret already verified; a false miss silently
//!   loses the freshness the webhook exists for.
//! - A leading `/` is dropped, so `host:org/repo` (relative to the ssh user's home in
//!   git's terms) equals `ssh://host/org/repo` (absolute): forges treat them alike.
//! - Local paths keep their case (file systems here are case-sensitive) and are made
//!   canonical through the file system, which is the one place this module reads it.

use super::RepoUrl;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// What identifies a repository, for comparison only: never fetch from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoKey {
    /// A repository on a server: `host` lower-cased, without port; `path` lower-cased,
    /// without leading or trailing `/`, trailing `.git` or empty segments.
    Remote { host: String, path: String },
    /// A repository on this machine, by canonical path, with a trailing `/.git`
    /// dropped so that a working tree and its git directory are the same repository.
    Local(PathBuf),
}

impl fmt::Display for RepoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoKey::Remote { host, path } => write!(f, "{host}/{path}"),
            RepoKey::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

impl RepoKey {
    /// The key of a configured repository location; `None` for a URL that names no
    /// repository (`https://host/`).
    pub fn of(url: &RepoUrl) -> Option<RepoKey> {
        match url {
            RepoUrl::Local(path) => local(path),
            RepoUrl::Remote(url) => normalize(url),
        }
    }
}

/// The key of a repository URL (http, https, ssh, git, scp-like `user@host:path`) or
/// local location (`file://` URL or path; a relative path is taken from the current
/// directory). `None` for text that names no repository.
pub fn normalize(url: &str) -> Option<RepoKey> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return match scheme.to_ascii_lowercase().as_str() {
            "file" => local(&::url::Url::parse(url).ok()?.to_file_path().ok()?),
            "http" | "https" | "ssh" | "git" | "git+ssh" | "ssh+git" => {
                let parsed = ::url::Url::parse(url).ok()?;
                remote(parsed.host_str()?, parsed.path())
            }
            _ => None,
        };
    }
    match scp_like(url) {
        Some((host, path)) => remote(host, path),
        None => local(Path::new(url)),
    }
}

/// Whether `a` and `b` name the same repository; false when either names none.
pub fn same_repository(a: &str, b: &str) -> bool {
    match (normalize(a), normalize(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `[user@]host:path`, by git's own rule: a colon with no slash before it. A
/// one-letter "host" is a Windows drive (`C:\x`), as in `config::RepoUrl`.
fn scp_like(text: &str) -> Option<(&str, &str)> {
    let (before, path) = text.split_once(':')?;
    if before.len() <= 1 || before.contains('/') {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, host)| host);
    Some((host, path))
}

fn remote(host: &str, path: &str) -> Option<RepoKey> {
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let mut path = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    if let Some(stem) = path.strip_suffix(".git") {
        path = stem.trim_end_matches('/').to_owned();
    }
    if path.is_empty() {
        return None;
    }
    Some(RepoKey::Remote {
        host,
        path: path.to_ascii_lowercase(),
    })
}

fn local(path: &Path) -> Option<RepoKey> {
    if path.as_os_str().is_empty() {
        return None;
    }
    let lexical = lexically_clean(&std::path::absolute(path).ok()?);
    // Like git, accept `repo` for a bare `repo.git` that exists when `repo` does not.
    let mut with_suffix = lexical.clone().into_os_string();
    with_suffix.push(".git");
    let resolved = std::fs::canonicalize(&lexical)
        .or_else(|_| std::fs::canonicalize(&with_suffix))
        .unwrap_or(lexical);
    let resolved = match (resolved.file_name(), resolved.parent()) {
        (Some(name), Some(parent)) if name == ".git" => parent.to_path_buf(),
        _ => resolved,
    };
    Some(RepoKey::Local(resolved))
}

/// `.` and `..` resolved without the file system, for paths that do not exist (yet).
fn lexically_clean(path: &Path) -> PathBuf {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(url: &str) -> RepoKey {
        normalize(url).unwrap_or_else(|| panic!("{url} should normalise"))
    }

    #[test]
    fn every_remote_form_gives_one_key() {
        let expected = RepoKey::Remote {
            host: "host.com".into(),
            path: "org/repo".into(),
        };
        for form in [
            "https://Host.COM/Org/Repo.git",
            "http://host.com/org/repo",
            "https://host.com:443/org/repo/",
            "http://host.com:8080/org/repo.git",
            "ssh://git@host.com:22/org/repo.git",
            "ssh://git@host.com/org/repo",
            "ssh://git@host.com:2222/org/repo.git",
            "git+ssh://git@host.com/org/repo.git",
            "git@host.com:org/repo.git",
            "git@HOST.com:/org/repo.git/",
            "host.com:org/repo",
            "git://host.com/org/repo",
            "https://user:password@host.com//org//repo.git",
            "  https://host.com/org/repo.git\n",
        ] {
            assert_eq!(key(form), expected, "{form}");
        }
        assert_eq!(expected.to_string(), "host.com/org/repo");
    }

    #[test]
    fn a_configured_location_has_the_key_of_every_spelling_of_it() {
        let remote = RepoUrl::Remote("https://deploy@Git.Acme.dev/Org/Repo.git".into());
        assert_eq!(RepoKey::of(&remote), Some(key("git@git.acme.dev:org/repo")));
        let dir = tempfile::tempdir().unwrap();
        let local = RepoUrl::Local(dir.path().join("work/../pkg"));
        assert_eq!(
            RepoKey::of(&local),
            Some(key(&format!("file://{}/pkg", dir.path().display())))
        );
        assert_eq!(
            RepoKey::of(&RepoUrl::Remote("https://host.com/".into())),
            None
        );
    }

    #[test]
    fn different_repositories_stay_different() {
        let base = key("https://host.com/org/repo.git");
        for other in [
            "https://host.com/org/repo2.git",
            "https://host.com/other/repo.git",
            "https://other.com/org/repo.git",
            "https://host.com/group/org/repo.git",
            "git@host.com:org/repo/sub.git",
        ] {
            assert_ne!(key(other), base, "{other}");
        }
        assert!(!same_repository(
            "https://host.com/org/repo",
            "not a url at all:/x"
        ));
    }

    #[test]
    fn credentials_never_reach_the_key() {
        let key = key("https://deploy:hunter2@git.acme.dev/acme/app.git");
        assert!(!format!("{key} {key:?}").contains("hunter2"));
    }

    #[test]
    fn text_naming_no_repository_has_no_key() {
        for bad in [
            "",
            "   ",
            "https://host.com/",
            "https://host.com/.git",
            "ftp://host.com/x",
            "https://",
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn local_paths_and_file_urls_meet_at_the_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let bare = root.join("pkg.git");
        let work = root.join("work");
        std::fs::create_dir_all(&bare).unwrap();
        std::fs::create_dir_all(work.join(".git")).unwrap();
        std::os::unix::fs::symlink(&bare, root.join("link")).unwrap();

        let bare_key = RepoKey::Local(bare.clone());
        for form in [
            bare.display().to_string(),
            format!("{}/", bare.display()),
            format!("file://{}", bare.display()),
            // git's own lookup: `pkg` finds `pkg.git`.
            root.join("pkg").display().to_string(),
            root.join("work/../pkg.git").display().to_string(),
            root.join("link").display().to_string(),
        ] {
            assert_eq!(key(&form), bare_key, "{form}");
        }
        let work_key = key(&work.display().to_string());
        assert_eq!(key(&work.join(".git").display().to_string()), work_key);
        assert_eq!(key(&format!("file://{}/.git", work.display())), work_key);
        // Local paths keep their case: these file systems are case-sensitive.
        assert_ne!(key(&root.join("PKG.git").display().to_string()), bare_key);
        // A path that does not exist yet still gets a stable key.
        let missing = root.join("later/./x/../repo");
        assert_eq!(
            key(&missing.display().to_string()),
            RepoKey::Local(root.join("later/repo"))
        );
    }
}
