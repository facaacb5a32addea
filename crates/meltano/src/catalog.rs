//! The catalog a tap runs with: a custom one, a cached discovery, or a fresh discovery, with the
//! project's select, metadata and schema rules applied (reference §5.1).

use std::path::{Path, PathBuf};

use meltano_core::PluginType;
use meltano_core::catalog::{
    CacheKeyInputs, CatalogError, CatalogRules, CatalogSelection, RuleSources, SelectionBuilder,
    catalog_cache_key,
};
use meltano_core::pyjson::dumps_indent2_into;
use meltano_core::settings::Resolved;
use meltano_project::manifest::PluginEntry;
use meltano_runner::discover::{DiscoveryError, discover};
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::invocation::{PrepareOptions, prepare};
use crate::settings::{SettingsStores, Subject};

/// The file names Meltano uses in a tap's run directory.
const CATALOG_FILE: &str = "tap.properties.json";
const CACHE_KEY_FILE: &str = "tap.properties.cache_key";

/// A catalog after the rules, as `select --list` and `invoke --dump catalog` show it.
pub struct ShownCatalog {
    /// The text of `<run dir>/tap.properties.json`.
    pub text: String,
    /// The parsed catalog, when the rules were applied to it whole (else parse `text`).
    pub value: Option<Value>,
    /// The selection, when it was asked for and read while the rules were applied stream by
    /// stream.
    pub selection: Option<Result<CatalogSelection, CatalogError>>,
}

/// What [`apply_rules`] produced besides the file.
struct Applied {
    text: String,
    /// The catalog, when the rules were applied to it whole.
    value: Option<Value>,
    selection: Option<Result<CatalogSelection, CatalogError>>,
}

/// Prepares `<run dir>/tap.properties.json` for the tap and returns its path, or None when the tap
/// takes no catalog (no `catalog`/`properties`/`discover` capability and no custom catalog).
/// `state_file` is the state a pipeline's tap starts from: discovery gets it too, as under Meltano.
pub async fn prepare_catalog(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    entry: &PluginEntry,
    settings: &[Resolved],
    refresh: bool,
    state_file: Option<&Path>,
) -> CliResult<Option<PathBuf>> {
    let prepared =
        prepare_catalog_file(ctx, stores, entry, settings, refresh, false, state_file).await?;
    Ok(prepared.map(|(path, applied)| {
        // Freeing a large catalog's many small allocations takes a while: not on this thread.
        if let Some(applied) = applied {
            std::thread::spawn(move || drop(applied));
        }
        path
    }))
}

/// [`prepare_catalog`] for the commands that show the catalog: they get its text (and, with
/// `selection`, what `select --list` shows) without reading the file back.
pub async fn prepare_shown_catalog(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    entry: &PluginEntry,
    settings: &[Resolved],
    refresh: bool,
    selection: bool,
) -> CliResult<Option<ShownCatalog>> {
    let Some((path, applied)) =
        prepare_catalog_file(ctx, stores, entry, settings, refresh, selection, None).await?
    else {
        return Ok(None);
    };
    Ok(Some(match applied {
        Some(Applied {
            text,
            value,
            selection,
        }) => ShownCatalog {
            text,
            value,
            selection,
        },
        None => ShownCatalog {
            text: std::fs::read_to_string(&path).map_err(CliError::meltano)?,
            value: None,
            selection: None,
        },
    }))
}

async fn prepare_catalog_file(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    entry: &PluginEntry,
    settings: &[Resolved],
    refresh: bool,
    selection: bool,
    state_file: Option<&Path>,
) -> CliResult<Option<(PathBuf, Option<Applied>)>> {
    let project = stores.project;
    let subject = Subject::Plugin {
        plugin_type: PluginType::Extractors,
        entry,
    };
    let capabilities = crate::settings::capabilities(project, PluginType::Extractors, entry);
    let has = |c: &str| capabilities.iter().any(|x| x == c);
    let extra = |name: &str| {
        settings
            .iter()
            .find(|r| r.spec.name == name)
            .and_then(|r| r.value.clone())
    };
    let run_dir = project.sys_dir().run_dir().join(&entry.name);
    std::fs::create_dir_all(&run_dir).map_err(CliError::meltano)?;
    let catalog_path = run_dir.join(CATALOG_FILE);
    let key_path = run_dir.join(CACHE_KEY_FILE);
    let custom = extra("_catalog").and_then(|v| v.as_str().map(str::to_string));

    if let Some(custom) = &custom {
        let source = project.root().join(custom);
        ctx.printer
            .info(&format!("Using custom catalog in {}", source.display()));
        std::fs::copy(&source, &catalog_path).map_err(|e| {
            CliError::Meltano(format!(
                "Could not read the catalog '{}': {e}",
                source.display()
            ))
        })?;
    } else if has("discover") {
        let config: Map<String, Value> = settings
            .iter()
            .filter(|r| !r.spec.is_extra() && !r.spec.custom)
            .filter_map(|r| r.value.clone().map(|v| (r.spec.name.clone(), v)))
            .collect();
        let schema = extra("_schema").unwrap_or_else(|| Value::Object(Map::new()));
        let metadata = extra("_metadata").unwrap_or_else(|| Value::Object(Map::new()));
        let pip_url = crate::settings::plugin_pip_url(project, PluginType::Extractors, entry);
        let key = catalog_cache_key(&CacheKeyInputs {
            pip_url: pip_url.as_deref(),
            custom_catalog: false,
            plugin_config: &config,
            schema_extra: &schema,
            metadata_extra: &metadata,
        });
        let use_cache = extra("_use_cached_catalog")
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        let cached = std::fs::read_to_string(&key_path).ok();
        let reuse =
            !refresh && use_cache && catalog_path.is_file() && key.is_some() && cached == key;
        if !reuse {
            let _ = std::fs::remove_file(&key_path);
            ctx.printer.info("Running catalog discovery");
            let mut discover_args = Vec::new();
            if let Some(state) = state_file.filter(|_| has("state")) {
                discover_args.extend(["--state".to_string(), state.display().to_string()]);
            }
            discover_args.push("--discover".to_string());
            let options = PrepareOptions {
                user_args: &discover_args,
                ..PrepareOptions::default()
            };
            let prepared = prepare(stores, subject, &options).await?;
            discover(&prepared.process, &catalog_path, |line| {
                ctx.printer
                    .log_as(crate::printer::Level::Info, &entry.name, line)
            })
            .map_err(CliError::meltano)?;
        }
        let origin = if reuse {
            Origin::File
        } else {
            Origin::Discovery
        };
        let applied = apply_rules(ctx, settings, &catalog_path, origin, selection)?;
        if let Some(key) = key {
            meltano_runner::replace::replace(&key_path, key.as_bytes())
                .map_err(CliError::meltano)?;
        }
        return Ok(Some((catalog_path, Some(applied))));
    } else {
        return Ok(catalog_path
            .is_file()
            .then_some(catalog_path)
            .filter(|_| has("catalog") || has("properties"))
            .map(|path| (path, None)));
    }
    let applied = apply_rules(ctx, settings, &catalog_path, Origin::Custom, selection)?;
    Ok(Some((catalog_path, Some(applied))))
}

