//! A pipeline's row in `runs`: stale runs failed first, one live run per state ID unless
//! forced, a heartbeat while it runs, and its end.

use chrono::{NaiveDateTime, Utc};
use meltano_core::env_vars;
use meltano_db::{Claim, RunState, SystemDb, format_timestamp};
use uuid::Uuid;

use crate::context::Context;
use crate::error::{CliError, CliResult};

/// How long a run may go without a heartbeat before it is taken for dead.
const HEARTBEAT_STALE_MINUTES: i64 = 5;
/// Rows written before heartbeats existed are taken for dead after this long.
const LEGACY_STALE_HOURS: i64 = 24;
/// How many times the end of a run is written before giving up (with a doubling delay).
const FINISH_ATTEMPTS: u32 = 5;

/// A running job: one `runs` row.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub state_id: String,
    pub run_id: Uuid,
}

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Why `run` is taken for dead, if it is: no heartbeat for 5 minutes (or, for rows from before
/// heartbeats, no end after 24 hours).
fn stale_reason(run: &meltano_db::RunRow, now: NaiveDateTime) -> Option<String> {
    let reason = match (run.last_heartbeat_at, run.started_at) {
        (Some(beat), _) if now - beat > chrono::Duration::minutes(HEARTBEAT_STALE_MINUTES) => {
            "No heartbeat recorded for 5 minutes. The process was likely killed unceremoniously."
        }
        (None, Some(started)) if now - started > chrono::Duration::hours(LEGACY_STALE_HOURS) => {
            "Still running after 24 hours. The process was likely killed unceremoniously."
        }
        _ => return None,
    };
    Some(reason.to_string())
}

fn report_stale(ctx: &Context, run: &meltano_db::RunRow, reason: &str) {
    let started = run.started_at.map(format_timestamp).unwrap_or_default();
    ctx.printer.info(&format!(
        "Marked stale run that started at {started} as failed: {reason}"
    ));
}

/// Marks dead the runs of `state_id` (or of every state ID) that stopped sending heartbeats.
pub async fn fail_stale_runs(
    ctx: &Context,
    db: &SystemDb,
    state_id: Option<&str>,
) -> CliResult<()> {
    let now = now();
    for run in db.running_runs(state_id).await.map_err(CliError::meltano)? {
        let Some(reason) = stale_reason(&run, now) else {
            continue;
        };
        db.finish_run(run.id, RunState::Dead, Some(&reason), now)
            .await
            .map_err(CliError::meltano)?;
        report_stale(ctx, &run, &reason);
    }
    Ok(())
}

/// Starts a job for `state_id`, refusing when another live run holds it (unless `force`): the
/// check and the new row are one transaction, so of runs started together exactly one goes.
/// `already_running` words the refusal for the calling command.
pub async fn start(
    ctx: &Context,
    db: &SystemDb,
    state_id: &str,
    run_id: Uuid,
    force: bool,
    already_running: impl Fn(&meltano_db::RunRow) -> String,
) -> CliResult<Job> {
    let trigger = std::env::var(env_vars::MELTANO_JOB_TRIGGER).unwrap_or_else(|_| "cli".into());
    let now = now();
    let (claim, dead) = db
        .claim_run(state_id, &run_id, &trigger, now, force, |run| {
            stale_reason(run, now)
        })
        .await
        .map_err(CliError::meltano)?;
    for (run, reason) in &dead {
        report_stale(ctx, run, reason);
    }
    match claim {
        Claim::Held(existing) => Err(CliError::Meltano(already_running(&existing))),
        Claim::Started { id, forced } => {
            if forced {
                ctx.printer
                    .warn("Force option is enabled, ignoring stale job check.");
            }
            Ok(Job {
                id,
                state_id: state_id.to_string(),
                run_id,
            })
        }
    }
}

/// Records the end of `job`, retrying a few times: a run must never end as a success while its
/// row still says `RUNNING` (it would block the next run until its heartbeat goes stale).
pub async fn finish(
    db: &SystemDb,
    job: &Job,
    state: RunState,
    error: Option<&str>,
) -> Result<(), meltano_db::DbError> {
    let mut delay = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match db.finish_run(job.id, state, error, now()).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= FINISH_ATTEMPTS => return Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

/// The refusal `meltano run` gives when the state ID is taken.
pub fn run_already_running(existing: &meltano_db::RunRow) -> String {
    let started = existing
        .started_at
        .map(format_timestamp)
        .unwrap_or_default();
    let until = existing
        .last_heartbeat_at
        .or(existing.started_at)
        .map(|t| format_timestamp(t + chrono::Duration::minutes(HEARTBEAT_STALE_MINUTES)))
        .unwrap_or_default();
    format!(
        "Another '{}' pipeline is already running which started at {started}. Wait until {until} \
         when the job will be automatically cancelled if stale, or ignore this check using the \
         '--force' option.",
        existing.job_name
    )
}

/// The refusal `meltano el` gives when the state ID is taken.
pub fn el_already_running(existing: &meltano_db::RunRow) -> String {
    let started = existing
        .started_at
        .map(format_timestamp)
        .unwrap_or_default();
    format!(
        "Another '{}' pipeline is already running which started at {started}. To ignore this \
         check use the '--force' option.",
        existing.job_name
    )
}
