//! The `runs` table: one row per pipeline job (a state ID's run), with Meltano's states
//! (`RUNNING`, `SUCCESS`, `FAIL`, `DEAD`, `STATE_EDIT`) and a heartbeat while it runs.
//!
//! Timestamps are naive UTC, stored as SQLAlchemy stores them (`YYYY-MM-DD HH:MM:SS.ffffff` text on
//! SQLite, `TIMESTAMP WITHOUT TIME ZONE` on PostgreSQL), so Python Meltano reads our rows and we
//! read its rows. Run IDs are 32 hex digits on SQLite and `UUID` on PostgreSQL.

use chrono::NaiveDateTime;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use crate::{DbError, Dialect, SystemDb};

/// The text form of a naive UTC timestamp, as SQLAlchemy writes it.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// A run's lifecycle state, as stored in `runs.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Success,
    Fail,
    /// A run whose process stopped sending heartbeats: it was killed without a chance to say so.
    Dead,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "RUNNING",
            RunState::Success => "SUCCESS",
            RunState::Fail => "FAIL",
            RunState::Dead => "DEAD",
        }
    }
}

/// What `payload_flags` says about a run's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFlag {
    /// The payload is a complete state.
    State = 1,
    /// The payload is a partial state.
    IncompleteState = 2,
}

/// One row of `runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    /// The state ID the run belongs to.
    pub job_name: String,
    pub state: String,
    /// 32 lowercase hex digits, without dashes, whichever the engine.
    pub run_id: String,
    pub started_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub last_heartbeat_at: Option<NaiveDateTime>,
    pub payload: Option<String>,
    pub trigger: Option<String>,
}

/// The columns every query reads, as text so both engines decode alike.
const COLUMNS: &str = "CAST(id AS BIGINT) AS id, job_name, state, CAST(run_id AS VARCHAR(40)) AS run_id, \
     CAST(started_at AS VARCHAR(40)) AS started_at, CAST(ended_at AS VARCHAR(40)) AS ended_at, \
     CAST(last_heartbeat_at AS VARCHAR(40)) AS last_heartbeat_at, payload, \"trigger\"";

