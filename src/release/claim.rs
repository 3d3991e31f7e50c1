//! Which repository a package name comes from when several hold it.
//!
//! A name has one source (store/sources.rs). The rules, in order:
//! 1. The source that stored the first version of the name keeps it for good: its
//!    versions are served and never joined by another source's (bytes are forever).
//! 2. A name nobody owns yet goes to the repository listed first in registry.yaml
//!    among those holding tags for it. A later repository waits while an earlier one
//!    has never been read (at a first start, every repository is read at once).
//! 3. Whatever the code decided, the store refuses a second source, so two writers
//!    racing end with one owner and one loud rejection.
//!
//! `tagpub check` applies rule 2 to what it reads, after rule 1 when a catalog exists.

use crate::config::{Repository, redact};
use crate::store::{Source, Store};
use std::collections::{BTreeMap, BTreeSet};

/// What a repository may do with one of its package names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It owns the name, or may claim it.
    Mine,
    /// Another source owns the name: its tags are refused for good.
    Owned { reason: String },
    /// An earlier repository holds the name, or has not been read yet: refused for
    /// now and looked at again on every pass, since that repository may change.
    Deferred { reason: String, waiting_on: String },
}

/// Decides claims for one pass of repository `repo`, listed in registry.yaml among
/// `repositories`.
pub struct Claims<'a> {
    repo: &'a Repository,
    repositories: &'a [Repository],
    /// Read lazily: only a name that nobody owns needs it.
    names: Option<BTreeMap<String, BTreeSet<String>>>,
}

impl<'a> Claims<'a> {
    pub fn new(repo: &'a Repository, repositories: &'a [Repository]) -> Claims<'a> {
        Claims {
            repo,
            repositories,
            names: None,
        }
    }

    /// The repositories listed before this one.
    fn earlier(&self) -> &'a [Repository] {
        let at = self
            .repositories
            .iter()
            .position(|r| r.key == self.repo.key)
            .unwrap_or(0);
        &self.repositories[..at]
    }

    pub fn of(&mut self, store: &Store, name: &str) -> Result<Claim, crate::store::Error> {
        match store.catalog.owner(name)? {
            Some(Source::Git { repo, .. }) if repo == self.repo.key => return Ok(Claim::Mine),
            Some(owner) => {
                return Ok(Claim::Owned {
                    reason: owned_reason(name, self.repo, self.repositories, &owner),
                });
            }
            None => {}
        }
        if self.names.is_none() {
            self.names = Some(store.catalog.names_by_repo()?);
        }
        let names = self.names.as_ref().expect("read just above");
        let here = self.repo.url.display();
        for other in self.earlier() {
            let there = other.url.display();
            match names.get(&other.key) {
                Some(held) if held.iter().any(|h| h.eq_ignore_ascii_case(name)) => {
                    return Ok(Claim::Deferred {
                        reason: earlier_reason(name, &there, &here),
                        waiting_on: other.key.clone(),
                    });
                }
                Some(_) => {}
                // Never read, but every package it has is named in registry.yaml, and
                // none this way: it cannot hold the name.
                None if other.packages.iter().all(|p| {
                    p.name
                        .as_deref()
                        .is_some_and(|n| !n.eq_ignore_ascii_case(name))
                }) => {}
                None => {
                    return Ok(Claim::Deferred {
                        reason: format!(
                            "waiting for {there}, which comes first in registry.yaml and has not been read yet: package {name} is served from {here} only if {there} does not hold it"
                        ),
                        waiting_on: other.key.clone(),
                    });
                }
            }
        }
        Ok(Claim::Mine)
    }
}

/// Why `here` may not serve `name`, which the earlier repository `there` holds too.
pub fn earlier_reason(name: &str, there: &str, here: &str) -> String {
    format!(
        "package {name} is also in {there}, which comes first in registry.yaml and so serves it; rename the package in {here}, or stop listing one of them"
    )
}

/// Why `repo` may not serve `name`, which `owner` (another source) has.
pub fn owned_reason(
    name: &str,
    repo: &Repository,
    repositories: &[Repository],
    owner: &Source,
) -> String {
    let here = repo.url.display();
    match owner {
        Source::Git { repo: key, .. } => {
            let there = repositories
                .iter()
                .find(|r| &r.key == key)
                .map_or_else(|| redact(key), |r| r.url.display());
            format!(
                "package {name} is already served from {there}, so {here} cannot serve it too (a name comes from one repository); rename the package in {here}, or stop listing one of them in registry.yaml"
            )
        }
        Source::Upload { uploader } => format!(
            "package {name} was published with `dart pub publish` (first by {uploader}); a name comes from one source, so rename the package in {here}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::{Added, StoredVersion};

    fn config(first_packages: &str) -> Config {
        Config::from_yaml(
            &format!(
                "base_url: https://h/\nrepositories:\n  - url: /srv/a\n{first_packages}  - url: /srv/b\n"
            ),
            std::path::Path::new("/etc/tagpub/registry.yaml"),
        )
        .unwrap()
    }

    fn claim(config: &Config, store: &Store, which: usize, name: &str) -> Claim {
        Claims::new(&config.repositories[which], &config.repositories)
            .of(store, name)
            .unwrap()
    }

    #[test]
    fn config_order_decides_a_name_nobody_owns_yet() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let unnamed = config("");
        // The first repository was never read: it may hold the name.
        assert!(matches!(
            claim(&unnamed, &store, 1, "shared_pkg"),
            Claim::Deferred { waiting_on, .. } if waiting_on == "/srv/a"
        ));
        assert_eq!(claim(&unnamed, &store, 0, "shared_pkg"), Claim::Mine);
        // Never read, but its only package is named otherwise in registry.yaml.
        let named = config("    packages: [{name: other_pkg}]\n");
        assert_eq!(claim(&named, &store, 1, "shared_pkg"), Claim::Mine);

        store
            .catalog
            .record_names("/srv/a", Some(&["Shared_Pkg".into()]))
            .unwrap();
        let Claim::Deferred { reason, .. } = claim(&unnamed, &store, 1, "shared_pkg") else {
            panic!("a name held by an earlier repository, in another case, is its");
        };
        assert!(
            reason.contains("/srv/a") && reason.contains("/srv/b"),
            "{reason}"
        );
        store.catalog.record_names("/srv/a", Some(&[])).unwrap();
        assert_eq!(claim(&unnamed, &store, 1, "shared_pkg"), Claim::Mine);
    }

    #[test]
    fn the_first_source_stored_keeps_the_name_whatever_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = config("");
        let version = StoredVersion {
            package: "shared_pkg".into(),
            version: "1.0.0".into(),
            sha256: "aa".into(),
            pubspec_json: "{}".into(),
            archive_size: 1,
            published: 1,
            source: Source::Git {
                repo: "/srv/b".into(),
                tag: "v1.0.0".into(),
                commit: "c".into(),
            },
        };
        assert_eq!(
            store.catalog.add_version(&version, None).unwrap(),
            Added::New
        );
        assert_eq!(claim(&config, &store, 1, "shared_pkg"), Claim::Mine);
        let Claim::Owned { reason } = claim(&config, &store, 0, "shared_pkg") else {
            panic!("the earlier repository took a name another one serves");
        };
        assert!(
            reason.contains("already served from /srv/b, so /srv/a cannot serve it too"),
            "{reason}"
        );
    }
}
