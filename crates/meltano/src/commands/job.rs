//! `meltano job add|list|set|remove`: named lists of tasks in `jobs:` of meltano.yml, each task a
//! set of blocks as `meltano run` takes them, checked the way `meltano run` forms blocks.

use std::io::IsTerminal;
use std::process::ExitCode;

use indexmap::IndexMap;
use meltano_cli::{JobArgs, JobCommand, OutputFormat};
use meltano_core::blocks::{BlockError, expand_jobs, parse_blocks};
use meltano_core::pyjson::dumps_indent2;
use meltano_core::settings::repr::py_repr;
use meltano_project::Project;
use serde_json::{Map, Value, json};

use crate::commands::run::referent;
use crate::context::{Context, EnvironmentPolicy};
use crate::error::{CliError, CliResult};

const GROUP: &[&str] = &["job"];

/// The key order of a job entry.
const JOB_KEYS: &[&str] = &["name", "tasks"];

/// Runs one `meltano job` subcommand.
pub fn run(ctx: &Context, args: JobArgs) -> CliResult<ExitCode> {
    let project = ctx.project(GROUP)?;
    ctx.environment(&project, EnvironmentPolicy::ExplicitOnly("job"))?;
    match args.command {
        JobCommand::Add { job_name, tasks } => add(ctx, &project, &job_name, &tasks),
        JobCommand::List { job_name, format } => list(ctx, &project, job_name.as_deref(), format),
        JobCommand::Set { job_name, tasks } => set(ctx, &project, &job_name, &tasks),
        JobCommand::Remove { job_name } => remove(ctx, &project, &job_name),
    }
}

/// Appends the job to meltano.yml once its tasks parse and form valid blocks.
fn add(ctx: &Context, project: &Project, name: &str, raw: &str) -> CliResult<ExitCode> {
    let tasks = parse_tasks(name, raw).map_err(CliError::Meltano)?;
    validate(ctx, project, name, &tasks).map_err(CliError::Meltano)?;
    if project.manifest().job_origin(name).is_some() {
        return Err(CliError::Meltano(format!("Job '{name}' already exists.")));
    }
    project.ensure_writable().map_err(CliError::meltano)?;
    let mut entry = Map::new();
    entry.insert("name".into(), Value::String(name.to_string()));
    entry.insert("tasks".into(), Value::Array(tasks.clone()));
    let mut file = project
        .edit(&project.manifest_path())
        .map_err(CliError::meltano)?;
    file.add_list_entry("jobs", &entry)
        .map_err(CliError::meltano)?;
    file.save().map_err(CliError::meltano)?;
    ctx.printer.out(&format!(
        "Added job {name}: {}",
        py_repr(&Value::Array(tasks))
    ));
    Ok(ExitCode::SUCCESS)
}

/// Replaces the job's tasks in the file that defines it.
fn set(ctx: &Context, project: &Project, name: &str, raw: &str) -> CliResult<ExitCode> {
    let tasks = parse_tasks(name, raw).map_err(CliError::Meltano)?;
    validate(ctx, project, name, &tasks).map_err(CliError::Meltano)?;
    project.ensure_writable().map_err(CliError::meltano)?;
    let Some(origin) = project.manifest().job_origin(name) else {
        notice(ctx, &format!("Job '{name}' does not exist."));
        return Ok(ExitCode::SUCCESS);
    };
    let mut file = project.edit(origin).map_err(CliError::meltano)?;
    let value = Value::Array(tasks.clone());
    if !file
        .set_list_entry_value("jobs", name, "tasks", &value, JOB_KEYS)
        .map_err(CliError::meltano)?
    {
        notice(ctx, &format!("Job '{name}' does not exist."));
        return Ok(ExitCode::SUCCESS);
    }
    file.save().map_err(CliError::meltano)?;
    ctx.printer
        .out(&format!("Updated job {name}: {}", py_repr(&value)));
    Ok(ExitCode::SUCCESS)
}

/// Removes the job from the file that defines it.
fn remove(ctx: &Context, project: &Project, name: &str) -> CliResult<ExitCode> {
    project.ensure_writable().map_err(CliError::meltano)?;
    let not_found = || CliError::Meltano(format!("Job '{name}' was not found."));
    let origin = project.manifest().job_origin(name).ok_or_else(not_found)?;
    let mut file = project.edit(origin).map_err(CliError::meltano)?;
    if !file
        .remove_list_entry("jobs", name)
        .map_err(CliError::meltano)?
    {
        return Err(not_found());
    }
    file.save().map_err(CliError::meltano)?;
    ctx.printer.out(&format!("Removed job '{name}'."));
    Ok(ExitCode::SUCCESS)
}

