//! The `state` table (one record of Singer state per state ID) and the `runs` rows Meltano adds
//! when `meltano state` edits it.
//!
//! Payloads are stored as Meltano stores them: Python `json.dumps` text, NULL for a missing one.
//! `updated_at` stays NULL for a record written for the first time and takes the local time on
//! every later write, as Meltano's SQLAlchemy model does. State IDs and records are listed in
//! the order Meltano lists them on SQLite (creation order), and by ID on PostgreSQL.

use meltano_core::settings::repr::py_json_dumps;
use meltano_core::state::{PayloadKind, StateRecord};
use serde_json::Value;
use sqlx::AnyConnection;

use crate::{DbError, Dialect, SystemDb};

/// `runs.state` of a row recording a CLI edit of state.
const STATE_EDIT: &str = "STATE_EDIT";

/// How SQLAlchemy writes a `DATETIME` on SQLite, and a text PostgreSQL casts to `TIMESTAMP`.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

impl SystemDb {
    /// The state IDs, all of them or those matching a glob-style `pattern` (`*` becomes SQL's
    /// `%`, and, as in Meltano, `_` and `%` keep their `LIKE` meaning).
    pub async fn state_ids(&self, pattern: Option<&str>) -> Result<Vec<String>, DbError> {
        let sql = match (self.dialect, pattern.is_some()) {
            (Dialect::Sqlite, false) => "SELECT state_id FROM state ORDER BY rowid",
            (Dialect::Sqlite, true) => {
                "SELECT state_id FROM state WHERE state_id LIKE $1 ORDER BY rowid"
            }
            (Dialect::Postgres, false) => "SELECT state_id FROM state ORDER BY state_id",
            (Dialect::Postgres, true) => {
                "SELECT state_id FROM state WHERE state_id LIKE $1 ORDER BY state_id"
            }
        };
        let mut query = sqlx::query_scalar(sql);
        if let Some(pattern) = pattern {
            query = query.bind(pattern.replace('*', "%"));
        }
        query
            .fetch_all(&self.pool)
            .await
            .map_err(DbError::query("list state IDs"))
    }

    /// The record of one state ID, if there is one.
    pub async fn read_state(&self, state_id: &str) -> Result<Option<StateRecord>, DbError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT completed_state, partial_state FROM state WHERE state_id = $1")
                .bind(state_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(DbError::query("read state"))?;
        row.map(|(completed, partial)| record_from_columns(completed, partial))
            .transpose()
    }

