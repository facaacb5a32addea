//! The Meltano system database: run history, state and settings stored in SQLite (the default
//! `.meltano/meltano.db`) or PostgreSQL, reached through sqlx's `Any` driver without query macros.
//!
//! This crate owns the translation of SQLAlchemy-style `database_uri` values, connecting with Meltano's retry
//! policy, and the schema: it opens a database that Meltano 4.1–4.4 created (alembic revision
//! [`HEAD_REVISION`]) in place without touching its rows, upgrades one made by Meltano 2.0 to 4.0 to that
//! revision as alembic would, and creates that same schema in an empty database, so Python Meltano can keep
//! using it. It must not leak SQL: every statement lives here, behind methods of
//! [`SystemDb`]. It does not print; connection retries are reported through a callback ([`RetryAttempt`]).

mod error;
mod migrations;
mod runs;
mod settings;
mod state;
mod uri;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection};

pub use error::DbError;
pub use runs::{Claim, PayloadFlag, RunRow, RunState, format_timestamp, parse_timestamp};
pub use uri::redact_uri;

/// The alembic revision of Meltano 4.1–4.4's schema: the one we create, and the one we upgrade older databases to.
pub const HEAD_REVISION: &str = "c0efb3c314eb";

/// How to reach the system database; mirrors the `database_uri`, `database_max_retries` and
/// `database_retry_timeout` project settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    /// A SQLAlchemy-style URI, e.g. `sqlite:///.meltano/meltano.db` or `postgresql://user:pw@host:5432/db`.
    pub uri: String,
    /// How many times to retry a failed connection after the first attempt.
    pub max_retries: u32,
    /// How long to wait before each retry.
    pub retry_timeout: Duration,
}

impl DbConfig {
    /// A config for `uri` with Meltano's default retry policy (3 retries, 5 s apart).
    pub fn new(uri: impl Into<String>) -> Self {
        DbConfig {
            uri: uri.into(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(5),
        }
    }
}

/// The database engine behind a [`SystemDb`]; the few statements that differ between engines switch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// A SQLite file (or an in-memory database for `sqlite://`).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// One failed connection attempt that will be retried, so the caller can log Meltano's message (its
/// `Display` is exactly that message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAttempt {
    /// The retry about to happen, from 1 to `max_retries`.
    pub attempt: u32,
    /// The configured number of retries.
    pub max_retries: u32,
    /// How long we sleep before retrying.
    pub wait: Duration,
    /// Why the attempt failed.
    pub error: String,
}

impl fmt::Display for RetryAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wait = if self.wait.subsec_nanos() == 0 {
            self.wait.as_secs().to_string()
        } else {
            self.wait.as_secs_f64().to_string()
        };
        write!(
            f,
            "DB connection failed. Will retry after {wait}s. Attempt {}/{}",
            self.attempt, self.max_retries
        )
    }
}

/// An open, migrated system database.
#[derive(Debug, Clone)]
pub struct SystemDb {
    pool: AnyPool,
    dialect: Dialect,
}

impl SystemDb {
    /// Connects (retrying), enables WAL on SQLite, creates the SQLite file's parent dirs, and migrates to head
    /// (creating the schema, or upgrading a database made by Meltano 2.0 or later, in one transaction).
    pub async fn open(cfg: &DbConfig) -> Result<SystemDb, DbError> {
        Self::open_with(cfg, |_| {}).await
    }

