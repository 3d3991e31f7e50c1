//! Versioned migrations of the PostgreSQL schema: `tagpub_schema` records each applied
//! version; a replica starting takes an advisory lock, applies what is missing, one
//! transaction per version, and releases it. The others wait for the lock, then find
//! nothing to do.

use super::{Error, MIGRATION_LOCK, q};

/// Each version's statements, in order; a released version is never edited, a change
/// is a new one.
const MIGRATIONS: &[&str] = &[V1, V2, V3];

const V1: &str = r#"
CREATE TABLE versions (
    package       TEXT NOT NULL,
    version       TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    pubspec_json  TEXT NOT NULL,
    archive_size  BIGINT NOT NULL,
    published     BIGINT NOT NULL,
    source_repo   TEXT NOT NULL,
    source_tag    TEXT NOT NULL,
    source_commit TEXT NOT NULL,
    uploader      TEXT,
    seq           BIGSERIAL NOT NULL,
    PRIMARY KEY (package, version)
);
CREATE TABLE tags (
    repo      TEXT NOT NULL,
    tag       TEXT NOT NULL,
    package   TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    version   TEXT,
    reason    TEXT,
    PRIMARY KEY (repo, tag, package)
);
CREATE TABLE warnings (
    repo    TEXT NOT NULL,
    tag     TEXT NOT NULL,
    message TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (repo, tag, message)
);
-- One source per package name (store/sources.rs); `name` is lower-cased, so names
-- differing only in case are one name.
CREATE TABLE package_sources (
    name    TEXT PRIMARY KEY,
    source  TEXT NOT NULL,
    claimed BIGINT NOT NULL
);
CREATE TABLE repo_names (
    repo TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (repo, name)
);
CREATE TABLE repo_reads (
    repo TEXT PRIMARY KEY,
    at   BIGINT NOT NULL
);
CREATE FUNCTION versions_have_one_source() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    own TEXT := CASE WHEN NEW.uploader IS NULL THEN NEW.source_repo ELSE '' END;
BEGIN
    INSERT INTO package_sources (name, source, claimed)
        VALUES (lower(NEW.package), own, NEW.published)
        ON CONFLICT (name) DO NOTHING;
    IF (SELECT source FROM package_sources WHERE name = lower(NEW.package)) IS DISTINCT FROM own THEN
        RAISE EXCEPTION 'package % has another source', NEW.package USING ERRCODE = 'TP001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER versions_have_one_source BEFORE INSERT ON versions
    FOR EACH ROW EXECUTE FUNCTION versions_have_one_source();

CREATE TABLE tokens (
    id        TEXT PRIMARY KEY,
    member    TEXT NOT NULL,
    name      TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE,
    created   BIGINT NOT NULL,
    last_used BIGINT,
    expires   BIGINT,
    revoked   BIGINT
);
CREATE INDEX tokens_member ON tokens (member);
CREATE TABLE web_sessions (
    id_hash  TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    created  BIGINT NOT NULL,
    expires  BIGINT NOT NULL
);
CREATE INDEX web_sessions_token ON web_sessions (token_id);

CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    member       TEXT NOT NULL,
    created      BIGINT NOT NULL,
    sha256       TEXT,
    size         BIGINT,
    ok           TEXT,
    refused      TEXT,
    refused_kind TEXT
);
-- The archive of an unfinished upload, where every replica finds it: the three
-- requests of `dart pub publish` may reach three replicas.
CREATE TABLE staged_archives (
    id    TEXT PRIMARY KEY REFERENCES uploads (id) ON DELETE CASCADE,
    bytes BYTEA NOT NULL
);
CREATE TABLE uploaded_packages (
    name         TEXT PRIMARY KEY,
    creator      TEXT NOT NULL,
    created      BIGINT NOT NULL,
    teams        TEXT NOT NULL,
    discontinued BOOLEAN NOT NULL DEFAULT FALSE,
    replaced_by  TEXT
);
CREATE TABLE uploaders (
    package TEXT NOT NULL,
    member  TEXT NOT NULL,
    PRIMARY KEY (package, member)
);
CREATE TABLE retractions (
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (package, version)
);
CREATE TABLE audit (
    seq     BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT,
    detail  TEXT NOT NULL
);

-- Every commit that changes what replicas serve or accept notifies them
-- (store/postgres/live.rs); PostgreSQL sends it at commit, once per transaction.
CREATE FUNCTION tagpub_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tagpub_changes', '');
    RETURN NULL;
END
$$;
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['versions', 'tags', 'warnings', 'package_sources', 'repo_names',
        'tokens', 'web_sessions', 'uploads', 'uploaded_packages', 'uploaders', 'retractions']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION tagpub_changed()', t || '_changed', t);
    END LOOP;
END
$$;
"#;

/// Notifications name the table written, so that a replica rebuilds its served index
/// only for the tables it is built from (store/changes.rs), not for token uses or
/// sessions. PostgreSQL folds identical notifications of one transaction into one, so
/// a transaction sends one per table written.
const V2: &str = r#"
CREATE OR REPLACE FUNCTION tagpub_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tagpub_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
"#;

/// Version 3: finding a name's owner (`first_owned`, the served-versions join) matches
/// `lower(package)`; without this index each lookup read every version, and a restart
/// over 10,000 packages spent minutes of CPU on it.
const V3: &str = r#"
CREATE INDEX versions_package_lower ON versions (lower(package));
"#;

/// Applies the missing migrations, under the migration lock.
pub(super) fn migrate(conn: &mut postgres::Client) -> Result<(), Error> {
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(q("waiting for the schema migration lock"))?;
    let applied = apply(conn);
    // Released even after a failure; the session ending would release it too.
    let _ = conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    applied
}

fn apply(conn: &mut postgres::Client) -> Result<(), Error> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS tagpub_schema (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)",
    )
    .map_err(q("creating the schema version table"))?;
    let current: i32 = conn
        .query_one("SELECT coalesce(max(version), 0) FROM tagpub_schema", &[])
        .map_err(q("reading the schema version"))?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if current > known {
        return Err(Error::SchemaTooNew { current, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i32 + 1;
        let mut tx = conn.transaction().map_err(q("migrating the schema"))?;
        tx.batch_execute(sql).map_err(q("migrating the schema"))?;
        tx.execute(
            "INSERT INTO tagpub_schema (version, applied) VALUES ($1, $2)",
            &[&version, &crate::clock::now()],
        )
        .map_err(q("migrating the schema"))?;
        tx.commit().map_err(q("migrating the schema"))?;
        tracing::info!(version, "applied version {version} of the database schema");
    }
    Ok(())
}
