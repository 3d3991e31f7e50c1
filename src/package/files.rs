//! Which files of a git tree go into a package archive: the files `dart pub
//! publish` would upload from a clean checkout of that tree (docs/protocol.md §4).
//!
//! The rules follow pub's `Package.listFiles` (lib/src/package.dart) and
//! `Ignore.listFiles` (lib/src/ignore.dart):
//! - pub's built-in rules (dot-files except `.htaccess`, `pubspec.lock` files,
//!   a root `pubspec_overrides.yaml`) sit in the package directory's ignore layer;
//! - every directory from the repository root down contributes its `.pubignore`,
//!   or its `.gitignore` when it has no `.pubignore` (parents of the package too);
//! - the deepest layer with a matching rule decides, the last matching line in
//!   a layer wins, and an excluded directory is never entered.
//!
//! The tree is a flat entry list handed in by the git code, so this module knows
//! nothing about git objects.

use std::collections::HashMap;

use super::path::{Problem, check_clean};
use layers::ignored;
use tree::{Class, Node, Tree};

mod layers;
mod tree;

/// Error type of the caller's `read` callback.
pub type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// Bound on entries visited, since links to sibling directories can multiply a
/// small tree exponentially and tags come from users. Tests use a small bound so
/// that hitting it stays fast.
const MAX_VISITED: usize = if cfg!(test) { 1 << 12 } else { 1 << 20 };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File { executable: bool },
    Symlink,
    Submodule,
}

/// One blob or commit of a git tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative to the repository root, `/`-separated, no leading `/`.
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedFile {
    /// Relative to the package directory.
    pub archive_path: String,
    /// Index of the entry whose bytes to store: for a symlink, its final target.
    pub entry: usize,
    pub executable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Sorted by `archive_path` in byte order.
    pub files: Vec<SelectedFile>,
    /// What was left out that a publisher may not expect, one line each.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("there is no pubspec.yaml in package directory {package_dir:?}")]
    MissingPubspec { package_dir: String },
    #[error("pubspec.yaml of package directory {package_dir:?} is excluded by ignore rules")]
    PubspecIgnored { package_dir: String },
    #[error("could not read {path:?} from the git tree")]
    Read {
        path: String,
        #[source]
        source: ReadError,
    },
    #[error("path {path:?} cannot go into a package archive: {reason}")]
    InvalidPath { path: String, reason: Problem },
    #[error("ignore file {path:?} is not valid UTF-8")]
    IgnoreFileEncoding {
        path: String,
        #[source]
        source: std::string::FromUtf8Error,
    },
    #[error("could not compile the patterns of ignore file {path:?}")]
    IgnoreFile {
        path: String,
        #[source]
        source: ignore::Error,
    },
    #[error("listing {package_dir:?} visited more than {limit} entries (symlinked directories?)")]
    TooManyEntries { package_dir: String, limit: usize },
}

