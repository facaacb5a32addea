//! Running blocks for `meltano run` and `meltano el`: an extract-load set as a job with state,
//! heartbeats and a run log, or a plugin command; both stoppable by signals and a deadline.
//!
//! The processes and the relay between them are `meltano_runner::pipeline`'s; this module turns
//! a project's plugins into those processes and acts on what they report.

pub mod interrupts;
pub mod job;
pub mod run_log;
pub mod state;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use meltano_cli::StateStrategy;
use meltano_core::PluginType;
use meltano_core::settings::Resolved;
use meltano_db::RunState;
use meltano_project::manifest::{Mapping, PluginEntry};
use meltano_runner::pipeline::{PipelineEvent, PipelineHandle, PipelineOutcome, Stage};
use meltano_state::StateStore;
use meltano_state::lock::HeldLock;
use serde_json::Value;
use uuid::Uuid;

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::invocation::{PrepareOptions, Prepared, prepare};
use crate::printer::Level;
use crate::settings::{SettingsStores, Subject};
use interrupts::{Interrupts, Stop};
use job::Job;
use state::{StateSource, StateWriter};

/// How many stderr lines of each plugin an error quotes.
const STDERR_TAIL: usize = 10;
/// How long a stopped pipeline may take to drain before its processes are terminated, then killed.
const DRAIN_GRACE: Duration = Duration::from_secs(30);

/// The plugins of one extract-load set.
pub struct ElBlock<'a> {
    pub extractor: &'a PluginEntry,
    /// Each mapping with the mapper plugin that runs it.
    pub mappings: Vec<(&'a PluginEntry, &'a Mapping)>,
    pub loader: &'a PluginEntry,
}

/// How an extract-load set runs.
#[derive(Debug, Clone, Default)]
pub struct ElOptions {
    /// The job's state ID; None runs without a job and without state.
    pub state_id: Option<String>,
    pub run_id: Uuid,
    pub full_refresh: bool,
    pub refresh_catalog: bool,
    pub force: bool,
    pub strategy: StateStrategy,
    /// `el --select/--exclude`, as the `select_filter` extra.
    pub select_filter: Option<Vec<String>>,
    /// `el --catalog`.
    pub catalog_file: Option<PathBuf>,
    /// `el --state`.
    pub state_file: Option<PathBuf>,
    /// `el`'s wording for a state ID already running.
    pub el_messages: bool,
}

/// Why a block did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockFailure {
    /// A plugin failed; the message is Meltano's (`Extractor failed`, …).
    Failed(String),
    /// Stopped by a signal or the deadline before it could finish.
    Stopped(Stop),
    /// The loader ended before reading everything the extractor sent; the bookmark the run
    /// started from is put back.
    Undelivered(String),
}

impl BlockFailure {
    /// The text stored in the run's payload.
    pub fn reason(&self) -> String {
        match self {
            BlockFailure::Failed(message) | BlockFailure::Undelivered(message) => message.clone(),
            BlockFailure::Stopped(stop) => stop.reason().to_string(),
        }
    }
}

/// The log level name written into Singer logging files, from the console level.
pub fn singer_log_level(ctx: &Context) -> &'static str {
    match ctx.printer.level() {
        meltano_cli::LogLevel::Debug => "debug",
        meltano_cli::LogLevel::Info => "info",
        meltano_cli::LogLevel::Warning => "warning",
        meltano_cli::LogLevel::Error => "error",
        meltano_cli::LogLevel::Critical | meltano_cli::LogLevel::Disabled => "critical",
    }
}

