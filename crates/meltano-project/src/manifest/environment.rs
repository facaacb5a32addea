//! Environments (`environments:`): named overlays of config, extras and env vars per plugin.

use serde::{Deserialize, Serialize};

use super::plugin::ByType;
use super::value::{self, Annotations, EnvMap, Noun, ValueMap};

/// One entry of `environments:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The environment name (`dev`, `prod`…).
    pub name: String,
    /// Per-plugin overrides.
    #[serde(
        default,
        deserialize_with = "value::nullable",
        skip_serializing_if = "EnvironmentConfig::is_empty"
    )]
    pub config: EnvironmentConfig,
    /// Environment variables injected into every plugin while this environment is active.
    #[serde(
        default,
        deserialize_with = "value::env_map",
        skip_serializing_if = "EnvMap::is_empty"
    )]
    pub env: EnvMap,
    /// Appended to generated state IDs; may reference `$VAR`s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_id_suffix: Option<String>,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
}

impl Noun for Environment {
    const PLURAL: &'static str = "environments";
}

impl Environment {
    /// The override entry for a plugin, if this environment has one.
    pub fn plugin(
        &self,
        plugin_type: meltano_core::PluginType,
        name: &str,
    ) -> Option<&EnvironmentPluginEntry> {
        self.config
            .plugins
            .get(plugin_type)
            .iter()
            .find(|p| p.name == name)
    }
}

/// `config:` of an environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentConfig {
    /// Plugin overrides per type.
    #[serde(
        default,
        deserialize_with = "value::nullable",
        skip_serializing_if = "ByType::is_empty"
    )]
    pub plugins: ByType<EnvironmentPluginEntry>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

impl EnvironmentConfig {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty() && self.extras.is_empty()
    }
}

/// A plugin override inside an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentPluginEntry {
    /// The plugin being overridden.
    pub name: String,
    /// Setting values layered over the plugin's own `config`.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "ValueMap::is_empty"
    )]
    pub config: ValueMap,
    /// Environment variables for this plugin while the environment is active.
    #[serde(
        default,
        deserialize_with = "value::env_map",
        skip_serializing_if = "EnvMap::is_empty"
    )]
    pub env: EnvMap,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
    /// Extra overrides (`select`, `metadata`, `schema`…), kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

impl Noun for EnvironmentPluginEntry {
    const PLURAL: &'static str = "plugin overrides";
}
