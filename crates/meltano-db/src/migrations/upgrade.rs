//! The alembic revisions from Meltano 2.0's head (`13e8639c6d2b`) to ours, each redone with our own statements.
//!
//! A database Meltano 2.x or 3.x left behind is at one of the `from` revisions of [`UPGRADES`]; Meltano 4.4.1
//! would bring it to head by running every later revision in order, and so do we, inside the caller's
//! transaction. What each step must leave behind is what alembic leaves behind, because Python Meltano may open
//! the database again: the same tables, columns and types, the same constraint and sequence names on PostgreSQL,
//! and on SQLite the same `CREATE TABLE` text in `sqlite_master` (SQLite keeps the text of a statement and
//! edits it in place on `ALTER TABLE`, so a table we create is written exactly as SQLAlchemy renders it).
//!
//! None of these revisions needs SQLite's batch mode (copy the table, drop it, rename the copy): a column
//! rename, a table rename, creating and dropping tables are plain `ALTER`/`CREATE`/`DROP` on both engines.

use meltano_core::settings::repr::py_json_dumps;
use meltano_core::state::{SINGER_STATE_KEY, deep_merge, loads};
use serde_json::{Map, Value};
use sqlx::AnyConnection;

use super::table_exists;
use crate::{DbError, Dialect, format_timestamp, parse_timestamp};

/// One alembic revision: the database moves from `from` to `to` by doing `change`.
#[derive(Debug)]
pub(super) struct Upgrade {
    /// The revision the database must be at.
    pub(super) from: &'static str,
    /// The revision it is at afterwards.
    pub(super) to: &'static str,
    change: Change,
}

/// What a revision does to the schema and rows.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// `5b43800443d1`: the `job` table becomes `runs`, its `job_id` column `job_name`.
    RenameJobToRuns,
    /// `f4c225a9492f`: nothing any more. Meltano 2.7.0 shipped it creating a `state` table keyed by
    /// `job_name`; it was emptied in 2.7.1 and the next revision drops that table where it exists.
    Nothing,
    /// `6828cc5b1a4f`: a dedicated `state` table, filled from the run history.
    StateTableFromHistory,
    /// `c0efb3c314eb`: the tables of the long-gone web UI (users, roles, OAuth, embed tokens, subscriptions) are
    /// dropped where they exist, rows and all.
    DropUiTables,
}

/// Every step from Meltano 2.0's head to [`crate::HEAD_REVISION`], oldest first; a database at any `from` runs
/// that step and all after it.
pub(super) const UPGRADES: &[Upgrade] = &[
    Upgrade {
        from: "13e8639c6d2b",
        to: "5b43800443d1",
        change: Change::RenameJobToRuns,
    },
    Upgrade {
        from: "5b43800443d1",
        to: "f4c225a9492f",
        change: Change::Nothing,
    },
    Upgrade {
        from: "f4c225a9492f",
        to: "6828cc5b1a4f",
        change: Change::StateTableFromHistory,
    },
    Upgrade {
        from: "6828cc5b1a4f",
        to: "c0efb3c314eb",
        change: Change::DropUiTables,
    },
];

/// The `state` table as SQLAlchemy renders its `CREATE TABLE` on SQLite, whitespace included, so that
/// `sqlite_master` holds the same text as in a database alembic upgraded.
const SQLITE_CREATE_STATE: &str = "CREATE TABLE state (\n\
    \tstate_id VARCHAR(900) NOT NULL, \n\
    \tpartial_state VARCHAR, \n\
    \tcompleted_state VARCHAR, \n\
    \tupdated_at DATETIME, \n\
    \tPRIMARY KEY (state_id), \n\
    \tUNIQUE (state_id)\n\
    )";

/// The same table on PostgreSQL. PostgreSQL skips a unique constraint that repeats the primary key, so this
/// leaves `state_pkey` only, as alembic's identical statement does.
const POSTGRES_CREATE_STATE: &str = "CREATE TABLE state (state_id VARCHAR(900) NOT NULL, \
     partial_state VARCHAR, completed_state VARCHAR, updated_at TIMESTAMP WITHOUT TIME ZONE, \
     PRIMARY KEY (state_id), UNIQUE (state_id))";

/// The web UI's tables in the order alembic drops them: children before the tables their foreign keys
/// reference, and the `user` table's index before the table.
const DROP_UI_TABLES: &[&str] = &[
    "DROP TABLE IF EXISTS roles_users",
    "DROP TABLE IF EXISTS role_permissions",
    "DROP TABLE IF EXISTS oauth",
    "DROP TABLE IF EXISTS embed_tokens",
    "DROP TABLE IF EXISTS subscriptions",
    "DROP TABLE IF EXISTS role",
    "DROP INDEX IF EXISTS ix_user_username",
    "DROP TABLE IF EXISTS \"user\"",
];

/// `runs.payload_flags` bits, as Meltano's `Payload` flag sets them.
const FLAG_STATE: i32 = 1;
const FLAG_INCOMPLETE_STATE: i32 = 2;

/// Runs one step and records its revision, as alembic does after each migration of a multi-step upgrade.
pub(super) async fn run(
    conn: &mut AnyConnection,
    dialect: Dialect,
    step: &Upgrade,
) -> Result<(), DbError> {
    match step.change {
        Change::RenameJobToRuns => {
            for statement in [
                "ALTER TABLE job RENAME COLUMN job_id TO job_name",
                "ALTER TABLE job RENAME TO runs",
            ] {
                execute(conn, statement, "rename the `job` table to `runs`").await?;
            }
        }
        Change::Nothing => {}
        Change::StateTableFromHistory => state_table_from_history(conn, dialect).await?,
        Change::DropUiTables => {
            for statement in DROP_UI_TABLES {
                execute(conn, statement, "drop the tables of the old web UI").await?;
            }
        }
    }
    sqlx::query("UPDATE alembic_version SET version_num = $1 WHERE version_num = $2")
        .bind(step.to)
        .bind(step.from)
        .execute(&mut *conn)
        .await
        .map_err(DbError::query("record the schema revision"))?;
    Ok(())
}