    /// Every record, for `meltano state export`.
    pub async fn all_states(&self) -> Result<Vec<(String, StateRecord)>, DbError> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "SELECT state_id, completed_state, partial_state FROM state ORDER BY rowid"
            }
            Dialect::Postgres => {
                "SELECT state_id, completed_state, partial_state FROM state ORDER BY state_id"
            }
        };
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(DbError::query("read every state"))?;
        rows.into_iter()
            .map(|(id, completed, partial)| Ok((id, record_from_columns(completed, partial)?)))
            .collect()
    }

    /// Writes one payload into the record of `state_id` (creating it), as a pipeline or
    /// `meltano state set/merge` does: see [`StateRecord::apply`].
    ///
    /// The read and the write happen in one transaction that first claims the row, so two
    /// writers of one state ID never lose each other's payload: on SQLite the claim takes the
    /// database's write lock before anything is read, on PostgreSQL the row is then read `FOR
    /// UPDATE` (and a concurrent creator of the same ID waits on the unique key).
    pub async fn write_state(
        &self,
        state_id: &str,
        payload: &Value,
        kind: PayloadKind,
    ) -> Result<(), DbError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(DbError::query("start a state transaction"))?;
        let conn: &mut AnyConnection = &mut tx;
        let created = sqlx::query(
            "INSERT INTO state (state_id) VALUES ($1) ON CONFLICT (state_id) DO NOTHING",
        )
        .bind(state_id)
        .execute(&mut *conn)
        .await
        .map_err(DbError::query("claim a state row"))?
        .rows_affected()
            == 1;
        let select = match self.dialect {
            Dialect::Sqlite => {
                "SELECT completed_state, partial_state FROM state WHERE state_id = $1"
            }
            Dialect::Postgres => {
                "SELECT completed_state, partial_state FROM state WHERE state_id = $1 FOR UPDATE"
            }
        };
        let (completed, partial): (Option<String>, Option<String>) = sqlx::query_as(select)
            .bind(state_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(DbError::query("read state"))?;
        let record = if created {
            StateRecord::from_payload(payload.clone(), kind)
        } else {
            let mut record = record_from_columns(completed, partial)?;
            record.apply(payload.clone(), kind);
            record
        };
        let updated_at = (!created).then(local_now);
        self.update_state_row(conn, state_id, &record, updated_at)
            .await?;
        tx.commit().await.map_err(DbError::query("commit state"))
    }

    /// Stores `record` for `state_id` exactly as given, replacing any record it had.
    pub async fn put_state(&self, state_id: &str, record: &StateRecord) -> Result<(), DbError> {
        self.put_states(&[(state_id.to_string(), record.clone())])
            .await
            .map(|_| ())
    }

    /// Stores several records exactly as given, in one transaction, replacing the records of
    /// those IDs (`meltano state import`); returns how many were written.
    pub async fn put_states(&self, states: &[(String, StateRecord)]) -> Result<u64, DbError> {
        if states.is_empty() {
            return Ok(0);
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(DbError::query("start a state transaction"))?;
        let conn: &mut AnyConnection = &mut tx;
        for (state_id, _) in states {
            sqlx::query("DELETE FROM state WHERE state_id = $1")
                .bind(state_id)
                .execute(&mut *conn)
                .await
                .map_err(DbError::query("replace state"))?;
        }
        for (state_id, record) in states {
            sqlx::query(
                "INSERT INTO state (state_id, completed_state, partial_state) VALUES ($1, $2, $3)",
            )
            .bind(state_id)
            .bind(column(&record.completed))
            .bind(column(&record.partial))
            .execute(&mut *conn)
            .await
            .map_err(DbError::query("store state"))?;
        }
        tx.commit().await.map_err(DbError::query("commit state"))?;
        Ok(states.len() as u64)
    }

    /// Deletes the record of `state_id`; returns whether there was one.
    pub async fn delete_state(&self, state_id: &str) -> Result<bool, DbError> {
        let result = sqlx::query("DELETE FROM state WHERE state_id = $1")
            .bind(state_id)
            .execute(&self.pool)
            .await
            .map_err(DbError::query("clear state"))?;
        Ok(result.rows_affected() > 0)
    }

    /// Deletes every record; returns how many there were.
    pub async fn delete_all_states(&self) -> Result<u64, DbError> {
        let result = sqlx::query("DELETE FROM state")
            .execute(&self.pool)
            .await
            .map_err(DbError::query("clear every state"))?;
        Ok(result.rows_affected())
    }

    /// Inserts the `runs` row Meltano adds for a CLI edit of state: `STATE_EDIT`, started and
    /// ended now (naive UTC), the payload as JSON (NULL for `null`), `payload_flags` 1 or 2,
    /// a new UUIDv7 run ID, and `trigger` (Meltano's `$MELTANO_JOB_TRIGGER`).
    pub async fn record_state_edit(
        &self,
        state_id: &str,
        payload: &Value,
        kind: PayloadKind,
        trigger: Option<&str>,
    ) -> Result<(), DbError> {
        let now = chrono::Utc::now()
            .naive_utc()
            .format(TIMESTAMP_FORMAT)
            .to_string();
        let run_id = uuid::Uuid::now_v7();
        let (sql, run_id) = match self.dialect {
            Dialect::Sqlite => (
                "INSERT INTO runs (job_name, state, started_at, ended_at, payload, payload_flags, \
                 run_id, \"trigger\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                run_id.simple().to_string(),
            ),
            Dialect::Postgres => (
                "INSERT INTO runs (job_name, state, started_at, ended_at, payload, payload_flags, \
                 run_id, \"trigger\") VALUES ($1, $2, CAST($3 AS TIMESTAMP), CAST($4 AS TIMESTAMP), \
                 $5, $6, CAST($7 AS UUID), $8)",
                run_id.hyphenated().to_string(),
            ),
        };
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(DbError::query("start a run transaction"))?;
        sqlx::query(sql)
            .bind(state_id)
            .bind(STATE_EDIT)
            .bind(now.clone())
            .bind(now)
            .bind(column(payload))
            .bind(kind.flags())
            .bind(run_id)
            .bind(trigger.map(str::to_string))
            .execute(&mut *tx)
            .await
            .map_err(DbError::query("record the state edit"))?;
        tx.commit()
            .await
            .map_err(DbError::query("commit the state edit"))
    }

    async fn update_state_row(
        &self,
        conn: &mut AnyConnection,
        state_id: &str,
        record: &StateRecord,
        updated_at: Option<String>,
    ) -> Result<(), DbError> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "UPDATE state SET completed_state = $1, partial_state = $2, updated_at = $3 \
                 WHERE state_id = $4"
            }
            Dialect::Postgres => {
                "UPDATE state SET completed_state = $1, partial_state = $2, \
                 updated_at = CAST($3 AS TIMESTAMP) WHERE state_id = $4"
            }
        };
        sqlx::query(sql)
            .bind(column(&record.completed))
            .bind(column(&record.partial))
            .bind(updated_at)
            .bind(state_id)
            .execute(&mut *conn)
            .await
            .map_err(DbError::query("write state"))?;
        Ok(())
    }
}

/// A payload as its column holds it: `json.dumps` text, NULL for `null`.
fn column(value: &Value) -> Option<String> {
    (!value.is_null()).then(|| py_json_dumps(value))
}

fn record_from_columns(
    completed: Option<String>,
    partial: Option<String>,
) -> Result<StateRecord, DbError> {
    Ok(StateRecord {
        completed: parse_column(completed)?,
        partial: parse_column(partial)?,
    })
}

fn parse_column(text: Option<String>) -> Result<Value, DbError> {
    match text {
        None => Ok(Value::Null),
        Some(text) => serde_json::from_str(&text).map_err(|e| DbError::Query {
            context: "decode a stored state",
            source: sqlx::Error::Decode(Box::new(e)),
        }),
    }
}

/// The local wall-clock time, as Meltano's `datetime.now` stamps `state.updated_at`.
fn local_now() -> String {
    chrono::Local::now()
        .naive_local()
        .format(TIMESTAMP_FORMAT)
        .to_string()
}
