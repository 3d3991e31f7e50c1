//! Uploaded archives waiting for finalize, in `data_dir/uploads/`, written crash-safely;
//! or, when replicas share a store, in that store (where every replica finds them:
//! `store::StagedArchives`).
//! Nothing stays there for long: finalize removes the file whatever its answer (but a
//! failure of the registry itself, which the client retries), and a sweep removes what
//! an abandoned upload left behind.

use super::Error;
use crate::store::Store;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long an upload may take from `versions/new` to finalize; the client needs
/// seconds. Older unfinished uploads expire and their archives are deleted.
pub const TTL: Duration = Duration::from_secs(60 * 60);

/// How many unfinished uploads with an archive one member may have at once.
pub const MAX_PER_MEMBER: u64 = 3;

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

fn path(data_dir: &Path, id: &str) -> PathBuf {
    dir(data_dir).join(format!("{id}.tar.gz"))
}

/// The sha256 of an archive, as staged and as the client computed it.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stores the bytes of upload `id` (replacing earlier ones), readable by the owner only.
pub fn write(store: &Store, data_dir: &Path, id: &str, bytes: &[u8]) -> Result<(), Error> {
    if let Some(shared) = store.publishing.staged_archives() {
        return Ok(shared.put(id, bytes)?);
    }
    let target = path(data_dir, id);
    let io = |doing, source| Error::Staging {
        doing,
        path: target.clone(),
        source,
    };
    let dir = dir(data_dir);
    crate::store::create_private_dir(&dir).map_err(|e| io("create the directory of", e))?;
    // Temporary files are created 0600, and the rename keeps that.
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| io("create", e))?;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
    tmp.persist(&target)
        .map_err(|e| io("rename into place", e.error))?;
    Ok(())
}

/// The staged bytes of upload `id`; `None` when nothing is staged (any more).
pub fn read(store: &Store, data_dir: &Path, id: &str) -> Result<Option<Vec<u8>>, Error> {
    if let Some(shared) = store.publishing.staged_archives() {
        return Ok(shared.get(id)?);
    }
    let target = path(data_dir, id);
    match std::fs::read(&target) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Staging {
            doing: "read",
            path: target,
            source,
        }),
    }
}

/// Drops an upload's bytes: published (they now live in the blob store), refused or
/// expired.
pub fn remove(store: &Store, data_dir: &Path, id: &str) {
    if let Some(shared) = store.publishing.staged_archives() {
        if let Err(e) = shared.remove(id) {
            let e = crate::report::chain(&e);
            tracing::warn!(upload = %id, error = %e, "cannot delete the staged upload {id}: {e}");
        }
        return;
    }
    let target = path(data_dir, id);
    if let Err(e) = std::fs::remove_file(&target)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %target.display(), error = %e, "cannot delete the staged upload {}: {e}", target.display());
    }
}

/// Deletes every file in the staging directory last written before `before`: archives
/// of expired uploads, and temporary files a crash left behind. Returns how many.
pub fn sweep_files(data_dir: &Path, before: std::time::SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir(data_dir)) else {
        return 0; // No staging directory yet: nothing was ever uploaded.
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at < before);
        if old && entry.file_type().is_ok_and(|t| t.is_file()) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(path = %entry.path().display(), error = %e, "cannot delete the abandoned upload {}: {e}", entry.path().display())
                }
            }
        }
    }
    removed
}