/// Runs one extract-load set: as a job when it has a state ID (run row, run log, state), else
/// statelessly. Returns the failure, if any, after logging it. The run log stays open until the
/// caller ends it (`Printer::end_run_log`) or the next job starts.
pub async fn run_extract_load(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    block: &ElBlock<'_>,
    options: &ElOptions,
    interrupts: &mut Interrupts,
) -> CliResult<Result<(), BlockFailure>> {
    let project = stores.project;
    let store = crate::state_backend::open(stores).await?;
    let mut held = None;
    let job = match &options.state_id {
        Some(state_id) => {
            let log = run_log::open(project, state_id, &options.run_id)?;
            ctx.printer.start_run_log(log);
            ctx.printer.info(&format!(
                "Running job with name '{state_id}' and run ID '{}'",
                options.run_id
            ));
            // A file or bucket backend is shared by every machine running this project: its lock
            // is what keeps two runs of one state ID apart, whatever system database each uses.
            if store.writes_objects() {
                match HeldLock::acquire(store.clone(), state_id, options.force).await {
                    Ok(lock) => held = Some(lock),
                    Err(e) => {
                        ctx.printer.end_run_log();
                        return Err(lock_refusal(e, options.el_messages));
                    }
                }
                let pending =
                    state::upload_pending(ctx, store.as_ref(), &pending_dir(project), state_id)
                        .await;
                if let Err(e) = pending {
                    release(ctx, held).await;
                    ctx.printer.end_run_log();
                    return Err(e);
                }
            }
            let refuse = if options.el_messages {
                job::el_already_running
            } else {
                job::run_already_running
            };
            match job::start(
                ctx,
                stores.db,
                state_id,
                options.run_id,
                options.force,
                refuse,
            )
            .await
            {
                Ok(job) => Some(job),
                Err(e) => {
                    release(ctx, held).await;
                    ctx.printer.end_run_log();
                    return Err(e);
                }
            }
        }
        None => None,
    };
    // The bookmark the run starts from, put back should the loader leave input unread.
    let before = match &job {
        Some(job) => match store.get(&job.state_id).await {
            Ok(record) => Some(record),
            Err(e) => {
                release(ctx, held).await;
                return Err(crate::state_backend::store_error(e));
            }
        },
        None => None,
    };
    let mut result = execute(
        ctx,
        stores,
        &store,
        block,
        options,
        job.as_ref().zip(before.as_ref()),
        interrupts,
    )
    .await;
    if let (Some(job), Some(before), Ok(Err(BlockFailure::Undelivered(_)))) =
        (&job, before, &result)
    {
        let restored = match before {
            Some(record) => store.put(&job.state_id, &record).await,
            None => store.remove(&job.state_id).await,
        };
        if let Err(e) = restored {
            ctx.printer.error(&format!(
                "Could not put back the bookmark of '{}': {e}",
                job.state_id
            ));
        }
    }
    if let Some(lost) = held.as_ref().and_then(HeldLock::lost) {
        ctx.printer.error(&lost);
        if matches!(result, Ok(Ok(()))) {
            result = Ok(Err(BlockFailure::Failed(lost)));
        }
    }
    release(ctx, held).await;
    if let Some(job) = &job {
        let (run_state, error) = match &result {
            Ok(Ok(())) => (RunState::Success, None),
            Ok(Err(failure)) => (RunState::Fail, Some(failure.reason())),
            Err(e) => (RunState::Fail, Some(e.to_string())),
        };
        if let Err(e) = job::finish(stores.db, job, run_state, error.as_deref()).await {
            // The run's outcome is unknown to the next run: never report it as a success.
            ctx.printer.end_run_log();
            return Err(CliError::Meltano(format!(
                "Could not record the end of run '{}' of '{}' in the system database: {e}. \
                 Its row stays RUNNING until its heartbeat is 5 minutes old.",
                job.run_id, job.state_id
            )));
        }
    }
    // The run log stays open for the caller's closing lines ("Block run completed", …).
    result
}

/// Where states a run could not write to a file or bucket backend are kept for the next run.
fn pending_dir(project: &meltano_project::Project) -> PathBuf {
    project.sys_dir().run_dir().join("pending-state")
}

