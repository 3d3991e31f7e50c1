//! `dart pub publish` (PUB_PROTOCOL.md §5): upload sessions, the checks at finalize, and
//! storing the archive byte for byte. Validation happens at finalize, where the client
//! shows the server's message; every step may be retried and answers the same.

pub mod form;
mod manage;
mod session;
mod staging;

pub use manage::{Actor, discontinue, retract, set_uploader};
pub use session::{receive, start, sweep};

use crate::auth::policy;
use crate::config::Config;
use crate::index::Index;
use crate::package::upload::{self, Limits};
use crate::package::{name, pubspec, version::Version};
use crate::store::{Added, AuditEntry, Source, Store, StoredVersion, UploadOutcome};
use tracing::{info, warn};

/// Why a publishing step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client's mistake or missing right; shown to the person publishing.
    #[error("{message}")]
    Refused { kind: Refusal, message: String },
    /// The registry's own failure, which the client retries: never recorded as a
    /// refusal.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("cannot {doing} the uploaded archive {path}")]
    Staging {
        doing: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
}

/// What kind of refusal a publishing step answers; `http` maps each to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request or the package breaks a rule.
    Invalid,
    /// The member lacks the right.
    Forbidden,
    /// What the request names does not exist.
    NotFound,
    /// It clashes with what is stored: a version with other bytes, a name that
    /// belongs to git or differs only in case, the last uploader.
    Conflict,
    /// The request is larger than this registry accepts.
    TooLarge,
}

impl Refusal {
    /// The kind as the store keeps it with a replayed answer.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::Forbidden => "forbidden",
            Refusal::NotFound => "not-found",
            Refusal::Conflict => "conflict",
            Refusal::TooLarge => "too-large",
        }
    }

    /// The kind of a stored code; a code this version does not know is `Invalid`.
    pub fn from_code(code: &str) -> Refusal {
        [
            Refusal::Forbidden,
            Refusal::NotFound,
            Refusal::Conflict,
            Refusal::TooLarge,
        ]
        .into_iter()
        .find(|k| k.code() == code)
        .unwrap_or(Refusal::Invalid)
    }
}

fn refused(kind: Refusal, message: impl Into<String>) -> Error {
    Error::Refused {
        kind,
        message: message.into(),
    }
}

/// Checks and publishes upload `id`; returns the message for the client and the
/// package that changed (none when replaying an earlier success). Success and
/// refusals are recorded so a retried finalize gets the same answer.
pub fn finalize(
    config: &Config,
    store: &Store,
    index: &Index,
    id: &str,
    member: &str,
    now: i64,
) -> Result<(String, Option<String>), Error> {
    let upload = session::owned_upload(store, id, member, now)?;
    match &upload.outcome {
        Some(UploadOutcome::Published { message }) => return Ok((message.clone(), None)),
        Some(UploadOutcome::Refused { kind, message }) => {
            return Err(refused(Refusal::from_code(kind), message.clone()));
        }
        None => {}
    }
    let nothing_staged = || {
        refused(
            Refusal::Invalid,
            format!("nothing was uploaded for upload {id}; run `dart pub publish` again"),
        )
    };
    let Some((sha256, _)) = &upload.archive else {
        return Err(nothing_staged());
    };
    // The sweep deletes the archives of expired uploads, also just before `now`.
    let Some(bytes) = staging::read(&config.data_dir, id)? else {
        return Err(refused(Refusal::Invalid, session::expired_message()));
    };
    if &staging::sha256(&bytes) != sha256 {
        return Err(nothing_staged());
    }
    let outcome = check_and_store(config, store, index, &bytes, sha256, member, now);
    let (package, version) = match &outcome {
        Ok((p, v))
        | Err(Stop::Refused(Rejection {
            package: Some((p, v)),
            ..
        })) => (p.clone(), Some(v.clone())),
        Err(_) => (String::new(), None),
    };
    match outcome {
        Ok(_) => {
            let message = format!(
                "Successfully uploaded {package} {} to {}.",
                version.clone().unwrap_or_default(),
                config.base_url.as_str()
            );
            store.publishing.audit(&AuditEntry {
                at: now,
                actor: member.to_string(),
                action: "publish".into(),
                package: package.clone(),
                version,
                detail: format!("upload {id}, sha256 {sha256}"),
            })?;
            let published = UploadOutcome::Published {
                message: message.clone(),
            };
            store.publishing.set_upload_outcome(id, &published)?;
            staging::remove(&config.data_dir, id);
            info!(member = %member, package = %package, "{member} published {package}");
            Ok((message, Some(package)))
        }
        // The registry's own failure, not a refusal: nothing is recorded, and the
        // archive stays for the client's retry.
        Err(Stop::Failed(e)) => Err(Error::Store(e)),
        Err(Stop::Refused(Rejection { kind, message, .. })) => {
            store.publishing.audit(&AuditEntry {
                at: now,
                actor: member.to_string(),
                action: "refuse".into(),
                package: if package.is_empty() {
                    "(unknown)".into()
                } else {
                    package.clone()
                },
                version,
                detail: message.clone(),
            })?;
            // Every refusal is final for this upload (a right granted later applies to
            // the next `dart pub publish`), so its archive is not kept.
            let answer = UploadOutcome::Refused {
                kind: kind.code().to_string(),
                message: message.clone(),
            };
            store.publishing.set_upload_outcome(id, &answer)?;
            staging::remove(&config.data_dir, id);
            warn!(member = %member, upload = %id, "refused upload {id} by {member}: {message}");
            Err(refused(kind, message))
        }
    }
}

