//! Bundles: mirrored listings and archives in one tar file, written on a machine that
//! reaches the upstream (`tagpub mirror export`) and loaded into a registry that does
//! not (`tagpub mirror import`).
//!
//! Layout, nothing else accepted:
//! `tagpub-mirror/listings/<name>.json` (a [`Mirrored`], trimmed to the versions whose
//! archives the bundle holds) and `tagpub-mirror/archives/<sha256>.tar.gz`. Import
//! checks every archive against the sha256 in its name and every listed version against
//! an archive, before any listing is written.

use super::Mirror;
use super::listing::Mirrored;
use crate::package::version::Version;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

const ROOT: &str = "tagpub-mirror";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {doing} {path}")]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a tagpub mirror bundle: {why}")]
    NotABundle { path: PathBuf, why: String },
    #[error("{path} is damaged or was altered: {why}; nothing from it is served")]
    Corrupt { path: PathBuf, why: String },
    #[error("{name} {version} is not in the mirror's cache; run `tagpub mirror warm` first")]
    NotCached { name: String, version: String },
    #[error("the store failed while {doing}")]
    Store {
        doing: &'static str,
        #[source]
        source: crate::store::Error,
    },
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    pub packages: Vec<String>,
    pub archives: usize,
    /// Packages left out, with why (ours, private, denied…).
    pub skipped: Vec<(String, String)>,
}