/// The refusal of a run whose state ID another process has locked.
fn lock_refusal(error: meltano_state::StoreError, el: bool) -> CliError {
    let hint = if el {
        "To ignore this check use the '--force' option."
    } else {
        "Wait until it ends (or its lock expires), or ignore this check using the '--force' option."
    };
    match error {
        e @ meltano_state::StoreError::Locked { .. } => CliError::Meltano(format!("{e} {hint}")),
        other => crate::state_backend::store_error(other),
    }
}

/// Releases a run's lock; a failure only leaves a lock that expires by itself.
async fn release(ctx: &Context, held: Option<HeldLock>) {
    if let Some(lock) = held
        && let Err(e) = lock.release().await
    {
        ctx.printer.warn(&format!(
            "Could not release the state lock (it expires by itself): {e}"
        ));
    }
}

/// Prepares the plugins, starts the processes and follows them to the end.
async fn execute(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    store: &Arc<dyn StateStore>,
    block: &ElBlock<'_>,
    options: &ElOptions,
    job: Option<(&Job, &Option<meltano_core::state::StateRecord>)>,
    interrupts: &mut Interrupts,
) -> CliResult<Result<(), BlockFailure>> {
    let current = job.map(|(_, record)| record);
    let job = job.map(|(job, _)| job);
    let project = stores.project;
    let log_level = singer_log_level(ctx);
    let extractor = Subject::Plugin {
        plugin_type: PluginType::Extractors,
        entry: block.extractor,
    };
    let settings = extractor_settings(stores, block.extractor, options).await?;

    let capabilities =
        crate::settings::capabilities(project, PluginType::Extractors, block.extractor);
    let custom_state = options.state_file.clone().or_else(|| {
        settings
            .iter()
            .find(|r| r.spec.name == "_state")
            .and_then(|r| r.value.as_ref())
            .and_then(Value::as_str)
            .map(|s| project.root().join(s))
    });
    let source = match (job, options.full_refresh, custom_state) {
        (_, true, _) => StateSource::FullRefresh,
        (_, false, Some(file)) => StateSource::File(file),
        (Some(job), false, None) => StateSource::Stored(&job.state_id, current),
        (None, false, None) => StateSource::None,
    };
    // The state the tap starts from is this run's own: other runs of the extractor (other state
    // IDs) write theirs at the same time. Removed when the run ends.
    let run_dir = project
        .sys_dir()
        .run_dir()
        .join(&block.extractor.name)
        .join(options.run_id.simple().to_string());
    let _remove_run_dir = RemoveOnDrop(run_dir.clone());
    let state_file = state::prepare_state_file(
        ctx,
        store.as_ref(),
        &run_dir,
        capabilities.iter().any(|c| c == "state"),
        source,
    )
    .await?;
    let catalog = crate::catalog::prepare_catalog(
        ctx,
        stores,
        block.extractor,
        &settings,
        options.refresh_catalog || options.full_refresh,
        state_file.as_deref(),
    )
    .await?;

    let tap = prepare(
        stores,
        extractor,
        &PrepareOptions {
            log_level,
            catalog: catalog.as_deref(),
            state: state_file.as_deref(),
            ..PrepareOptions::default()
        },
    )
    .await?;
    let upstream_env = tap.process.env.clone();
    let mut prepared: Vec<(String, Prepared)> = vec![(block.extractor.name.clone(), tap)];
    for (mapper, mapping) in &block.mappings {
        let overlay = serde_json::to_value(&mapping.config)
            .ok()
            .and_then(|v| v.as_object().cloned());
        let process = prepare(
            stores,
            Subject::Plugin {
                plugin_type: PluginType::Mappers,
                entry: mapper,
            },
            &PrepareOptions {
                log_level,
                config_overlay: overlay.as_ref(),
                upstream_env: &upstream_env,
                ..PrepareOptions::default()
            },
        )
        .await?;
        prepared.push((mapping.name.clone(), process));
    }
    let loader = prepare(
        stores,
        Subject::Plugin {
            plugin_type: PluginType::Loaders,
            entry: block.loader,
        },
        &PrepareOptions {
            log_level,
            upstream_env: &upstream_env,
            ..PrepareOptions::default()
        },
    )
    .await?;
    prepared.push((block.loader.name.clone(), loader));

    let writer = match job {
        Some(job) => Some(StateWriter::new(
            store.clone(),
            stores.db,
            job,
            StateWriter::kind_for(options.strategy, options.full_refresh),
            current.cloned().flatten(),
        )?),
        None => None,
    };
    let stages: Vec<Stage> = prepared
        .iter()
        .map(|(name, p)| Stage {
            name: name.clone(),
            process: p.process.clone(),
        })
        .collect();
    let names: Vec<String> = stages.iter().map(|s| s.name.clone()).collect();
    let followed = follow(
        ctx,
        stages,
        interrupts,
        job.map(|j| j.id),
        stores.db,
        |line| {
            let writer = writer.as_ref();
            async move {
                match writer {
                    Some(writer) => writer.accept(ctx, &line).await,
                    None => Ok(()),
                }
            }
        },
    )
    .await;
    // Config files hold secrets: removed now, whatever happened.
    drop(prepared);
    // The last confirmed state is stored before anything else is decided.
    let flushed = match writer {
        Some(writer) => writer.finish(&pending_dir(project)).await,
        None => Ok(()),
    };
    let Followed {
        outcome,
        stopped,
        tails,
        mut state_error,
    } = followed?;
    if let Err(e) = flushed {
        ctx.printer.error(&e.to_string());
        state_error.get_or_insert(e);
    }

    for (stream, count) in &outcome.records {
        ctx.printer.info(&format!(
            "Loaded {count} record{} into stream '{stream}'",
            if *count == 1 { "" } else { "s" }
        ));
    }
    let mut failure = el_failure(&outcome);
    if failure.is_none() && outcome.loader_left_input {
        // Meltano calls this a success; the records the extractor still had are lost to it.
        let sent: u64 = outcome.records.iter().map(|(_, n)| n).sum();
        failure = Some(BlockFailure::Undelivered(format!(
            "Loader '{}' exited before reading all of the extractor's output: {sent} record{} \
             had been sent to it, and the rest of the extractor's output was not delivered. The \
             bookmark was not moved.",
            names.last().map_or("loader", String::as_str),
            if sent == 1 { "" } else { "s" }
        )));
    }
    if let Some(stop) = stopped {
        failure = Some(BlockFailure::Stopped(stop));
    }
    if let Some(e) = state_error {
        failure.get_or_insert(BlockFailure::Failed(e.to_string()));
    }
    if let Some(BlockFailure::Failed(message) | BlockFailure::Undelivered(message)) = &failure {
        ctx.printer.error(message);
        let roles = std::iter::once("Extractor")
            .chain(block.mappings.iter().map(|_| "Mapper"))
            .chain(std::iter::once("Loader"));
        for (index, role) in roles.enumerate() {
            let code = outcome.exit_codes.get(index).copied().unwrap_or(0);
            if code != 0 {
                ctx.printer.error(&describe_exit(
                    role,
                    &names[index],
                    code,
                    &tails[index],
                    job.map(|j| run_log::path(project, &j.state_id, &j.run_id)),
                ));
            }
        }
    }
    Ok(match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    })
}

