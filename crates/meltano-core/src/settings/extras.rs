//! The extras each plugin type accepts: keys of a plugin entry that configure Meltano itself
//! rather than the plugin, exposed as settings named `_<key>`.

use serde_json::{Value, json};

use super::env_names::extra_aliases;
use super::spec::{Kind, SettingSpec};
use crate::PluginType;

fn extra(plugin_type: PluginType, name: &str, kind: Option<Kind>, default: Value) -> SettingSpec {
    let name = format!("_{name}");
    SettingSpec {
        aliases: extra_aliases(plugin_type, &name)
            .iter()
            .map(|a| a.to_string())
            .collect(),
        name,
        kind,
        default: (!default.is_null()).then_some(default),
        ..SettingSpec::default()
    }
}

/// `plugin_type`'s extras for a definition that carries extra keys (`select:`, `dialect:`,
/// `ext_repo:`, `keywords:` in a lock file): each is the default of the extra of that name, or an
/// extra of its own, and an object's leaves are extras too, as Meltano reads definitions.
pub fn plugin_extras_with(
    plugin_type: PluginType,
    definition_extras: &indexmap::IndexMap<String, Value>,
) -> Vec<SettingSpec> {
    let mut specs = plugin_extras(plugin_type);
    let defaults: serde_json::Map<String, Value> = definition_extras
        .iter()
        .filter(|(key, value)| *key != "hidden" && !value.is_null())
        .map(|(key, value)| (format!("_{key}"), value.clone()))
        .collect();
    for (name, value) in &defaults {
        match specs.iter_mut().find(|s| &s.name == name) {
            Some(spec) => spec.default = Some(value.clone()),
            None => {
                let mut spec = extra(
                    plugin_type,
                    &name[1..],
                    Kind::of_value(value),
                    value.clone(),
                );
                spec.aliases.clear();
                specs.push(spec);
            }
        }
    }
    for (name, value) in super::nest::flatten(&defaults) {
        if !specs.iter().any(|s| s.name == name) {
            let mut spec = SettingSpec::named(name);
            spec.kind = Kind::of_value(&value);
            spec.default = Some(value);
            specs.push(spec);
        }
    }
    specs
}

/// The extras of `plugin_type`, in the order Meltano lists them.
pub fn plugin_extras(plugin_type: PluginType) -> Vec<SettingSpec> {
    let extra =
        |name: &str, kind: Option<Kind>, default: Value| extra(plugin_type, name, kind, default);
    match plugin_type {
        PluginType::Extractors => {
            vec![
                extra("log_parser", None, json!("singer-sdk")),
                extra("catalog", None, Value::Null),
                extra("state", None, Value::Null),
                extra("load_schema", None, json!("$MELTANO_EXTRACTOR_NAMESPACE")),
                extra("select", Some(Kind::Array), json!(["*.*"])),
                extra("metadata", Some(Kind::Object), json!({})),
                extra("schema", Some(Kind::Object), json!({})),
                extra("select_filter", Some(Kind::Array), json!([])),
                extra("use_cached_catalog", Some(Kind::Boolean), json!(true)),
            ]
        }
        PluginType::Loaders => vec![
            extra("log_parser", None, json!("singer-sdk")),
            extra("dialect", None, json!("$MELTANO_LOADER_NAMESPACE")),
        ],
        PluginType::Mappers | PluginType::Mappings => vec![
            extra("log_parser", None, json!("singer-sdk")),
            // Meltano's default for this array is `{}`, and `config list` shows it so.
            extra("mappings", Some(Kind::Array), json!({})),
            extra("mapping_name", Some(Kind::String), Value::Null),
        ],
        PluginType::Transforms => vec![
            extra("package_name", None, json!("$MELTANO_TRANSFORM_NAMESPACE")),
            extra("vars", Some(Kind::Object), json!({})),
        ],
        PluginType::Files => vec![extra("update", Some(Kind::Object), json!({}))],
        PluginType::Orchestrators | PluginType::Transformers | PluginType::Utilities => Vec::new(),
    }
}
