//! Finalize (docs/protocol.md §5.4): the checks of an uploaded archive, storing it byte
//! for byte, and the answer, recorded so that a retried finalize gets the same one.

use super::rights::may_publish;
use super::{Error, Refusal, refused, session, staging};
use crate::auth::policy;
use crate::config::Config;
use crate::index::Index;
use crate::package::upload::{self, Limits};
use crate::package::{name, pubspec, version::Version};
use crate::store::{Added, AuditEntry, Publication, Source, Store, StoredVersion, UploadOutcome};
use tracing::{info, warn};

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
    let Some(bytes) = staging::read(store, &config.data_dir, id)? else {
        return Err(refused(Refusal::Invalid, session::expired_message()));
    };
    if &staging::sha256(&bytes) != sha256 {
        return Err(nothing_staged());
    }
    let outcome = check_and_store(config, store, index, (id, &bytes, sha256), member, now);
    let (package, version) = match &outcome {
        Ok((p, v, _))
        | Err(Stop::Refused(Rejection {
            package: Some((p, v)),
            ..
        })) => (p.clone(), Some(v.clone())),
        Err(_) => (String::new(), None),
    };
    match outcome {
        Ok((_, _, recorded)) => {
            let message = success_message(config, &package, &version.clone().unwrap_or_default());
            if !recorded {
                // The version was there already (the same bytes, from another upload):
                // this upload's own answer is recorded now.
                store
                    .publishing
                    .audit(&publish_audit(id, sha256, member, now, &package, version))?;
                let published = UploadOutcome::Published {
                    message: message.clone(),
                };
                store.publishing.set_upload_outcome(id, &published)?;
            }
            staging::remove(store, &config.data_dir, id);
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
            staging::remove(store, &config.data_dir, id);
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
pub(super) enum Stop {
    Refused(Rejection),
    Failed(crate::store::Error),
}

impl From<crate::store::Error> for Stop {
    fn from(e: crate::store::Error) -> Stop {
        Stop::Failed(e)
    }
}

/// A refusal at finalize, with the package and version when they were read.
pub(super) struct Rejection {
    kind: Refusal,
    message: String,
    package: Option<(String, String)>,
}

pub(super) fn reject(kind: Refusal, message: String, package: Option<(&str, &str)>) -> Stop {
    Stop::Refused(Rejection {
        kind,
        message,
        package: package.map(|(p, v)| (p.to_string(), v.to_string())),
    })
}

fn success_message(config: &Config, package: &str, version: &str) -> String {
    format!(
        "Successfully uploaded {package} {version} to {}.",
        config.base_url.as_str()
    )
}

fn publish_audit(
    id: &str,
    sha256: &str,
    member: &str,
    now: i64,
    package: &str,
    version: Option<String>,
) -> AuditEntry {
    AuditEntry {
        at: now,
        actor: member.to_string(),
        action: "publish".into(),
        package: package.to_string(),
        version,
        detail: format!("upload {id}, sha256 {sha256}"),
    }
}

/// Checks the archive and publishes it; `Ok` carries the package, the version and
/// whether this upload's answer was recorded with it (in the same transaction).
fn check_and_store(
    config: &Config,
    store: &Store,
    index: &Index,
    (id, bytes, sha256): (&str, &[u8], &str),
    member: &str,
    now: i64,
) -> Result<(String, String, bool), Stop> {
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

    let published = || Ok((package.to_string(), version_text.to_string(), false));
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
    // The package, the version, the audit entry and this upload's answer: one
    // transaction, so a process dying here leaves all of it or none.
    let audit = publish_audit(
        id,
        sha256,
        member,
        now,
        package,
        Some(version_text.to_string()),
    );
    let answer = UploadOutcome::Published {
        message: success_message(config, package, version_text),
    };
    let publication = Publication {
        upload_id: id,
        version: &stored,
        creator: member,
        teams: &teams,
        audit: &audit,
        answer: &answer,
    };
    match store.publishing.publish_upload(&publication)? {
        Added::New => Ok((package.to_string(), version_text.to_string(), true)),
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
