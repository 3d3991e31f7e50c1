//! Archive extraction as `dart pub` does it (docs/protocol.md §4), plus the archive items
//! of the §9 checklist that the client tolerates but tagpub must never violate.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use tar::Archive;

use super::client::ClientError;

/// PAX `x`/`g` headers and GNU `L`/`K` records larger than this fail (`defaultSpecialLength`).
const MAX_SPECIAL_LENGTH: u64 = 2048;

/// The files of an extracted archive, keyed by normalised path (`lib/foo.dart`).
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Header permission bits (`mode & 0o7777`) of every file and directory.
    pub modes: BTreeMap<String, u32>,
    /// Explicit directory entries, without trailing `/`.
    pub dirs: BTreeSet<String>,
    /// Entry names exactly as stored, in archive order.
    pub entry_names: Vec<String>,
}

impl Extracted {
    /// `pubspec.yaml` parsed as YAML into JSON values, for comparing with the listing.
    pub fn pubspec(&self) -> serde_json::Value {
        let text = self
            .files
            .get("pubspec.yaml")
            .expect("extract() guarantees a root pubspec.yaml");
        serde_saphyr::from_slice(text).expect("the archive's pubspec.yaml is not valid YAML")
    }

    /// Every path, directories with a trailing `/`, sorted: a stable archive listing.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .dirs
            .iter()
            .map(|d| format!("{d}/"))
            .chain(self.files.keys().cloned())
            .collect();
        paths.sort();
        paths
    }

    /// A file's content as UTF-8 text.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files
            .get(path)
            .and_then(|b| std::str::from_utf8(b).ok())
    }

    /// Whether pub would create `path` executable (any x bit in the header mode, §4).
    pub fn is_executable(&self, path: &str) -> bool {
        self.modes.get(path).is_some_and(|m| m & 0o111 != 0)
    }
}

fn extract_err(reason: impl Into<String>) -> ClientError {
    ClientError::Extract(reason.into())
}

fn nonconformant(reason: impl Into<String>) -> ClientError {
    ClientError::Nonconformant(reason.into())
}

/// Extracts a `.tar.gz` as the client does, failing where it fails (`Extract`) and where
/// the §9 checklist forbids what it tolerates (`Nonconformant`).
pub fn extract(bytes: &[u8]) -> Result<Extracted, ClientError> {
    let tar = gunzip_single_member(bytes)?;
    check_special_records(&tar)?;
    let mut out = Extracted::default();
    let mut seen = BTreeSet::new();
    let mut archive = Archive::new(&tar[..]);
    let entries = archive.entries().map_err(|e| extract_err(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| extract_err(e.to_string()))?;
        let raw_name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| extract_err("tar entry name is not UTF-8"))?;
        let flag = entry.header().as_bytes()[156];
        if flag == b'g' {
            continue; // PAX global header: metadata only, already size-checked.
        }
        let mode = entry
            .header()
            .mode()
            .map_err(|e| extract_err(e.to_string()))?
            & 0o7777;
        // A legacy NUL-typed entry whose name ends in '/' is a directory.
        let is_dir = flag == b'5' || (flag == 0 && raw_name.ends_with('/'));
        let is_file = !is_dir && (flag == b'0' || flag == 0);
        out.entry_names.push(raw_name.clone());
        if !is_dir && !is_file {
            // pub would make a symlink or skip it; tagpub must only emit files and dirs.
            return Err(nonconformant(format!(
                "entry {raw_name:?} has type {:?}; only files and directories are allowed",
                flag as char
            )));
        }
        let path = normalize_entry_name(&raw_name)?;
        if path.is_empty() {
            if is_dir {
                continue; // `.` is the destination itself.
            }
            return Err(extract_err(format!("Invalid tar entry: `{raw_name}`")));
        }
        if !seen.insert(path.clone()) {
            return Err(extract_err(format!(
                "Tar file contained duplicate path {raw_name}"
            )));
        }
        check_mode(&raw_name, mode, is_dir)?;
        out.modes.insert(path.clone(), mode);
        if is_dir {
            out.dirs.insert(path);
        } else {
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| extract_err(format!("reading {raw_name}: {e}")))?;
            out.files.insert(path, data);
        }
    }
    if !out.files.contains_key("pubspec.yaml") {
        return Err(nonconformant(format!(
            "no pubspec.yaml at the archive root; entries: {:?}",
            out.entry_names
        )));
    }
    Ok(out)
}

