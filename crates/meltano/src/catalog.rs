//! The catalog a tap runs with: a custom one, a cached discovery, or a fresh discovery, with the
//! project's select, metadata and schema rules applied (reference §5.1).

use std::path::PathBuf;

use meltano_core::PluginType;
use meltano_core::catalog::{
    CacheKeyInputs, CatalogRules, RuleSources, catalog_cache_key, dumps_indent2,
};
use meltano_core::settings::Resolved;
use meltano_project::manifest::PluginEntry;
use meltano_runner::discover::discover;
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::invocation::{PrepareOptions, prepare};
use crate::settings::{SettingsStores, Subject};

/// The file names Meltano uses in a tap's run directory.
const CATALOG_FILE: &str = "tap.properties.json";
const CACHE_KEY_FILE: &str = "tap.properties.cache_key";

/// Prepares `<run dir>/tap.properties.json` for the tap and returns its path, or None when the tap
/// takes no catalog (no `catalog`/`properties`/`discover` capability and no custom catalog).
pub async fn prepare_catalog(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    entry: &PluginEntry,
    settings: &[Resolved],
    refresh: bool,
) -> CliResult<Option<PathBuf>> {
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
            let discover_args = ["--discover".to_string()];
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
        apply_rules(settings, &catalog_path, false)?;
        if let Some(key) = key {
            std::fs::write(&key_path, key).map_err(CliError::meltano)?;
        }
        return Ok(Some(catalog_path));
    } else {
        return Ok(catalog_path
            .is_file()
            .then_some(catalog_path)
            .filter(|_| has("catalog") || has("properties")));
    }
    apply_rules(settings, &catalog_path, true)?;
    Ok(Some(catalog_path))
}

/// Applies select/metadata/schema rules (only `select_filter` for a custom catalog) and rewrites
/// the file as Meltano writes it.
fn apply_rules(
    settings: &[Resolved],
    catalog_path: &std::path::Path,
    custom: bool,
) -> CliResult<()> {
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
        custom_catalog: custom,
    })
    .map_err(CliError::meltano)?;
    let text = std::fs::read_to_string(catalog_path).map_err(CliError::meltano)?;
    let mut catalog: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Meltano(format!(
            "Invalid catalog in {}: {e}",
            catalog_path.display()
        ))
    })?;
    rules.apply(&mut catalog).map_err(CliError::meltano)?;
    std::fs::write(catalog_path, dumps_indent2(&catalog)).map_err(CliError::meltano)?;
    Ok(())
}