/// Every job, or one, as `name: tasks` lines or JSON.
fn list(
    ctx: &Context,
    project: &Project,
    name: Option<&str>,
    format: OutputFormat,
) -> CliResult<ExitCode> {
    let jobs = &project.manifest().manifest.jobs;
    let tasks_of = |job: &meltano_project::manifest::Job| {
        serde_json::to_value(&job.tasks).map_err(CliError::meltano)
    };
    if let Some(name) = name {
        let Some(job) = jobs.iter().find(|j| j.name == name) else {
            notice(ctx, &format!("Job '{name}' does not exist."));
            return Ok(ExitCode::SUCCESS);
        };
        let tasks = tasks_of(job)?;
        match format {
            OutputFormat::Text => ctx.printer.out(&format!("{name}: {}", tasks_text(&tasks))),
            OutputFormat::Json => ctx.printer.out(&dumps_indent2(
                &json!({"job_name": job.name, "tasks": tasks}),
            )),
        }
        return Ok(ExitCode::SUCCESS);
    }
    match format {
        OutputFormat::Text => {
            for job in jobs {
                ctx.printer
                    .out(&format!("{}: {}", job.name, tasks_text(&tasks_of(job)?)));
            }
        }
        OutputFormat::Json => {
            let mut listed = Vec::with_capacity(jobs.len());
            for job in jobs {
                listed.push(json!({"job_name": job.name, "tasks": tasks_of(job)?}));
            }
            ctx.printer.out(&dumps_indent2(&json!({ "jobs": listed })));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Tasks as Python's `str()` shows them: a string as it is, a list as its `repr`.
pub(crate) fn tasks_text(tasks: &Value) -> String {
    match tasks {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// A line of command output in yellow (on a terminal), as Meltano shows "does not exist" and
/// "already exists" answers that are not errors.
pub(crate) fn notice(ctx: &Context, text: &str) {
    if std::io::stdout().is_terminal() {
        ctx.printer.out(&format!("\x1b[33m{text}\x1b[0m"));
    } else {
        ctx.printer.out(text);
    }
}

/// `--tasks` as Meltano reads it: YAML holding a string or a list of strings and lists of strings.
/// A single string becomes a list of one task.
fn parse_tasks(name: &str, raw: &str) -> Result<Vec<Value>, String> {
    let invalid = |message: String| format!("Job '{name}' has invalid tasks. {message}");
    let blank = raw
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    let tasks: Value = if blank {
        Value::Null
    } else {
        serde_saphyr::from_str(raw)
            .map_err(|e| invalid(format!("Failed to parse yaml '{raw}': {e}")))?
    };
    check_schema(&tasks).map_err(|e| invalid(format!("Failed to validate task schema: {e}")))?;
    Ok(match tasks {
        Value::Array(items) => items,
        single => vec![single],
    })
}

/// Checks `tasks` against Meltano's schema for them (a string, or a list whose items are strings
/// or lists of strings), explaining a mismatch as Python's `jsonschema` does.
fn check_schema(tasks: &Value) -> Result<(), String> {
    const TOP: &str = "{'oneOf': [{'type': 'string'},\n               {'type': 'array',\n                \
                       'items': {'oneOf': [{'type': 'string'},\n                                    \
                       {'type': 'array',\n                                     \
                       'items': {'type': 'string'}}]}}]}";
    const ITEM: &str = "{'oneOf': [{'type': 'string'},\n               \
                        {'type': 'array', 'items': {'type': 'string'}}]}";
    let items = match tasks {
        Value::String(_) => return Ok(()),
        Value::Array(items) => items,
        other => {
            let repr = py_repr(other);
            return Err(format!(
                "{repr} is not valid under any of the given schemas\n\n\
                 Failed validating 'oneOf' in schema:\n    {TOP}\n\nOn instance:\n    {repr}"
            ));
        }
    };
    for (index, item) in items.iter().enumerate() {
        match item {
            Value::String(_) => {}
            Value::Array(inner) => {
                if let Some(bad) = inner.iter().find(|v| !v.is_string()) {
                    let repr = py_repr(bad);
                    return Err(format!(
                        "{repr} is not of type 'string'\n\n\
                         Failed validating 'type' in schema[1]['items']:\n    {{'type': 'string'}}\n\n\
                         On instance[{index}]:\n    {repr}"
                    ));
                }
            }
            other => {
                let repr = py_repr(other);
                return Err(format!(
                    "{repr} is not valid under any of the given schemas\n\n\
                     Failed validating 'oneOf' in schema[1]['items']:\n    {ITEM}\n\n\
                     On instance[{index}]:\n    {repr}"
                ));
            }
        }
    }
    Ok(())
}

/// Checks that each task forms valid blocks, as `meltano run` would form them.
fn validate(ctx: &Context, project: &Project, name: &str, tasks: &[Value]) -> Result<(), String> {
    let jobs: IndexMap<String, Vec<String>> = project
        .manifest()
        .manifest
        .jobs
        .iter()
        .map(|job| (job.name.clone(), job.tasks.blocks()))
        .collect();
    for task in tasks {
        let tokens = task_tokens(task);
        let blocks = expand_jobs(&tokens, &jobs, |n| referent(project, n).is_some())
            .and_then(|tokens| parse_blocks(&tokens, |n| referent(project, n)));
        if let Err(error) = blocks {
            warn_mapper_plugin_name(ctx, &error);
            return Err(format!("Job '{name}' has invalid tasks. {error}"));
        }
    }
    Ok(())
}

/// The block names of one task: its strings split at each space, as Meltano splits them (two
/// spaces in a row make an empty name, which is not found).
fn task_tokens(task: &Value) -> Vec<String> {
    let split = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    match task {
        Value::String(s) => split(s),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split)
            .collect(),
        _ => Vec::new(),
    }
}

/// Meltano's warning before the error for a mapper named by its plugin name, not a mapping.
pub(crate) fn warn_mapper_plugin_name(ctx: &Context, error: &BlockError) {
    if let BlockError::Set(reason) = error
        && reason.starts_with("Expected unique mappings name")
    {
        ctx.printer.warn("Found unexpected mapper plugin name.");
    }
}