/// Where the catalog file came from, which decides the rules and how invalid JSON is reported.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Copied from the `catalog` extra: only `select_filter` applies.
    Custom,
    /// Written by discovery just now: invalid JSON is the tap's fault and the file goes.
    Discovery,
    /// A cached discovery.
    File,
}

/// Applies select/metadata/schema rules (only `select_filter` for a custom catalog) and rewrites
/// the file as Meltano writes it. The catalog is parsed once, here, one stream at a time when
/// its shape allows (memory stays near the size of its text), and its text (and with
/// `selection`, the `select --list` view) is returned for the commands that show them.
fn apply_rules(
    ctx: &Context,
    settings: &[Resolved],
    catalog_path: &std::path::Path,
    origin: Origin,
    selection: bool,
) -> CliResult<Applied> {
    let extra = |name: &str| {
        settings
            .iter()
            .find(|r| r.spec.name == name)
            .and_then(|r| r.value.clone())
    };
    let strings = |v: Option<Value>| -> Vec<String> {
        v.and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let select = strings(extra("_select"));
    let select_filter = strings(extra("_select_filter"));
    let metadata = extra("_metadata").unwrap_or_else(|| Value::Object(Map::new()));
    let schema = extra("_schema").unwrap_or_else(|| Value::Object(Map::new()));
    let rules = CatalogRules::from_sources(&RuleSources {
        select: &select,
        metadata: &metadata,
        schema: &schema,
        select_filter: &select_filter,
        custom_catalog: origin == Origin::Custom,
    })
    .map_err(CliError::meltano)?;
    let bytes = std::fs::read(catalog_path).map_err(CliError::meltano)?;
    // The rewritten text is somewhat longer than the text read (rules add metadata): reserve
    // it once, as pages untouched cost nothing while a reallocation copies.
    let mut text = String::with_capacity(bytes.len() / 2 * 3 + 64);
    let mut builder = selection.then(SelectionBuilder::default);
    let streamed = rules.apply_streamed(&bytes, &mut text, &mut |index, stream| {
        if let Some(builder) = builder.as_mut() {
            builder.add_stream(index, stream);
        }
    });
    if let Some(warnings) = streamed {
        warn_all(ctx, &warnings);
        drop(bytes);
        write_catalog(catalog_path, &text)?;
        return Ok(Applied {
            text,
            value: None,
            selection: builder.map(SelectionBuilder::finish),
        });
    }
    let mut catalog: Value = match serde_json::from_slice(&bytes) {
        Ok(catalog) => catalog,
        Err(e) if origin == Origin::Discovery => {
            let _ = std::fs::remove_file(catalog_path);
            return Err(CliError::meltano(DiscoveryError::Invalid(e.to_string())));
        }
        Err(e) => {
            return Err(CliError::Meltano(format!(
                "Invalid catalog in {}: {e}",
                catalog_path.display()
            )));
        }
    };
    drop(bytes);
    let warnings = rules.apply(&mut catalog).map_err(CliError::meltano)?;
    warn_all(ctx, &warnings);
    dumps_indent2_into(&mut text, &catalog);
    write_catalog(catalog_path, &text)?;
    Ok(Applied {
        text,
        value: Some(catalog),
        selection: None,
    })
}

/// Logs what the rules named but the catalog lacks (a stream or a property), as Meltano does.
fn warn_all(ctx: &Context, warnings: &[meltano_core::catalog::CatalogWarning]) {
    for warning in warnings {
        ctx.printer.warn(&warning.to_string());
    }
}

/// Replaces the catalog file by a new one: ext4 flushes a file truncated and rewritten
/// (`auto_da_alloc`) when it is closed, which stalls on a busy disk.
/// Replaces the catalog in one rename: another run of the tap may be reading it.
fn write_catalog(catalog_path: &std::path::Path, text: &str) -> CliResult<()> {
    meltano_runner::replace::replace(catalog_path, text.as_bytes()).map_err(CliError::meltano)
}
