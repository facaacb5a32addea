//! The errors of the system database, worded so a user can act on them.

use std::path::PathBuf;

use crate::HEAD_REVISION;

/// Everything that can go wrong while opening or querying the system database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URI names a database Meltano supports but meltano-rs does not (yet).
    #[error(
        "unsupported `database_uri` scheme `{scheme}`: meltano-rs supports SQLite (`sqlite:///relative/path.db`, \
         `sqlite:////absolute/path.db`) and PostgreSQL (`postgresql://`, `postgresql+psycopg://`, \
         `postgresql+psycopg2://`, `postgres://`)"
    )]
    UnsupportedScheme {
        /// The scheme as written, e.g. `mysql+pymysql`.
        scheme: String,
    },

    /// The URI could not be understood at all.
    #[error("invalid `database_uri` `{uri}`: {reason}")]
    InvalidUri {
        /// The URI with its password redacted.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The directory that should hold the SQLite file could not be created.
    #[error("could not create the directory `{}` for the SQLite system database: {source}", path.display())]
    CreateDir {
        /// The directory we tried to create.
        path: PathBuf,
        /// The underlying IO error.
        source: std::io::Error,
    },

    /// Every connection attempt failed.
    #[error(
        "could not connect to the system database `{uri}` after {retries} retries (Max retries exceeded): {source}"
    )]
    Connect {
        /// The URI with its password redacted.
        uri: String,
        /// How many retries were made after the first attempt.
        retries: u32,
        /// The error of the last attempt.
        source: sqlx::Error,
    },

    /// The database carries an alembic revision we cannot migrate from: older than Meltano 2.0's, newer than
    /// ours, or not Meltano's at all.
    #[error(
        "the system database is at alembic revision `{revision}`, which meltano-rs cannot migrate: it upgrades \
         databases made by Meltano 2.0 or later (revision `13e8639c6d2b` on) to revision `{HEAD_REVISION}` \
         (Meltano 4.1 to 4.4), so this one was created by an older or newer Meltano. For an older one, run \
         `meltano upgrade database` with Python Meltano 4.4 first; otherwise point `database_uri` at another \
         database"
    )]
    UnknownRevision {
        /// The revision(s) found in `alembic_version`, comma-separated.
        revision: String,
    },

    /// Meltano tables exist but `alembic_version` says nothing about them.
    #[error(
        "the system database already has the table(s) {tables} but no alembic revision in `alembic_version`, \
         so its schema is unknown. Run `meltano upgrade database` with Python Meltano 4.4 first, or point \
         `database_uri` at an empty database"
    )]
    UnversionedSchema {
        /// The existing tables, quoted and comma-separated.
        tables: String,
    },

    /// A statement failed; `context` says what we were doing.
    #[error("system database: failed to {context}: {source}")]
    Query {
        /// What we were doing, e.g. "create the schema".
        context: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
}

impl DbError {
    /// Wraps a driver error with what we were doing when it happened.
    pub(crate) fn query(context: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
        move |source| DbError::Query { context, source }
    }
}
