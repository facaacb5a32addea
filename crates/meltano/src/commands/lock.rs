//! `meltano lock`: write (or refresh) the lock files of the project's index plugins, so the
//! project never needs the network to know what its plugins are.

use std::process::ExitCode;

use meltano_cli::LockArgs;
use meltano_core::PluginType;
use meltano_hub::{Definitions, lock_path, write_lock};

use crate::commands::add::hub_client;
use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};
use crate::settings::capitalize;

/// Locks every selected plugin that builds on an index definition.
pub fn run(ctx: &Context, args: LockArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["lock"])?;
    let plugin_type = args
        .plugin_type
        .as_deref()
        .map(|t| t.parse::<PluginType>().map_err(CliError::meltano))
        .transpose()?;
    let manifest = &project.manifest().manifest;
    let selected: Vec<_> = manifest
        .all_plugins()
        .filter(|(t, _)| plugin_type.is_none_or(|wanted| *t == wanted))
        .filter(|(_, p)| args.plugins.is_empty() || args.plugins.contains(&p.name))
        .collect();
    for name in &args.plugins {
        if !selected.iter().any(|(_, p)| &p.name == name) {
            return Err(CliError::Meltano(format!(
                "Plugin '{name}' is not known to Meltano."
            )));
        }
    }
    let definitions = Definitions {
        builtin: true,
        hub: Some(hub_client(&project)?),
        auto_lock: true,
    };
    let mut locked = 0;
    for (plugin_type, entry) in selected {
        let label = format!("{} '{}'", capitalize(plugin_type.descriptor()), entry.name);
        let inherits_from_project = entry
            .inherit_from
            .as_deref()
            .is_some_and(|p| manifest.find_plugin(p, Some(plugin_type)).is_some());
        if (entry.namespace.is_some() && entry.inherit_from.is_none())
            || (inherits_from_project && entry.variant.is_none())
        {
            ctx.printer.info(&format!(
                "{label} does not need a lock file: its definition is in meltano.yml."
            ));
            continue;
        }
        let name = entry.inherit_from.as_deref().unwrap_or(&entry.name);
        let variant = entry.variant.as_deref();
        let path = lock_path(project.root(), plugin_type, name, variant);
        if path.exists() && !args.update {
            ctx.printer.info(&format!(
                "{label} is already locked at {}",
                relative(&project, &path)
            ));
            continue;
        }
        let (found, _) =
            block_on(definitions.fetch(plugin_type, name, variant))?.map_err(CliError::meltano)?;
        let path = lock_path(
            project.root(),
            plugin_type,
            name,
            found.definition.variant.as_deref(),
        );
        write_lock(&path, &found.definition).map_err(CliError::meltano)?;
        locked += 1;
        ctx.printer.out(&format!("Locked definition for {label}"));
    }
    ctx.printer
        .info(&format!("Locked {locked} plugin definition(s)"));
    Ok(ExitCode::SUCCESS)
}

fn relative(project: &meltano_project::Project, path: &std::path::Path) -> String {
    path.strip_prefix(project.root())
        .unwrap_or(path)
        .display()
        .to_string()
}
