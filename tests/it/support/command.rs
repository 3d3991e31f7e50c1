//! The `tagpub` binary run the way an operator runs it: `tagpub -c <config> <command>`,
//! to the end (`tagpub`, `tagpub_text`, `command`) or as a daemon (`daemon::Daemon`).

use std::path::Path;
use std::process::Command;

/// The binary cargo built for these tests.
pub const TAGPUB: &str = env!("CARGO_BIN_EXE_tagpub");

/// `tagpub -c <config> <args>`, logging warnings and errors only; not yet started.
pub fn command(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(TAGPUB);
    command
        .arg("-c")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn");
    command
}

/// Runs `tagpub -c <config> <args>` to the end: its exit code (-1 if a signal ended
/// it), stdout and stderr.
pub fn tagpub(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = command(config, args).output().expect("run tagpub");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`tagpub`] with stdout and stderr as one text, for messages that may be on either.
pub fn tagpub_text(config: &Path, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = tagpub(config, args);
    (code, stdout + &stderr)
}
