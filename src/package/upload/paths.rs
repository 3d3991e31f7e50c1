//! Archive paths: a tar name as pub extracts it (the rules are `package::path`'s), in
//! words for the person publishing, and the tree of paths seen so far, which refuses
//! duplicates, file and directory clashes, case-only differences and too many paths.

use std::collections::HashMap;

use super::Error;
use crate::package::path::{self, Problem};

/// What an entry puts at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
}

/// The relative path `name` extracts to, `""` for the package root
/// ([`path::normalise`]), or why it has none, in words for the person publishing.
pub(super) fn normalise(name: &str) -> Result<String, Error> {
    let path = name.to_owned();
    path::normalise(name).map_err(|problem| match problem {
        Problem::Nul => Error::ForbiddenCharacter {
            path,
            character: "a NUL byte, which ends a name for most tar readers",
        },
        Problem::Backslash => Error::ForbiddenCharacter {
            path,
            character: "a backslash, which Windows reads as a directory separator",
        },
        Problem::Absolute => Error::AbsolutePath { path },
        // `normalise` finds no other problem; `..` is the one left.
        _ => Error::EscapingPath { path },
    })
}

/// Every path in the archive, directories implied by a file's path included,
/// stored one component per node so that memory and time grow with the names'
/// total length, never with its square.
pub(super) struct Tree {
    /// `nodes[0]` is the package root.
    nodes: Vec<Node>,
    max_paths: usize,
}

struct Node {
    parent: usize,
    name: String,
    kind: NodeKind,
    children: HashMap<String, usize>,
    /// Children by lower-cased name, to find case-only differences.
    folded: HashMap<String, usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    File,
    /// `explicit` when the archive has an entry for it; otherwise a file's path
    /// only implies it.
    Dir {
        explicit: bool,
    },
}

impl Tree {
    pub(super) fn new(max_paths: usize) -> Self {
        Tree {
            nodes: vec![Node::new(
                0,
                String::new(),
                NodeKind::Dir { explicit: true },
            )],
            max_paths,
        }
    }

    /// Records an entry at the normalised, non-empty `path`.
    pub(super) fn insert(&mut self, path: &str, kind: Kind) -> Result<(), Error> {
        let mut parts = path.split('/').peekable();
        let mut parent = 0;
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            parent = match self.nodes[parent].children.get(part) {
                Some(&id) => self.revisit(id, last.then_some(kind))?,
                None => self.add(parent, part, last.then_some(kind))?,
            };
        }
        Ok(())
    }

    /// Passes through an existing node, as the entry itself when `entry` is set,
    /// or else as one of its ancestors.
    fn revisit(&mut self, id: usize, entry: Option<Kind>) -> Result<usize, Error> {
        let node = &mut self.nodes[id];
        match (node.kind, entry) {
            (NodeKind::Dir { .. }, None) => return Ok(id),
            (NodeKind::Dir { explicit: false }, Some(Kind::Dir)) => {
                node.kind = NodeKind::Dir { explicit: true };
                return Ok(id);
            }
            (NodeKind::Dir { explicit: true }, Some(Kind::Dir))
            | (NodeKind::File, Some(Kind::File)) => {
                return Err(Error::DuplicatePath {
                    path: self.path_of(id),
                });
            }
            // A file used as a directory, or a directory given again as a file.
            (NodeKind::File, _) | (NodeKind::Dir { .. }, Some(Kind::File)) => {}
        }
        Err(Error::FileDirectoryClash {
            path: self.path_of(id),
        })
    }

    /// Adds `name` under `parent`, as the entry itself when `entry` is set, or
    /// else as a directory its path implies.
    fn add(&mut self, parent: usize, name: &str, entry: Option<Kind>) -> Result<usize, Error> {
        let folded = name.to_lowercase();
        if let Some(&other) = self.nodes[parent].folded.get(&folded) {
            let mut second = self.path_of(parent);
            if !second.is_empty() {
                second.push('/');
            }
            second.push_str(name);
            return Err(Error::CaseCollision {
                first: self.path_of(other),
                second,
            });
        }
        // The root is not a path of the archive.
        if self.nodes.len() > self.max_paths {
            return Err(Error::TooManyFiles {
                limit: self.max_paths,
            });
        }
        let kind = match entry {
            Some(Kind::File) => NodeKind::File,
            Some(Kind::Dir) => NodeKind::Dir { explicit: true },
            None => NodeKind::Dir { explicit: false },
        };
        let id = self.nodes.len();
        self.nodes.push(Node::new(parent, name.to_owned(), kind));
        let siblings = &mut self.nodes[parent];
        siblings.children.insert(name.to_owned(), id);
        siblings.folded.insert(folded, id);
        Ok(id)
    }

    fn path_of(&self, mut id: usize) -> String {
        let mut parts = Vec::new();
        while id != 0 {
            parts.push(self.nodes[id].name.as_str());
            id = self.nodes[id].parent;
        }
        parts.reverse();
        parts.join("/")
    }
}

impl Node {
    fn new(parent: usize, name: String, kind: NodeKind) -> Self {
        Node {
            parent,
            name,
            kind,
            children: HashMap::new(),
            folded: HashMap::new(),
        }
    }
}