/// Meltano's verdict on an extract-load set's exit codes.
fn el_failure(outcome: &PipelineOutcome) -> Option<BlockFailure> {
    let codes = &outcome.exit_codes;
    let tap = codes.first().copied().unwrap_or(0);
    let target = codes.last().copied().unwrap_or(0);
    let mappers = codes.len() > 2 && codes[1..codes.len() - 1].iter().any(|c| *c != 0);
    let message = match (tap != 0, target != 0) {
        _ if outcome.intermediate_failed => "Mappers failed",
        (true, true) => "Extractor and loader failed",
        (true, false) => "Extractor failed",
        (false, true) => "Loader failed",
        (false, false) if mappers => "Mappers failed",
        (false, false) => return None,
    };
    Some(BlockFailure::Failed(message.to_string()))
}

/// What a user needs to act on a failed plugin: who, how, its last words, and where the log is.
fn describe_exit(
    role: &str,
    name: &str,
    code: i32,
    tail: &VecDeque<String>,
    log: Option<PathBuf>,
) -> String {
    let mut text = format!("{role} '{name}' exited with code {code}.");
    if !tail.is_empty() {
        text.push_str(" Its last lines on stderr:");
        for line in tail {
            text.push_str("\n    ");
            text.push_str(line);
        }
    }
    if let Some(log) = log {
        text.push_str(&format!("\nThe run log is at {}", log.display()));
    }
    text
}