/// Serialises the checks and writes of finalize within the daemon, the only process
/// that publishes uploads.
static FINALIZE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Why finalize did not publish: a refusal, final for the upload, or the store's
/// failure, which the client retries.
enum Stop {
    Refused(Rejection),
    Failed(crate::store::Error),
}

impl From<crate::store::Error> for Stop {
    fn from(e: crate::store::Error) -> Stop {
        Stop::Failed(e)
    }
}

/// A refusal at finalize, with the package and version when they were read.
struct Rejection {
    kind: Refusal,
    message: String,
    package: Option<(String, String)>,
}

fn reject(kind: Refusal, message: String, package: Option<(&str, &str)>) -> Stop {
    Stop::Refused(Rejection {
        kind,
        message,
        package: package.map(|(p, v)| (p.to_string(), v.to_string())),
    })
}

fn check_and_store(
    config: &Config,
    store: &Store,
    index: &Index,
    bytes: &[u8],
    sha256: &str,
    member: &str,
    now: i64,
) -> Result<(String, String), Stop> {
    let limits = Limits {
        max_compressed: config.uploads.max_archive_bytes,
        max_uncompressed: config.uploads.max_unpacked_bytes,
        ..Limits::default()
    };
    let checked = upload::check_archive(bytes, &limits)
        .map_err(|e| reject(Refusal::Invalid, e.to_string(), None))?;
    let spec = pubspec::parse(&checked.pubspec_yaml).map_err(|e| {
        reject(
            Refusal::Invalid,
            format!("pubspec.yaml in the archive is not valid: {e}"),
            None,
        )
    })?;
    let (package, version_text) = (spec.name.as_str(), spec.version.as_str());
    let at = Some((package, version_text));
    name::validate(package).map_err(|e| {
        reject(
            Refusal::Invalid,
            format!("the package name is not valid: {e}"),
            at,
        )
    })?;
    Version::parse_canonical(version_text).map_err(|e| {
        reject(
            Refusal::Invalid,
            format!("the version is not valid: {e}"),
            at,
        )
    })?;
    let forbidden = spec.forbidden_dependencies();
    if !forbidden.is_empty() {
        let list: Vec<String> = forbidden.iter().map(ToString::to_string).collect();
        return Err(reject(
            Refusal::Invalid,
            format!("{}; depend on hosted versions instead", list.join("; ")),
            at,
        ));
    }
    if !spec
        .json
        .pointer("/environment/sdk")
        .is_some_and(serde_json::Value::is_string)
    {
        return Err(reject(
            Refusal::Invalid,
            "pubspec.yaml has no SDK constraint, so Dart 3 clients could not use this version; add `environment: {sdk: ^3.0.0}`".into(),
            at,
        ));
    }
    may_publish(config, store, index, package, version_text, member)?;

    let published = || Ok((package.to_string(), version_text.to_string()));
    let exists = || {
        reject(
            Refusal::Conflict,
            format!(
                "version {version_text} of {package} already exists with different content; versions never change, so publish a new version"
            ),
            at,
        )
    };
    // One finalize at a time from here: between checking that a version is new and
    // adding it, no other finalize may add it, or its archive would be written for
    // nothing.
    let _one = FINALIZE.lock().unwrap_or_else(|p| p.into_inner());
    // Checked before anything is written: a refused archive must leave no blob behind.
    let existing = store
        .catalog
        .summaries(Some(package))?
        .into_iter()
        .find(|v| v.version == version_text);
    match existing {
        Some(v) if v.sha256 == sha256 && store.blobs.contains(sha256) => return published(),
        Some(v) if v.sha256 != sha256 => return Err(exists()),
        _ => {}
    }
    // The archive is stored exactly as uploaded: its bytes are what the client hashed.
    let stored_sha = store.blobs.put(bytes)?;
    debug_assert_eq!(stored_sha, sha256);
    let teams: Vec<String> = policy::teams_of(config, member)
        .map(str::to_string)
        .collect();
    store
        .publishing
        .create_package(package, member, &teams, now)?;
    let stored = StoredVersion {
        package: package.to_string(),
        version: version_text.to_string(),
        sha256: sha256.to_string(),
        pubspec_json: spec.json.to_string(),
        archive_size: bytes.len() as u64,
        published: now,
        source: Source::Upload {
            uploader: member.to_string(),
        },
    };
    match store.catalog.add_version(&stored, None)? {
        Added::New => published(),
        Added::AlreadyExists(existing) if existing.sha256 == sha256 => published(),
        Added::AlreadyExists(_) => Err(exists()),
        // A repository claimed the name since `may_publish` looked (store/sources.rs).
        Added::OtherSource(_) => Err(reject(
            Refusal::Conflict,
            format!(
                "{package} is served from a git repository; release it there by pushing a tag instead of publishing"
            ),
            at,
        )),
    }
}

/// Whether `member` may publish `version` of `package`: names served from git are
/// refused, existing uploaded packages need an uploader or admin, new names an admin
/// or a member of a publisher team.
fn may_publish(
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

#[cfg(test)]
mod tests {
    use super::Refusal;

    #[test]
    fn every_refusal_kind_survives_the_store() {
        for kind in [
            Refusal::Invalid,
            Refusal::Forbidden,
            Refusal::NotFound,
            Refusal::Conflict,
            Refusal::TooLarge,
        ] {
            assert_eq!(Refusal::from_code(kind.code()), kind);
        }
        assert_eq!(Refusal::from_code("from a later version"), Refusal::Invalid);
    }
}