impl SystemDb {
    /// SQL for a bound timestamp or run ID parameter `$n`, typed for the engine.
    fn timestamp_param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("${n}"),
            Dialect::Postgres => format!("CAST(${n} AS TIMESTAMP)"),
        }
    }

    fn uuid_param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("${n}"),
            Dialect::Postgres => format!("CAST(${n} AS UUID)"),
        }
    }

    /// Inserts a `RUNNING` row started (and heartbeating) at `now`; returns its `id`.
    pub async fn start_run(
        &self,
        job_name: &str,
        run_id: &uuid::Uuid,
        trigger: &str,
        now: NaiveDateTime,
    ) -> Result<i64, DbError> {
        let mut tx = self.begin_write().await?;
        let id = self
            .insert_run(&mut tx, job_name, run_id, trigger, now)
            .await?;
        tx.commit()
            .await
            .map_err(DbError::query("record the start of a run"))?;
        Ok(id)
    }

    async fn insert_run(
        &self,
        tx: &mut Transaction<'static, Any>,
        job_name: &str,
        run_id: &uuid::Uuid,
        trigger: &str,
        now: NaiveDateTime,
    ) -> Result<i64, DbError> {
        let sql = format!(
            "INSERT INTO runs (job_name, state, started_at, last_heartbeat_at, payload, payload_flags, run_id, \"trigger\") \
             VALUES ($1, $2, {}, {}, $5, $6, {}, $8) RETURNING CAST(id AS BIGINT)",
            self.timestamp_param(3),
            self.timestamp_param(4),
            self.uuid_param(7)
        );
        let now = format_timestamp(now);
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(job_name)
            .bind(RunState::Running.as_str())
            .bind(&now)
            .bind(&now)
            .bind("{}")
            .bind(0_i32)
            .bind(run_id.simple().to_string())
            .bind(trigger)
            .fetch_one(&mut **tx)
            .await
            .map_err(DbError::query("record the start of a run"))?;
        row.try_get::<i64, _>(0)
            .map_err(DbError::query("read the id of a new run"))
    }

    /// Records that the run with `id` is still alive.
    pub async fn heartbeat(&self, id: i64, now: NaiveDateTime) -> Result<(), DbError> {
        let sql = format!(
            "UPDATE runs SET last_heartbeat_at = {} WHERE id = $2 AND state = $3",
            self.timestamp_param(1)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(format_timestamp(now))
            .bind(id)
            .bind(RunState::Running.as_str())
            .execute(&self.pool)
            .await
            .map_err(DbError::query("record a run's heartbeat"))?;
        Ok(())
    }

    /// Stores the run's latest state payload (`{"singer_state": …}`) with its flag.
    pub async fn set_run_payload(
        &self,
        id: i64,
        payload: &str,
        flag: PayloadFlag,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE runs SET payload = $1, payload_flags = $2 WHERE id = $3")
            .bind(payload)
            .bind(flag as i32)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(DbError::query("store a run's state payload"))?;
        Ok(())
    }

    /// Ends the run: its final state, and `error` merged into the payload when it failed.
    pub async fn finish_run(
        &self,
        id: i64,
        state: RunState,
        error: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        self.finish_in(&mut tx, id, state, error, now).await?;
        tx.commit()
            .await
            .map_err(DbError::query("commit the end of a run"))
    }

    async fn finish_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
        state: RunState,
        error: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        let payload: Option<String> = sqlx::query_scalar("SELECT payload FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(DbError::query("read a run's payload"))?
            .flatten();
        let payload = with_error(payload.as_deref(), error);
        let sql = format!(
            "UPDATE runs SET state = $1, ended_at = {}, payload = $3 WHERE id = $4",
            self.timestamp_param(2)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(state.as_str())
            .bind(format_timestamp(now))
            .bind(payload)
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(DbError::query("record the end of a run"))?;
        Ok(())
    }

    /// Claims `job_name` (a state ID) for a new run in one step: in one write transaction
    /// (`BEGIN IMMEDIATE` on SQLite, an advisory lock on the name on PostgreSQL) the rows still
    /// `RUNNING` are read, those `stale` names a reason for are marked `DEAD`, and the new row is
    /// inserted unless a live run remains (or `force`). Two runs claiming at once cannot both go.
    /// Also returns the stale runs marked dead, with their reasons.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_run(
        &self,
        job_name: &str,
        run_id: &uuid::Uuid,
        trigger: &str,
        now: NaiveDateTime,
        force: bool,
        stale: impl Fn(&RunRow) -> Option<String>,
    ) -> Result<(Claim, Vec<(RunRow, String)>), DbError> {
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(job_name)
                .execute(&mut *tx)
                .await
                .map_err(DbError::query("lock the state ID"))?;
        }
        let sql =
            format!("SELECT {COLUMNS} FROM runs WHERE state = $1 AND job_name = $2 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(RunState::Running.as_str())
            .bind(job_name)
            .fetch_all(&mut *tx)
            .await
            .map_err(DbError::query("read running runs"))?;
        let mut dead = Vec::new();
        let mut live = None;
        for row in rows.iter().map(run_row) {
            let row = row?;
            match stale(&row) {
                Some(reason) => {
                    self.finish_in(&mut tx, row.id, RunState::Dead, Some(&reason), now)
                        .await?;
                    dead.push((row, reason));
                }
                None => live = live.or(Some(row)),
            }
        }
        let claim = match live {
            Some(holder) if !force => Claim::Held(holder),
            holder => {
                let id = self
                    .insert_run(&mut tx, job_name, run_id, trigger, now)
                    .await?;
                Claim::Started {
                    id,
                    forced: holder.is_some(),
                }
            }
        };
        tx.commit()
            .await
            .map_err(DbError::query("commit the claim of a run"))?;
        Ok((claim, dead))
    }

    /// A write transaction that holds the write lock from its start, so a read-modify-write
    /// never fails half-way with SQLite's "database is locked" (it waits instead).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, DbError> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
        .map_err(DbError::query("begin a transaction"))
    }

    /// The rows still marked `RUNNING`, of one job or of all, oldest first.
    pub async fn running_runs(&self, job_name: Option<&str>) -> Result<Vec<RunRow>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE state = $1 AND ($2 = '' OR job_name = $2) ORDER BY id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(RunState::Running.as_str())
            .bind(job_name.unwrap_or(""))
            .fetch_all(&self.pool)
            .await
            .map_err(DbError::query("read running runs"))?;
        rows.iter().map(run_row).collect()
    }

    /// The newest `limit` runs that ran (`SUCCESS`, `FAIL` or `RUNNING`).
    pub async fn recent_runs(&self, limit: i64) -> Result<Vec<RunRow>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE state IN ('SUCCESS', 'FAIL', 'RUNNING') \
             ORDER BY started_at DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(DbError::query("list runs"))?;
        rows.iter().map(run_row).collect()
    }

    /// The newest run with this run ID (32 hex digits or a dashed UUID), if any.
    pub async fn run_by_run_id(&self, run_id: &uuid::Uuid) -> Result<Option<RunRow>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE run_id = {} ORDER BY id DESC LIMIT 1",
            self.uuid_param(1)
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(run_id.simple().to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(DbError::query("find a run"))?;
        row.as_ref().map(run_row).transpose()
    }

    /// When the newest `SUCCESS` run of `job_name` ended (`schedule list --format json`).
    pub async fn last_success_ended_at(
        &self,
        job_name: &str,
    ) -> Result<Option<NaiveDateTime>, DbError> {
        let sql = "SELECT CAST(ended_at AS VARCHAR(40)) FROM runs \
                   WHERE job_name = $1 AND state = $2 AND ended_at IS NOT NULL \
                   ORDER BY ended_at DESC LIMIT 1";
        let ended: Option<Option<String>> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(job_name)
            .bind(RunState::Success.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(DbError::query("find the last successful run"))?;
        Ok(ended.flatten().as_deref().and_then(parse_timestamp))
    }
}

