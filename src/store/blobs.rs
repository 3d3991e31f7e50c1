//! Archives as files named by their sha256, written crash-safely: temp file in the same
//! directory, fsync, rename, fsync of the directory. A crash leaves either no file or the
//! whole file, never a partial archive under a served name.

use super::{Blobs, Error};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

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

impl Blobs for FileBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String, Error> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256);
        if path.is_file() {
            return Ok(sha256);
        }
        let dir = path
            .parent()
            .expect("blob paths always have a fan-out directory");
        let io = |doing, source| Error::Blob {
            doing,
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory for", e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| io("create a temporary file for", e))?;
        tmp.write_all(bytes).map_err(|e| io("write", e))?;
        tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
        tmp.persist(&path)
            .map_err(|e| io("rename into place", e.error))?;
        // The rename is durable only once the directory entry is on disk.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync the directory of", e))?;
        Ok(sha256)
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
}
