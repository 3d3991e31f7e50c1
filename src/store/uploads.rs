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
    /// The answer of finalize, once known, replayed to retries.
    pub outcome: Option<UploadOutcome>,
}

/// The answer finalize gave an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    Published {
        message: String,
    },
    /// `kind` is the code of the refusal's kind as publishing names it
    /// (`publish::Refusal`); the store keeps it as text and never interprets it.
    Refused {
        kind: String,
        message: String,
    },
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

/// Columns added after the first release of the schema. A refusal's kind is kept
/// as the code publishing gives it; earlier versions kept an HTTP status in
/// `refused_status` instead (403 forbidden, 404 not found, every other one invalid,
/// which is also what a refusal recorded with neither was).
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // IMMEDIATE: two processes opening the database at once would both add the column.
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let has = |column: &str| {
        tx.prepare("SELECT 1 FROM pragma_table_info('uploads') WHERE name = ?1")?
            .exists([column])
    };
    if !has("refused_kind")? {
        tx.execute_batch("ALTER TABLE uploads ADD COLUMN refused_kind TEXT")?;
    }
    if has("refused_status")? {
        tx.execute_batch(
            "UPDATE uploads SET refused_kind = CASE refused_status
                 WHEN 403 THEN 'forbidden' WHEN 404 THEN 'not-found' ELSE 'invalid' END
             WHERE refused IS NOT NULL AND refused_kind IS NULL;
             ALTER TABLE uploads DROP COLUMN refused_status;",
        )?;
    }
    tx.commit()
}

fn q(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source: rusqlite::Error| Error::Query {
        doing,
        source: Box::new(source),
    }
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
        "SELECT id, member, created, sha256, size, ok, refused, refused_kind FROM uploads WHERE id = ?1",
        [id],
        |r| {
            let sha: Option<String> = r.get(3)?;
            let size: Option<i64> = r.get(4)?;
            let ok: Option<String> = r.get(5)?;
            let refused: Option<String> = r.get(6)?;
            let kind: Option<String> = r.get(7)?;
            let outcome = match (ok, refused) {
                (Some(message), _) => Some(UploadOutcome::Published { message }),
                (None, Some(message)) => Some(UploadOutcome::Refused {
                    kind: kind.unwrap_or_default(),
                    message,
                }),
                (None, None) => None,
            };
            Ok(UploadRecord {
                id: r.get(0)?,
                member: r.get(1)?,
                created: r.get(2)?,
                archive: sha.zip(size.map(|s| s as u64)),
                outcome,
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
        "UPDATE uploads SET sha256 = ?2, size = ?3, ok = NULL, refused = NULL, refused_kind = NULL WHERE id = ?1",
        params![id, sha256, size as i64],
    )
    .map_err(q("recording an upload"))?;
    tx.commit().map_err(q("recording an upload"))?;
    Ok(Staged::Yes)
}

pub(super) fn set_outcome(
    conn: &Connection,
    id: &str,
    outcome: &UploadOutcome,
) -> Result<(), Error> {
    let (ok, refused, kind) = match outcome {
        UploadOutcome::Published { message } => (Some(message.as_str()), None, None),
        UploadOutcome::Refused { kind, message } => {
            (None, Some(message.as_str()), Some(kind.as_str()))
        }
    };
    conn.execute(
        "UPDATE uploads SET ok = ?2, refused = ?3, refused_kind = ?4 WHERE id = ?1",
        params![id, ok, refused, kind],
    )
    .map_err(q("recording an upload"))?;
    Ok(())
}

/// Gives every unfinished upload created before `before` the refusal `message` of
/// kind `kind`; returns their ids.
pub(super) fn expire(
    conn: &mut Connection,
    before: i64,
    (kind, message): (&str, &str),
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
        "UPDATE uploads SET refused = ?2, refused_kind = ?3 WHERE created < ?1 AND ok IS NULL AND refused IS NULL",
        params![before, message, kind],
    )
    .map_err(q("expiring uploads"))?;
    tx.commit().map_err(q("expiring uploads"))?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Publishing, SqlitePublishing};

    #[test]
    fn refusals_recorded_with_a_status_keep_their_kind_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        {
            // The table as the previous version left it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(
                "ALTER TABLE uploads ADD COLUMN refused_status INTEGER;
                 INSERT INTO uploads (id, member, created, refused, refused_status) VALUES
                     ('forbidden', 'm', 1, 'no right', 403),
                     ('gone', 'm', 1, 'no such upload', 404),
                     ('invalid', 'm', 1, 'bad archive', 400),
                     ('oldest', 'm', 1, 'from before statuses', NULL);
                 INSERT INTO uploads (id, member, created, ok) VALUES ('fine', 'm', 1, 'published');
                 INSERT INTO uploads (id, member, created) VALUES ('open', 'm', 1);",
            )
            .unwrap();
        }
        let refused = |kind: &str, message: &str| {
            Some(UploadOutcome::Refused {
                kind: kind.into(),
                message: message.into(),
            })
        };
        for _ in 0..2 {
            // Opening again finds the schema migrated and changes nothing.
            let publishing = SqlitePublishing::open(&path).unwrap();
            let outcome = |id: &str| publishing.upload(id).unwrap().unwrap().outcome;
            assert_eq!(outcome("forbidden"), refused("forbidden", "no right"));
            assert_eq!(outcome("gone"), refused("not-found", "no such upload"));
            assert_eq!(outcome("invalid"), refused("invalid", "bad archive"));
            assert_eq!(
                outcome("oldest"),
                refused("invalid", "from before statuses")
            );
            let published = Some(UploadOutcome::Published {
                message: "published".into(),
            });
            assert_eq!(outcome("fine"), published);
            assert_eq!(outcome("open"), None);
        }
        let conn = Connection::open(&path).unwrap();
        let statuses: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('uploads') WHERE name = 'refused_status'")
            .unwrap()
            .exists([])
            .unwrap();
        assert!(!statuses, "the store keeps no HTTP statuses");
    }
}
