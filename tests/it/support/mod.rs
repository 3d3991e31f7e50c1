//! Shared support for tagpub's integration tests:
//!
//! - the registry's side: real git repositories in temp dirs (`git`), `registry.yaml`
//!   (`config`), a server in-process on `127.0.0.1:0` (`server`) or the `tagpub`
//!   binary as a command or daemon (`command`, `daemon`);
//! - the client's side: a client that reads the registry exactly as `dart pub` does
//!   (`client`, with `listing`, `archive`, `version`, `hosted_url` and `goog_hash`
//!   holding its checks, and `publish` its uploads), and the archives it uploads
//!   (`tarball`);
//! - a real S3-compatible server, `s3s-fs`, for the S3 archive store (`s3`);
//! - waiting on conditions (`wait`) and snapshots without what varies (`snapshot`).
//!
//! Only `server` uses tagpub's library: the client's side is written from the protocol
//! alone, so that a test never checks tagpub against tagpub's own reading of it
//! (`support_selftest::the_client_side_imports_nothing_from_tagpub` keeps it so).

pub mod archive;
pub mod client;
pub mod command;
pub mod config;
pub mod daemon;
pub mod git;
pub mod goog_hash;
pub mod hosted_url;
pub mod listing;
pub mod postgres;
pub mod publish;
pub mod s3;
pub mod server;
pub mod snapshot;
pub mod tarball;
pub mod version;
pub mod wait;
pub mod web;
pub mod web_registry;

pub use archive::extract;
pub use client::{ClientError, PubClient, RawResponse};
pub use git::{BareRepo, GitRepo, pubspec};
pub use listing::{ListedVersion, Listing, check_listing_shoulds, listing_should_violations};
