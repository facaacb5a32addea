//! The schema of the system database and how an existing database is brought to it.
//!
//! Meltano manages its schema with alembic; a database it created records its revision in `alembic_version`.
//! We reproduce the head schema (`c0efb3c314eb`, Meltano 4.1 to 4.4) exactly as Meltano leaves it, including the
//! constraint and sequence names PostgreSQL inherited from the old `job` table, so that Python Meltano keeps
//! working on a database we created and future alembic migrations find the names they expect. A database made by
//! Meltano 2.0 or later is upgraded by our own version of each alembic revision since (see [`upgrade`]).

use sqlx::AnyConnection;
use sqlx::Connection;

use crate::{DbError, Dialect, HEAD_REVISION};

mod upgrade;

/// The head schema on SQLite, statement by statement, as Meltano 4.4.1 creates it.
const SQLITE_HEAD: &[&str] = &[
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
     CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    "CREATE TABLE \"runs\" (id INTEGER NOT NULL, job_name VARCHAR, state VARCHAR(7), started_at DATETIME, \
     ended_at DATETIME, payload VARCHAR, payload_flags INTEGER, run_id CHAR(32), \"trigger\" VARCHAR, \
     last_heartbeat_at DATETIME, PRIMARY KEY (id))",
    "CREATE TABLE plugin_settings (label VARCHAR(255), description TEXT, name VARCHAR(255) NOT NULL, \
     namespace VARCHAR(255), value BLOB, enabled BOOLEAN, PRIMARY KEY (name, namespace))",
    "CREATE TABLE state (state_id VARCHAR(900) NOT NULL, partial_state VARCHAR, completed_state VARCHAR, \
     updated_at DATETIME, PRIMARY KEY (state_id), UNIQUE (state_id))",
];

/// The head schema on PostgreSQL, as observed with `pg_dump --schema-only` after Meltano 4.4.1 migrated an
/// empty database: `runs.id` draws from `job_id_seq` and its key is `job_pkey` (the table was once `job`).
const POSTGRES_HEAD: &[&str] = &[
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
     CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    "CREATE SEQUENCE job_id_seq AS INTEGER",
    "CREATE TABLE runs (id INTEGER NOT NULL DEFAULT nextval('job_id_seq'::regclass), job_name VARCHAR, \
     state VARCHAR, started_at TIMESTAMP WITHOUT TIME ZONE, ended_at TIMESTAMP WITHOUT TIME ZONE, \
     payload VARCHAR, payload_flags INTEGER, run_id UUID, \"trigger\" VARCHAR, \
     last_heartbeat_at TIMESTAMP WITHOUT TIME ZONE, CONSTRAINT job_pkey PRIMARY KEY (id))",
    "ALTER SEQUENCE job_id_seq OWNED BY runs.id",
    "CREATE TABLE plugin_settings (label VARCHAR(255), description TEXT, name VARCHAR(255) NOT NULL, \
     namespace VARCHAR(255) NOT NULL, value BYTEA, enabled BOOLEAN, \
     CONSTRAINT plugin_settings_pkey PRIMARY KEY (name, namespace))",
    "CREATE TABLE state (state_id VARCHAR(900) NOT NULL, partial_state VARCHAR, completed_state VARCHAR, \
     updated_at TIMESTAMP WITHOUT TIME ZONE, CONSTRAINT state_pkey PRIMARY KEY (state_id))",
];

/// Tables whose presence without an alembic revision means someone else's schema (`job` is the pre-3.0 name
/// of `runs`).
const MELTANO_TABLES: &[&str] = &["runs", "state", "plugin_settings", "job"];

/// Serialises concurrent first-time migrations of one PostgreSQL database (an arbitrary constant: "meltano").
const PG_MIGRATION_LOCK: i64 = 0x006d_656c_7461_6e6f;

/// Where the revision recorded in `alembic_version` leaves a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// No revision yet: the schema is to be created.
    Nothing,
    /// At [`HEAD_REVISION`]: nothing to do.
    Head,
    /// At an older revision we can upgrade from: the index in [`upgrade::UPGRADES`] of the first step to run.
    Behind(usize),
}

/// Brings the database to [`HEAD_REVISION`]: creates the schema in an empty database, leaves a database already
/// at head untouched, upgrades one made by Meltano 2.0 to 4.0 step by step as alembic would, and refuses any
/// other revision.
///
/// Creating and upgrading happen in one transaction that first takes the write lock (SQLite) or an advisory
/// lock (PostgreSQL) and then reads the revision again, so of two processes opening the same old database
/// only one migrates it and the other finds it at head; a failure part-way leaves the database as it was.
pub(crate) async fn migrate(conn: &mut AnyConnection, dialect: Dialect) -> Result<(), DbError> {
    if check_revision(conn, dialect).await? == Found::Head {
        return Ok(());
    }
    if dialect == Dialect::Postgres {
        return migrate_locked(conn, dialect).await;
    }
    // Alembic runs on Python's sqlite3, which leaves foreign keys unenforced, so dropping the old UI's tables
    // never trips over a table of the user's that still points at them; sqlx enforces them. Turn enforcement
    // off as alembic has it (SQLite ignores this inside a transaction, hence here) and back on afterwards.
    set_sqlite_foreign_keys(conn, false).await?;
    let result = migrate_locked(conn, dialect).await;
    let restored = set_sqlite_foreign_keys(conn, true).await;
    result.and(restored)
}

