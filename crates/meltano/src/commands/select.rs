//! `meltano select`: list what a tap will extract, or add, remove and clear select patterns.

use std::process::ExitCode;

use meltano_cli::SelectArgs;
use meltano_core::PluginType;
use meltano_core::catalog::{
    CatalogSelection, ListColour, render_select_json, render_select_text, select_pattern_string,
};
use serde_json::Value;

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::installer::{self, AutoInstall};
use crate::settings::{SettingsStores, Subject};

/// Lists the selection (`--list`, `--json`) or edits the `select` extra.
pub fn run(ctx: &Context, args: SelectArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["select"])?;
    let environment_name = ctx.environment(&project, EnvironmentPolicy::ExplicitOnly("select"))?;
    let environment = environment_name
        .as_deref()
        .and_then(|n| project.manifest().manifest.environment(n));
    let Subject::Plugin { plugin_type, entry } =
        Subject::find(&project, &args.extractor, Some(PluginType::Extractors))?
    else {
        return Err(CliError::Meltano(format!(
            "Plugin '{}' is not known to Meltano.",
            args.extractor
        )));
    };
    let subject = Subject::Plugin { plugin_type, entry };
    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment,
            db: &db,
        };
        let settings = stores.resolve(subject).await?;
        let select = settings.iter().find(|r| r.spec.name == "_select");
        let listed: Vec<String> = select
            .and_then(|r| r.value.as_ref())
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // Edits start from the list written where the edit goes (the environment's entry or
        // the plugin's), not from the value resolved across every store.
        let patterns: Vec<String> = match environment {
            Some(environment) => environment
                .plugin(plugin_type, &entry.name)
                .and_then(|p| p.extras.get("select"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            None => entry.select.clone().unwrap_or_default(),
        };
        let result = if args.list || args.json {
            installer::ensure_installed(
                ctx,
                &stores,
                &[(plugin_type, entry)],
                AutoInstall::from_args(&args.install),
            )
            .await?;
            let shown = crate::catalog::prepare_shown_catalog(
                ctx,
                &stores,
                entry,
                &settings,
                args.refresh_catalog,
                true,
            )
            .await
            .map_err(|e| CliError::Meltano(format!("Cannot list the selected properties: {e}")))?
            .ok_or_else(|| {
                CliError::Meltano(
                    "Cannot list the selected properties: the extractor has no catalog".into(),
                )
            })?;
            let selection = match shown.selection {
                Some(selection) => selection,
                None => {
                    let catalog: Value = match shown.value {
                        Some(value) => value,
                        None => serde_json::from_str(&shown.text).map_err(CliError::meltano)?,
                    };
                    let selection = CatalogSelection::of_catalog(&catalog);
                    // The process ends right after printing: freeing the catalog's many small
                    // allocations would only delay that.
                    std::mem::forget(catalog);
                    selection
                }
            }
            .map_err(CliError::meltano)?;
            let entries = selection.entries(args.all);
            if args.json {
                ctx.printer
                    .out(render_select_json(&listed, &entries).trim_end());
            } else {
                ctx.printer.out(
                    render_select_text(&listed, &entries, |text, _: ListColour| text.to_string())
                        .trim_end(),
                );
            }
            Ok(ExitCode::SUCCESS)
        } else {
            edit_patterns(&stores, subject, &args, patterns)
        };
        db.close().await;
        result
    })?
}

/// Appends, removes (`--rm`) or clears (`--clear`) select patterns in meltano.yml (the active
/// environment's entry when one was chosen explicitly).
fn edit_patterns(
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    args: &SelectArgs,
    mut patterns: Vec<String>,
) -> CliResult<ExitCode> {
    let project = stores.project;
    project.ensure_writable().map_err(CliError::meltano)?;
    let Subject::Plugin { plugin_type, entry } = subject else {
        return Ok(ExitCode::SUCCESS);
    };
    let path = vec!["_select".to_string()];
    let value = if args.clear {
        None
    } else {
        let streams = args.streams.as_deref().unwrap_or("*");
        let properties = args.properties.as_deref().unwrap_or("*");
        let pattern = select_pattern_string(streams, properties, args.exclude);
        if args.rm {
            let index = patterns
                .iter()
                .position(|p| *p == pattern)
                .ok_or_else(|| CliError::Meltano(format!("Select pattern '{pattern}' was not found. Use `meltano select {} --list` to see the patterns.", entry.name)))?;
            patterns.remove(index);
        } else {
            patterns.push(pattern);
        }
        Some(Value::Array(
            patterns.into_iter().map(Value::String).collect(),
        ))
    };
    let loaded = project.manifest();
    let (file_path, in_environment) = match stores.environment {
        Some(environment) => (
            loaded
                .environment_origin(&environment.name)
                .unwrap_or(loaded.main_file.as_path()),
            true,
        ),
        None => (
            loaded
                .plugin_origin(plugin_type, &entry.name)
                .unwrap_or(loaded.main_file.as_path()),
            false,
        ),
    };
    let mut file = project.edit(file_path).map_err(CliError::meltano)?;
    match (&value, stores.environment.filter(|_| in_environment)) {
        (Some(v), Some(environment)) => file.set_environment_plugin_value(
            &environment.name,
            plugin_type,
            &entry.name,
            &path,
            v,
            true,
        ),
        (Some(v), None) => file.set_plugin_value(plugin_type, &entry.name, &path, v, true),
        (None, Some(environment)) => file.unset_environment_plugin_value(
            &environment.name,
            plugin_type,
            &entry.name,
            &path,
            true,
        ),
        (None, None) => file.unset_plugin_value(plugin_type, &entry.name, &path, true),
    }
    .map_err(CliError::meltano)?;
    file.save().map_err(CliError::meltano)?;
    Ok(ExitCode::SUCCESS)
}
