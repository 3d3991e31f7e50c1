//! The `tagpub` binary: parse arguments, set up logging, run, turn the result into an
//! exit code.

use clap::Parser;
use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: with 10,000 packages the daemon's resident memory
/// after start-up was 159 MiB with glibc, 128 MiB with mimalloc and 102 MiB with jemalloc,
/// which hands freed pages back to the system (docs/architecture.md, "The index").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = tagpub::cli::Args::parse();
    tagpub::cli::init_tracing();
    // Without its background thread jemalloc hands freed pages back only while the
    // program allocates: an idle daemon kept its start-up garbage (with 10,000
    // packages, 107 MiB where 91 MiB was in use).
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::debug!(error = %e, "jemalloc's background thread is not available");
    }
    match tagpub::cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
