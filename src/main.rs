//! The `tagpub` binary: parse arguments, set up logging, run, turn the result into an
//! exit code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = tagpub::cli::Args::parse();
    tagpub::cli::init_tracing();
    match tagpub::cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
