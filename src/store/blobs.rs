//! Archives as files named by their sha256, written crash-safely: temp file in the same
//! directory, fsync, rename, fsync of the directory. A crash leaves either no file or the
//! whole file, never a partial archive under a served name. `put_all` does the same for
//! a batch, each step for all files at once, so the disk is waited on a few times per
//! batch rather than twice per archive.

use super::{Blobs, Error};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Archive bytes with their sha256, hashed once, on the thread that built them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    sha256: String,
    bytes: Vec<u8>,
}

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Blob {
        Blob {
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes,
        }
    }

    /// Lowercase hex, as archives are named and listed.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    pub fn open(root: &Path) -> Result<FileBlobs, Error> {
        std::fs::create_dir_all(root).map_err(|source| Error::Blob {
            doing: "create the directory for",
            path: root.to_path_buf(),
            source,
        })?;
        Ok(FileBlobs {
            root: root.to_path_buf(),
        })
    }

    /// `ab/abcdef….tar.gz`: a two-character fan-out keeps directories small.
    pub(super) fn path_of(&self, sha256: &str) -> PathBuf {
        let fan = sha256.get(..2).unwrap_or("xx");
        self.root.join(fan).join(format!("{sha256}.tar.gz"))
    }

    /// The sha256 of every archive stored, sorted (for [`super::copy_blobs`]). Files that
    /// are not named like an archive (temporary files of an interrupted put) are skipped.
    pub fn sha256s(&self) -> Result<Vec<String>, Error> {
        let io = |path: &Path, source| Error::Blob {
            doing: "list",
            path: path.to_path_buf(),
            source,
        };
        let mut found = Vec::new();
        for fan in std::fs::read_dir(&self.root).map_err(|e| io(&self.root, e))? {
            let fan = fan.map_err(|e| io(&self.root, e))?.path();
            if !fan.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&fan).map_err(|e| io(&fan, e))? {
                let name = file.map_err(|e| io(&fan, e))?.file_name();
                let sha256 = name.to_str().and_then(|n| n.strip_suffix(".tar.gz"));
                if let Some(sha256) = sha256.filter(|s| is_sha256(s))
                    && self.path_of(sha256).parent() == Some(fan.as_path())
                {
                    found.push(sha256.to_string());
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

pub(super) fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl FileBlobs {
    /// Writes `bytes` to a temporary file beside `path` and syncs it: renamed into
    /// place only once whole on disk, so a crash never leaves a partial file under a
    /// served name (a later `put` would take it for the archive).
    fn stage(&self, path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, Error> {
        let dir = path
            .parent()
            .expect("blob paths always have a fan-out directory");
        let io = |doing, source| Error::Blob {
            doing,
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory for", e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| io("create a temporary file for", e))?;
        tmp.write_all(bytes).map_err(|e| io("write", e))?;
        tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
        Ok(tmp)
    }
}

fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), Error> {
    tmp.persist(path).map_err(|e| Error::Blob {
        doing: "rename into place",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// A rename is durable only once the directory entry is on disk.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Blob {
            doing: "sync the directory of",
            path: dir.to_path_buf(),
            source,
        })
}

/// How many syncs to disk [`FileBlobs::put_all`] has waiting at once. A filesystem
/// commits concurrent syncs together (one journal commit for many files), so a batch
/// of archives costs a few disk flushes instead of two per archive. The threads wait
/// on the disk, not on a core.
const SYNC_THREADS: usize = 16;

/// `f` of every item, on up to [`SYNC_THREADS`] threads, in order.
fn on_threads<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Result<Vec<R>, Error>>()))
            .collect();
        let mut all = Vec::with_capacity(items.len());
        for h in handles {
            let part = h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            all.extend(part?);
        }
        Ok(all)
    })
}

impl Blobs for FileBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String, Error> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256);
        if path.is_file() {
            return Ok(sha256);
        }
        let tmp = self.stage(&path, bytes)?;
        persist(tmp, &path)?;
        sync_dir(path.parent().expect("blob paths have a fan-out directory"))?;
        Ok(sha256)
    }

    /// Every new archive staged and synced (concurrently), then all renamed into
    /// place, then their directories synced: the same guarantees as [`Blobs::put`]
    /// for each, with far fewer waits on the disk.
    fn put_all(&self, blobs: &[&Blob]) -> Result<(), Error> {
        let mut seen = HashSet::new();
        let new: Vec<(&Blob, PathBuf)> = blobs
            .iter()
            .filter(|b| seen.insert(b.sha256()))
            .map(|b| (*b, self.path_of(b.sha256())))
            .filter(|(_, path)| !path.is_file())
            .collect();
        let staged = on_threads(&new, |(blob, path)| self.stage(path, blob.bytes()))?;
        let mut dirs = BTreeSet::new();
        for ((_, path), tmp) in new.iter().zip(staged) {
            persist(tmp, path)?;
            dirs.insert(
                path.parent()
                    .expect("blob paths have a fan-out directory")
                    .to_path_buf(),
            );
        }
        on_threads(&dirs.into_iter().collect::<Vec<_>>(), |dir| sync_dir(dir))?;
        Ok(())
    }

    fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        let path = self.path_of(sha256);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Blob {
                doing: "read",
                path,
                source,
            }),
        }
    }

    fn contains(&self, sha256: &str) -> bool {
        is_sha256(sha256) && self.path_of(sha256).is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FileBlobs::open(dir.path()).unwrap();
        let sha = blobs.put(b"hello").unwrap();
        assert_eq!(
            sha,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(blobs.put(b"hello").unwrap(), sha);
        assert!(blobs.contains(&sha));
        assert_eq!(blobs.get(&sha).unwrap().unwrap(), b"hello");
        assert_eq!(blobs.get(&"0".repeat(64)).unwrap(), None);
        assert_eq!(blobs.get("../../etc/passwd").unwrap(), None);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("2c")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
    }

    #[test]
    fn put_all_stores_each_blob_once_under_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FileBlobs::open(dir.path()).unwrap();
        let already = blobs.put(b"hello").unwrap();
        let many: Vec<Blob> = (0..100)
            .map(|i| Blob::new(format!("archive {}", i % 40).into_bytes()))
            .chain([Blob::new(b"hello".to_vec())])
            .collect();
        blobs.put_all(&many.iter().collect::<Vec<_>>()).unwrap();
        for blob in &many {
            assert_eq!(hex::encode(Sha256::digest(blob.bytes())), blob.sha256());
            assert_eq!(blobs.get(blob.sha256()).unwrap().unwrap(), blob.bytes());
        }
        assert_eq!(blobs.get(&already).unwrap().unwrap(), b"hello");
        let files: usize = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|fan| std::fs::read_dir(fan.unwrap().path()).unwrap().count())
            .sum();
        assert_eq!(files, 41, "one file per distinct blob, no temporary files");
        blobs.put_all(&[]).unwrap();
    }
}
