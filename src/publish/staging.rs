//! Uploaded archives waiting for finalize, in `data_dir/uploads/`, written crash-safely.

use super::Error;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

fn path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("uploads").join(format!("{id}.tar.gz"))
}

/// Stores the bytes of upload `id` (replacing earlier ones); returns their sha256.
pub fn write(data_dir: &Path, id: &str, bytes: &[u8]) -> Result<String, Error> {
    let target = path(data_dir, id);
    let io = |doing, source| Error::Staging {
        doing,
        path: target.clone(),
        source,
    };
    let dir = target.parent().expect("staging paths have a directory");
    std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io("create", e))?;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
    tmp.persist(&target)
        .map_err(|e| io("rename into place", e.error))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

pub fn read(data_dir: &Path, id: &str) -> Result<Vec<u8>, Error> {
    let target = path(data_dir, id);
    std::fs::read(&target).map_err(|source| Error::Staging {
        doing: "read",
        path: target,
        source,
    })
}

/// Drops a finalized upload's bytes; they now live in the blob store.
pub fn remove(data_dir: &Path, id: &str) {
    let _ = std::fs::remove_file(path(data_dir, id));
}
