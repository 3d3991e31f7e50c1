//! Deterministic `.tar.gz` package archives in the shape `dart pub` accepts
//! (docs/protocol.md §4).
//!
//! The same files and commit time always give the same bytes, whatever order the
//! files come in. That matters because clients pin an archive's sha256 in their
//! `pubspec.lock` (§3.3): bytes served once for a version must never change.

use std::collections::BTreeSet;
use std::io::{self, Write};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use super::path::{Problem, check_clean};

/// The deflate level of every archive tagpub has ever built.
///
/// Bytes are forever (§3.3): changing this constant, or the deflate
/// implementation behind `flate2` (today its default pure-Rust backend,
/// `miniz_oxide`), changes the bytes of versions already served, and clients with
/// a lockfile then report a content-hash mismatch. The golden test below fails on
/// any such change; do not "fix" it by updating the hash.
pub const COMPRESSION_LEVEL: u32 = 6;

/// Gzip OS byte "unknown", so the bytes do not depend on the build host.
const GZIP_OS_UNKNOWN: u8 = 255;

/// Largest GNU long-name record `dart pub` reads: 4 tar blocks (§4). The record
/// holds the name plus a terminating NUL.
const MAX_LONG_NAME_RECORD: usize = 2048;

/// Owner and group name `dart pub` itself writes (§4).
const OWNER_NAME: &str = "pub";

const FILE_MODE: u32 = 0o644;
const EXECUTABLE_MODE: u32 = 0o755;
const DIR_MODE: u32 = 0o755;

/// One regular file to store in a package archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Relative to the package root, `/`-separated, e.g. `lib/src/a.dart`.
    pub path: String,
    pub executable: bool,
    pub content: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("archive path {path:?} is not a clean relative path: {reason}")]
    InvalidPath { path: String, reason: Problem },
    #[error(
        "archive path {path:?} is {len} bytes; dart pub cannot read tar names over {max} bytes"
    )]
    PathTooLong {
        path: String,
        len: usize,
        max: usize,
    },
    #[error("archive path {path:?} appears more than once")]
    DuplicatePath { path: String },
    #[error("archive path {path:?} is a file and also the directory of another file")]
    FileDirectoryClash { path: String },
    #[error("an archive without pubspec.yaml at its root is unusable by dart pub")]
    MissingPubspec,
    #[error("could not write tar entry {path:?}")]
    Tar {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("could not gzip the tar stream")]
    Gzip {
        #[source]
        source: io::Error,
    },
}

/// Lowercase hex sha256, the form of `archive_sha256` in version listings.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Builds the gzip-compressed tar archive of `files`.
///
/// Entries are sorted by name in byte order; every ancestor directory gets its own
/// entry (mode 0755) before its contents; files are 0644, or 0755 when
/// executable; owner ids are 0 and names `pub`; every entry's mtime is `mtime`
/// (the commit time, so rebuilding a tag reproduces the bytes). Names over 100
/// bytes use GNU long-name records, as `dart pub` does.
pub fn build(mut files: Vec<ArchiveFile>, mtime: u64) -> Result<Vec<u8>, Error> {
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let entries = plan(&files)?;

    let mut tar = tar::Builder::new(Vec::new());
    for entry in &entries {
        let (name, kind, mode, content): (&str, tar::EntryType, u32, &[u8]) = match entry {
            Planned::Dir(name) => (name, tar::EntryType::Directory, DIR_MODE, &[]),
            Planned::File(file) => {
                let mode = if file.executable {
                    EXECUTABLE_MODE
                } else {
                    FILE_MODE
                };
                (&file.path, tar::EntryType::Regular, mode, &file.content)
            }
        };
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_size(content.len() as u64);
        let owner = header
            .set_username(OWNER_NAME)
            .and_then(|()| header.set_groupname(OWNER_NAME));
        // `append_data` writes the long-name record when needed and the checksum.
        owner
            .and_then(|()| tar.append_data(&mut header, name, content))
            .map_err(|source| Error::Tar {
                path: name.to_owned(),
                source,
            })?;
    }
    let tar_bytes = tar.into_inner().map_err(|source| Error::Tar {
        path: "(end of archive)".to_owned(),
        source,
    })?;

    // No file name and mtime 0 in the gzip header: only the tar carries metadata.
    // One `GzEncoder` writes one gzip member, the only kind dart:io reads (§4).
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(Vec::new(), Compression::new(COMPRESSION_LEVEL));
    gz.write_all(&tar_bytes)
        .map_err(|source| Error::Gzip { source })?;
    gz.finish().map_err(|source| Error::Gzip { source })
}

/// One tar entry to write: a directory name (with its trailing `/`) or a file.
enum Planned<'a> {
    Dir(String),
    File(&'a ArchiveFile),
}

impl Planned<'_> {
    fn name(&self) -> &str {
        match self {
            Planned::Dir(name) => name,
            Planned::File(file) => &file.path,
        }
    }
}

/// Validates sorted `files` and interleaves the directory entries they need.
fn plan(files: &[ArchiveFile]) -> Result<Vec<Planned<'_>>, Error> {
    let mut dirs = BTreeSet::new();
    for (i, file) in files.iter().enumerate() {
        validate(&file.path)?;
        if i > 0 && files[i - 1].path == file.path {
            return Err(Error::DuplicatePath {
                path: file.path.clone(),
            });
        }
        for (at, _) in file.path.match_indices('/') {
            dirs.insert(format!("{}/", &file.path[..at]));
        }
    }
    if !files.iter().any(|f| f.path == "pubspec.yaml") {
        return Err(Error::MissingPubspec);
    }
    if let Some(file) = files
        .iter()
        .find(|f| dirs.contains(&format!("{}/", f.path)))
    {
        return Err(Error::FileDirectoryClash {
            path: file.path.clone(),
        });
    }

    let mut entries: Vec<Planned<'_>> = dirs.into_iter().map(Planned::Dir).collect();
    entries.extend(files.iter().map(Planned::File));
    // Byte order on the written names puts every `dir/` before what it contains,
    // because it is a prefix of their names.
    entries.sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
    for entry in &entries {
        let len = entry.name().len();
        if len + 1 > MAX_LONG_NAME_RECORD {
            return Err(Error::PathTooLong {
                path: entry.name().trim_end_matches('/').to_owned(),
                len,
                max: MAX_LONG_NAME_RECORD - 1,
            });
        }
    }
    Ok(entries)
}

/// Accepts only what extracts to the same place on every client (§4).
fn validate(path: &str) -> Result<(), Error> {
    check_clean(path).map_err(|reason| Error::InvalidPath {
        path: path.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests;
