//! Who may publish what: names served from git belong to their repository, existing
//! uploaded packages to their uploaders and admins, new names to admins and the
//! publisher teams.

use super::Refusal;
use super::finalize::{Stop, reject};
use crate::auth::policy;
use crate::config::Config;
use crate::index::Index;
use crate::store::{Source, Store};

/// Whether `member` may publish `version` of `package`: names served from git are
/// refused, existing uploaded packages need an uploader or admin, new names an admin
/// or a member of a publisher team.
pub(super) fn may_publish(
    config: &Config,
    store: &Store,
    index: &Index,
    package: &str,
    version: &str,
    member: &str,
) -> Result<(), Stop> {
    let at = Some((package, version));
    if let Some((repo, tag)) = git_home(config, store, package, version)? {
        return Err(reject(
            Refusal::Conflict,
            format!(
                "{package} is served from the git repository {repo}; release it there by pushing the tag {tag} instead of publishing"
            ),
            at,
        ));
    }
    let admin = policy::is_admin(config, member);
    match store.publishing.package(package)? {
        Some(existing) if admin || existing.uploaders.iter().any(|u| u == member) => Ok(()),
        Some(existing) => Err(reject(
            Refusal::Forbidden,
            format!(
                "{member} is not an uploader of {package}; ask one of its uploaders ({}) or an admin to add you",
                existing.uploaders.join(", ")
            ),
            at,
        )),
        None => {
            let lower = package.to_ascii_lowercase();
            let clash = index
                .names()
                .map(str::to_string)
                .chain(store.publishing.packages()?.into_iter().map(|p| p.name))
                .find(|n| n.to_ascii_lowercase() == lower && n != package);
            if let Some(other) = clash {
                return Err(reject(
                    Refusal::Conflict,
                    format!(
                        "{package} differs only in case from the existing package {other}; choose another name"
                    ),
                    at,
                ));
            }
            let publisher = policy::teams_of(config, member)
                .any(|t| config.uploads.publishers.iter().any(|p| p == t));
            if admin || publisher {
                Ok(())
            } else if config.uploads.publishers.is_empty() {
                Err(reject(
                    Refusal::Forbidden,
                    format!(
                        "only admins may create packages here, and {member} is not one; ask an admin to add your team under uploads.publishers"
                    ),
                    at,
                ))
            } else {
                Err(reject(
                    Refusal::Forbidden,
                    format!(
                        "only admins and members of {} may create packages; ask a leader of one of those teams to add {member}",
                        config.uploads.publishers.join(", ")
                    ),
                    at,
                ))
            }
        }
    }
}

/// The repository (and the tag to push) if `package` belongs to a git repository.
fn git_home(
    config: &Config,
    store: &Store,
    package: &str,
    version: &str,
) -> Result<Option<(String, String)>, crate::store::Error> {
    let owner = store.catalog.owner(package)?;
    let repo_key = match &owner {
        Some(Source::Git { repo, .. }) => Some(repo.clone()),
        _ => config
            .repositories
            .iter()
            .find(|r| {
                r.packages
                    .iter()
                    .any(|p| p.name.as_deref() == Some(package))
            })
            .map(|r| r.key.clone()),
    };
    // A repository holding tags of the name, though none is served yet, is its source
    // too (release/claim.rs): publishing would take the name from it.
    let repo_key = match (repo_key, owner) {
        (None, None) => {
            let held = store.catalog.names_by_repo()?;
            config
                .repositories
                .iter()
                .find(|r| held.get(&r.key).is_some_and(|n| n.contains(package)))
                .map(|r| r.key.clone())
        }
        (key, _) => key,
    };
    Ok(repo_key.map(|key| {
        let repo = config.repository(&key);
        let spec = repo.and_then(|r| {
            r.packages
                .iter()
                .find(|p| p.name.as_deref() == Some(package))
                .or_else(|| r.packages.first())
        });
        let tag = spec
            .and_then(|s| s.tag_patterns.first())
            .map_or_else(|| format!("v{version}"), |p| p.tag_for(version));
        (
            repo.map_or_else(|| crate::config::redact(&key), |r| r.url.display()),
            tag,
        )
    }))
}