    /// Like [`SystemDb::open`], calling `on_retry` before each retry so the caller can log it.
    pub async fn open_with(
        cfg: &DbConfig,
        mut on_retry: impl FnMut(RetryAttempt),
    ) -> Result<SystemDb, DbError> {
        sqlx::any::install_default_drivers();
        let cwd = std::env::current_dir().map_err(|e| DbError::InvalidUri {
            uri: redact_uri(&cfg.uri),
            reason: format!(
                "cannot resolve a relative path: the current directory is unreadable: {e}"
            ),
        })?;
        let target = uri::parse(&cfg.uri, &cwd)?;
        if let Some(parent) = target
            .sqlite_file
            .as_deref()
            .and_then(std::path::Path::parent)
        {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let options =
            AnyConnectOptions::from_str(&target.sqlx_url).map_err(|e| DbError::InvalidUri {
                uri: redact_uri(&cfg.uri),
                reason: e.to_string(),
            })?;

        let mut conn = connect(cfg, &options, &mut on_retry).await?;
        if target.dialect == Dialect::Sqlite {
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&mut conn)
                .await
                .map_err(DbError::query("enable WAL mode"))?;
        }
        migrations::migrate(&mut conn, target.dialect).await?;

        let in_memory = target.dialect == Dialect::Sqlite && target.sqlite_file.is_none();
        let sqlite = target.dialect == Dialect::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            // Concurrent runs share the file: a writer waits for the lock rather than failing
            // with "database is locked" (sqlx's own 5 s is short for many runs ending at once).
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA busy_timeout = 60000")
                            .execute(conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            // An in-memory database lives only while a connection to it is open.
            .min_connections(u32::from(in_memory))
            .idle_timeout((!in_memory).then_some(Duration::from_secs(60)))
            .max_lifetime((!in_memory).then_some(Duration::from_secs(30 * 60)))
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect {
                uri: redact_uri(&cfg.uri),
                retries: 0,
                source,
            })?;
        // Closed only now so an in-memory database survives until the pool holds it.
        let _ = conn.close().await;
        Ok(SystemDb {
            pool,
            dialect: target.dialect,
        })
    }

    /// Which engine this is, for the rare caller that must word something differently.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The alembic revision recorded in `alembic_version`.
    pub async fn revision(&self) -> Result<Option<String>, DbError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(DbError::query("acquire a connection"))?;
        let revisions = migrations::revisions(&mut conn, self.dialect).await?;
        Ok(revisions.into_iter().next())
    }

    /// Deletes the `plugin_settings` rows of one namespace (e.g. `extractors.tap-x.default`); returns rows deleted.
    pub async fn delete_plugin_settings(&self, namespace: &str) -> Result<u64, DbError> {
        let result = sqlx::query("DELETE FROM plugin_settings WHERE namespace = $1")
            .bind(namespace)
            .execute(&self.pool)
            .await
            .map_err(DbError::query("delete plugin settings"))?;
        Ok(result.rows_affected())
    }

    /// Closes every pooled connection, waiting for them, so SQLite checkpoints its WAL before the process exits.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Opens one connection, retrying like Meltano: `max_retries` more attempts, `retry_timeout` apart.
async fn connect(
    cfg: &DbConfig,
    options: &AnyConnectOptions,
    on_retry: &mut impl FnMut(RetryAttempt),
) -> Result<AnyConnection, DbError> {
    let mut attempt = 0;
    loop {
        match AnyConnection::connect_with(options).await {
            Ok(conn) => return Ok(conn),
            // A malformed URI will not fix itself by waiting.
            Err(sqlx::Error::Configuration(e)) => {
                return Err(DbError::InvalidUri {
                    uri: redact_uri(&cfg.uri),
                    reason: e.to_string(),
                });
            }
            Err(source) if attempt >= cfg.max_retries => {
                return Err(DbError::Connect {
                    uri: redact_uri(&cfg.uri),
                    retries: attempt,
                    source,
                });
            }
            Err(e) => {
                attempt += 1;
                on_retry(RetryAttempt {
                    attempt,
                    max_retries: cfg.max_retries,
                    wait: cfg.retry_timeout,
                    error: e.to_string(),
                });
                tokio::time::sleep(cfg.retry_timeout).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_message_matches_meltano() {
        let attempt = RetryAttempt {
            attempt: 1,
            max_retries: 3,
            wait: Duration::from_secs(5),
            error: String::new(),
        };
        assert_eq!(
            attempt.to_string(),
            "DB connection failed. Will retry after 5s. Attempt 1/3"
        );
        let attempt = RetryAttempt {
            wait: Duration::from_millis(500),
            ..attempt
        };
        assert_eq!(
            attempt.to_string(),
            "DB connection failed. Will retry after 0.5s. Attempt 1/3"
        );
    }
}