impl Mirror {
    /// Writes the listings of `wanted` (name → versions), trimmed to those versions, and
    /// their archives to `path`, replacing it whole.
    pub fn export(
        &self,
        wanted: &BTreeMap<String, BTreeSet<String>>,
        path: &Path,
    ) -> Result<usize, Error> {
        let io = |doing, source| Error::Io {
            doing,
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file = tempfile::NamedTempFile::new_in(dir).map_err(|e| io("create", e))?;
        let mut tar = tar::Builder::new(file);
        let mut archives = 0;
        for (name, versions) in wanted {
            let stored = self
                .cache
                .read_listing(name)
                .map_err(|e| io("read the mirror's cache for", e))?;
            let mut package = stored.ok_or_else(|| Error::NotCached {
                name: name.clone(),
                version: versions.iter().next().cloned().unwrap_or_default(),
            })?;
            package.versions.retain(|v| versions.contains(&v.version));
            for version in versions {
                let Some(v) = package
                    .version(version)
                    .filter(|v| self.cache.is_verified(&v.sha256))
                else {
                    return Err(Error::NotCached {
                        name: name.clone(),
                        version: version.clone(),
                    });
                };
                let bytes = self
                    .store
                    .blobs
                    .get(&v.sha256)
                    .map_err(|source| Error::Store {
                        doing: "reading an archive to export",
                        source,
                    })?
                    .ok_or_else(|| Error::NotCached {
                        name: name.clone(),
                        version: version.clone(),
                    })?;
                append(&mut tar, &format!("archives/{}.tar.gz", v.sha256), &bytes)
                    .map_err(|e| io("write", e))?;
                archives += 1;
            }
            let json = serde_json::to_vec_pretty(&package).expect("a Mirrored always serializes");
            append(&mut tar, &format!("listings/{name}.json"), &json)
                .map_err(|e| io("write", e))?;
        }
        let file = tar.into_inner().map_err(|e| io("write", e))?;
        file.as_file().sync_all().map_err(|e| io("write", e))?;
        file.persist(path).map_err(|e| io("write", e.error))?;
        Ok(archives)
    }

    /// Loads a bundle. `admit` says why a name must not be imported (`Some(reason)`:
    /// ours, private, denied…); no entry may be larger than `max_bytes`. Every archive is
    /// verified and stored first; listings are written only when all of the bundle
    /// checked out, and each listed archive must be in the bundle or verified earlier
    /// by this mirror (never merely present in the store, which holds our own too).
    pub fn import(
        &self,
        path: &Path,
        max_bytes: u64,
        admit: impl Fn(&str) -> Option<String>,
    ) -> Result<Imported, Error> {
        let io = |doing, source| Error::Io {
            doing,
            path: path.to_path_buf(),
            source,
        };
        let corrupt = |why: String| Error::Corrupt {
            path: path.to_path_buf(),
            why,
        };
        let not_a_bundle = |why: String| Error::NotABundle {
            path: path.to_path_buf(),
            why,
        };
        let file = std::fs::File::open(path).map_err(|e| io("open", e))?;
        let mut tar = tar::Archive::new(file);
        let mut listings: Vec<Mirrored> = Vec::new();
        let mut archives = BTreeSet::new();
        for entry in tar.entries().map_err(|e| io("read", e))? {
            let mut entry = entry.map_err(|e| io("read", e))?;
            if entry.header().entry_type().is_dir() {
                continue;
            }
            let entry_path = entry.path().map_err(|e| io("read", e))?.into_owned();
            let text = entry_path.to_string_lossy().into_owned();
            if entry.size() > max_bytes {
                return Err(corrupt(format!(
                    "{text} is larger than uploads.max_archive_mib allows"
                )));
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| io("read", e))?;
            match classify(&text) {
                Some(Part::Listing(name)) => {
                    let package: Mirrored = serde_json::from_slice(&bytes)
                        .map_err(|e| corrupt(format!("{text} is not a listing ({e})")))?;
                    check_listing(&package, &name)
                        .map_err(|why| corrupt(format!("{text}: {why}")))?;
                    listings.push(package);
                }
                Some(Part::Archive(sha256)) => {
                    let actual = hex::encode(Sha256::digest(&bytes));
                    if actual != sha256 {
                        return Err(corrupt(format!("{text} hashes to {actual}")));
                    }
                    self.store
                        .blobs
                        .put(&bytes)
                        .map_err(|source| Error::Store {
                            doing: "storing an archive of the bundle",
                            source,
                        })?;
                    archives.insert(sha256);
                }
                None => return Err(not_a_bundle(format!("it holds {text}"))),
            }
        }
        if listings.is_empty() {
            return Err(not_a_bundle("it holds no listing".into()));
        }
        for package in &listings {
            for v in &package.versions {
                let verified =
                    self.cache.is_verified(&v.sha256) && self.store.blobs.contains(&v.sha256);
                if !archives.contains(&v.sha256) && !verified {
                    return Err(corrupt(format!(
                        "{} {} is listed but its archive {} is missing",
                        package.name, v.version, v.sha256
                    )));
                }
            }
        }
        let mut imported = Imported {
            archives: archives.len(),
            ..Imported::default()
        };
        for mut package in listings {
            if let Some(why) = admit(&package.name) {
                imported.skipped.push((package.name, why));
                continue;
            }
            for v in &package.versions {
                if archives.contains(&v.sha256) {
                    self.cache
                        .mark_verified(&v.sha256)
                        .map_err(|e| io("record the verified archives of", e))?;
                }
            }
            if let Ok(Some(existing)) = self.cache.read_listing(&package.name) {
                merge(&mut package, existing, |sha| self.cache.is_verified(sha));
            }
            self.cache
                .write_listing(&package, true)
                .map_err(|e| io("write the mirror's cache for", e))?;
            // The daemon (if this is it) reads the new copy on its next miss.
            self.cache.forget(super::Kind::Listing, &package.name);
            imported.packages.push(package.name);
        }
        Ok(imported)
    }
}

enum Part {
    Listing(String),
    Archive(String),
}

fn classify(path: &str) -> Option<Part> {
    let rest = path.strip_prefix(ROOT)?.strip_prefix('/')?;
    if let Some(file) = rest.strip_prefix("listings/") {
        let name = file.strip_suffix(".json")?;
        crate::package::name::validate(name).ok()?;
        return Some(Part::Listing(name.to_string()));
    }
    let sha = rest.strip_prefix("archives/")?.strip_suffix(".tar.gz")?;
    (sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| Part::Archive(sha.to_string()))
}

/// The checks `listing::parse_upstream` made when the exporting registry fetched it,
/// made again: a bundle travels through hands and disks.
fn check_listing(package: &Mirrored, name: &str) -> Result<(), String> {
    if package.name != name {
        return Err(format!("it is the listing of `{}`", package.name));
    }
    for v in &package.versions {
        Version::parse(&v.version).map_err(|e| format!("{}: {e}", v.version))?;
        if v.pubspec.get("name").and_then(|n| n.as_str()) != Some(name)
            || v.pubspec.get("version").and_then(|n| n.as_str()) != Some(v.version.as_str())
        {
            return Err(format!(
                "the pubspec of {} is not {name} {}",
                v.version, v.version
            ));
        }
        if !(v.sha256.len() == 64 && v.sha256.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!("{}: the sha256 is not 64 hex digits", v.version));
        }
    }
    Ok(())
}

/// Adds the versions `existing` has and `package` lacks, and keeps `existing`'s entry
/// where both list a version with different archives and ours was stored.
fn merge(package: &mut Mirrored, existing: Mirrored, stored: impl Fn(&str) -> bool) {
    package.fetched = package.fetched.max(existing.fetched);
    for old in existing.versions {
        match package
            .versions
            .iter_mut()
            .find(|v| v.version == old.version)
        {
            Some(new) if new.sha256 != old.sha256 && stored(&old.sha256) => *new = old,
            Some(_) => {}
            None => package.versions.push(old),
        }
    }
}

fn append(
    tar: &mut tar::Builder<tempfile::NamedTempFile>,
    relative: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, format!("{ROOT}/{relative}"), bytes)
}
