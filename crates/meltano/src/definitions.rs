//! The definition a plugin builds on when meltano.yml does not embed one: a plugin added from an
//! index (`variant:` and no `namespace:`) reads its lock file; the first time it is missing it is
//! written (auto-lock) from the project's custom Hub when one is configured, else from the
//! built-in index, else from the public Hub, so a locked project never needs the network.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use meltano_core::PluginType;
use meltano_hub::{Definitions, HubClient, HubConfig, PluginDefinition, lock_path, read_lock};
use meltano_project::Project;
use meltano_project::manifest::{Command, PluginEntry, SettingDefinition};

use crate::error::{CliError, CliResult};
use crate::settings::ancestors;

/// Lock files this process already failed to auto-lock, so a Hub that is down is asked once.
static FAILED_AUTO_LOCKS: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// The index definition under `entry`: found through its topmost project ancestor. None for
/// custom plugins (they embed their definition) and for plugins nothing is known of.
pub fn base_definition(
    project: &Project,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> Option<PluginDefinition> {
    let chain = ancestors(project, plugin_type, entry).ok()?;
    let top = chain.last().copied().unwrap_or(entry);
    if top.namespace.is_some() && top.inherit_from.is_none() {
        return None;
    }
    let name = top.inherit_from.as_deref().unwrap_or(&top.name);
    let variant = top.variant.as_deref();
    let path = lock_path(project.root(), plugin_type, name, variant);
    if let Ok(definition) = read_lock(&path) {
        return Some(definition);
    }
    // Without `variant:`, auto-lock wrote the default variant's file: `<name>--<variant>.lock`.
    if variant.is_none()
        && let Some(definition) = only_variant_lock(&path, name)
    {
        return Some(definition);
    }
    if remembered_failure(&path, false) {
        return None;
    }
    // Auto-lock, as Meltano does on first use.
    let definitions = project_definitions(project, "meltano").ok()?;
    let resolved = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime
                    .block_on(definitions.resolve(project.root(), plugin_type, name, variant))
                    .ok()
            })
            .join()
            .ok()
            .flatten()
    });
    if resolved.is_none() {
        remembered_failure(&path, true);
    }
    resolved.map(|r| r.definition)
}

/// The definition in the one `<name>--<variant>.lock` beside `path`, if there is exactly one.
fn only_variant_lock(path: &std::path::Path, name: &str) -> Option<PluginDefinition> {
    let prefix = format!("{name}--");
    let mut found = std::fs::read_dir(path.parent()?)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".lock"))
        });
    let only = found.next()?;
    if found.next().is_some() {
        return None;
    }
    read_lock(&only).ok()
}

/// Whether auto-locking `path` already failed in this process; `record` remembers a failure.
fn remembered_failure(path: &std::path::Path, record: bool) -> bool {
    let Ok(mut failed) = FAILED_AUTO_LOCKS.lock() else {
        return false;
    };
    let failed = failed.get_or_insert_with(HashSet::new);
    if record {
        failed.insert(path.to_path_buf());
    }
    failed.contains(path)
}

/// Whether the project points at a Hub other than the public one (`hub_url` or `hub_api_root`
/// in the environment, `.env` or meltano.yml).
pub fn custom_hub_configured(project: &Project) -> bool {
    let manifest = &project.manifest().manifest;
    let hub_url = project
        .env_var("MELTANO_HUB_URL")
        .or_else(|| manifest.hub_url.clone())
        .filter(|u| !u.is_empty());
    let api_root = project
        .env_var("MELTANO_HUB_API_ROOT")
        .or_else(|| manifest.hub_api_root.clone())
        .filter(|r| !r.is_empty());
    api_root.is_some()
        || hub_url.is_some_and(|u| u.trim_end_matches('/') != meltano_hub::DEFAULT_HUB_URL)
}

/// The Hub client for `hub_url` / `hub_api_root` / `hub_url_auth` (environment, `.env`,
/// meltano.yml); `command` is sent as `X-Meltano-Command`.
pub fn hub_client(project: &Project, command: &str) -> CliResult<HubClient> {
    let manifest = &project.manifest().manifest;
    let hub_url = project
        .env_var("MELTANO_HUB_URL")
        .or_else(|| manifest.hub_url.clone())
        .unwrap_or_else(|| meltano_hub::DEFAULT_HUB_URL.to_string());
    let api_root = project
        .env_var("MELTANO_HUB_API_ROOT")
        .or_else(|| manifest.hub_api_root.clone());
    let mut config = HubConfig::new(&hub_url, api_root.as_deref());
    config.auth = project.env_var("MELTANO_HUB_URL_AUTH").or_else(|| {
        manifest
            .hub_url_auth
            .as_ref()
            .and_then(|v| v.as_str().map(str::to_string))
    });
    config.command = Some(command.to_string());
    HubClient::new(config).map_err(CliError::meltano)
}

/// Where the project's definitions come from besides lock files: its custom Hub alone when one
/// is configured, else the built-in index and then the public Hub.
pub fn project_definitions(project: &Project, command: &str) -> CliResult<Definitions> {
    Ok(Definitions::for_project_hub(
        hub_client(project, command)?,
        custom_hub_configured(project),
    ))
}

/// The definition's settings as meltano.yml would write them.
pub fn definition_settings(definition: &PluginDefinition) -> Vec<SettingDefinition> {
    definition
        .settings
        .iter()
        .filter_map(|s| serde_json::from_value(serde_json::Value::Object(s.clone())).ok())
        .collect()
}

/// The definition's commands as meltano.yml would write them.
pub fn definition_commands(definition: &PluginDefinition) -> Vec<(String, Command)> {
    definition
        .commands
        .iter()
        .filter_map(|(name, value)| {
            serde_json::from_value(value.clone())
                .ok()
                .map(|c| (name.clone(), c))
        })
        .collect()
}
