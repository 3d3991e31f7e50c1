//! Reading an opened repository: tags peeled to commits, commit times, trees and blobs.

use super::Error;
use crate::package::files::{EntryKind, TreeEntry};
use gix::ObjectId;
use std::path::Path;

/// Archives of big packages read many blobs; a modest cache per handle avoids
/// re-inflating the same delta bases for every file.
const OBJECT_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// An opened git repository (working clone, bare repository or tagpub's mirror).
pub struct Repo {
    inner: gix::Repository,
    location: String,
}

/// A tag peeled to the commit it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Short name, without `refs/tags/`.
    pub name: String,
    /// The commit, after following annotated tag objects.
    pub commit: ObjectId,
    /// What the ref names directly: an annotated tag object, or the commit itself.
    pub target: ObjectId,
}

/// A tag peeled to its commit, or the tag's name and why it cannot be peeled.
pub type TagResult = Result<Tag, (String, Error)>;

/// An entry of a commit's tree together with the object holding its content.
#[derive(Debug, Clone)]
pub struct TreeFile {
    pub entry: TreeEntry,
    pub oid: ObjectId,
}

impl Repo {
    /// Opens the repository at `path`; `location` is how errors name it.
    pub fn open(path: &Path, location: &str) -> Result<Repo, Error> {
        let mut inner =
            gix::open_opts(path, gix::open::Options::isolated()).map_err(|source| Error::Open {
                location: location.to_string(),
                source,
            })?;
        inner.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        Ok(Repo {
            inner,
            location: location.to_string(),
        })
    }

    /// Another handle on the same repository, with caches of its own, for another
    /// thread (a handle is not shared between threads).
    pub fn handle(&self) -> Repo {
        let mut inner = self.inner.clone();
        inner.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        Repo {
            inner,
            location: self.location.clone(),
        }
    }

    /// Every tag, peeled to its commit, sorted by name. A tag that names a tree or blob
    /// comes back as an error of its own so the caller can record why it is not served.
    pub fn tags(&self) -> Result<Vec<TagResult>, Error> {
        let list_err = |source| Error::ListTags {
            location: self.location.clone(),
            source,
        };
        let platform = self.inner.references().map_err(list_err)?;
        let mut targets = Vec::new();
        for reference in platform.tags().map_err(list_err)? {
            let reference = reference.map_err(list_err)?;
            let name = reference.name().shorten().to_string();
            if let Some(id) = reference.target().try_id() {
                targets.push((name, id.to_owned()));
            }
        }
        targets.sort();
        Ok(targets
            .into_iter()
            .map(|(name, id)| {
                self.peel_to_commit(id)
                    .map(|commit| Tag {
                        name: name.clone(),
                        commit,
                        target: id,
                    })
                    .map_err(|source| {
                        (
                            name.clone(),
                            Error::TagPointsNowhere {
                                tag: name.clone(),
                                source,
                            },
                        )
                    })
            })
            .collect())
    }

    fn peel_to_commit(&self, id: ObjectId) -> Result<ObjectId, gix::Error> {
        let object = self.inner.find_object(id)?;
        Ok(object.peel_to_kind(gix::object::Kind::Commit)?.id)
    }

    /// The committer time of `commit`, in seconds since the epoch; archive entries use it
    /// as their mtime so a rebuild produces the same bytes.
    pub fn commit_time(&self, commit: ObjectId) -> Result<i64, Error> {
        let err = |what, source| Error::ReadCommit {
            commit: commit.to_string(),
            what,
            source,
        };
        let c = self
            .inner
            .find_commit(commit)
            .map_err(|e| err("the object", e))?;
        Ok(c.time().map_err(|e| err("the time", e))?.seconds)
    }

    /// When a tag was made, in seconds since the epoch: the tagger's date of an annotated
    /// tag, else the date of the commit it names. Read from git alone, so a catalog
    /// rebuilt from the same repository records the same date.
    pub fn tag_time(&self, target: ObjectId, commit: ObjectId) -> Result<i64, Error> {
        let tagger = self
            .inner
            .find_object(target)
            .ok()
            .and_then(|o| o.try_into_tag().ok())
            .and_then(|t| t.tagger().ok().flatten().and_then(|s| s.time().ok()));
        match tagger {
            Some(time) => Ok(time.seconds),
            None => self.commit_time(commit),
        }
    }

    /// Every entry of the commit's tree, recursively, with repository-relative paths.
    /// Directories are implied by their files and not listed. Paths that are not UTF-8
    /// (which no pub archive can hold) come back separately, for a warning.
    pub fn tree(&self, commit: ObjectId) -> Result<(Vec<TreeFile>, Vec<String>), Error> {
        let err = |what, source| Error::ReadCommit {
            commit: commit.to_string(),
            what,
            source,
        };
        let c = self
            .inner
            .find_commit(commit)
            .map_err(|e| err("the object", e))?;
        let tree = c.tree().map_err(|e| err("the tree", e))?;
        let records = tree
            .traverse()
            .breadthfirst
            .files()
            .map_err(|e| err("the tree", e))?;
        let mut files = Vec::with_capacity(records.len());
        let mut unnamed = Vec::new();
        for record in records {
            use gix::objs::tree::EntryKind as K;
            let kind = match record.mode.kind() {
                K::Tree => continue,
                K::Blob => EntryKind::File { executable: false },
                K::BlobExecutable => EntryKind::File { executable: true },
                K::Link => EntryKind::Symlink,
                K::Commit => EntryKind::Submodule,
            };
            let Ok(path) = String::from_utf8(record.filepath.to_vec()) else {
                unnamed.push(String::from_utf8_lossy(&record.filepath).into_owned());
                continue;
            };
            files.push(TreeFile {
                entry: TreeEntry { path, kind },
                oid: record.oid,
            });
        }
        Ok((files, unnamed))
    }

    /// The content of a blob.
    pub fn read_blob(&self, oid: ObjectId) -> Result<Vec<u8>, Error> {
        let mut blob = self
            .inner
            .find_blob(oid)
            .map_err(|source| Error::ReadObject {
                id: oid.to_string(),
                source,
            })?;
        Ok(blob.take_data())
    }
}
