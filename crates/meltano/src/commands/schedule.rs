//! `meltano schedule add|list|set|remove|run`: entries of `schedules:` in meltano.yml, each running
//! a job (`meltano run JOB`) or a legacy extract-load (`meltano elt TAP TARGET`) at an interval.
//!
//! `schedule list --format json` is what Airflow DAG generators read, so its fields follow
//! Meltano's field for field. `schedule run` starts this executable again as `meltano run` or
//! `meltano elt` and exits with its exit code.

use std::ffi::OsString;
use std::process::{Command, ExitCode, ExitStatus};

use chrono::{NaiveDateTime, Timelike};
use clap::ValueEnum;
use meltano_cli::{
    Cli, ExportFormat, LogLevel, OutputFormat, ScheduleAddArgs, ScheduleArgs, ScheduleCommand,
    ScheduleExportArgs, ScheduleSetArgs, Transform, normalize_args,
};
use meltano_core::env_vars;
use meltano_core::pyjson::dumps_indent2;
use meltano_core::schedule::Interval;
use meltano_db::SystemDb;
use meltano_project::Project;
use meltano_project::manifest::{Schedule, ScheduleTarget};
use serde_json::{Map, Value, json};

use crate::commands::job::{notice, tasks_text};
use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::pipeline::job::fail_stale_runs;
use crate::usage::usage_error;

const GROUP: &[&str] = &["schedule"];

/// The key order Meltano writes a schedule in.
const SCHEDULE_KEYS: &[&str] = &[
    "name",
    "interval",
    "env",
    "job",
    "extractor",
    "loader",
    "transform",
];

/// Runs one `meltano schedule` subcommand.
pub fn run(ctx: &Context, args: ScheduleArgs) -> CliResult<ExitCode> {
    let project = ctx.project(GROUP)?;
    let environment = ctx.environment(&project, EnvironmentPolicy::ExplicitOnly("schedule"))?;
    let database_uri = args.db.database_uri.as_deref();
    match args.command {
        ScheduleCommand::Add(add_args) => add(ctx, &project, add_args),
        ScheduleCommand::List { format } => list(ctx, &project, format, database_uri),
        ScheduleCommand::Remove { name } => remove(&project, &name),
        ScheduleCommand::Run { name, elt_options } => {
            let child = ChildOptions {
                environment: environment.as_deref(),
                database_uri,
            };
            run_schedule(ctx, &project, &name, &elt_options, &child)
        }
        ScheduleCommand::Set(set_args) => set(ctx, &project, set_args),
        ScheduleCommand::Start => start(ctx, &project),
        ScheduleCommand::Export(export_args) => export(ctx, &project, export_args),
    }
}

/// `schedule start`: the built-in scheduler until a signal stops it.
fn start(ctx: &Context, project: &Project) -> CliResult<ExitCode> {
    // The project's `.env` may choose the time zone; the process environment wins.
    if std::env::var_os("TZ").is_none()
        && let Some(zone) = project.env_var("TZ")
    {
        crate::set_env("TZ", &zone);
    }
    let clock = crate::scheduler::clock_from_env(project)?;
    block_on(crate::scheduler::run(ctx, project, clock.as_ref()))??;
    Ok(ExitCode::SUCCESS)
}

/// `schedule export`: a crontab or Kubernetes CronJobs on stdout.
fn export(ctx: &Context, project: &Project, args: ScheduleExportArgs) -> CliResult<ExitCode> {
    let time_zone = args.timezone.or_else(|| project.env_var("TZ"));
    let text = match args.format {
        ExportFormat::Crontab => {
            let program = std::env::current_exe().map_err(CliError::meltano)?;
            crate::schedule_export::crontab(project, &program, time_zone.as_deref())?
        }
        ExportFormat::Kubernetes => crate::schedule_export::kubernetes(
            project,
            &crate::schedule_export::KubernetesOptions {
                image: args.image,
                secret: args.secret,
                namespace: args.namespace,
                time_zone,
                working_dir: args.working_dir,
            },
        )?,
    };
    ctx.printer.out(text.trim_end());
    Ok(ExitCode::SUCCESS)
}

/// Checks an interval as Meltano does before anything else happens.
fn check_interval(text: &str) -> CliResult<()> {
    Interval::parse(text)
        .map(|_| ())
        .map_err(|e| CliError::Meltano(e.to_string()))
}