async fn set_sqlite_foreign_keys(conn: &mut AnyConnection, on: bool) -> Result<(), DbError> {
    let sql = if on {
        "PRAGMA foreign_keys = ON"
    } else {
        "PRAGMA foreign_keys = OFF"
    };
    sqlx::query(sql)
        .execute(conn)
        .await
        .map_err(DbError::query("switch foreign key enforcement"))?;
    Ok(())
}

/// [`migrate`]'s transaction: takes the lock, reads the revision again and creates or upgrades the schema.
async fn migrate_locked(conn: &mut AnyConnection, dialect: Dialect) -> Result<(), DbError> {
    let mut tx = match dialect {
        // IMMEDIATE takes the write lock now, so a concurrent first open waits instead of failing mid-way.
        Dialect::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => conn.begin().await,
    }
    .map_err(DbError::query("start the migration transaction"))?;
    let tx_conn: &mut AnyConnection = &mut tx;
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *tx_conn)
            .await
            .map_err(DbError::query("lock the database for migration"))?;
    }
    // Someone may have migrated while we waited for the lock.
    match check_revision(tx_conn, dialect).await? {
        Found::Head => return Ok(()),
        Found::Nothing => create_schema(tx_conn, dialect).await?,
        Found::Behind(first) => {
            for step in &upgrade::UPGRADES[first..] {
                upgrade::run(tx_conn, dialect, step).await?;
            }
        }
    }
    tx.commit()
        .await
        .map_err(DbError::query("commit the migration"))
}

/// Creates the head schema in a database that has no revision, refusing one that already holds Meltano's tables.
async fn create_schema(conn: &mut AnyConnection, dialect: Dialect) -> Result<(), DbError> {
    let has_version_table = table_exists(conn, dialect, "alembic_version").await?;
    let mut existing = Vec::new();
    for table in MELTANO_TABLES {
        if table_exists(conn, dialect, table).await? {
            existing.push(format!("`{table}`"));
        }
    }
    if !existing.is_empty() {
        return Err(DbError::UnversionedSchema {
            tables: existing.join(", "),
        });
    }
    let statements = match dialect {
        Dialect::Sqlite => SQLITE_HEAD,
        Dialect::Postgres => POSTGRES_HEAD,
    };
    for statement in statements {
        if has_version_table && statement.starts_with("CREATE TABLE alembic_version") {
            continue;
        }
        sqlx::query(*statement)
            .execute(&mut *conn)
            .await
            .map_err(DbError::query("create the schema"))?;
    }
    sqlx::query("INSERT INTO alembic_version (version_num) VALUES ($1)")
        .bind(HEAD_REVISION)
        .execute(&mut *conn)
        .await
        .map_err(DbError::query("record the schema revision"))?;
    Ok(())
}

/// Reads the recorded revision: [`Found`] for one we can work with, an error for any other.
async fn check_revision(conn: &mut AnyConnection, dialect: Dialect) -> Result<Found, DbError> {
    let revisions = revisions(conn, dialect).await?;
    match revisions.as_slice() {
        [] => return Ok(Found::Nothing),
        [only] if only == HEAD_REVISION => return Ok(Found::Head),
        [only] => {
            if let Some(first) = upgrade::UPGRADES.iter().position(|s| s.from == only) {
                return Ok(Found::Behind(first));
            }
        }
        _ => {}
    }
    Err(DbError::UnknownRevision {
        revision: revisions.join(", "),
    })
}

/// The revisions recorded in `alembic_version` (none when the table does not exist).
pub(crate) async fn revisions(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<Vec<String>, DbError> {
    if !table_exists(conn, dialect, "alembic_version").await? {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version_num FROM alembic_version ORDER BY version_num")
        .fetch_all(conn)
        .await
        .map_err(DbError::query("read the alembic revision"))
}

/// Whether `table` exists where unqualified names resolve to (PostgreSQL: the `current_schema()`, i.e. the
/// first existing schema of the `search_path`, where `CREATE TABLE` puts new tables).
pub(crate) async fn table_exists(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &str,
) -> Result<bool, DbError> {
    let sql = match dialect {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname::text = $1 AND c.relkind IN ('r', 'p', 'v', 'f')"
        }
    };
    let count: i64 = sqlx::query_scalar(sql)
        .bind(table)
        .fetch_one(conn)
        .await
        .map_err(DbError::query("inspect the existing tables"))?;
    Ok(count > 0)
}
