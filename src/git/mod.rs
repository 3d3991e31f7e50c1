//! Everything tagpub asks of git: mirroring remote repositories, listing tags, and
//! reading the tree and blobs of a tagged commit. Synchronous (gix is); callers run it
//! on blocking threads.

mod mirror;
mod repo;

pub use mirror::fetch_mirror;
pub use repo::{Repo, Tag, TreeFile};

/// What went wrong talking to a git repository. Messages name the repository; they
/// never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the git repository at {location}")]
    Open {
        location: String,
        #[source]
        source: gix::Error,
    },
    #[error("cannot create the mirror directory {path}")]
    CreateMirror {
        path: std::path::PathBuf,
        #[source]
        source: gix::Error,
    },
    #[error("cannot fetch tags from {location}")]
    Fetch {
        location: String,
        #[source]
        source: gix::Error,
    },
    /// A fetch failed before it reached the mirror (see `fetch`), and the mirror of
    /// earlier fetches, which would have kept serving, cannot be opened either.
    #[error("{}; the mirror of earlier fetches at {} cannot be opened either", crate::report::chain(fetch.as_ref()), path.display())]
    MirrorUnusable {
        fetch: Box<Error>,
        path: std::path::PathBuf,
        #[source]
        open: Box<Error>,
    },
    #[error(
        "repository {location} needs a password in the environment variable {var}, which is not set"
    )]
    MissingCredential { location: String, var: String },
    #[error("cannot list the tags of {location}")]
    ListTags {
        location: String,
        #[source]
        source: gix::Error,
    },
    #[error("tag {tag} does not point to a commit")]
    TagPointsNowhere {
        tag: String,
        #[source]
        source: gix::Error,
    },
    #[error("cannot read {what} of commit {commit}")]
    ReadCommit {
        commit: String,
        what: &'static str,
        #[source]
        source: gix::Error,
    },
    #[error("cannot read object {id}")]
    ReadObject {
        id: String,
        #[source]
        source: gix::Error,
    },
}