/// An option as Python tests it: given and not empty.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn transform_name(transform: Transform) -> String {
    transform
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Appends a job schedule or an ELT schedule to meltano.yml.
fn add(ctx: &Context, project: &Project, args: ScheduleAddArgs) -> CliResult<ExitCode> {
    check_interval(&args.interval)?;
    let job = given(&args.job);
    let (extractor, loader) = (given(&args.extractor), given(&args.loader));
    if job.is_some() && (extractor.is_some() || loader.is_some()) {
        return Err(CliError::Click(
            "Cannot mix --job with --extractor/--loader/--transform".to_string(),
        ));
    }
    let mut entry = Map::new();
    entry.insert("name".into(), Value::String(args.name.clone()));
    entry.insert("interval".into(), Value::String(args.interval.clone()));
    let kind = match (job, extractor, loader) {
        (Some(job), _, _) => {
            entry.insert("job".into(), Value::String(job.to_string()));
            "job"
        }
        (None, None, _) => {
            return Err(usage_error(
                &["schedule", "add"],
                "Missing --extractor".to_string(),
            ));
        }
        (None, Some(_), None) => {
            return Err(usage_error(
                &["schedule", "add"],
                "Missing --loader".to_string(),
            ));
        }
        (None, Some(extractor), Some(loader)) => {
            entry.insert("extractor".into(), Value::String(extractor.to_string()));
            entry.insert("loader".into(), Value::String(loader.to_string()));
            entry.insert(
                "transform".into(),
                Value::String(transform_name(args.transform)),
            );
            "elt"
        }
    };
    project.ensure_writable().map_err(CliError::meltano)?;
    if project.manifest().schedule_origin(&args.name).is_some() {
        notice(ctx, &format!("Schedule '{}' already exists.", args.name));
        return Ok(ExitCode::SUCCESS);
    }
    let mut file = project
        .edit(&project.manifest_path())
        .map_err(CliError::meltano)?;
    file.add_list_entry("schedules", &entry)
        .map_err(CliError::meltano)?;
    file.save().map_err(CliError::meltano)?;
    ctx.printer.out(&format!(
        "Scheduled {kind} '{}' at {}",
        args.name, args.interval
    ));
    Ok(ExitCode::SUCCESS)
}

/// The schedule named `name`, or Meltano's error.
fn find<'a>(project: &'a Project, name: &str) -> CliResult<&'a Schedule> {
    project
        .manifest()
        .manifest
        .schedules
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| CliError::Meltano(format!("Schedule '{name}' was not found.")))
}

/// Changes the given keys of a schedule in the file that defines it.
fn set(ctx: &Context, project: &Project, args: ScheduleSetArgs) -> CliResult<ExitCode> {
    if let Some(interval) = &args.interval {
        check_interval(interval)?;
    }
    let schedule = find(project, &args.name)?;
    let mixed = match schedule.target() {
        Some(ScheduleTarget::Job(_)) => {
            given(&args.extractor).is_some()
                || given(&args.loader).is_some()
                || args.transform.is_some()
        }
        _ => given(&args.job).is_some(),
    };
    if mixed {
        return Err(CliError::Click(
            "Cannot mix --job with --extractor/--loader/--transform".to_string(),
        ));
    }
    let mut changes: Vec<(&str, String)> = Vec::new();
    if let Some(interval) = given(&args.interval) {
        changes.push(("interval", interval.to_string()));
    }
    for (key, value) in [
        ("job", &args.job),
        ("extractor", &args.extractor),
        ("loader", &args.loader),
    ] {
        if let Some(value) = given(value) {
            changes.push((key, value.to_string()));
        }
    }
    if let Some(transform) = args.transform {
        changes.push(("transform", transform_name(transform)));
    }
    project.ensure_writable().map_err(CliError::meltano)?;
    let not_found = || CliError::Meltano(format!("Schedule '{}' was not found.", args.name));
    let origin = project
        .manifest()
        .schedule_origin(&args.name)
        .ok_or_else(not_found)?;
    let mut file = project.edit(origin).map_err(CliError::meltano)?;
    for (key, value) in changes {
        let value = Value::String(value);
        if !file
            .set_list_entry_value("schedules", &args.name, key, &value, SCHEDULE_KEYS)
            .map_err(CliError::meltano)?
        {
            return Err(not_found());
        }
    }
    file.save().map_err(CliError::meltano)?;
    ctx.printer
        .out(&format!("Updated schedule '{}'", args.name));
    Ok(ExitCode::SUCCESS)
}

/// Removes a schedule from the file that defines it; Meltano prints nothing.
fn remove(project: &Project, name: &str) -> CliResult<ExitCode> {
    project.ensure_writable().map_err(CliError::meltano)?;
    let not_found = || CliError::Meltano(format!("Schedule '{name}' was not found."));
    let origin = project
        .manifest()
        .schedule_origin(name)
        .ok_or_else(not_found)?;
    let mut file = project.edit(origin).map_err(CliError::meltano)?;
    if !file
        .remove_list_entry("schedules", name)
        .map_err(CliError::meltano)?
    {
        return Err(not_found());
    }
    file.save().map_err(CliError::meltano)?;
    Ok(ExitCode::SUCCESS)
}

