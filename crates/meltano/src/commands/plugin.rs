//! `meltano plugin list`.

use std::process::ExitCode;

use meltano_cli::OutputFormat;
use meltano_project::manifest::PluginEntry;
use serde_json::json;

use crate::context::{Context, EnvironmentPolicy};
use crate::error::CliResult;
use crate::table::{Align, Table};

/// Lists the project's plugins in type order, then file order, as a table or JSON.
pub fn list(ctx: &Context, format: OutputFormat) -> CliResult<ExitCode> {
    let project = ctx.project(&["plugin", "list"])?;
    ctx.environment(&project, EnvironmentPolicy::DefaultUsed)?;
    let manifest = &project.manifest().manifest;
    let plugins: Vec<_> = manifest.all_plugins().collect();
    match format {
        OutputFormat::Json => {
            let rows: Vec<_> = plugins
                .iter()
                .map(|(plugin_type, p)| {
                    json!({
                        "type": plugin_type.descriptor(),
                        "name": p.name,
                        "variant": p.variant.as_deref().unwrap_or("default"),
                        "inherit_from": p.inherit_from,
                        "custom": is_custom(p),
                        "update": false,
                        "pip_url": inherited_pip_url(&project, *plugin_type, p),
                    })
                })
                .collect();
            let text = meltano_core::pyjson::dumps_indent2(&serde_json::Value::Array(rows));
            ctx.printer.out(&text);
        }
        OutputFormat::Text if plugins.is_empty() => {
            ctx.printer
                .out("No plugins are defined in this project.\nAdd one with 'meltano add'.");
        }
        OutputFormat::Text => {
            let mut table = Table::new(vec![
                ("TYPE", Align::Left),
                ("NAME", Align::Left),
                ("VARIANT", Align::Left),
                ("INHERIT FROM", Align::Left),
                ("CUSTOM", Align::Center),
            ]);
            for (plugin_type, p) in plugins {
                let variant = match (&p.inherit_from, &p.variant) {
                    (Some(_), _) => "(inherited)",
                    (None, Some(v)) => v.as_str(),
                    (None, None) => "default",
                };
                table.row(vec![
                    plugin_type.descriptor().to_string(),
                    p.name.clone(),
                    variant.to_string(),
                    p.inherit_from.clone().unwrap_or_default(),
                    if is_custom(p) {
                        "✓".to_string()
                    } else {
                        String::new()
                    },
                ]);
            }
            ctx.printer.out(&table.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `pip_url` of the plugin or the nearest project plugin it inherits from.
fn inherited_pip_url(
    project: &meltano_project::Project,
    plugin_type: meltano_core::PluginType,
    plugin: &PluginEntry,
) -> Option<String> {
    let ancestors = crate::settings::ancestors(project, plugin_type, plugin).unwrap_or_default();
    std::iter::once(plugin)
        .chain(ancestors)
        .find_map(|p| p.pip_url.clone())
}

/// A custom plugin embeds its own definition: it has a namespace and inherits from nothing.
fn is_custom(plugin: &PluginEntry) -> bool {
    plugin.namespace.is_some() && plugin.inherit_from.is_none()
}
