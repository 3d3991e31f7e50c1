//! Upload sessions of `dart pub publish`, from `versions/new` to finalize: who started
//! each, the archive staged for it, and the answer finalize gave (replayed to retries).

use super::Error;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// One upload session, from `versions/new` to finalize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: String,
    pub member: String,
    pub created: i64,
    /// sha256 and size of the received archive, once posted.
    pub archive: Option<(String, u64)>,
    /// The outcome of finalize, once known: `Ok(message)` or `Err((status, message))`,
    /// replayed to retries.
    pub outcome: Option<Result<String, (u16, String)>>,
}

/// Whether an archive could be staged for an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    Yes,
    /// The member already has this many other unfinished uploads with an archive.
    TooMany(u64),
}

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS uploads (
    id       TEXT PRIMARY KEY,
    member   TEXT NOT NULL,
    created  INTEGER NOT NULL,
    sha256   TEXT,
    size     INTEGER,
    ok       TEXT,
    refused  TEXT
);
";

/// Columns added after the first release of the schema.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_status: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('uploads') WHERE name = 'refused_status'")?
        .exists([])?;
    if !has_status {
        conn.execute_batch("ALTER TABLE uploads ADD COLUMN refused_status INTEGER")?;
    }
    Ok(())
}

fn q(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Query { doing, source }
}

pub(super) fn create(conn: &Connection, id: &str, member: &str, now: i64) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO uploads (id, member, created) VALUES (?1, ?2, ?3)",
        params![id, member, now],
    )
    .map_err(q("starting an upload"))?;
    Ok(())
}

pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<UploadRecord>, Error> {
    conn.query_row(
        "SELECT id, member, created, sha256, size, ok, refused, refused_status FROM uploads WHERE id = ?1",
        [id],
        |r| {
            let sha: Option<String> = r.get(3)?;
            let size: Option<i64> = r.get(4)?;
            let ok: Option<String> = r.get(5)?;
            let refused: Option<String> = r.get(6)?;
            // Refusals recorded before the status was kept were all 400s.
            let status = r.get::<_, Option<u16>>(7)?.unwrap_or(400);
            Ok(UploadRecord {
                id: r.get(0)?,
                member: r.get(1)?,
                created: r.get(2)?,
                archive: sha.zip(size.map(|s| s as u64)),
                outcome: ok.map(Ok).or(refused.map(|m| Err((status, m)))),
            })
        },
    )
    .optional()
    .map_err(q("reading an upload"))
}

/// Records the archive of upload `id` (clearing an earlier outcome), unless its member
/// already has `cap` other unfinished uploads with an archive created at or after
/// `since`. Counting and recording are one write transaction, so two uploads at once
/// cannot both take the last place.
pub(super) fn stage(
    conn: &mut Connection,
    id: &str,
    (sha256, size): (&str, u64),
    since: i64,
    cap: u64,
) -> Result<Staged, Error> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(q("recording an upload"))?;
    let others: u64 = tx
        .query_row(
            "SELECT count(*) FROM uploads
             WHERE member = (SELECT member FROM uploads WHERE id = ?1) AND id != ?1
               AND sha256 IS NOT NULL AND ok IS NULL AND refused IS NULL AND created >= ?2",
            params![id, since],
            |r| r.get(0),
        )
        .map_err(q("recording an upload"))?;
    if others >= cap {
        return Ok(Staged::TooMany(others));
    }
    tx.execute(
        "UPDATE uploads SET sha256 = ?2, size = ?3, ok = NULL, refused = NULL, refused_status = NULL WHERE id = ?1",
        params![id, sha256, size as i64],
    )
    .map_err(q("recording an upload"))?;
    tx.commit().map_err(q("recording an upload"))?;
    Ok(Staged::Yes)
}

pub(super) fn set_outcome(
    conn: &Connection,
    id: &str,
    outcome: &Result<String, (u16, String)>,
) -> Result<(), Error> {
    let (ok, refused, status) = match outcome {
        Ok(m) => (Some(m.as_str()), None, None),
        Err((status, m)) => (None, Some(m.as_str()), Some(*status)),
    };
    conn.execute(
        "UPDATE uploads SET ok = ?2, refused = ?3, refused_status = ?4 WHERE id = ?1",
        params![id, ok, refused, status],
    )
    .map_err(q("recording an upload"))?;
    Ok(())
}

/// Gives every unfinished upload created before `before` the refusal `message`;
/// returns their ids.
pub(super) fn expire(
    conn: &mut Connection,
    before: i64,
    message: &str,
) -> Result<Vec<String>, Error> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(q("expiring uploads"))?;
    let ids: Vec<String> = {
        let mut stmt = tx
            .prepare("SELECT id FROM uploads WHERE created < ?1 AND ok IS NULL AND refused IS NULL ORDER BY id")
            .map_err(q("expiring uploads"))?;
        let rows = stmt
            .query_map([before], |r| r.get(0))
            .map_err(q("expiring uploads"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("expiring uploads"))?
    };
    tx.execute(
        "UPDATE uploads SET refused = ?2, refused_status = 400 WHERE created < ?1 AND ok IS NULL AND refused IS NULL",
        params![before, message],
    )
    .map_err(q("expiring uploads"))?;
    tx.commit().map_err(q("expiring uploads"))?;
    Ok(ids)
}
