//! `meltano invoke`: run one plugin (or one of its commands) with its configuration, attached to
//! the terminal; the plugin's exit code is ours.

use std::process::ExitCode;

use meltano_cli::{DumpKind, InvokeArgs};
use meltano_core::PluginType;

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::installer::{self, AutoInstall};
use crate::invocation::{PrepareOptions, plugin_commands, prepare};
use crate::settings::{SettingsStores, Subject, plugin_config};

/// Runs the plugin, or answers `--list-commands`, `--dump` and `--print-var`.
pub fn run(ctx: &Context, args: InvokeArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["invoke"])?;
    let environment_name = ctx.environment(&project, EnvironmentPolicy::DefaultUsed)?;
    let environment = environment_name
        .as_deref()
        .and_then(|n| project.manifest().manifest.environment(n));
    let plugin_type = args
        .plugin_type
        .as_deref()
        .map(|t| t.parse::<PluginType>().map_err(CliError::meltano))
        .transpose()?;
    let (name, command) = match args.plugin.split_once(':') {
        Some((name, command)) => (name, Some(command)),
        None => (args.plugin.as_str(), None),
    };
    if args.containers {
        ctx.printer
            .warn("--containers is not supported: the plugin runs directly on this machine");
    }
    let level = match ctx.printer.level() {
        meltano_cli::LogLevel::Debug => "debug",
        meltano_cli::LogLevel::Info => "info",
        meltano_cli::LogLevel::Warning => "warning",
        meltano_cli::LogLevel::Error => "error",
        meltano_cli::LogLevel::Critical | meltano_cli::LogLevel::Disabled => "critical",
    };
    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment,
            db: &db,
        };
        let result = invoke(ctx, &stores, plugin_type, name, command, &args, level).await;
        db.close().await;
        result
    })?
}

async fn invoke(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    plugin_type: Option<PluginType>,
    name: &str,
    command: Option<&str>,
    args: &InvokeArgs,
    level: &str,
) -> CliResult<ExitCode> {
    // A mapping's name invokes its mapper with the mapping's `config:`.
    let (found, overlay) = match find_mapping(stores.project, name, plugin_type) {
        Some((mapper, config)) => (
            Subject::Plugin {
                plugin_type: PluginType::Mappers,
                entry: mapper,
            },
            config,
        ),
        None => (Subject::find(stores.project, name, plugin_type)?, None),
    };
    let Subject::Plugin { plugin_type, entry } = found else {
        return Err(CliError::Meltano(format!(
            "Plugin '{name}' is not known to Meltano."
        )));
    };
    let subject = Subject::Plugin { plugin_type, entry };
    if args.list_commands {
        let commands = plugin_commands(stores, plugin_type, entry);
        if commands.is_empty() {
            ctx.printer.out(&format!(
                "Plugin '{}' does not define any commands.",
                entry.name
            ));
        }
        let width = commands
            .iter()
            .map(|(n, _)| entry.name.len() + 1 + n.len())
            .max()
            .unwrap_or(0)
            + 2;
        for (command_name, command) in commands {
            let description = match &command {
                meltano_project::manifest::Command::Spec(spec) => {
                    spec.description.clone().unwrap_or_default()
                }
                meltano_project::manifest::Command::Args(_) => String::new(),
            };
            let label = format!("{}:{command_name}", entry.name);
            ctx.printer.out(&format!("{label:<width$}{description}"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.dump {
        Some(DumpKind::Config) => {
            let settings = stores.resolve(subject).await?;
            let mut config = plugin_config(&settings);
            if let (Some(overlay), Some(object)) = (&overlay, config.as_object_mut()) {
                object.extend(overlay.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            ctx.printer
                .out(&meltano_core::pyjson::dumps_indent2(&config));
            return Ok(ExitCode::SUCCESS);
        }
        Some(DumpKind::Catalog) => {
            if plugin_type != PluginType::Extractors {
                return Err(CliError::Meltano(format!(
                    "Plugin '{}' has no catalog: it is not an extractor.",
                    entry.name
                )));
            }
            installer::ensure_installed(
                ctx,
                stores,
                &[(plugin_type, entry)],
                AutoInstall::from_args(&args.install),
            )
            .await?;
            let settings = stores.resolve(subject).await?;
            let shown = crate::catalog::prepare_shown_catalog(ctx, stores, entry, &settings, args.refresh_catalog, false)
                .await?
                .ok_or_else(|| {
                    CliError::Meltano(format!(
                        "Extractor '{}' has no catalog: it supports neither discovery nor a catalog file.",
                        entry.name
                    ))
                })?;
            ctx.printer.out(shown.text.trim_end());
            // The process ends right after this: freeing the catalog's many small allocations
            // would only delay that.
            std::mem::forget(shown.value);
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let mode = AutoInstall::from_args(&args.install);
    installer::ensure_installed(ctx, stores, &[(plugin_type, entry)], mode).await?;
    if mode == AutoInstall::Only {
        return Ok(ExitCode::SUCCESS);
    }
    let catalog = if plugin_type == PluginType::Extractors
        && command.is_none()
        && args.plugin_args.is_empty()
    {
        let settings = stores.resolve(subject).await?;
        crate::catalog::prepare_catalog(ctx, stores, entry, &settings, args.refresh_catalog, None)
            .await?
    } else {
        None
    };
    let options = PrepareOptions {
        command,
        user_args: &args.plugin_args,
        log_level: level,
        catalog: catalog.as_deref(),
        config_overlay: overlay.as_ref(),
        ..PrepareOptions::default()
    };
    let prepared = prepare(stores, subject, &options).await?;
    for name in &args.print_var {
        let value = prepared
            .process
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                std::env::var(name)
                    .ok()
                    .filter(|_| !prepared.process.env_remove.contains(name))
            });
        ctx.printer
            .out(&format!("{name}={}", value.as_deref().unwrap_or("None")));
    }
    let code = prepared
        .process
        .run_attached(|line| ctx.printer.info(line))
        .map_err(CliError::meltano)?;
    drop(prepared);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// The mapper that defines the mapping `name` and the mapping's `config:`, when `name` is not a
/// plugin of the project (a plugin of that name wins, as in `meltano run`).
fn find_mapping<'a>(
    project: &'a meltano_project::Project,
    name: &str,
    plugin_type: Option<PluginType>,
) -> Option<(
    &'a meltano_project::manifest::PluginEntry,
    Option<serde_json::Map<String, serde_json::Value>>,
)> {
    if plugin_type.is_some_and(|t| t != PluginType::Mappers) {
        return None;
    }
    let manifest = &project.manifest().manifest;
    if manifest.find_plugin(name, plugin_type).is_some() {
        return None;
    }
    manifest
        .all_plugins()
        .filter(|(t, _)| *t == PluginType::Mappers)
        .find_map(|(_, mapper)| {
            let mapping = mapper.mappings.as_ref()?.iter().find(|m| m.name == name)?;
            let config = serde_json::to_value(&mapping.config)
                .ok()
                .and_then(|v| v.as_object().cloned());
            Some((mapper, config))
        })
}
