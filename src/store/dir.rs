//! The data dir itself: private to the user tagpub runs as (the directory `0700`, the
//! database `0600`), and checked before use, so that a lost database is reported
//! instead of silently replaced by an empty one.

use super::Error;
use std::path::{Path, PathBuf};
use tracing::warn;

/// The database file in a data dir.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("tagpub.sqlite3")
}

/// Creates `dir` (and missing parents) if needed; the directory itself, when created
/// here, is readable only by its owner.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// Makes the data dir ready: created private if missing, its permissions tightened if
/// others may read it, and refused if it holds archives or uploads but its database is
/// gone, empty or has no tables (see [`Error::LostDatabase`]). Writes nothing before
/// that check passes.
pub fn prepare(data_dir: &Path) -> Result<(), Error> {
    let io = |doing, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::DataDir {
            doing,
            path,
            source,
        }
    };
    check_database(data_dir)?;
    create_private_dir(data_dir).map_err(io("create", data_dir))?;
    tighten(data_dir, 0o700).map_err(io("restrict the permissions of", data_dir))?;
    let db = database_path(data_dir);
    // SQLite gives its -wal and -shm files the mode of the database file.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&db).map_err(io("create", &db))?;
    for file in [db.clone(), sibling(&db, "-wal"), sibling(&db, "-shm")] {
        if file.exists() {
            tighten(&file, 0o600).map_err(io("restrict the permissions of", &file))?;
        }
    }
    Ok(())
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes the group and other permissions of `path`, with a warning when there were
/// any: the data dir holds private packages and token hashes.
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        warn!(path = %path.display(), "{} was readable by others ({current:o}); its permissions are now {mode:o}", path.display());
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Refuses a data dir whose database was lost while what it described is still there.
fn check_database(data_dir: &Path) -> Result<(), Error> {
    let Some(evidence) = ["archives", "uploads"]
        .iter()
        .find_map(|d| any_file(&data_dir.join(d)))
    else {
        return Ok(()); // A new data dir, or one that never stored anything.
    };
    let db = database_path(data_dir);
    let problem = match std::fs::metadata(&db) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "is missing",
        Ok(m) if m.len() == 0 => "is empty (0 bytes)",
        Ok(_) if !has_tables(&db) => "holds no tagpub tables",
        // Anything else (unreadable, not a database) fails when it is opened, with the
        // reason.
        _ => return Ok(()),
    };
    Err(Error::LostDatabase {
        db,
        data_dir: data_dir.to_path_buf(),
        problem,
        evidence,
    })
}

/// Whether the database has any of tagpub's tables; only reads.
fn has_tables(db: &Path) -> bool {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, flags) else {
        return true; // Let the real open report why it cannot be opened.
    };
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('versions', 'tokens', 'uploads')",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(true, |n| n > 0)
}

/// The first file found under `dir`, depth first.
fn any_file(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_file() => return Some(path),
            Ok(t) if t.is_dir() => {
                if let Some(found) = any_file(&path) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
