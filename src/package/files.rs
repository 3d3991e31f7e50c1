//! Which files of a git tree go into a package archive: the files `dart pub
//! publish` would upload from a clean checkout of that tree (PUB_PROTOCOL.md §4).
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

use std::collections::{BTreeSet, HashMap};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::path::{Problem, check_clean};

/// Error type of the caller's `read` callback.
pub type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// pub's built-in rules, placed before the package directory's own ignore file
/// so that file can override them (pub does the same).
const BUILTIN_RULES: [&str; 5] = [
    ".*",
    "!.htaccess",
    "pubspec.lock",
    "!pubspec.lock/",
    "/pubspec_overrides.yaml",
];

/// Linux's limit on links followed while resolving one path (`MAXSYMLINKS`).
const MAX_LINK_HOPS: usize = 40;

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

/// The flat entry list as directories and leaves.
struct Tree<'a> {
    entries: &'a [TreeEntry],
    leaves: HashMap<&'a str, usize>,
    dirs: HashMap<&'a str, BTreeSet<&'a str>>,
}

enum Node {
    Dir,
    Leaf(usize),
    Missing,
}

impl<'a> Tree<'a> {
    /// Indexes `entries`. Malformed paths fail only inside the package; elsewhere
    /// they cannot be reached by any link and are skipped.
    fn new(entries: &'a [TreeEntry], package_dir: &str) -> Result<Self, Error> {
        let mut tree = Tree {
            entries,
            leaves: HashMap::new(),
            dirs: HashMap::new(),
        };
        tree.dirs.insert("", BTreeSet::new());
        for (index, entry) in entries.iter().enumerate() {
            let path = entry.path.as_str();
            if let Err(err) = check_path(path) {
                let inside = package_dir.is_empty()
                    || path
                        .strip_prefix(package_dir)
                        .is_some_and(|r| r.starts_with('/'));
                if inside {
                    return Err(err);
                }
                continue;
            }
            tree.leaves.insert(path, index);
            let mut child_end = path.len();
            loop {
                let parent_end = path[..child_end].rfind('/');
                let parent = &path[..parent_end.unwrap_or(0)];
                let child = &path[parent_end.map_or(0, |at| at + 1)..child_end];
                let fresh = !tree.dirs.contains_key(parent);
                tree.dirs.entry(parent).or_default().insert(child);
                match parent_end {
                    Some(at) if fresh => child_end = at,
                    _ => break,
                }
            }
        }
        Ok(tree)
    }

    fn node(&self, path: &str) -> Node {
        match self.leaves.get(path) {
            Some(&index) => Node::Leaf(index),
            None if self.dirs.contains_key(path) => Node::Dir,
            None => Node::Missing,
        }
    }
}

/// What a path in the tree is, after following symlinks.
enum Class {
    Dir {
        real: String,
    },
    File {
        entry: usize,
        executable: bool,
    },
    Submodule,
    /// A link that cannot be stored; the text says why.
    Broken(String),
}

/// One ignore layer: the rules of one directory (`None` if it has none).
struct Layer {
    dir: String,
    rules: Option<Gitignore>,
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
    fn read(&mut self, entry: usize) -> Result<Vec<u8>, Error> {
        (self.read)(entry).map_err(|source| Error::Read {
            path: self.tree.entries[entry].path.clone(),
            source,
        })
    }

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

    /// The ignore layers of the package's parents, root first. pub walks them
    /// towards the package, each checking the next directory down, so one of them
    /// can exclude the package itself.
    fn parent_layers(
        &mut self,
        package_dir: &str,
        ancestors: &[&str],
    ) -> Result<Vec<Layer>, Error> {
        let mut layers = Vec::new();
        for (i, dir) in ancestors.iter().enumerate() {
            layers.push(self.layer(dir, dir, false)?);
            let next = ancestors.get(i + 1).copied().unwrap_or(package_dir);
            if ignored(&layers, next, true) {
                let package_dir = package_dir.to_owned();
                return Err(Error::PubspecIgnored { package_dir });
            }
        }
        Ok(layers)
    }