/// What [`SystemDb::claim_run`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The new run holds the state ID: its row's id; `forced` when a live run was overridden.
    Started { id: i64, forced: bool },
    /// A live run holds the state ID; nothing was inserted.
    Held(RunRow),
}

/// Merges `error` into a JSON payload (an object), keeping what it held.
fn with_error(payload: Option<&str>, error: Option<&str>) -> Option<String> {
    let Some(error) = error else {
        return payload.map(str::to_string);
    };
    let escaped = escape_json(error);
    match payload.map(str::trim) {
        None | Some("") | Some("{}") => Some(format!("{{\"error\": \"{escaped}\"}}")),
        Some(text) if text.starts_with('{') && text.ends_with('}') => Some(format!(
            "{}, \"error\": \"{escaped}\"}}",
            &text[..text.len() - 1]
        )),
        Some(_) => Some(format!("{{\"error\": \"{escaped}\"}}")),
    }
}

fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The text SQLAlchemy would store for `at`.
pub fn format_timestamp(at: NaiveDateTime) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

/// Reads a stored timestamp in either engine's text form (with or without fractional seconds).
pub fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim().replace('T', " ");
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f").ok()
}

fn run_row(row: &AnyRow) -> Result<RunRow, DbError> {
    let get = |name: &str| -> Result<Option<String>, DbError> {
        row.try_get::<Option<String>, _>(name)
            .map_err(DbError::query("decode a run"))
    };
    Ok(RunRow {
        id: row
            .try_get::<i64, _>("id")
            .map_err(DbError::query("decode a run"))?,
        job_name: get("job_name")?.unwrap_or_default(),
        state: get("state")?.unwrap_or_default(),
        run_id: get("run_id")?.unwrap_or_default().replace('-', ""),
        started_at: get("started_at")?.as_deref().and_then(parse_timestamp),
        ended_at: get("ended_at")?.as_deref().and_then(parse_timestamp),
        last_heartbeat_at: get("last_heartbeat_at")?
            .as_deref()
            .and_then(parse_timestamp),
        payload: get("payload")?,
        trigger: get("trigger")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_join_the_payload() {
        assert_eq!(
            with_error(Some("{}"), Some("Loader failed")).as_deref(),
            Some("{\"error\": \"Loader failed\"}")
        );
        assert_eq!(
            with_error(Some("{\"singer_state\": {\"a\": 1}}"), Some("say \"x\"")).as_deref(),
            Some("{\"singer_state\": {\"a\": 1}, \"error\": \"say \\\"x\\\"\"}")
        );
        assert_eq!(with_error(Some("{}"), None).as_deref(), Some("{}"));
    }

    #[test]
    fn timestamps_round_trip_both_forms() {
        let at = parse_timestamp("2026-11-21 10:27:55.288094").unwrap();
        assert_eq!(format_timestamp(at), "2026-11-21 10:27:55.288094");
        assert_eq!(
            parse_timestamp("2026-11-21 10:27:55").map(format_timestamp),
            Some("2026-11-21 10:27:55.000000".to_string())
        );
    }
}
