//! The package's tree as a checkout shows it: the flat entry list indexed as
//! directories and leaves, and symlinks resolved one component at a time, as
//! `realpath` resolves them on disk.

use super::{EntryKind, Error, TreeEntry, Walk, check_path};
use std::collections::{BTreeSet, HashMap};

/// Linux's limit on links followed while resolving one path (`MAXSYMLINKS`).
const MAX_LINK_HOPS: usize = 40;

/// The flat entry list as directories and leaves.
pub(super) struct Tree<'a> {
    pub(super) entries: &'a [TreeEntry],
    leaves: HashMap<&'a str, usize>,
    pub(super) dirs: HashMap<&'a str, BTreeSet<&'a str>>,
}

pub(super) enum Node {
    Dir,
    Leaf(usize),
    Missing,
}

impl<'a> Tree<'a> {
    /// Indexes `entries`. Malformed paths fail only inside the package; elsewhere
    /// they cannot be reached by any link and are skipped.
    pub(super) fn new(entries: &'a [TreeEntry], package_dir: &str) -> Result<Self, Error> {
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

    pub(super) fn node(&self, path: &str) -> Node {
        match self.leaves.get(path) {
            Some(&index) => Node::Leaf(index),
            None if self.dirs.contains_key(path) => Node::Dir,
            None => Node::Missing,
        }
    }
}

/// What a path in the tree is, after following symlinks.
pub(super) enum Class {
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

impl Walk<'_, '_> {
    pub(super) fn read(&mut self, entry: usize) -> Result<Vec<u8>, Error> {
        (self.read)(entry).map_err(|source| Error::Read {
            path: self.tree.entries[entry].path.clone(),
            source,
        })
    }

    /// What `path` (a real path: no links among its parents) is, following a link
    /// at its end the way a checkout's file system would.
    pub(super) fn classify(&mut self, path: &str) -> Result<Class, Error> {
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
