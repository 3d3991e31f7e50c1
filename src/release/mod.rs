//! From tags to served versions: fetch a repository, find the release candidates of each
//! package, evaluate new ones, and store their archives.
//!
//! A stored version is never replaced. A tag that moved keeps serving its first archive
//! (with a warning); a deleted tag keeps serving (with a warning); an archive missing
//! from the store is rebuilt from the recorded commit and must come out byte-identical.
//! A package name comes from one source; `claim` decides which when several hold it.
//! A pass builds its new archives on every core (`builds`) and stores them in batches,
//! reporting a version only once it is durable (`commit`). `tagpub sync` runs passes over
//! several repositories at once, deciding claims as a serial run would (`order`).

mod builds;
mod candidate;
mod check;
pub mod claim;
mod commit;
mod ingest;
mod order;
mod plan;
mod rebuild;
mod sync;

pub use builds::Builders;
pub use candidate::{Rejection, Release, evaluate};
pub use check::{check_repository, resolve_names};
pub use order::InOrder;
pub use plan::{Candidate, PackagePlan, plan};
pub use sync::{Opened, RepoReport, TagProblem, mirror_dir, open_repository, sync_repository};