/// The extractor's settings with `el --select/--exclude` and `--catalog` in force.
pub async fn extractor_settings(
    stores: &SettingsStores<'_>,
    extractor: &PluginEntry,
    options: &ElOptions,
) -> CliResult<Vec<Resolved>> {
    let mut settings = stores
        .resolve(Subject::Plugin {
            plugin_type: PluginType::Extractors,
            entry: extractor,
        })
        .await?;
    let overrides = [
        (
            "_select_filter",
            options.select_filter.clone().map(Value::from),
        ),
        (
            "_catalog",
            options
                .catalog_file
                .as_ref()
                .map(|f| Value::from(f.display().to_string())),
        ),
    ];
    for (name, value) in overrides {
        if let Some(value) = value
            && let Some(resolved) = settings.iter_mut().find(|r| r.spec.name == name)
        {
            resolved.value = Some(value);
        }
    }
    Ok(settings)
}

/// What following a set of processes to their end produced.
struct Followed {
    outcome: PipelineOutcome,
    stopped: Option<Stop>,
    /// The last stderr lines of each stage.
    tails: Vec<VecDeque<String>>,
    /// The first state the loader confirmed that could not be stored.
    state_error: Option<CliError>,
}

/// Starts `stages` and follows them: their stderr logged under their names, each stdout line of
/// the last stage handed to `on_stdout`, heartbeats for the job's row, and stops on signals or
/// the deadline (the extractor first, so the rest drains; then everything).
/// Removes a run's own directory when the run is over, whatever happened.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Hands one line of the loader to `on_stdout`; the first failure is kept for the run's result.
async fn store<F, Fut>(
    ctx: &Context,
    on_stdout: &F,
    line: Vec<u8>,
    state_error: &mut Option<CliError>,
) where
    F: Fn(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = CliResult<()>>,
{
    if let Err(e) = on_stdout(line).await {
        ctx.printer.error(&e.to_string());
        state_error.get_or_insert(e);
    }
}

async fn follow<F, Fut>(
    ctx: &Context,
    stages: Vec<Stage>,
    interrupts: &mut Interrupts,
    job_row: Option<i64>,
    db: &meltano_db::SystemDb,
    on_stdout: F,
) -> CliResult<Followed>
where
    F: Fn(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = CliResult<()>>,
{
    let names: Vec<String> = stages.iter().map(|s| s.name.clone()).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The loader's lines (its states, however large) wait for the one before to be stored: the
    // loader blocks on its stdout instead of meltano holding every state it has not stored yet.
    let (line_tx, mut lines) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let handle: PipelineHandle = meltano_runner::pipeline::start(stages, move |event| {
        match event {
            // Called on the runner's reader thread, never on the runtime.
            PipelineEvent::Stdout(line) => {
                let _ = line_tx.blocking_send(line);
            }
            other => {
                let _ = tx.send(other);
            }
        }
    })
    .map_err(CliError::meltano)?;
    let mut tails: Vec<VecDeque<String>> = vec![VecDeque::new(); names.len()];
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopped: Option<Stop> = None;
    let mut escalation: Option<(Instant, u8)> = None;
    let mut state_error = None;
    loop {
        let escalate_at = escalation.map(|(at, _)| tokio::time::Instant::from_std(at));
        tokio::select! {
            Some(line) = lines.recv() => store(ctx, &on_stdout, line, &mut state_error).await,
            event = rx.recv() => match event {
                Some(PipelineEvent::Stderr { stage, line }) => {
                    let name = names.get(stage).map_or("plugin", String::as_str);
                    ctx.printer.log_as(Level::Info, name, &line);
                    if let Some(tail) = tails.get_mut(stage) {
                        if tail.len() == STDERR_TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line);
                    }
                }
                // The loader's lines come through `lines`.
                Some(PipelineEvent::Stdout(_)) => {}
                Some(PipelineEvent::Finished(outcome)) => {
                    // The loader's stdout was read to its end before Finished: store what is left.
                    while let Ok(line) = lines.try_recv() {
                        store(ctx, &on_stdout, line, &mut state_error).await;
                    }
                    return Ok(Followed { outcome, stopped, tails, state_error });
                }
                None => {
                    return Err(CliError::Meltano("The pipeline ended without reporting how.".into()));
                }
            },
            _ = heartbeat.tick(), if job_row.is_some() => {
                if let Some(id) = job_row
                    && let Err(e) = db.heartbeat(id, job::now()).await
                {
                    ctx.printer.warn(&format!("Could not record the run's heartbeat: {e}"));
                }
            },
            stop = interrupts.next() => {
                if stopped.is_some() {
                    // Asked again: no more waiting.
                    handle.kill();
                } else {
                    ctx.printer.warn(stop.announcement());
                    stopped = Some(stop);
                    handle.stop_extractor();
                    escalation = Some((Instant::now() + DRAIN_GRACE, 0));
                }
            },
            _ = async { tokio::time::sleep_until(escalate_at.unwrap_or_else(tokio::time::Instant::now)).await }, if escalate_at.is_some() => {
                match escalation {
                    Some((_, 0)) => {
                        ctx.printer.warn("The pipeline did not stop in time: terminating its processes.");
                        handle.terminate();
                        escalation = Some((Instant::now() + Duration::from_secs(10), 1));
                    }
                    _ => {
                        handle.kill();
                        escalation = None;
                    }
                }
            },
        }
    }
}

/// Runs a plugin (or one of its commands) as a block: stdout and stderr both logged under its
/// name. Returns the failure message Meltano logs, if it failed.
pub async fn run_command_block(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    plugin_type: PluginType,
    entry: &PluginEntry,
    command: Option<&str>,
    interrupts: &mut Interrupts,
) -> CliResult<Result<(), BlockFailure>> {
    let subject = Subject::Plugin { plugin_type, entry };
    let prepared = prepare(
        stores,
        subject,
        &PrepareOptions {
            command,
            log_level: singer_log_level(ctx),
            ..PrepareOptions::default()
        },
    )
    .await?;
    let stage = Stage {
        name: entry.name.clone(),
        process: prepared.process.clone(),
    };
    let name = entry.name.clone();
    let followed = follow(ctx, vec![stage], interrupts, None, stores.db, |line| {
        let name = &name;
        async move {
            ctx.printer
                .log_as(Level::Info, name, &String::from_utf8_lossy(&line));
            Ok(())
        }
    })
    .await;
    drop(prepared);
    let followed = followed?;
    if let Some(stop) = followed.stopped {
        return Ok(Err(BlockFailure::Stopped(stop)));
    }
    let code = followed.outcome.exit_codes.first().copied().unwrap_or(1);
    if code != 0 {
        let what = match command {
            Some(command) => format!("{} {command}", entry.name),
            None => entry.name.clone(),
        };
        let message = format!("`{what}` failed with exit code: {code}");
        ctx.printer.error(&message);
        return Ok(Err(BlockFailure::Failed(message)));
    }
    Ok(Ok(()))
}
