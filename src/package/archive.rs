//! Deterministic `.tar.gz` package archives in the shape `dart pub` accepts
//! (PUB_PROTOCOL.md §4).
//!
//! The same files and commit time always give the same bytes, whatever order the
//! files come in. That matters because clients pin an archive's sha256 in their
//! `pubspec.lock` (§3.3): bytes served once for a version must never change.

use std::collections::BTreeSet;
use std::io::{self, Write};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

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
    InvalidPath { path: String, reason: &'static str },
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

/// Accepts only what extracts to the same place on every client: relative,
/// `/`-separated, no `.`/`..`/empty components and no NUL.
fn validate(path: &str) -> Result<(), Error> {
    let reason = if path.is_empty() {
        Some("it is empty")
    } else if path.starts_with('/') {
        Some("it is absolute")
    } else if path.contains('\0') {
        Some("it contains NUL")
    } else if path.split('/').any(str::is_empty) {
        Some("it has an empty component")
    } else if path.split('/').any(|c| c == "." || c == "..") {
        Some("it has a `.` or `..` component")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::{GzDecoder, MultiGzDecoder};

    use super::*;

    const MTIME: u64 = 1_700_000_000;

    fn file(path: &str, content: &str) -> ArchiveFile {
        ArchiveFile {
            path: path.into(),
            executable: false,
            content: content.into(),
        }
    }

    fn sample() -> Vec<ArchiveFile> {
        vec![
            file("pubspec.yaml", "name: foo\nversion: 1.0.0\n"),
            file("lib/foo.dart", "void main() {}\n"),
            file("lib/src/a.dart", "// a\n"),
            ArchiveFile {
                executable: true,
                ..file("tool/run.sh", "#!/bin/sh\n")
            },
            file("lib-extra.txt", "sorts between lib/ and lib/foo.dart\n"),
        ]
    }

    /// (name, entry type, mode, uid, gid, user, group, mtime, content) per entry.
    type Listed = (
        String,
        tar::EntryType,
        u32,
        u64,
        u64,
        String,
        String,
        u64,
        Vec<u8>,
    );

    fn list(gz: &[u8]) -> Vec<Listed> {
        let mut archive = tar::Archive::new(GzDecoder::new(gz));
        let mut out = Vec::new();
        for entry in archive.entries().expect("readable tar") {
            let mut entry = entry.expect("readable entry");
            let h = entry.header().clone();
            let name = String::from_utf8(entry.path_bytes().into_owned()).expect("utf-8 name");
            let mut content = Vec::new();
            entry.read_to_end(&mut content).expect("readable content");
            out.push((
                name,
                h.entry_type(),
                h.mode().expect("mode"),
                h.uid().expect("uid"),
                h.gid().expect("gid"),
                h.username().expect("utf-8").expect("user").to_owned(),
                h.groupname().expect("utf-8").expect("group").to_owned(),
                h.mtime().expect("mtime"),
                content,
            ));
        }
        out
    }

    #[test]
    fn same_input_in_any_order_gives_identical_bytes() {
        let a = build(sample(), MTIME).expect("builds");
        let mut reversed = sample();
        reversed.reverse();
        assert_eq!(a, build(reversed, MTIME).expect("builds"));
        assert_ne!(
            a,
            build(sample(), MTIME + 1).expect("builds"),
            "mtime is in the bytes"
        );
    }

    #[test]
    fn is_a_single_gzip_member_with_a_fixed_header() {
        let gz = build(sample(), MTIME).expect("builds");
        let (mut first, mut all) = (Vec::new(), Vec::new());
        GzDecoder::new(&gz[..])
            .read_to_end(&mut first)
            .expect("gunzip");
        MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut all)
            .expect("gunzip all");
        assert_eq!(
            first, all,
            "a second member would only show up in MultiGzDecoder"
        );
        assert_eq!(gz[3], 0, "no FNAME, FEXTRA or FCOMMENT flag");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip mtime is 0");
        assert_eq!(gz[9], GZIP_OS_UNKNOWN);
    }

    #[test]
    fn lists_sorted_entries_with_directories_first_and_pub_metadata() {
        let listed = list(&build(sample(), MTIME).expect("builds"));
        let names: Vec<_> = listed.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "lib-extra.txt",
                "lib/",
                "lib/foo.dart",
                "lib/src/",
                "lib/src/a.dart",
                "pubspec.yaml",
                "tool/",
                "tool/run.sh"
            ]
        );
        for (name, kind, mode, uid, gid, user, group, mtime, _) in &listed {
            let (want_kind, want_mode) = match name.as_str() {
                n if n.ends_with('/') => (tar::EntryType::Directory, 0o755),
                "tool/run.sh" => (tar::EntryType::Regular, 0o755),
                _ => (tar::EntryType::Regular, 0o644),
            };
            assert_eq!((*kind, *mode), (want_kind, want_mode), "{name}");
            assert_eq!(
                (*uid, *gid, user.as_str(), group.as_str()),
                (0, 0, "pub", "pub")
            );
            assert_eq!(*mtime, MTIME, "{name}");
        }
        let pubspec = listed
            .iter()
            .find(|e| e.0 == "pubspec.yaml")
            .expect("at root");
        assert_eq!(pubspec.8, b"name: foo\nversion: 1.0.0\n");
    }

    #[test]
    fn long_names_round_trip_up_to_the_client_limit() {
        let deep = format!("lib/{}/x.dart", "d".repeat(150));
        let longest = format!("lib/{}", "n".repeat(MAX_LONG_NAME_RECORD - 1 - 4));
        let mut files = sample();
        files.push(file(&deep, "deep"));
        files.push(file(&longest, "longest"));
        let listed = list(&build(files, MTIME).expect("builds"));
        let deep_dir = format!("lib/{}/", "d".repeat(150));
        for name in [&deep, &longest, &deep_dir] {
            assert!(listed.iter().any(|e| &e.0 == name), "{name} missing");
        }

        let too_long = format!("lib/{}", "n".repeat(MAX_LONG_NAME_RECORD - 4));
        let mut files = sample();
        files.push(file(&too_long, ""));
        assert!(matches!(
            build(files, MTIME),
            Err(Error::PathTooLong { len: 2048, .. })
        ));
    }

    #[test]
    fn refuses_duplicates_clashes_bad_paths_and_no_pubspec() {
        let with = |extra: ArchiveFile| {
            let mut files = sample();
            files.push(extra);
            build(files, MTIME)
        };
        assert!(matches!(
            with(file("lib/foo.dart", "")),
            Err(Error::DuplicatePath { .. })
        ));
        assert!(matches!(
            with(file("lib/foo.dart/x", "")),
            Err(Error::FileDirectoryClash { .. })
        ));
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "a/",
            "./a",
            "a/../b",
            "..",
            "a\0b",
        ] {
            let result = with(file(bad, ""));
            assert!(
                matches!(result, Err(Error::InvalidPath { .. })),
                "{bad:?}: {result:?}"
            );
        }
        let no_pubspec = vec![file("lib/foo.dart", "")];
        assert!(matches!(
            build(no_pubspec, MTIME),
            Err(Error::MissingPubspec)
        ));
    }

    /// Golden bytes: a dependency upgrade (tar, flate2, its deflate backend) or an
    /// edit here that changes the archive bytes would break the lockfiles of every
    /// client of every version already served (§3.3). If this fails, make the old
    /// bytes come back; never update the hash.
    #[test]
    fn golden_archive_bytes_never_change() {
        // Its own input, so that editing `sample()` cannot move the golden hash.
        let files = vec![
            file("pubspec.yaml", "name: golden\nversion: 1.0.0\n"),
            file("lib/golden.dart", "const answer = 42;\n"),
            ArchiveFile {
                executable: true,
                ..file("bin/golden.sh", "#!/bin/sh\necho 42\n")
            },
            file(&format!("lib/{}.dart", "long".repeat(30)), "// long name\n"),
        ];
        let gz = build(files, 1_600_000_000).expect("builds");
        assert_eq!(
            sha256_hex(&gz),
            "b28df17ad62791031f33a0a1179b4680395eb09c094406bed2cc4477cca21e16"
        );
    }

    #[test]
    fn sha256_hex_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
