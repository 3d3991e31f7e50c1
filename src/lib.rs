//! tagpub: a private Dart/Flutter package repository whose source of truth is git.
//! Every semver tag of a watched repository becomes a pub version, served through the
//! Hosted Pub Repository Specification v2.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod git;
pub mod http;
pub mod index;
#[cfg(test)]
mod layers;
pub mod mirror;
pub mod package;
pub mod publish;
pub mod release;
pub mod report;
pub mod server;
pub mod store;
pub mod web;
pub mod webhook;
