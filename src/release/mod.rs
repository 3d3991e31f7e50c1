//! From tags to served versions: fetch a repository, find the release candidates of each
//! package, evaluate new ones, and store their archives.
//!
//! A stored version is never replaced. A tag that moved keeps serving its first archive
//! (with a warning); a deleted tag keeps serving; an archive missing from the store is
//! rebuilt from the recorded commit and must come out byte-identical.

mod candidate;
mod plan;
mod sync;

pub use candidate::{Rejection, Release, evaluate};
pub use plan::{Candidate, PackagePlan, plan};
pub use sync::{
    RepoReport, TagProblem, check_repository, mirror_dir, open_repository, sync_repository,
};
