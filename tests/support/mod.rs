//! Shared support for tagpub's integration tests: real git repositories in temp dirs
//! (`git`) and a client that reads the registry exactly as `dart pub` does (`client`,
//! with `listing`, `archive` and `version` holding the client's checks).
//!
//! Include it with `mod support;` from a file in `tests/`.

// Not `expect`: whether a lint fires depends on the binary.
#![allow(
    dead_code,
    unused_imports,
    reason = "every integration test binary compiles this module separately and uses a \
              different subset of it"
)]

pub mod archive;
pub mod client;
pub mod git;
pub mod goog_hash;
pub mod hosted_url;
pub mod listing;
pub mod publish;
pub mod server;
pub mod version;
pub mod web;
pub mod web_registry;

pub use archive::{Extracted, extract};
pub use client::{ClientError, Download, PubClient, RawResponse};
pub use git::{BareRepo, GitRepo, pubspec};
pub use listing::{ListedVersion, Listing, check_listing_shoulds, listing_should_violations};
pub use publish::UploadForm;
pub use version::PubVersion;
