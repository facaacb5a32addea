//! `meltano lock`: write (or refresh) the lock files of the project's index plugins, so the
//! project never needs the network to know what its plugins are.

use std::process::ExitCode;

use meltano_cli::LockArgs;
use meltano_core::PluginType;
use meltano_hub::{
    DefinitionSource, Definitions, ResolveError, UnknownPlugin, lock_path, write_lock,
};
use meltano_project::manifest::PluginEntry;

use crate::context::{Context, block_on};
use crate::definitions::project_definitions;
use crate::error::{CliError, CliResult};
use crate::printer::Printer;
use crate::settings::capitalize;

/// Locks every selected plugin that builds on an index definition; custom and inherited plugins
/// are reported and skipped, an existing lock file is an error row unless `--update`.
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
    if selected.is_empty() {
        return Err(CliError::Meltano("No matching plugin(s) found".into()));
    }
    let definitions = project_definitions(&project, "meltano lock")?;
    ctx.printer
        .info(&format!("Locking {} plugin(s)...", selected.len()));
    for (plugin_type, entry) in selected {
        let descriptor = format!("{} {}", plugin_type.descriptor(), entry.name);
        if entry.namespace.is_some() && entry.inherit_from.is_none() {
            ctx.printer
                .warn(&format!("{} is a custom plugin", capitalize(&descriptor)));
            continue;
        }
        if entry.inherit_from.is_some() {
            ctx.printer.warn(&format!(
                "{} is an inherited plugin",
                capitalize(&descriptor)
            ));
            continue;
        }
        lock_one(
            ctx,
            &project,
            &definitions,
            plugin_type,
            entry,
            &descriptor,
            args.update,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Fetches and writes one plugin's lock file; an existing one is reported unless `update`.
fn lock_one(
    ctx: &Context,
    project: &meltano_project::Project,
    definitions: &Definitions,
    plugin_type: PluginType,
    entry: &PluginEntry,
    descriptor: &str,
    update: bool,
) -> CliResult<()> {
    let name = entry.name.as_str();
    let variant = entry.variant.as_deref();
    // A named variant's lock file is known before asking any index: a locked project stays offline.
    if variant.is_some() {
        let path = lock_path(project.root(), plugin_type, name, variant);
        if path.exists() && !update {
            lock_exists(&ctx.printer, project, descriptor, &path);
            return Ok(());
        }
    }
    let (found, source) =
        block_on(definitions.fetch(plugin_type, name, variant))?.map_err(|error| match error {
            // `lock` names an unknown plugin without pointing at the Hub, as Meltano does.
            ResolveError::Unknown(UnknownPlugin::Name { plugin_type, name }) => {
                CliError::Meltano(format!(
                    "{} '{name}' is not known to Meltano.",
                    capitalize(plugin_type.descriptor())
                ))
            }
            other => CliError::meltano(other),
        })?;
    // Meltano logs this before it requests the definition, once the index has the plugin.
    if source == DefinitionSource::Hub {
        ctx.printer
            .info("Fetching plugin definition from Meltano Hub");
    }
    let mut definition = found.definition;
    definition.plugin_type = Some(plugin_type);
    let path = lock_path(
        project.root(),
        plugin_type,
        name,
        definition.variant.as_deref(),
    );
    if path.exists() && !update {
        lock_exists(&ctx.printer, project, descriptor, &path);
        return Ok(());
    }
    write_lock(&path, &definition).map_err(CliError::meltano)?;
    ctx.printer
        .info(&format!("Locked definition for {descriptor}"));
    Ok(())
}

fn lock_exists(
    printer: &Printer,
    project: &meltano_project::Project,
    descriptor: &str,
    path: &std::path::Path,
) {
    let relative = path.strip_prefix(project.root()).unwrap_or(path);
    printer.error(&format!(
        "Lockfile exists for {descriptor} at {}",
        relative.display()
    ));
}