    fn children(&self, real_dir: &str) -> Vec<&'a str> {
        let names = self.tree.dirs.get(real_dir);
        names.map_or_else(Vec::new, |names| names.iter().rev().copied().collect())
    }

    /// The ignore layer of directory `dir`, whose content lives at `real`: its
    /// `.pubignore`, else its `.gitignore`, plus pub's built-in rules first when
    /// `builtin` (the package directory).
    fn layer(&mut self, dir: &str, real: &str, builtin: bool) -> Result<Layer, Error> {
        let mut builder = GitignoreBuilder::new(".");
        // Case-sensitive as on Linux (pub folds case only on macOS and Windows):
        // one tag must give one archive wherever it is built. Unclosed `[` is an
        // invalid pattern for pub, so it must not match literally here.
        builder.allow_unclosed_class(false);
        if builtin {
            for rule in BUILTIN_RULES {
                builder
                    .add_line(None, rule)
                    .map_err(|source| Error::IgnoreFile {
                        path: "(pub's built-in rules)".to_owned(),
                        source,
                    })?;
            }
        }
        let mut source = None;
        for name in [".pubignore", ".gitignore"] {
            let path = join(real, name);
            if let Class::File { entry, .. } = self.classify(&path)? {
                source = Some((path, entry));
                break;
            }
        }
        let dir = dir.to_owned();
        let Some((path, entry)) = source else {
            let rules = if builtin {
                Some(build(&builder, "(pub's built-in rules)")?)
            } else {
                None
            };
            return Ok(Layer { dir, rules });
        };
        let text =
            String::from_utf8(self.read(entry)?).map_err(|source| Error::IgnoreFileEncoding {
                path: path.clone(),
                source,
            })?;
        for (number, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            // pub warns about a pattern it cannot parse and goes on without it.
            if let Err(err) = builder.add_line(None, line) {
                let number = number + 1;
                let warning = format!("{path}:{number}: pattern {line:?} skipped: {err}");
                self.warnings.push(warning);
            }
        }
        Ok(Layer {
            dir,
            rules: Some(build(&builder, &path)?),
        })
    }

    /// What `path` (a real path: no links among its parents) is, following a link
    /// at its end the way a checkout's file system would.
    fn classify(&mut self, path: &str) -> Result<Class, Error> {
        match self.tree.node(path) {
            Node::Dir => Ok(Class::Dir {
                real: path.to_owned(),
            }),
            Node::Missing => Ok(Class::Broken(format!("{path:?} does not exist"))),
            Node::Leaf(entry) => match self.tree.entries[entry].kind {
                EntryKind::File { executable } => Ok(Class::File { entry, executable }),
                EntryKind::Submodule => Ok(Class::Submodule),
                EntryKind::Symlink => self.resolve(path),
            },
        }
    }

    /// Resolves the symlink at `link` one component at a time, links in the
    /// middle included, like `realpath` on a checkout of the tree.
    fn resolve(&mut self, link: &str) -> Result<Class, Error> {
        let broken = |why: String| Ok(Class::Broken(format!("symlink {why}")));
        let mut real: Vec<String> = Vec::new();
        let mut pending: Vec<String> = link.rsplit('/').map(str::to_owned).collect();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            if component == "." {
                continue;
            }
            if component == ".." {
                if real.pop().is_none() {
                    return broken(format!("{link:?} points outside the repository"));
                }
                continue;
            }
            real.push(component);
            let path = real.join("/");
            let entry = match self.tree.node(&path) {
                Node::Dir => continue,
                Node::Missing => return broken(format!("{link:?} dangles: no {path:?}")),
                Node::Leaf(entry) => entry,
            };
            match (self.tree.entries[entry].kind, pending.is_empty()) {
                (EntryKind::Symlink, _) => {}
                (EntryKind::File { executable }, true) => {
                    return Ok(Class::File { entry, executable });
                }
                (EntryKind::Submodule, true) => return Ok(Class::Submodule),
                (_, false) => return broken(format!("{link:?} dangles: {path:?} is no directory")),
            }
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return broken(format!(
                    "{link:?} loops or chains over {MAX_LINK_HOPS} links"
                ));
            }
            let Some(target) = self.link_target(entry)? else {
                return broken(format!("{path:?} has a target that is not UTF-8"));
            };
            if target.starts_with('/') {
                return broken(format!(
                    "{path:?} -> {target:?} points outside the repository"
                ));
            }
            real.pop();
            // A trailing `/` demands a directory, as a `.` after a file does.
            if target.ends_with('/') {
                pending.push(".".to_owned());
            }
            pending.extend(
                target
                    .rsplit('/')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(Class::Dir {
            real: real.join("/"),
        })
    }

    /// The target text of link `entry`, read once; `None` if it is not UTF-8.
    fn link_target(&mut self, entry: usize) -> Result<Option<String>, Error> {
        if let Some(target) = self.links.get(&entry) {
            return Ok(Some(target.clone()));
        }
        let Ok(target) = String::from_utf8(self.read(entry)?) else {
            return Ok(None);
        };
        self.links.insert(entry, target.clone());
        Ok(Some(target))
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

fn build(builder: &GitignoreBuilder, path: &str) -> Result<Gitignore, Error> {
    builder.build().map_err(|source| Error::IgnoreFile {
        path: path.to_owned(),
        source,
    })
}

/// Whether `path` (repository-relative, as seen through links) is excluded: the
/// deepest layer with a matching rule decides.
fn ignored(layers: &[Layer], path: &str, is_dir: bool) -> bool {
    for layer in layers.iter().rev() {
        let Some(rules) = &layer.rules else { continue };
        match rules.matched(below(path, &layer.dir), is_dir) {
            Match::None => continue,
            Match::Ignore(_) => return true,
            Match::Whitelist(_) => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests;
