//! Uploads, uploaded packages and the audit trail in PostgreSQL (store/publishing.rs,
//! store/uploads.rs). The archive of an unfinished upload is kept in the database
//! (`staged_archives`), not on a replica's disk: the three requests of `dart pub
//! publish` may reach three replicas, and a row goes with its upload when that is
//! expired, in the same transaction, so nothing is left behind.

use super::{Postgres, in_transaction, q};
use crate::store::publishing::{Publication, StagedArchives};
use crate::store::{
    Added, AuditEntry, Error, Publishing, Staged, UploadOutcome, UploadRecord, UploadedPackage,
};
use postgres::GenericClient;

fn load_package(
    conn: &mut impl GenericClient,
    name: &str,
) -> Result<Option<UploadedPackage>, postgres::Error> {
    let Some(r) = conn.query_opt(
        "SELECT name, creator, created, teams, discontinued, replaced_by FROM uploaded_packages WHERE name = $1",
        &[&name],
    )?
    else {
        return Ok(None);
    };
    let teams: String = r.get(3);
    let uploaders = conn
        .query(
            "SELECT member FROM uploaders WHERE package = $1 ORDER BY member",
            &[&name],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let retracted = conn
        .query(
            "SELECT version FROM retractions WHERE package = $1 ORDER BY version",
            &[&name],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Some(UploadedPackage {
        name: r.get(0),
        creator: r.get(1),
        created: r.get(2),
        teams: teams
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        discontinued: r.get(4),
        replaced_by: r.get(5),
        uploaders,
        retracted,
    }))
}

impl Publishing for Postgres {
    fn publish_upload(&self, p: &Publication<'_>) -> Result<Added, Error> {
        const DOING: &str = "publishing an upload";
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(q(DOING))?;
        let v = p.version;
        let created = tx
            .execute(
                "INSERT INTO uploaded_packages (name, creator, created, teams) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&v.package, &p.creator, &v.published, &p.teams.join(",")],
            )
            .map_err(q(DOING))?;
        if created == 1 {
            tx.execute(
                "INSERT INTO uploaders (package, member) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&v.package, &p.creator],
            )
            .map_err(q(DOING))?;
        }
        let added = super::catalog::add_version_in(&mut tx, v, None).map_err(q(DOING))?;
        if added != Added::New {
            return Ok(added); // Rolled back: nothing of it is written.
        }
        let e = p.audit;
        tx.execute(
            "INSERT INTO audit (at, actor, action, package, version, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&e.at, &e.actor, &e.action, &e.package, &e.version, &e.detail],
        )
        .map_err(q(DOING))?;
        let UploadOutcome::Published { message } = p.answer else {
            unreachable!("a publication's answer is a success");
        };
        tx.execute(
            "UPDATE uploads SET ok = $2, refused = NULL, refused_kind = NULL WHERE id = $1",
            &[&p.upload_id, message],
        )
        .map_err(q(DOING))?;
        tx.execute("DELETE FROM staged_archives WHERE id = $1", &[&p.upload_id])
            .map_err(q(DOING))?;
        tx.commit().map_err(q(DOING))?;
        Ok(added)
    }

    fn create_upload(&self, id: &str, member: &str, now: i64) -> Result<(), Error> {
        self.conn()?
            .execute(
                "INSERT INTO uploads (id, member, created) VALUES ($1, $2, $3)",
                &[&id, &member, &now],
            )
            .map_err(q("starting an upload"))?;
        Ok(())
    }

    fn upload(&self, id: &str) -> Result<Option<UploadRecord>, Error> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT id, member, created, sha256, size, ok, refused, refused_kind FROM uploads WHERE id = $1",
                &[&id],
            )
            .map_err(q("reading an upload"))?;
        Ok(row.map(|r| {
            let sha: Option<String> = r.get(3);
            let size: Option<i64> = r.get(4);
            let outcome = match (r.get::<_, Option<String>>(5), r.get::<_, Option<String>>(6)) {
                (Some(message), _) => Some(UploadOutcome::Published { message }),
                (None, Some(message)) => Some(UploadOutcome::Refused {
                    kind: r.get::<_, Option<String>>(7).unwrap_or_default(),
                    message,
                }),
                (None, None) => None,
            };
            UploadRecord {
                id: r.get(0),
                member: r.get(1),
                created: r.get(2),
                archive: sha.zip(size.map(|s| s as u64)),
                outcome,
            }
        }))
    }

    fn stage_upload(
        &self,
        id: &str,
        (sha256, size): (&str, u64),
        since: i64,
        cap: u64,
    ) -> Result<Staged, Error> {
        in_transaction(&mut *self.conn()?, "recording an upload", |tx| {
            // One member's uploads take turns on every replica: two at once cannot
            // both take the last place.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('tagpub-uploads:' || member)) FROM uploads WHERE id = $1",
                &[&id],
            )?;
            let others: i64 = tx
                .query_one(
                    "SELECT count(*) FROM uploads
                     WHERE member = (SELECT member FROM uploads WHERE id = $1) AND id != $1
                       AND sha256 IS NOT NULL AND ok IS NULL AND refused IS NULL AND created >= $2",
                    &[&id, &since],
                )?
                .get(0);
            if others as u64 >= cap {
                return Ok(Staged::TooMany(others as u64));
            }
            tx.execute(
                "UPDATE uploads SET sha256 = $2, size = $3, ok = NULL, refused = NULL, refused_kind = NULL WHERE id = $1",
                &[&id, &sha256, &(size as i64)],
            )?;
            Ok(Staged::Yes)
        })
    }

    fn set_upload_outcome(&self, id: &str, outcome: &UploadOutcome) -> Result<(), Error> {
        let (ok, refused, kind) = match outcome {
            UploadOutcome::Published { message } => (Some(message.as_str()), None, None),
            UploadOutcome::Refused { kind, message } => {
                (None, Some(message.as_str()), Some(kind.as_str()))
            }
        };
        self.conn()?
            .execute(
                "UPDATE uploads SET ok = $2, refused = $3, refused_kind = $4 WHERE id = $1",
                &[&id, &ok, &refused, &kind],
            )
            .map_err(q("recording an upload"))?;
        Ok(())
    }

    fn expire_uploads(
        &self,
        before: i64,
        (kind, message): (&str, &str),
    ) -> Result<Vec<String>, Error> {
        in_transaction(&mut *self.conn()?, "expiring uploads", |tx| {
            let ids: Vec<String> = tx
                .query(
                    "UPDATE uploads SET refused = $2, refused_kind = $3
                     WHERE created < $1 AND ok IS NULL AND refused IS NULL RETURNING id",
                    &[&before, &message, &kind],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            tx.execute("DELETE FROM staged_archives WHERE id = ANY($1)", &[&ids])?;
            let mut ids = ids;
            ids.sort();
            Ok(ids)
        })
    }

    fn packages(&self) -> Result<Vec<UploadedPackage>, Error> {
        in_transaction(&mut *self.conn()?, "listing uploaded packages", |tx| {
            let names: Vec<String> = tx
                .query("SELECT name FROM uploaded_packages ORDER BY name", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                out.extend(load_package(tx, &name)?);
            }
            Ok(out)
        })
    }

    fn package(&self, name: &str) -> Result<Option<UploadedPackage>, Error> {
        load_package(&mut *self.conn()?, name).map_err(q("reading an uploaded package"))
    }

    fn create_package(
        &self,
        name: &str,
        creator: &str,
        teams: &[String],
        now: i64,
    ) -> Result<(), Error> {
        in_transaction(&mut *self.conn()?, "creating a package", |tx| {
            let created = tx.execute(
                "INSERT INTO uploaded_packages (name, creator, created, teams) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&name, &creator, &now, &teams.join(",")],
            )?;
            if created == 1 {
                tx.execute(
                    "INSERT INTO uploaders (package, member) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&name, &creator],
                )?;
            }
            Ok(())
        })
    }

    fn set_uploader(&self, package: &str, member: &str, present: bool) -> Result<bool, Error> {
        let sql = if present {
            "INSERT INTO uploaders (package, member) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM uploaders WHERE package = $1 AND member = $2"
        };
        let n = self
            .conn()?
            .execute(sql, &[&package, &member])
            .map_err(q("changing uploaders"))?;
        Ok(n == 1)
    }

    fn set_retracted(&self, package: &str, version: &str, retracted: bool) -> Result<bool, Error> {
        let sql = if retracted {
            "INSERT INTO retractions (package, version) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM retractions WHERE package = $1 AND version = $2"
        };
        let n = self
            .conn()?
            .execute(sql, &[&package, &version])
            .map_err(q("changing a retraction"))?;
        Ok(n == 1)
    }

    fn set_discontinued(
        &self,
        package: &str,
        discontinued: bool,
        replaced_by: Option<&str>,
    ) -> Result<(), Error> {
        self.conn()?
            .execute(
                "UPDATE uploaded_packages SET discontinued = $2, replaced_by = $3 WHERE name = $1",
                &[&package, &discontinued, &replaced_by],
            )
            .map_err(q("discontinuing a package"))?;
        Ok(())
    }

    fn audit(&self, e: &AuditEntry) -> Result<(), Error> {
        self.conn()?
            .execute(
                "INSERT INTO audit (at, actor, action, package, version, detail) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&e.at, &e.actor, &e.action, &e.package, &e.version, &e.detail],
            )
            .map_err(q("writing the audit trail"))?;
        Ok(())
    }

    fn audit_log(&self, package: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        let rows = self
            .conn()?
            .query(
                "SELECT at, actor, action, package, version, detail FROM audit
                 WHERE $1::TEXT IS NULL OR package = $1 ORDER BY seq DESC LIMIT $2",
                &[&package, &(limit as i64)],
            )
            .map_err(q("reading the audit trail"))?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                actor: r.get(1),
                action: r.get(2),
                package: r.get(3),
                version: r.get(4),
                detail: r.get(5),
            })
            .collect())
    }

    fn staged_archives(&self) -> Option<&dyn StagedArchives> {
        Some(self)
    }
}

impl StagedArchives for Postgres {
    fn put(&self, id: &str, bytes: &[u8]) -> Result<(), Error> {
        self.conn()?
            .execute(
                "INSERT INTO staged_archives (id, bytes) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET bytes = $2",
                &[&id, &bytes],
            )
            .map_err(q("staging an uploaded archive"))?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .conn()?
            .query_opt("SELECT bytes FROM staged_archives WHERE id = $1", &[&id])
            .map_err(q("reading a staged archive"))?
            .map(|r| r.get(0)))
    }

    fn remove(&self, id: &str) -> Result<(), Error> {
        self.conn()?
            .execute("DELETE FROM staged_archives WHERE id = $1", &[&id])
            .map_err(q("removing a staged archive"))?;
        Ok(())
    }
}
