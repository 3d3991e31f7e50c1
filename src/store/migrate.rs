//! `tagpub migrate --to-postgres`: an installation on SQLite and a data dir moved into a
//! shared PostgreSQL database (docs/operations.md "Moving to several replicas"). Every
//! row is copied as it is, in one transaction; every archive a version names is read
//! and its sha256 checked first. A target that already holds exactly the same rows is
//! left alone (running it twice is harmless); any other non-empty target is refused.

use super::postgres::Postgres;
use super::{Error, database_path};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};
use std::path::Path;

/// One copied table: its columns with their PostgreSQL types, and an order that both
/// databases can sort by for comparison.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, &'static str)],
    /// Copy order in SQLite (keeps `seq` columns in the original order).
    copy_order: &'static str,
    /// Comparison order, for both.
    key: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "versions",
        columns: &[
            ("package", "text"),
            ("version", "text"),
            ("sha256", "text"),
            ("pubspec_json", "text"),
            ("archive_size", "bigint"),
            ("published", "bigint"),
            ("source_repo", "text"),
            ("source_tag", "text"),
            ("source_commit", "text"),
            ("uploader", "text"),
        ],
        copy_order: "rowid",
        key: "package, version",
    },
    Table {
        name: "tags",
        columns: &[
            ("repo", "text"),
            ("tag", "text"),
            ("package", "text"),
            ("commit_id", "text"),
            ("version", "text"),
            ("reason", "text"),
        ],
        copy_order: "rowid",
        key: "repo, tag, package",
    },
    Table {
        name: "warnings",
        columns: &[
            ("repo", "text"),
            ("tag", "text"),
            ("message", "text"),
            ("created", "bigint"),
        ],
        copy_order: "rowid",
        key: "repo, tag, message",
    },
    Table {
        name: "package_sources",
        // Names are kept lower-cased in PostgreSQL (store/postgres/schema.rs).
        columns: &[("name", "text"), ("source", "text"), ("claimed", "bigint")],
        copy_order: "rowid",
        key: "name",
    },
    Table {
        name: "repo_names",
        columns: &[("repo", "text"), ("name", "text")],
        copy_order: "rowid",
        key: "repo, name",
    },
    Table {
        name: "repo_reads",
        columns: &[("repo", "text"), ("at", "bigint")],
        copy_order: "rowid",
        key: "repo",
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", "text"),
            ("member", "text"),
            ("name", "text"),
            ("hash", "text"),
            ("created", "bigint"),
            ("last_used", "bigint"),
            ("expires", "bigint"),
            ("revoked", "bigint"),
        ],
        copy_order: "rowid",
        key: "id",
    },
    Table {
        name: "web_sessions",
        columns: &[
            ("id_hash", "text"),
            ("token_id", "text"),
            ("created", "bigint"),
            ("expires", "bigint"),
        ],
        copy_order: "rowid",
        key: "id_hash",
    },
    Table {
        name: "uploads",
        columns: &[
            ("id", "text"),
            ("member", "text"),
            ("created", "bigint"),
            ("sha256", "text"),
            ("size", "bigint"),
            ("ok", "text"),
            ("refused", "text"),
            ("refused_kind", "text"),
        ],
        copy_order: "rowid",
        key: "id",
    },
    Table {
        name: "uploaded_packages",
        columns: &[
            ("name", "text"),
            ("creator", "text"),
            ("created", "bigint"),
            ("teams", "text"),
            ("discontinued", "boolean"),
            ("replaced_by", "text"),
        ],
        copy_order: "rowid",
        key: "name",
    },
    Table {
        name: "uploaders",
        columns: &[("package", "text"), ("member", "text")],
        copy_order: "rowid",
        key: "package, member",
    },
    Table {
        name: "retractions",
        columns: &[("package", "text"), ("version", "text")],
        copy_order: "rowid",
        key: "package, version",
    },
    Table {
        name: "audit",
        columns: &[
            ("at", "bigint"),
            ("actor", "text"),
            ("action", "text"),
            ("package", "text"),
            ("version", "text"),
            ("detail", "text"),
        ],
        copy_order: "seq",
        key: "at, actor, action, package, version, detail",
    },
];

