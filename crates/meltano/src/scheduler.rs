//! `meltano schedule start`: the built-in scheduler, in the foreground (for a container or a
//! systemd unit). It runs each due schedule as `meltano schedule run NAME`, following the rules of
//! `meltano_core::scheduler`, in the local time zone (`TZ`, which the project's `.env` may set).
//!
//! SIGTERM or SIGINT stops it gracefully: no new runs start, running ones finish and save their
//! state; a second signal passes SIGTERM on to them (they stop gracefully too).

use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Utc};
use meltano_core::schedule::Interval;
use meltano_core::scheduler::{Decision, Scheduler};
use meltano_project::Project;
use meltano_project::manifest::Schedule;

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::pipeline::interrupts::Interrupts;

/// The variable that starts the scheduler's clock at another instant (tests; rehearsals).
pub const CLOCK_START_VAR: &str = "MELTANO_SCHEDULER_CLOCK_START";

/// Where the scheduler gets the time.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that started at a chosen instant and runs at real speed.
pub struct ShiftedClock {
    start: DateTime<Utc>,
    began: Instant,
}

impl ShiftedClock {
    pub fn starting_at(start: DateTime<Utc>) -> ShiftedClock {
        ShiftedClock {
            start,
            began: Instant::now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.began.elapsed()).unwrap_or_default()
    }
}

/// The clock `schedule start` uses: the system's, unless [`CLOCK_START_VAR`] shifts it.
pub fn clock_from_env(project: &Project) -> CliResult<Box<dyn Clock>> {
    match project.env_var(CLOCK_START_VAR) {
        None => Ok(Box::new(SystemClock)),
        Some(text) => {
            let start = DateTime::parse_from_rfc3339(&text).map_err(|e| {
                CliError::Meltano(format!(
                    "{CLOCK_START_VAR} must be an RFC 3339 time such as 2026-01-01T00:00:00Z, not '{text}': {e}"
                ))
            })?;
            Ok(Box::new(ShiftedClock::starting_at(
                start.with_timezone(&Utc),
            )))
        }
    }
}

/// A schedule's interval, understood, or an error naming the schedule.
pub fn interval_of(schedule: &Schedule) -> CliResult<Interval> {
    let text = schedule.interval.as_deref().ok_or_else(|| {
        CliError::Meltano(format!(
            "Schedule '{}' has no interval: set `interval:` in meltano.yml (e.g. `@daily`).",
            schedule.name
        ))
    })?;
    Interval::parse(text)
        .map_err(|e| CliError::Meltano(format!("Schedule '{}': {e}", schedule.name)))
}

/// A finished run: the schedule's name and its exit code.
type Finished = (String, i32);

/// Runs the scheduler until a signal stops it and its runs have finished.
pub async fn run(ctx: &Context, project: &Project, clock: &dyn Clock) -> CliResult<()> {
    let manifest = &project.manifest().manifest;
    let mut schedules = Vec::new();
    for schedule in &manifest.schedules {
        schedules.push((schedule.name.clone(), interval_of(schedule)?));
    }
    let now = clock.now().with_timezone(&Local);
    let mut scheduler = Scheduler::new(schedules, &now);
    ctx.printer.info(&format!(
        "Scheduler started with {} schedule(s), time zone UTC{}",
        manifest.schedules.len(),
        now.format("%:z")
    ));
    for schedule in &manifest.schedules {
        match scheduler.next_of(&schedule.name) {
            Some(next) => ctx.printer.info(&format!(
                "Schedule '{}' ({}) next runs at {}",
                schedule.name,
                schedule.interval.as_deref().unwrap_or_default(),
                next.to_rfc3339()
            )),
            None => ctx.printer.info(&format!(
                "Schedule '{}' ({}) only runs with `meltano schedule run {}`",
                schedule.name,
                schedule.interval.as_deref().unwrap_or_default(),
                schedule.name
            )),
        }
    }

    let program = std::env::current_exe().map_err(CliError::meltano)?;
    let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel::<Finished>();
    let mut interrupts = Interrupts::new(None).map_err(CliError::meltano)?;
    let mut children: Vec<(String, u32)> = Vec::new();
    let mut stopping = false;
    loop {
        if !stopping {
            let now = clock.now().with_timezone(&Local);
            for decision in scheduler.due(&now) {
                match decision {
                    Decision::Start {
                        name,
                        due_at,
                        missed,
                    } => {
                        if missed > 0 {
                            ctx.printer.warn(&format!(
                                "Schedule '{name}' fell behind: {missed} earlier due time(s) are covered by this run"
                            ));
                        }
                        ctx.printer.info(&format!(
                            "Starting schedule '{name}' due at {}",
                            due_at.to_rfc3339()
                        ));
                        match spawn(&program, project, &name, done_tx.clone()) {
                            Ok(pid) => children.push((name, pid)),
                            Err(e) => {
                                ctx.printer
                                    .error(&format!("Could not start schedule '{name}': {e}"));
                                scheduler.finished(&name);
                            }
                        }
                    }
                    Decision::Skip { name, due_at } => ctx.printer.warn(&format!(
                        "Skipping schedule '{name}' due at {}: its previous run is still going",
                        due_at.to_rfc3339()
                    )),
                }
            }
        } else if children.is_empty() {
            ctx.printer.info("Scheduler stopped");
            return Ok(());
        }
        let sleep = match (stopping, scheduler.next_wakeup()) {
            (false, Some(next)) => (next.with_timezone(&Utc) - clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                // Look again at least every minute, in case the system clock jumps.
                .min(Duration::from_secs(60)),
            _ => Duration::from_secs(60),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            Some((name, code)) = done.recv() => {
                children.retain(|(n, _)| *n != name);
                scheduler.finished(&name);
                let message = format!("Schedule '{name}' finished with exit code {code}");
                if code == 0 { ctx.printer.info(&message) } else { ctx.printer.warn(&message) }
            }
            _ = interrupts.next() => {
                if stopping {
                    ctx.printer.warn("Stopping now: passing SIGTERM on to the running schedules");
                    for (_, pid) in &children {
                        let pid = nix::unistd::Pid::from_raw(i32::try_from(*pid).unwrap_or(i32::MAX));
                        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                    }
                } else {
                    stopping = true;
                    ctx.printer.info(&format!(
                        "Stopping: no new runs; waiting for {} running schedule(s) to finish",
                        children.len()
                    ));
                }
            }
        }
    }
}

/// Starts `meltano schedule run NAME` in the background; its exit is reported on `done`.
fn spawn(
    program: &std::path::Path,
    project: &Project,
    name: &str,
    done: tokio::sync::mpsc::UnboundedSender<Finished>,
) -> std::io::Result<u32> {
    let mut child = std::process::Command::new(program)
        .args(["schedule", "run", name])
        .current_dir(project.root())
        .env("MELTANO_JOB_TRIGGER", "schedule")
        .stdin(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let name = name.to_string();
    std::thread::spawn(move || {
        let code = child
            .wait()
            .map(meltano_runner::process::exit_code)
            .unwrap_or(1);
        let _ = done.send((name, code));
    });
    Ok(pid)
}
