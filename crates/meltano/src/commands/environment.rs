//! `meltano environment add|list|remove`.

use std::process::ExitCode;

use crate::context::Context;
use crate::error::{CliError, CliResult};

const GROUP: &[&str] = &["environment"];

/// Appends `- name: <name>` to `environments` in meltano.yml.
pub fn add(ctx: &Context, name: &str) -> CliResult<ExitCode> {
    let project = ctx.project(GROUP)?;
    if project.manifest().manifest.environment(name).is_some() {
        return Err(CliError::Meltano(format!(
            "An Environment named '{name}' already exists."
        )));
    }
    if name.contains(':') {
        return Err(CliError::Meltano(format!(
            "Environment name '{name}' may not contain ':'. Choose a name without it."
        )));
    }
    project.ensure_writable().map_err(CliError::meltano)?;
    let mut file = project
        .edit(&project.manifest_path())
        .map_err(CliError::meltano)?;
    file.add_environment(name).map_err(CliError::meltano)?;
    file.save().map_err(CliError::meltano)?;
    ctx.printer
        .out(&format!("Created new environment '{name}'"));
    Ok(ExitCode::SUCCESS)
}

/// Prints each environment's name, in file order.
pub fn list(ctx: &Context) -> CliResult<ExitCode> {
    let project = ctx.project(GROUP)?;
    for environment in &project.manifest().manifest.environments {
        ctx.printer.out(&environment.name);
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes the environment from the file that defines it.
pub fn remove(ctx: &Context, name: &str) -> CliResult<ExitCode> {
    let project = ctx.project(GROUP)?;
    let not_found = || CliError::Meltano(format!("Environment '{name}' was not found."));
    let origin = project
        .manifest()
        .environment_origin(name)
        .ok_or_else(not_found)?;
    project.ensure_writable().map_err(CliError::meltano)?;
    let mut file = project.edit(origin).map_err(CliError::meltano)?;
    if !file.remove_environment(name).map_err(CliError::meltano)? {
        return Err(not_found());
    }
    file.save().map_err(CliError::meltano)?;
    ctx.printer.out(&format!("Removed environment '{name}'"));
    Ok(ExitCode::SUCCESS)
}