type Rows = Vec<Vec<Option<String>>>;

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Rows copied per table, in copy order; empty when the target already held them.
    pub rows: Vec<(&'static str, usize)>,
    /// Archives read and verified against their sha256.
    pub archives: usize,
    /// Staged archives of unfinished uploads carried over.
    pub staged: usize,
    /// The target already held exactly this data: nothing was written.
    pub already_done: bool,
}

fn sqlite_rows(conn: &rusqlite::Connection, t: &Table, order: &str) -> Result<Rows, Error> {
    let q = |source: rusqlite::Error| Error::Query {
        doing: "reading the SQLite catalog to migrate it",
        source: Box::new(source),
    };
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|(c, _)| match (t.name, *c) {
            ("package_sources", "name") => "lower(name)".to_string(),
            _ => format!("CAST({c} AS TEXT)"),
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        columns.join(", "),
        t.name
    );
    let mut stmt = conn.prepare(&sql).map_err(q)?;
    let n = t.columns.len();
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                        other => Some(format!("{other:?}")),
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(q)?;
    rows.collect::<Result<_, _>>().map_err(q)
}

fn postgres_rows(conn: &mut postgres::Client, t: &Table) -> Result<Rows, Error> {
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|(c, ty)| match *ty {
            "boolean" => format!("{c}::int::text"),
            _ => format!("{c}::text"),
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        t.name,
        t.key
    );
    let rows = conn.query(&sql, &[]).map_err(|e| Error::Query {
        doing: "reading the PostgreSQL catalog",
        source: Box::new(e),
    })?;
    Ok(rows
        .iter()
        .map(|r| (0..t.columns.len()).map(|i| r.get(i)).collect())
        .collect())
}

/// Sorts rows by the table's key the same way for both databases (byte order for text,
/// numbers as numbers), whatever their collations.
fn sorted(t: &Table, mut rows: Rows) -> Rows {
    let keys: Vec<usize> = t
        .key
        .split(", ")
        .map(|k| {
            t.columns
                .iter()
                .position(|(c, _)| *c == k)
                .expect("key columns exist")
        })
        .collect();
    rows.sort_by(|a, b| {
        for &k in &keys {
            let numeric = t.columns[k].1 == "bigint";
            let ord = match (&a[k], &b[k]) {
                (Some(x), Some(y)) if numeric => x
                    .parse::<i64>()
                    .unwrap_or(0)
                    .cmp(&y.parse::<i64>().unwrap_or(0)),
                (x, y) => x
                    .as_deref()
                    .map(str::as_bytes)
                    .cmp(&y.as_deref().map(str::as_bytes)),
            };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    rows
}

/// Moves the embedded store under `data_dir` into the PostgreSQL database at `url`.
/// The daemon must be stopped (docs/operations.md).
pub fn to_postgres(data_dir: &Path, url: &str) -> Result<Migrated, Error> {
    let db = database_path(data_dir);
    if !db.is_file() {
        return Err(Error::Settings(format!(
            "there is no SQLite catalog at {} to migrate; check data_dir in the config",
            db.display()
        )));
    }
    // Opening applies the SQLite schema's own migrations, so every table exists.
    drop(super::Store::open(data_dir)?);
    let source =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::OpenCatalog {
                path: db.clone(),
                source: Box::new(e),
            })?;
    let mut copied = Vec::new();
    for t in TABLES {
        copied.push((t, sqlite_rows(&source, t, t.copy_order)?));
    }
    let versions = &copied[0].1;
    let archives = verify_archives(data_dir, versions)?;

    let pg = Postgres::open(url)?;
    let mut conn = pg.conn()?;
    let mut held = 0;
    let mut same = true;
    for (t, rows) in &copied {
        let there = postgres_rows(&mut conn, t)?;
        held += there.len();
        if sorted(t, rows.clone()) != sorted(t, there) {
            same = false;
        }
    }
    if held > 0 {
        if same {
            return Ok(Migrated {
                rows: Vec::new(),
                archives,
                staged: 0,
                already_done: true,
            });
        }
        return Err(Error::Settings(
            "the PostgreSQL database already holds a registry that differs from this data dir's; migrate into an empty database (createdb), or point store.database_url_env at the one this data dir was migrated to".into(),
        ));
    }
    let q = |doing: &'static str| {
        move |e: postgres::Error| Error::Query {
            doing,
            source: Box::new(e),
        }
    };
    let mut tx = conn.transaction().map_err(q("starting the migration"))?;
    // Rows are copied as they are, hidden versions of a catalog from before one
    // source per name included; the owners come with them (package_sources).
    tx.batch_execute("ALTER TABLE versions DISABLE TRIGGER versions_have_one_source")
        .map_err(q("copying the catalog"))?;
    let mut rows_out = Vec::new();
    for (t, rows) in &copied {
        let names: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
        let values: Vec<String> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| match *ty {
                "boolean" => format!("(${}::text::int <> 0)", i + 1),
                ty => format!("${}::text::{ty}", i + 1),
            })
            .collect();
        let stmt = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                t.name,
                names.join(", "),
                values.join(", ")
            ))
            .map_err(q("copying the catalog"))?;
        for row in rows {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = row
                .iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                .collect();
            tx.execute(&stmt, &params)
                .map_err(q("copying the catalog"))?;
        }
        rows_out.push((t.name, rows.len()));
    }
    tx.batch_execute("ALTER TABLE versions ENABLE TRIGGER versions_have_one_source")
        .map_err(q("copying the catalog"))?;
    let uploads = copied
        .iter()
        .find(|(t, _)| t.name == "uploads")
        .map(|(_, rows)| rows)
        .expect("uploads are copied");
    let staged = copy_staged(data_dir, uploads, &mut tx)?;
    tx.commit().map_err(q("committing the migration"))?;
    Ok(Migrated {
        rows: rows_out,
        archives,
        staged,
        already_done: false,
    })
}

