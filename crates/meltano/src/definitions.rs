//! The definition a plugin builds on when meltano.yml does not embed one: a plugin added from an
//! index (`variant:` and no `namespace:`) reads its lock file, written from the built-in index
//! the first time it is missing, so a locked project never needs the network.

use meltano_core::PluginType;
use meltano_hub::{PluginDefinition, builtin_index, lock_path, read_lock, write_lock};
use meltano_project::Project;
use meltano_project::manifest::{Command, PluginEntry, SettingDefinition};

use crate::settings::ancestors;

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
    // Auto-lock from the built-in index, as Meltano auto-locks from the Hub.
    let found = builtin_index()
        .ok()?
        .definition(plugin_type, name, variant)
        .ok()?;
    let path = lock_path(
        project.root(),
        plugin_type,
        name,
        Some(found.definition.variant_name()),
    );
    let _ = write_lock(&path, &found.definition);
    Some(found.definition)
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