/// gunzips exactly one member. Dart's decoder stops after the first member, so anything
/// after it is data the client silently loses (§4 "Container").
fn gunzip_single_member(bytes: &[u8]) -> Result<Vec<u8>, ClientError> {
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut tar = Vec::new();
    decoder
        .read_to_end(&mut tar)
        .map_err(|e| extract_err(format!("Filter error, bad data ({e})")))?;
    let rest = decoder.into_inner();
    if rest.starts_with(&[0x1f, 0x8b]) {
        return Err(nonconformant("archive has a second gzip member"));
    }
    if !rest.is_empty() {
        return Err(nonconformant(format!(
            "{} bytes of trailing data after the gzip member",
            rest.len()
        )));
    }
    Ok(tar)
}

/// A first, raw pass over the tar: the size limit on PAX and GNU long records, the
/// type flags package:tar rejects, and sparse files (checklist 19, 20).
fn check_special_records(tar: &[u8]) -> Result<(), ClientError> {
    let mut archive = Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| extract_err(e.to_string()))?
        .raw(true);
    for entry in entries {
        let mut entry = entry.map_err(|e| extract_err(e.to_string()))?;
        let flag = entry.header().as_bytes()[156];
        let known = matches!(flag, 0 | b'0'..=b'7' | b'x' | b'g' | b'A'..=b'Z');
        if !known {
            return Err(extract_err(format!(
                "invalid tar type flag {:?}",
                flag as char
            )));
        }
        if matches!(flag, b'x' | b'g' | b'L' | b'K') {
            let size = entry
                .header()
                .entry_size()
                .map_err(|e| extract_err(e.to_string()))?;
            if size > MAX_SPECIAL_LENGTH {
                return Err(extract_err(format!(
                    "{:?} record of {size} bytes exceeds {MAX_SPECIAL_LENGTH}",
                    flag as char
                )));
            }
        }
        if flag == b'S' {
            return Err(nonconformant("old-GNU sparse entry (pub skips it)"));
        }
        if flag == b'x' {
            let pax = entry
                .pax_extensions()
                .map_err(|e| extract_err(e.to_string()))?;
            for ext in pax.into_iter().flatten() {
                let ext = ext.map_err(|e| extract_err(e.to_string()))?;
                if ext.key_bytes().starts_with(b"GNU.sparse") {
                    return Err(nonconformant("PAX sparse file"));
                }
            }
        }
    }
    Ok(())
}

/// Splits on `/` and normalises like `p.normalize` under the destination (§4 "Path
/// rules"); absolute names and `..` escapes are "Invalid tar entry".
fn normalize_entry_name(raw: &str) -> Result<String, ClientError> {
    if raw.starts_with('/') {
        return Err(extract_err(format!("Invalid tar entry: `{raw}`")));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(extract_err(format!("Invalid tar entry: `{raw}`")));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Checklist 20: files 0644 or 0755, directories 0755.
fn check_mode(name: &str, mode: u32, is_dir: bool) -> Result<(), ClientError> {
    let ok = if is_dir {
        mode == 0o755
    } else {
        mode == 0o644 || mode == 0o755
    };
    if ok {
        Ok(())
    } else {
        let kind = if is_dir { "directory" } else { "file" };
        Err(nonconformant(format!("{kind} {name:?} has mode {mode:o}")))
    }
}