/// Reads every archive the versions name and checks its sha256; refuses a missing or
/// corrupt one, naming it.
fn verify_archives(data_dir: &Path, versions: &Rows) -> Result<usize, Error> {
    let blobs = super::FileBlobs::open(&data_dir.join("archives"))?;
    let mut bad = Vec::new();
    let mut checked = std::collections::BTreeSet::new();
    for v in versions {
        let (package, version, sha) = (
            v[0].as_deref().unwrap_or_default(),
            v[1].as_deref().unwrap_or_default(),
            v[2].clone().unwrap_or_default(),
        );
        if !checked.insert(sha.clone()) {
            continue;
        }
        match super::Blobs::get(&blobs, &sha)? {
            Some(bytes) if hex::encode(Sha256::digest(&bytes)) == sha => {}
            Some(_) => bad.push(format!("{package} {version} (archive {sha} is corrupt)")),
            None => bad.push(format!("{package} {version} (archive {sha} is missing)")),
        }
    }
    if !bad.is_empty() {
        return Err(Error::Settings(format!(
            "{} archive(s) of {} cannot be verified, so nothing was migrated: {}. Restore them from a backup of {}/archives (git versions can also be rebuilt by one `tagpub sync`), then migrate again",
            bad.len(),
            data_dir.display(),
            bad.join(", "),
            data_dir.display()
        )));
    }
    Ok(checked.len())
}

/// Carries the archives of unfinished uploads (`data_dir/uploads/<id>.tar.gz`) into the
/// database, so those uploads can still be finalized; checked against their sha256.
fn copy_staged(
    data_dir: &Path,
    uploads: &Rows,
    tx: &mut postgres::Transaction<'_>,
) -> Result<usize, Error> {
    let mut n = 0;
    for u in uploads {
        let (Some(id), Some(sha)) = (&u[0], &u[3]) else {
            continue;
        };
        if u[5].is_some() || u[6].is_some() {
            continue; // Finished: its archive is in the blob store, or was refused.
        }
        let Ok(bytes) = std::fs::read(data_dir.join("uploads").join(format!("{id}.tar.gz"))) else {
            continue;
        };
        if &hex::encode(Sha256::digest(&bytes)) != sha {
            continue;
        }
        tx.execute(
            "INSERT INTO staged_archives (id, bytes) VALUES ($1, $2)",
            &[id, &bytes],
        )
        .map_err(|e| Error::Query {
            doing: "copying staged uploads",
            source: Box::new(e),
        })?;
        n += 1;
    }
    Ok(n)
}
