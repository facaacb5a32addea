//! The built-in plugin index: our own curated definitions of popular PyPI-installable plugins,
//! so `meltano add <name>` works with no network.
//!
//! The data lives in one YAML file per plugin type beside this module, embedded in the binary
//! and parsed once. Each file is a list of plugins; keys given at the plugin level are shared by
//! its `variants`, and the first variant is the default.

use std::sync::LazyLock;

use meltano_core::PluginType;
use serde_json::{Map, Value};

use crate::definition::PluginDefinition;
use crate::variants::{
    FoundDefinition, PluginVariants, UnknownPlugin, VariantEntry, VariantSource,
};

const FILES: [(PluginType, &str, &str); 5] = [
    (
        PluginType::Extractors,
        "extractors.yml",
        include_str!("extractors.yml"),
    ),
    (
        PluginType::Loaders,
        "loaders.yml",
        include_str!("loaders.yml"),
    ),
    (
        PluginType::Orchestrators,
        "orchestrators.yml",
        include_str!("orchestrators.yml"),
    ),
    (
        PluginType::Utilities,
        "utilities.yml",
        include_str!("utilities.yml"),
    ),
    (
        PluginType::Mappers,
        "mappers.yml",
        include_str!("mappers.yml"),
    ),
];

static INDEX: LazyLock<Result<BuiltinIndex, BuiltinError>> = LazyLock::new(BuiltinIndex::load);

/// The built-in index, parsed on first use.
pub fn builtin_index() -> Result<&'static BuiltinIndex, BuiltinError> {
    INDEX.as_ref().map_err(Clone::clone)
}

/// The embedded data is malformed (a bug caught by this crate's tests).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("built-in plugin index {file}: {message}")]
pub struct BuiltinError {
    /// The data file.
    pub file: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Every plugin of the built-in index, grouped by name with their variants.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinIndex {
    plugins: Vec<PluginVariants>,
}

impl BuiltinIndex {
    /// Every plugin, in plugin-type order, then file order.
    pub fn plugins(&self) -> &[PluginVariants] {
        &self.plugins
    }

    /// The plugins of one type.
    pub fn of_type(&self, plugin_type: PluginType) -> impl Iterator<Item = &PluginVariants> {
        self.plugins
            .iter()
            .filter(move |p| p.plugin_type == plugin_type)
    }

    /// The entry of a plugin name.
    pub fn find(&self, plugin_type: PluginType, name: &str) -> Option<&PluginVariants> {
        self.of_type(plugin_type).find(|p| p.name == name)
    }

    /// The definition of a variant (`None`/`default`: the default; `original`: the variant
    /// flagged original, else the default).
    pub fn definition(
        &self,
        plugin_type: PluginType,
        name: &str,
        variant: Option<&str>,
    ) -> Result<FoundDefinition, UnknownPlugin> {
        let entry = self
            .find(plugin_type, name)
            .ok_or_else(|| UnknownPlugin::Name {
                plugin_type,
                name: name.to_string(),
            })?;
        let chosen = entry.find_variant(variant)?;
        match &chosen.source {
            VariantSource::Definition(definition) => Ok(FoundDefinition {
                definition: (**definition).clone(),
                is_default_variant: entry.is_default(&chosen.name),
            }),
            // Built-in entries always hold their definitions.
            VariantSource::Ref(_) => Err(UnknownPlugin::Name {
                plugin_type,
                name: name.to_string(),
            }),
        }
    }

    fn load() -> Result<Self, BuiltinError> {
        let mut plugins = Vec::new();
        for plugin_type in PluginType::ALL {
            for (file_type, file, text) in FILES {
                if file_type == plugin_type {
                    plugins.extend(parse_file(plugin_type, file, text)?);
                }
            }
        }
        Ok(BuiltinIndex { plugins })
    }
}

fn parse_file(
    plugin_type: PluginType,
    file: &'static str,
    text: &str,
) -> Result<Vec<PluginVariants>, BuiltinError> {
    let fail = |message: String| BuiltinError { file, message };
    let entries: Vec<Map<String, Value>> =
        serde_saphyr::from_str(text).map_err(|e| fail(e.to_string()))?;
    let mut plugins = Vec::with_capacity(entries.len());
    for mut shared in entries {
        let name = shared
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(Value::Array(variants)) = shared.shift_remove("variants") else {
            return Err(fail(format!("plugin '{name}' has no variants list")));
        };
        let mut entries = Vec::with_capacity(variants.len());
        for variant in variants {
            let Value::Object(own) = variant else {
                return Err(fail(format!("a variant of '{name}' is not a mapping")));
            };
            let mut merged = shared.clone();
            merged.extend(own);
            let mut definition = PluginDefinition::from_value(Value::Object(merged))
                .map_err(|e| fail(format!("plugin '{name}': {e}")))?;
            definition.plugin_type = Some(plugin_type);
            let Some(variant_name) = definition.variant.clone() else {
                return Err(fail(format!("a variant of '{name}' has no 'variant' name")));
            };
            entries.push(VariantEntry {
                name: variant_name,
                source: VariantSource::Definition(Box::new(definition)),
            });
        }
        let Some(default_variant) = entries.first().map(|v| v.name.clone()) else {
            return Err(fail(format!("plugin '{name}' has no variants")));
        };
        plugins.push(PluginVariants {
            plugin_type,
            name,
            logo_url: shared
                .get("logo_url")
                .and_then(Value::as_str)
                .map(str::to_string),
            default_variant,
            variants: entries,
        });
    }
    Ok(plugins)
}