/// Selects the files of the package in `package_dir` ("" for the repository root).
///
/// `read` returns the bytes of a `File` entry or the target of a `Symlink` entry,
/// by index into `entries`. Symlinks are stored as copies of what they resolve to
/// inside the package, directories included, as pub does. Links that dangle, loop
/// or leave the package, and submodules, are left out with a warning.
pub fn select(
    entries: &[TreeEntry],
    package_dir: &str,
    read: &mut dyn FnMut(usize) -> Result<Vec<u8>, ReadError>,
) -> Result<Selection, Error> {
    if !package_dir.is_empty() {
        check_path(package_dir)?;
    }
    let mut walk = Walk {
        tree: Tree::new(entries, package_dir)?,
        read,
        links: HashMap::new(),
        warnings: Vec::new(),
    };
    let missing = || Error::MissingPubspec {
        package_dir: package_dir.to_owned(),
    };
    if !matches!(walk.tree.node(package_dir), Node::Dir) {
        return Err(missing());
    }
    if !matches!(
        walk.classify(&join(package_dir, "pubspec.yaml"))?,
        Class::File { .. }
    ) {
        return Err(missing());
    }
    let files = walk.files(package_dir)?;
    if !files.iter().any(|f| f.archive_path == "pubspec.yaml") {
        return Err(Error::PubspecIgnored {
            package_dir: package_dir.to_owned(),
        });
    }
    Ok(Selection {
        files,
        warnings: walk.warnings,
    })
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` below `dir`, both repository-relative; `dir` is an ancestor of `path`.
fn below<'p>(path: &'p str, dir: &str) -> &'p str {
    if dir.is_empty() {
        path
    } else {
        &path[dir.len() + 1..]
    }
}

/// Archive paths must extract to the same place on every client (§4).
fn check_path(path: &str) -> Result<(), Error> {
    check_clean(path).map_err(|reason| Error::InvalidPath {
        path: path.to_owned(),
        reason,
    })
}

/// A directory being listed: its path as seen through links, its real path and
/// its children still to visit (last first).
struct Frame<'a> {
    dir: String,
    real: String,
    pending: Vec<&'a str>,
}

struct Walk<'a, 'r> {
    tree: Tree<'a>,
    read: &'r mut dyn FnMut(usize) -> Result<Vec<u8>, ReadError>,
    /// Link targets already read, by entry index.
    links: HashMap<usize, String>,
    warnings: Vec<String>,
}

impl<'a> Walk<'a, '_> {
    /// Lists the package depth-first, as pub does, so that excluded directories
    /// are never entered and a negation cannot re-include a file below one.
    fn files(&mut self, package_dir: &str) -> Result<Vec<SelectedFile>, Error> {
        let ancestors = ancestors(package_dir);
        let mut layers = self.parent_layers(package_dir, &ancestors)?;
        layers.push(self.layer(package_dir, package_dir, true)?);
        let mut frames = vec![Frame {
            dir: package_dir.to_owned(),
            real: package_dir.to_owned(),
            pending: self.children(package_dir),
        }];

        let mut files = Vec::new();
        let mut visited = 0;
        while let Some(frame) = frames.last_mut() {
            let Some(name) = frame.pending.pop() else {
                frames.pop();
                layers.pop();
                continue;
            };
            visited += 1;
            if visited > MAX_VISITED {
                let package_dir = package_dir.to_owned();
                return Err(Error::TooManyEntries {
                    package_dir,
                    limit: MAX_VISITED,
                });
            }
            if name == ".git" {
                continue; // Never in a git tree; never publish one either.
            }
            let path = join(&frame.dir, name);
            let class = self.classify(&join(&frame.real, name))?;
            // The rule, stricter than pub on a developer's disk: what a link
            // reaches must lie inside the package, so an archive never depends on
            // files the package does not own (a monorepo's shared LICENSE included).
            let class = match class {
                Class::File { entry, .. }
                    if !inside(&self.tree.entries[entry].path, package_dir) =>
                {
                    Class::Broken(format!(
                        "symlink to {} leaves the package",
                        self.tree.entries[entry].path
                    ))
                }
                Class::Dir { real } if !inside(&real, package_dir) => {
                    Class::Broken(format!("symlink to directory {real}/ leaves the package"))
                }
                other => other,
            };
            let is_dir = matches!(class, Class::Dir { .. } | Class::Submodule);
            if ignored(&layers, &path, is_dir) {
                continue;
            }
            let archive_path = below(&path, package_dir).to_owned();
            match class {
                Class::File { entry, executable } => {
                    files.push(SelectedFile {
                        archive_path,
                        entry,
                        executable,
                    });
                }
                Class::Submodule => self.warnings.push(format!(
                    "{archive_path}: left out: a submodule, its files are not in this repository"
                )),
                Class::Broken(why) => self
                    .warnings
                    .push(format!("{archive_path}: left out: {why}")),
                Class::Dir { real } => {
                    // pub refuses a directory that resolves to one of its own
                    // ancestors, which would otherwise be listed forever.
                    let on_path = |r: &str| frames.iter().any(|f| f.real == r);
                    if on_path(&real) || ancestors.contains(&real.as_str()) {
                        let real = if real.is_empty() {
                            "the repository root"
                        } else {
                            &real
                        };
                        let why = format!("symlink cycle: {real} contains this link");
                        self.warnings
                            .push(format!("{archive_path}: left out: {why}"));
                        continue;
                    }
                    layers.push(self.layer(&path, &real, false)?);
                    let pending = self.children(&real);
                    frames.push(Frame {
                        dir: path,
                        real,
                        pending,
                    });
                }
            }
        }
        files.sort_by(|a, b| a.archive_path.as_bytes().cmp(b.archive_path.as_bytes()));
        Ok(files)
    }

    fn children(&self, real_dir: &str) -> Vec<&'a str> {
        let names = self.tree.dirs.get(real_dir);
        names.map_or_else(Vec::new, |names| names.iter().rev().copied().collect())
    }
}

/// Whether `path` is `dir` or lies below it.
fn inside(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The directories above `package_dir`, repository root first.
fn ancestors(package_dir: &str) -> Vec<&str> {
    if package_dir.is_empty() {
        return Vec::new();
    }
    let parents = package_dir
        .match_indices('/')
        .map(|(at, _)| &package_dir[..at]);
    std::iter::once("").chain(parents).collect()
}

#[cfg(test)]
mod tests;