async fn execute(
    conn: &mut AnyConnection,
    statement: &'static str,
    context: &'static str,
) -> Result<(), DbError> {
    sqlx::query(statement)
        .execute(conn)
        .await
        .map_err(DbError::query(context))?;
    Ok(())
}

/// `6828cc5b1a4f`: replaces any `state` table (Meltano 2.7.0's, keyed by `job_name`) with the current one and
/// gives every distinct job name of `runs` a record rebuilt from its history, in the order the distinct names
/// come back, as Meltano does.
async fn state_table_from_history(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<(), DbError> {
    if table_exists(conn, dialect, "state").await? {
        execute(conn, "DROP TABLE state", "drop the old `state` table").await?;
    }
    let create = match dialect {
        Dialect::Sqlite => SQLITE_CREATE_STATE,
        Dialect::Postgres => POSTGRES_CREATE_STATE,
    };
    execute(conn, create, "create the `state` table").await?;

    let names: Vec<Option<String>> = sqlx::query_scalar("SELECT DISTINCT runs.job_name FROM runs")
        .fetch_all(&mut *conn)
        .await
        .map_err(DbError::query("list the job names of the run history"))?;
    // A run without a name has no state ID to file its state under (Meltano's migration fails on one).
    for state_id in names.into_iter().flatten() {
        let partial = state_from_history(conn, dialect, &state_id).await?;
        // Meltano's rebuilt records carry everything in `partial_state`, `{}` as `completed_state`, and no
        // `updated_at` (its model leaves that to a server default the table does not have).
        sqlx::query(
            "INSERT INTO state (state_id, partial_state, completed_state) VALUES ($1, $2, $3)",
        )
        .bind(&state_id)
        .bind(py_json_dumps(&partial))
        .bind("{}")
        .execute(&mut *conn)
        .await
        .map_err(DbError::query(
            "fill the `state` table from the run history",
        ))?;
    }
    Ok(())
}

/// The state of one state ID as Meltano's migration rebuilds it: the whole payload of the latest finished run
/// that saved complete state, then the payloads of finished runs with incomplete state that ended after it
/// (all of them when there is none), oldest first, deep-merged on top. Only payloads holding `singer_state`
/// count, but the latest complete run sets the cut-off even without one.
async fn state_from_history(
    conn: &mut AnyConnection,
    dialect: Dialect,
    state_id: &str,
) -> Result<Value, DbError> {
    const SAVED: &str = "runs.job_name = $1 AND runs.payload_flags != 0 \
                         AND (runs.payload_flags & $2) = $2 AND runs.ended_at IS NOT NULL";
    let mut partial = Value::Object(Map::new());

    let latest: Option<(Option<String>, Option<String>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT runs.payload, CAST(runs.ended_at AS VARCHAR(40)) FROM runs WHERE {SAVED} \
             ORDER BY runs.ended_at DESC LIMIT 1"
        )))
        .bind(state_id)
        .bind(FLAG_STATE)
        .fetch_optional(&mut *conn)
        .await
        .map_err(DbError::query("read the latest complete state of a run"))?;

    let mut since = None;
    if let Some((payload, ended_at)) = latest {
        if let Some(payload) = state_payload(payload.as_deref()) {
            deep_merge(&mut partial, &payload);
        }
        since = ended_at;
    }

    let incomplete: Vec<Option<String>> = match since {
        None => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT runs.payload FROM runs WHERE {SAVED} ORDER BY runs.ended_at ASC"
            )))
            .bind(state_id)
            .bind(FLAG_INCOMPLETE_STATE)
            .fetch_all(&mut *conn)
            .await
        }
        Some(since) => {
            // Meltano compares with the timestamp it read back: on SQLite that is the stored text re-rendered
            // in SQLAlchemy's format, on PostgreSQL the same instant.
            let (bound, since) = match dialect {
                Dialect::Sqlite => (
                    "$3",
                    parse_timestamp(&since).map_or(since, format_timestamp),
                ),
                Dialect::Postgres => ("CAST($3 AS TIMESTAMP)", since),
            };
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT runs.payload FROM runs WHERE {SAVED} AND runs.ended_at > {bound} \
                 ORDER BY runs.ended_at ASC"
            )))
            .bind(state_id)
            .bind(FLAG_INCOMPLETE_STATE)
            .bind(since)
            .fetch_all(&mut *conn)
            .await
        }
    }
    .map_err(DbError::query("read the incomplete states of runs"))?;

    for payload in incomplete {
        if let Some(payload) = state_payload(payload.as_deref()) {
            deep_merge(&mut partial, &payload);
        }
    }
    Ok(partial)
}

/// A run's payload when it is a JSON object holding `singer_state`: the only payloads Meltano merges. Meltano's
/// migration fails on a payload that is missing or not JSON, where we leave it out instead.
fn state_payload(text: Option<&str>) -> Option<Value> {
    match loads(text?) {
        Ok(value @ Value::Object(_)) if value.get(SINGER_STATE_KEY).is_some() => Some(value),
        _ => None,
    }
}
