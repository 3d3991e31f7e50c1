//! `tagpub backup`: a consistent copy of the database while the daemon may be writing
//! to it, with SQLite's online backup. The copy is written next to its destination and
//! renamed into place, so a backup file is always whole.

use super::{Error, dir};
use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use std::path::Path;
use std::time::Duration;

/// What a backup holds, to show the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    pub versions: u64,
    pub tokens: u64,
    pub uploaded_packages: u64,
}

/// Copies the database of `data_dir` to `to` (readable by its owner only). An existing
/// `to` is replaced only if `replace`.
pub fn backup(data_dir: &Path, to: &Path, replace: bool) -> Result<BackupSummary, Error> {
    let file_err = |doing| {
        let path = to.to_path_buf();
        move |source| Error::BackupFile {
            doing,
            path,
            source,
        }
    };
    let db_err = |source: rusqlite::Error| Error::Backup {
        path: to.to_path_buf(),
        source: Box::new(source),
    };
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(parent).map_err(file_err("create a file next to"))?;
    let source = super::sqlite::open_connection(&dir::database_path(data_dir), "")?;
    let summary = {
        let mut copy = Connection::open(tmp.path()).map_err(db_err)?;
        copy_all(&source, &mut copy).map_err(db_err)?;
        let check: String = copy
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(db_err)?;
        if check != "ok" {
            return Err(Error::Backup {
                path: to.to_path_buf(),
                source: Box::new(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                    Some(format!("the copy fails SQLite's check: {check}")),
                )),
            });
        }
        summarise(&copy).map_err(db_err)?
    };
    tmp.as_file().sync_all().map_err(file_err("sync"))?;
    if replace {
        tmp.persist(to).map_err(|e| file_err("write")(e.error))?;
    } else {
        tmp.persist_noclobber(to)
            .map_err(|e| file_err("write")(e.error))?;
    }
    Ok(summary)
}

/// Copies every page in one step: one read transaction, so the copy is the database
/// as of one commit, whatever is written meanwhile (WAL readers do not wait for
/// writers).
fn copy_all(source: &Connection, copy: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(source, copy)?;
    for _ in 0..200 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            _ => {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the database stayed locked for 10 seconds".into()),
    ))
}

fn summarise(copy: &Connection) -> rusqlite::Result<BackupSummary> {
    let count = |table: &str| {
        copy.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
    };
    Ok(BackupSummary {
        versions: count("versions")?,
        tokens: count("tokens")?,
        uploaded_packages: count("uploaded_packages")?,
    })
}