/// Lists schedules as text lines or Meltano's JSON, after failing stale runs as Meltano does.
fn list(
    ctx: &Context,
    project: &Project,
    format: OutputFormat,
    database_uri: Option<&str>,
) -> CliResult<ExitCode> {
    block_on(async {
        let db = ctx.database(project, database_uri).await?;
        let result = async {
            fail_stale_runs(ctx, &db, None).await?;
            match format {
                OutputFormat::Text => list_text(ctx, project),
                OutputFormat::Json => {
                    let listed = list_json(project, &db).await?;
                    ctx.printer.out(&dumps_indent2(&listed));
                    Ok(())
                }
            }
        }
        .await;
        db.close().await;
        result
    })??;
    Ok(ExitCode::SUCCESS)
}

/// The tasks of the job a schedule runs, or Meltano's error.
fn job_tasks(project: &Project, job: &str) -> CliResult<Value> {
    let found = project
        .manifest()
        .manifest
        .jobs
        .iter()
        .find(|j| j.name == job)
        .ok_or_else(|| CliError::Meltano(format!("Job '{job}' was not found.")))?;
    serde_json::to_value(&found.tasks).map_err(CliError::meltano)
}

/// `[interval] job name: job → tasks` and `[interval] elt name: tap → target → transforms`, one
/// schedule per line, printed as they come (a missing job stops the listing there).
fn list_text(ctx: &Context, project: &Project) -> CliResult<()> {
    for schedule in &project.manifest().manifest.schedules {
        let interval = schedule.interval.as_deref().unwrap_or("None");
        match schedule.target() {
            Some(ScheduleTarget::Job(job)) => {
                let tasks = job_tasks(project, job)?;
                ctx.printer.out(&format!(
                    "[{interval}] job {}: {job} → {}",
                    schedule.name,
                    tasks_text(&tasks)
                ));
            }
            Some(ScheduleTarget::Elt {
                extractor,
                loader,
                transform,
            }) => {
                let (first, second) = match transform {
                    "run" => ("→", "→"),
                    "only" => ("×", "→"),
                    _ => ("→", "x"),
                };
                ctx.printer.out(&format!(
                    "[{interval}] elt {}: {extractor} {first} {loader} {second} transforms",
                    schedule.name
                ));
            }
            None => {}
        }
    }
    Ok(())
}

/// `{"schedules": {"job": [...], "elt": [...]}}`, each field as Meltano writes it.
async fn list_json(project: &Project, db: &SystemDb) -> CliResult<Value> {
    let mut jobs = Vec::new();
    let mut elts = Vec::new();
    for schedule in &project.manifest().manifest.schedules {
        let env: Map<String, Value> = schedule
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let interval = schedule.interval.clone();
        let cron = interval.as_deref().and_then(cron_interval);
        match schedule.target() {
            Some(ScheduleTarget::Job(job)) => {
                let tasks = job_tasks(project, job)?;
                jobs.push(json!({
                    "name": schedule.name,
                    "interval": interval,
                    "cron_interval": cron,
                    "env": env,
                    "job": {"name": job, "tasks": tasks},
                }));
            }
            Some(ScheduleTarget::Elt {
                extractor,
                loader,
                transform,
            }) => {
                let ended = db
                    .last_success_ended_at(&schedule.name)
                    .await
                    .map_err(CliError::meltano)?;
                elts.push(json!({
                    "name": schedule.name,
                    "extractor": extractor,
                    "loader": loader,
                    "transform": transform,
                    "interval": interval,
                    "env": env,
                    "cron_interval": cron,
                    "last_successful_run_ended_at": ended.map(python_utc_isoformat),
                    "elt_args": elt_args(&schedule.name, extractor, loader, transform),
                }));
            }
            None => {}
        }
    }
    Ok(json!({"schedules": {"job": jobs, "elt": elts}}))
}

/// Meltano's `cron_interval`: the cron an alias stands for (None for `@once`, `@manual`, `@none`),
/// any other interval as written.
fn cron_interval(interval: &str) -> Option<String> {
    if interval.is_empty() {
        return None;
    }
    // Meltano looks aliases up as written, so only the exact lowercase spelling is translated.
    let alias = interval.starts_with('@')
        && interval.trim() == interval
        && !interval.chars().any(|c| c.is_ascii_uppercase());
    match Interval::parse(interval) {
        Ok(parsed) if alias => parsed.cron_interval().map(str::to_string),
        _ => Some(interval.to_string()),
    }
}

