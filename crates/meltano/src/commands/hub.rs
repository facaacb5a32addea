//! `meltano hub ping|list`: is the Hub reachable, and what does it offer.

use std::process::ExitCode;

use meltano_cli::{HubCommand, OutputFormat};
use meltano_core::PluginType;
use meltano_hub::CacheMode;
use serde_json::json;

use crate::commands::add::hub_client;
use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::table::{Align, Table};

/// The types the Hub indexes.
const HUB_TYPES: [PluginType; 8] = PluginType::IN_MANIFEST;

/// Runs `hub ping` or `hub list`.
pub fn run(ctx: &Context, command: HubCommand) -> CliResult<ExitCode> {
    let project = ctx.project(&["hub"])?;
    ctx.environment(&project, EnvironmentPolicy::DefaultUsed)?;
    let hub = hub_client(&project)?;
    match command {
        HubCommand::Ping => {
            block_on(hub.ping())?.map_err(CliError::meltano)?;
            ctx.printer.out(&format!(
                "Successfully connected to the Hub at '{}'",
                hub.api_root()
            ));
        }
        HubCommand::List {
            pattern,
            plugin_type,
            all,
            format,
            refresh,
        } => {
            let types = match &plugin_type {
                Some(t) => vec![t.parse::<PluginType>().map_err(CliError::meltano)?],
                None => HUB_TYPES.to_vec(),
            };
            let cache = if refresh {
                CacheMode::Refresh
            } else {
                CacheMode::PreferCache
            };
            let mut rows: Vec<(PluginType, String, String, bool, usize)> = Vec::new();
            let mut hidden = 0;
            for plugin_type in types {
                let mut plugins =
                    block_on(hub.index(plugin_type, cache))?.map_err(CliError::meltano)?;
                plugins.sort_by(|a, b| a.name.cmp(&b.name));
                for plugin in plugins {
                    let mut variants: Vec<String> =
                        plugin.variants.iter().map(|v| v.name.clone()).collect();
                    variants.sort_by_key(|v| (v != &plugin.default_variant, v.clone()));
                    let count = variants.len();
                    for variant in variants {
                        let wanted = pattern.as_deref().is_none_or(|p| {
                            let p = p.to_lowercase();
                            plugin.name.to_lowercase().contains(&p)
                                || variant.to_lowercase().contains(&p)
                        });
                        if !wanted {
                            continue;
                        }
                        let is_default = variant == plugin.default_variant;
                        if !all && !is_default {
                            hidden += 1;
                            continue;
                        }
                        rows.push((plugin_type, plugin.name.clone(), variant, is_default, count));
                    }
                }
            }
            let summary = list_summary(
                rows.len(),
                plugin_type.as_deref(),
                all,
                pattern.as_deref(),
                hidden,
            )?;
            if rows.is_empty() {
                ctx.printer.warn(&summary);
            } else {
                ctx.printer.info(&summary);
            }
            // Each plugin's number of rows: "(default)" only marks a choice the table shows.
            let shown = |t: PluginType, name: &str| {
                rows.iter()
                    .filter(|(rt, rn, ..)| *rt == t && rn == name)
                    .count()
            };
            let rows: Vec<_> = rows
                .iter()
                .map(|(t, name, variant, default, _)| {
                    (*t, name.clone(), variant.clone(), *default, shown(*t, name))
                })
                .collect();
            match format {
                OutputFormat::Json => {
                    let list: Vec<_> = rows
                        .iter()
                        .map(|(t, name, variant, default, _)| {
                            json!({"type": t.singular(), "name": name, "variant": variant, "default": default})
                        })
                        .collect();
                    ctx.printer.out(&meltano_core::pyjson::dumps_indent2(
                        &serde_json::Value::Array(list),
                    ));
                }
                OutputFormat::Text if rows.is_empty() => {}
                OutputFormat::Text => {
                    let mut table = Table::new(vec![
                        ("TYPE", Align::Left),
                        ("NAME", Align::Left),
                        ("VARIANT", Align::Left),
                    ]);
                    let mut previous: Option<(PluginType, String)> = None;
                    for (t, name, variant, default, count) in rows {
                        let same_type = previous.as_ref().is_some_and(|(pt, _)| *pt == t);
                        let same_name =
                            same_type && previous.as_ref().is_some_and(|(_, pn)| *pn == name);
                        let marker = if default && count > 1 {
                            " (default)"
                        } else {
                            ""
                        };
                        table.row(vec![
                            if same_type {
                                String::new()
                            } else {
                                t.singular().to_string()
                            },
                            if same_name {
                                String::new()
                            } else {
                                name.clone()
                            },
                            format!("{variant}{marker}"),
                        ]);
                        previous = Some((t, name));
                    }
                    ctx.printer.out(&table.render());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hub list`'s count: "1 extractor", "4 plugin variants", "2 plugins match 'demo' (1 variant
/// hidden, show with '--all')"; hidden variants are mentioned only for a search.
fn list_summary(
    count: usize,
    plugin_type: Option<&str>,
    all: bool,
    pattern: Option<&str>,
    hidden: usize,
) -> CliResult<String> {
    let mut noun = match plugin_type {
        Some(t) => t
            .parse::<PluginType>()
            .map_err(CliError::meltano)?
            .descriptor()
            .to_string(),
        None => "plugin".to_string(),
    };
    if all {
        noun.push_str(" variant");
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut summary = format!("{count} {noun}{}", plural(count));
    if let Some(pattern) = pattern {
        let verb = if count == 1 { "matches" } else { "match" };
        summary.push_str(&format!(
            " {verb} {}",
            meltano_core::settings::repr::py_repr_str(pattern)
        ));
        if hidden > 0 {
            summary.push_str(&format!(
                " ({hidden} variant{} hidden, show with '--all')",
                plural(hidden)
            ));
        }
    }
    Ok(summary)
}
