//! Upload sessions before finalize: starting one, receiving its archive, and expiring
//! those nobody finishes, so that abandoned uploads cannot fill the disk.

use super::{Error, Refusal, refused, staging};
use crate::store::{Staged, Store, UploadRecord};
use tracing::info;

/// Starts an upload for `member`; returns its id.
pub fn start(store: &Store, member: &str, now: i64) -> Result<String, Error> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).map_err(Error::Random)?;
    let id = hex::encode(buf);
    store.publishing.create_upload(&id, member, now)?;
    Ok(id)
}

/// Receives the archive of upload `id` and keeps it until finalize. Re-posting the same
/// upload replaces what was received, so a retried POST is harmless. A member has at
/// most [`staging::MAX_PER_MEMBER`] unfinished uploads with an archive at a time.
pub fn receive(
    store: &Store,
    data_dir: &std::path::Path,
    (id, member): (&str, &str),
    bytes: &[u8],
    now: i64,
) -> Result<(), Error> {
    let upload = owned_upload(store, id, member, now)?;
    let sha256 = staging::sha256(bytes);
    if upload
        .archive
        .as_ref()
        .is_some_and(|(sha, _)| sha == &sha256)
        && upload.outcome.is_some()
    {
        // The same bytes again after finalize answered: nothing to stage, the outcome
        // is replayed to the retried finalize.
        return Ok(());
    }
    let since = now - ttl_secs();
    let cap = staging::MAX_PER_MEMBER;
    match store
        .publishing
        .stage_upload(id, (&sha256, bytes.len() as u64), since, cap)?
    {
        Staged::Yes => staging::write(store, data_dir, id, bytes),
        // 400, not 429: the client retries a 429 for half a minute before showing it.
        Staged::TooMany(n) => Err(refused(
            Refusal::Invalid,
            format!(
                "{member} already has {n} unfinished uploads, the most this registry keeps per member ({cap}); finish them, or wait up to {} minutes until they expire, then run `dart pub publish` again",
                ttl_secs() / 60
            ),
        )),
    }
}

pub(super) fn ttl_secs() -> i64 {
    staging::TTL.as_secs() as i64
}

/// The upload `id` if `member` started it and it has not expired.
pub(super) fn owned_upload(
    store: &Store,
    id: &str,
    member: &str,
    now: i64,
) -> Result<UploadRecord, Error> {
    let Some(upload) = store.publishing.upload(id)? else {
        return Err(refused(
            Refusal::NotFound,
            format!("there is no upload {id}; run `dart pub publish` again"),
        ));
    };
    if upload.member != member {
        return Err(refused(
            Refusal::Forbidden,
            format!(
                "upload {id} was started by another member; run `dart pub publish` again with your own token"
            ),
        ));
    }
    if upload.outcome.is_none() && upload.created < now - ttl_secs() {
        return Err(refused(Refusal::Invalid, expired_message()));
    }
    Ok(upload)
}

pub(super) fn expired_message() -> String {
    format!(
        "this upload was not finalized within {} minutes and has expired; run `dart pub publish` again",
        ttl_secs() / 60
    )
}

/// Expires uploads started more than [`staging::TTL`] before `now` and deletes their
/// archives, and any other staged file as old. Run by the daemon at start and
/// periodically.
pub fn sweep(store: &Store, data_dir: &std::path::Path, now: i64) -> Result<(), Error> {
    let expired = store.publishing.expire_uploads(
        now - ttl_secs(),
        (Refusal::Invalid.code(), &expired_message()),
    )?;
    for id in &expired {
        staging::remove(store, data_dir, id);
    }
    let before = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(now.saturating_sub(ttl_secs()).max(0) as u64);
    let files = staging::sweep_files(data_dir, before);
    if !expired.is_empty() || files > 0 {
        info!(
            expired = expired.len(),
            files,
            "expired {} abandoned upload(s), deleted {files} staged file(s)",
            expired.len()
        );
    }
    Ok(())
}
