//! tagpub's integration tests, one binary: real git repositories in temp dirs, a real
//! server on `127.0.0.1:0` (in-process, or the `tagpub` binary), and a client that talks
//! HTTP the way `dart pub` does. The shared helpers live in `support`; each other module
//! is one area of behaviour. Run one area with `cargo test --test it <module>::`.

mod support;

mod access_control;
mod archive_contents;
mod bytes_are_forever;
mod cli;
mod crash_safety;
mod exposure;
mod freshness;
mod git_hooks;
mod live_state;
mod mirror;
mod one_source;
mod operations;
mod publishing;
mod replicas;
mod repositories;
mod s3_store;
mod serving;
mod support_selftest;
mod sync_jobs;
mod tag_history;
mod tags_to_versions;
mod token_rules;
mod upload_limits;
mod web_browser;
mod web_pages;
mod web_sessions;
mod webhook_deliveries;
mod webhooks;
