//! The schema of the system database and how an existing database is brought to it.
//!
//! Meltano manages its schema with alembic; a database it created records its revision in `alembic_version`.
//! We reproduce the head schema (`c0efb3c314eb`, Meltano 4.1 to 4.4) exactly as Meltano leaves it, including the
//! constraint and sequence names PostgreSQL inherited from the old `job` table, so that Python Meltano keeps
//! working on a database we created and future alembic migrations find the names they expect.

use sqlx::AnyConnection;
use sqlx::Connection;

use crate::{DbError, Dialect, HEAD_REVISION};

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

/// Brings the database to [`HEAD_REVISION`]: creates the schema in an empty database, leaves a database already
/// at head untouched, and refuses any other revision.
pub(crate) async fn migrate(conn: &mut AnyConnection, dialect: Dialect) -> Result<(), DbError> {
    if check_revision(conn, dialect).await? {
        return Ok(());
    }
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
    if check_revision(tx_conn, dialect).await? {
        return Ok(());
    }
    let has_version_table = table_exists(tx_conn, dialect, "alembic_version").await?;
    let mut existing = Vec::new();
    for table in MELTANO_TABLES {
        if table_exists(tx_conn, dialect, table).await? {
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
            .execute(&mut *tx_conn)
            .await
            .map_err(DbError::query("create the schema"))?;
    }
    sqlx::query("INSERT INTO alembic_version (version_num) VALUES ($1)")
        .bind(HEAD_REVISION)
        .execute(&mut *tx_conn)
        .await
        .map_err(DbError::query("record the schema revision"))?;
    tx.commit()
        .await
        .map_err(DbError::query("commit the schema"))
}

/// `Ok(true)` when the database is at head, `Ok(false)` when it has no revision yet, an error otherwise.
async fn check_revision(conn: &mut AnyConnection, dialect: Dialect) -> Result<bool, DbError> {
    let revisions = revisions(conn, dialect).await?;
    match revisions.as_slice() {
        [] => Ok(false),
        [only] if only == HEAD_REVISION => Ok(true),
        _ => Err(DbError::UnknownRevision {
            revision: revisions.join(", "),
        }),
    }
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
async fn table_exists(
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
