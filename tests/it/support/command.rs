//! The `tagpub` binary run the way an operator runs it: `tagpub -c <config> <command>`,
//! to the end (`tagpub`, `command`) or as a daemon (`daemon::Daemon`).

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

/// How a command ended and what it printed.
#[derive(Debug)]
pub struct Ran {
    /// The exit code; -1 if a signal ended it.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// stdout, then stderr: for messages that may be on either.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The exit code and [`Ran::text`].
    pub fn code_and_text(self) -> (i32, String) {
        (self.code, self.text())
    }

    /// [`Ran::text`], after checking that the command succeeded.
    pub fn expect_success(self, what: &str) -> String {
        let text = self.text();
        assert_eq!(self.code, 0, "{what} failed: {text}");
        text
    }
}

/// Runs `tagpub -c <config> <args>` to the end.
pub fn tagpub(config: &Path, args: &[&str]) -> Ran {
    let out = command(config, args).output().expect("run tagpub");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