/// A naive UTC time as Python's `isoformat()` of an aware one: microseconds only when non-zero.
fn python_utc_isoformat(at: NaiveDateTime) -> String {
    let micros = at.nanosecond() / 1000;
    if micros == 0 {
        at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        format!("{}.{micros:06}+00:00", at.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// The arguments of `meltano elt` for an ELT schedule; its name is the state ID.
fn elt_args(name: &str, extractor: &str, loader: &str, transform: &str) -> Vec<String> {
    vec![
        extractor.to_string(),
        loader.to_string(),
        format!("--transform={transform}"),
        format!("--state-id={name}"),
    ]
}

/// What `schedule run` hands on to the process it starts, besides the schedule's own `env`.
struct ChildOptions<'a> {
    /// The environment this command activated (explicitly), which the child gets as
    /// `MELTANO_ENVIRONMENT`; without one the child picks its own (the default environment).
    environment: Option<&'a str>,
    /// `meltano schedule --database-uri`, which the child gets as `MELTANO_DATABASE_URI`.
    database_uri: Option<&'a str>,
}

/// Runs `meltano run [ARGS]... JOB` or `meltano elt TAP TARGET ... [ARGS]...` as a child process
/// with the schedule's `env`, and exits with its exit code.
fn run_schedule(
    ctx: &Context,
    project: &Project,
    name: &str,
    extra: &[String],
    options: &ChildOptions<'_>,
) -> CliResult<ExitCode> {
    let schedule = find(project, name)?;
    let mut args: Vec<OsString> = Vec::new();
    if let Some(env_file) = &ctx.globals.env_file {
        args.push("--env-file".into());
        args.push(env_file.clone().into_os_string());
    }
    match schedule.target() {
        Some(ScheduleTarget::Job(job)) => {
            args.push("run".into());
            args.extend(extra.iter().map(OsString::from));
            args.push(job.into());
        }
        Some(ScheduleTarget::Elt {
            extractor,
            loader,
            transform,
        }) => {
            args.push("elt".into());
            args.extend(
                elt_args(name, extractor, loader, transform)
                    .into_iter()
                    .map(OsString::from),
            );
            args.extend(extra.iter().map(OsString::from));
        }
        None => {
            return Err(CliError::Meltano(format!(
                "Schedule '{name}' names neither a job nor an extractor and a loader."
            )));
        }
    }
    let exe = std::env::current_exe().map_err(CliError::meltano)?;
    let mut command = Command::new(exe);
    command.args(&args);
    command.env(env_vars::MELTANO_PROJECT_ROOT, project.root());
    match options.environment {
        Some(environment) => command.env(env_vars::MELTANO_ENVIRONMENT, environment),
        None => command.env_remove(env_vars::MELTANO_ENVIRONMENT),
    };
    command.envs(&project.manifest().manifest.env);
    for (name, value) in global_overrides() {
        command.env(name, value);
    }
    if let Some(uri) = options.database_uri {
        command.env(env_vars::MELTANO_DATABASE_URI, uri);
    }
    command.envs(&schedule.env);
    ctx.printer.debug(&format!(
        "Running schedule '{name}': meltano {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let status = wait_passing_sigterm(command)?;
    match meltano_runner::process::exit_code(status) {
        0 => Ok(ExitCode::SUCCESS),
        code => Err(CliError::Exit(u8::try_from(code).unwrap_or(1))),
    }
}

/// The global options of this command line that Meltano hands to the child as settings
/// (`--log-level` as `MELTANO_CLI_LOG_LEVEL`, ...).
fn global_overrides() -> Vec<(&'static str, String)> {
    let Ok(cli) = <Cli as clap::Parser>::try_parse_from(normalize_args(std::env::args())) else {
        return Vec::new();
    };
    let name = |value: Option<clap::builder::PossibleValue>| {
        value
            .map(|v| v.get_name().replace('-', "_"))
            .unwrap_or_default()
    };
    let mut overrides = Vec::new();
    if let Some(level) = cli.log_level {
        overrides.push((
            env_vars::MELTANO_CLI_LOG_LEVEL,
            name(LogLevel::to_possible_value(&level)),
        ));
    }
    if let Some(format) = cli.log_format {
        overrides.push((
            env_vars::MELTANO_CLI_LOG_FORMAT,
            name(format.to_possible_value()),
        ));
    }
    if let Some(config) = cli.log_config {
        overrides.push((env_vars::MELTANO_CLI_LOG_CONFIG, config));
    }
    overrides
}

/// Starts `command` with the terminal inherited and waits for it. SIGTERM is passed on; Ctrl-C,
/// which the terminal sends to the child as well, leaves this process waiting for the child.
fn wait_passing_sigterm(mut command: Command) -> CliResult<ExitStatus> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(CliError::meltano)?;
    let handle = signals.handle();
    let mut child = command.spawn().map_err(CliError::meltano)?;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let forwarder = std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGTERM {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
        }
    });
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    status.map_err(CliError::meltano)
}
