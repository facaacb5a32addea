//! One variant of a plugin: the shape of a Hub definition, a built-in definition and a lock file.
//!
//! Known keys are typed; setting definitions, commands and `env` stay JSON so that a lock file
//! written back keeps every key the Hub sent. Deprecated setting kinds are normalised on parse,
//! as Meltano does, and [`PluginDefinition::to_lock_json`] writes Meltano's canonical form.

use indexmap::IndexMap;
use meltano_core::PluginType;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One entry of `settings:`, kept as the JSON object the definition holds (key order included).
///
/// Parse it into `meltano_project::manifest::SettingDefinition` (or the core settings model) with
/// `serde_json::from_value` where typed access is needed.
pub type SettingJson = Map<String, Value>;

/// A single-variant plugin definition (Meltano's "standalone" plugin).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PluginDefinition {
    /// The plugin type; present in lock files, and set by this crate on every definition it returns.
    pub plugin_type: Option<PluginType>,
    /// The plugin name, e.g. `tap-postgres`.
    pub name: String,
    /// Prefix of the plugin's environment variables and default state/config names.
    pub namespace: String,
    /// The variant name, e.g. `meltanolabs`; `None` for a plugin with a single unnamed variant.
    pub variant: Option<String>,
    /// Human-readable name; a lock file falls back to `name` when it is absent.
    pub label: Option<String>,
    /// Documentation URL.
    pub docs: Option<String>,
    /// Source repository URL.
    pub repo: Option<String>,
    /// What `pip install` (or `uv pip install`) is given; may hold several requirements.
    pub pip_url: Option<String>,
    /// The Python interpreter the plugin's virtualenv is created with.
    pub python: Option<String>,
    /// The command the package installs, when it differs from `name`.
    pub executable: Option<String>,
    /// One-line description.
    pub description: Option<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Singer capabilities (`catalog`, `discover`, `state`, ...).
    pub capabilities: Vec<String>,
    /// Groups of setting names of which at least one group must be fully set.
    pub settings_group_validation: Vec<Vec<String>>,
    /// Setting definitions, normalised (see [`normalise_setting`]).
    pub settings: Vec<SettingJson>,
    /// Named commands: a string of arguments or an object (`args`, `description`, `executable`, ...).
    pub commands: IndexMap<String, Value>,
    /// Other plugins this one needs, per plugin type (plural key as written).
    pub requires: IndexMap<String, Vec<Requirement>>,
    /// A version specifier for the Meltano version the plugin needs.
    pub requires_meltano: Option<String>,
    /// Environment variables injected when the plugin runs.
    pub env: IndexMap<String, Value>,
    /// Python versions the plugin supports, e.g. `["3.10", "3.11"]`.
    pub supported_python_versions: Option<Vec<String>>,
    /// Variant metadata, never written to a lock file: this is the "original" variant.
    pub original: Option<bool>,
    /// Variant metadata, never written to a lock file: this variant is deprecated.
    pub deprecated: Option<bool>,
    /// Presentation metadata, never written to a lock file: hidden from listings.
    pub hidden: Option<bool>,
    /// Any other key (`keywords`, `maintenance_status`, `domain_url`, `quality`, `dialect`, ...),
    /// in the order written; copied to lock files as they are.
    pub extras: IndexMap<String, Value>,
}

/// One entry of `requires:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// The required plugin's name.
    pub name: String,
    /// Its variant, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Why a JSON (or YAML) document is not a plugin definition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    /// The document is not an object.
    #[error("expected an object, found {0}")]
    NotAnObject(&'static str),
    /// A required key is absent.
    #[error("required key '{0}' is missing")]
    Missing(&'static str),
    /// A key holds a value of the wrong shape.
    #[error("key '{key}': {message}")]
    Invalid {
        /// The key, dotted for nested ones (`settings[2].name`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Setting-definition keys in the order Meltano writes them; other keys follow in their own order.
const SETTING_KEY_ORDER: [&str; 18] = [
    "name",
    "aliases",
    "env",
    "env_aliases",
    "kind",
    "value",
    "label",
    "documentation",
    "description",
    "tooltip",
    "options",
    "oauth",
    "placeholder",
    "env_specific",
    "hidden",
    "sensitive",
    "value_processor",
    "value_post_processor",
];

/// Setting keys Meltano keeps in memory only.
const SETTING_PRIVATE_KEYS: [&str; 1] = ["custom"];

impl PluginDefinition {
    /// Parses a definition from a Hub response, a lock file or built-in data.
    pub fn from_value(value: Value) -> Result<Self, DefinitionError> {
        let Value::Object(mut map) = value else {
            return Err(DefinitionError::NotAnObject(json_kind(&value)));
        };
        let plugin_type = take::<Option<String>>(&mut map, "plugin_type")?
            .map(|t| {
                t.parse::<PluginType>()
                    .map_err(|e| DefinitionError::Invalid {
                        key: "plugin_type".into(),
                        message: e.to_string(),
                    })
            })
            .transpose()?;
        let name =
            take::<Option<String>>(&mut map, "name")?.ok_or(DefinitionError::Missing("name"))?;
        let namespace = take::<Option<String>>(&mut map, "namespace")?
            .ok_or(DefinitionError::Missing("namespace"))?;
        let mut definition = PluginDefinition {
            plugin_type,
            name,
            namespace,
            variant: take(&mut map, "variant")?,
            label: take(&mut map, "label")?,
            docs: take(&mut map, "docs")?,
            repo: take(&mut map, "repo")?,
            pip_url: take(&mut map, "pip_url")?,
            python: take(&mut map, "python")?,
            executable: take(&mut map, "executable")?,
            description: take(&mut map, "description")?,
            logo_url: take(&mut map, "logo_url")?,
            capabilities: take_list(&mut map, "capabilities")?,
            settings_group_validation: take_list(&mut map, "settings_group_validation")?,
            settings: take_list(&mut map, "settings")?,
            commands: take::<Option<_>>(&mut map, "commands")?.unwrap_or_default(),
            requires: take::<Option<_>>(&mut map, "requires")?.unwrap_or_default(),
            requires_meltano: take(&mut map, "requires_meltano")?,
            env: take::<Option<_>>(&mut map, "env")?.unwrap_or_default(),
            supported_python_versions: take(&mut map, "supported_python_versions")?,
            original: take(&mut map, "original")?,
            deprecated: take(&mut map, "deprecated")?,
            hidden: take(&mut map, "hidden")?,
            extras: IndexMap::new(),
        };
        for (i, setting) in definition.settings.iter_mut().enumerate() {
            match setting.get("name") {
                Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(DefinitionError::Invalid {
                        key: format!("settings[{i}].name"),
                        message: format!("expected a string, found {}", json_kind(other)),
                    });
                }
                None => {
                    return Err(DefinitionError::Invalid {
                        key: format!("settings[{i}]"),
                        message: "a setting needs a 'name'".into(),
                    });
                }
            }
            normalise_setting(setting);
        }
        for (name, command) in &definition.commands {
            if !matches!(command, Value::String(_) | Value::Object(_)) {
                return Err(DefinitionError::Invalid {
                    key: format!("commands.{name}"),
                    message: format!(
                        "expected a string or an object, found {}",
                        json_kind(command)
                    ),
                });
            }
        }
        definition.extras = map.into_iter().collect();
        Ok(definition)
    }

    /// The variant name as Meltano shows it (`original` for an unnamed variant).
    pub fn variant_name(&self) -> &str {
        self.variant.as_deref().unwrap_or("original")
    }

    /// The setting definition called `name`.
    pub fn setting(&self, name: &str) -> Option<&SettingJson> {
        self.settings
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Meltano's canonical form of this definition: known keys in lock-file order with empty
    /// values left out, then the extra keys as they are.
    pub fn to_canonical_value(&self) -> Value {
        let mut out = Map::new();
        let mut put = |key: &str, value: Value| {
            if keep(&value) {
                out.insert(key.to_string(), value);
            }
        };
        if let Some(t) = self.plugin_type {
            put("plugin_type", t.plural().into());
        }
        put("name", self.name.clone().into());
        put("namespace", self.namespace.clone().into());
        put("variant", opt_str(&self.variant));
        put(
            "label",
            Value::String(self.label.clone().unwrap_or_else(|| self.name.clone())),
        );
        put("docs", opt_str(&self.docs));
        put("repo", opt_str(&self.repo));
        put("pip_url", opt_str(&self.pip_url));
        put("python", opt_str(&self.python));
        put("executable", opt_str(&self.executable));
        put("description", opt_str(&self.description));
        put("logo_url", opt_str(&self.logo_url));
        put("capabilities", to_json(&self.capabilities));
        put(
            "settings_group_validation",
            to_json(&self.settings_group_validation),
        );
        put(
            "settings",
            Value::Array(
                self.settings
                    .iter()
                    .map(|s| Value::Object(canonical_setting(s)))
                    .collect(),
            ),
        );
        put(
            "commands",
            Value::Object(
                self.commands
                    .iter()
                    .map(|(k, v)| (k.clone(), canonical_command(v)))
                    .collect(),
            ),
        );
        put("requires", canonical_requires(&self.requires));
        put("requires_meltano", opt_str(&self.requires_meltano));
        put("env", to_json(&self.env));
        put(
            "supported_python_versions",
            self.supported_python_versions
                .as_ref()
                .map_or(Value::Null, to_json),
        );
        for (key, value) in &self.extras {
            out.insert(key.clone(), value.clone());
        }
        Value::Object(out)
    }

    /// The lock file text: canonical JSON, indented by two spaces, non-ASCII escaped, with a
    /// trailing newline, exactly as Meltano writes it.
    pub fn to_lock_json(&self) -> String {
        let mut text = meltano_core::pyjson::dumps_indent2(&self.to_canonical_value());
        text.push('\n');
        text
    }

    /// Meltano's warnings for settings still using a deprecated kind after normalisation
    /// (`kind: password` without `sensitive`, `kind: hidden` without `hidden`); one per kind.
    pub fn deprecated_kind_warnings(&self) -> Vec<String> {
        let mut by_kind: IndexMap<&str, Vec<&str>> = IndexMap::new();
        for setting in &self.settings {
            let kind = setting.get("kind").and_then(Value::as_str);
            if let Some(kind @ ("password" | "hidden")) = kind {
                let name = setting.get("name").and_then(Value::as_str).unwrap_or("");
                by_kind.entry(kind).or_default().push(name);
            }
        }
        let type_plural = self.plugin_type.map_or("plugins", PluginType::plural);
        let type_singular = self.plugin_type.map_or("plugin", PluginType::singular);
        by_kind
            .into_iter()
            .map(|(kind, names)| {
                let replacement = if kind == "password" { "sensitive: true" } else { "hidden: true" };
                let names: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                format!(
                    "`kind: {kind}` is deprecated for setting definitions in favour of `{replacement}`, \
                     and is currently in use by the following settings of {type_singular} '{}': {}. \
                     Please open an issue or pull request to update the plugin definition on Meltano Hub at \
                     https://github.com/meltano/hub/blob/main/_data/meltano/{type_plural}/{}/{}.yml.",
                    self.name,
                    names.join(", "),
                    self.name,
                    self.variant.as_deref().unwrap_or("None"),
                )
            })
            .collect()
    }
}

impl<'de> Deserialize<'de> for PluginDefinition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        PluginDefinition::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl Serialize for PluginDefinition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_canonical_value().serialize(serializer)
    }
}

/// Rewrites deprecated kinds as Meltano does: `kind: password`/`oauth` becomes `kind: string` when
/// `sensitive` is already truthy, else gains `sensitive: true`; `kind: hidden` likewise with
/// `hidden`.
pub fn normalise_setting(setting: &mut SettingJson) {
    let flag = match setting.get("kind").and_then(Value::as_str) {
        Some("hidden") => "hidden",
        Some("password" | "oauth") => "sensitive",
        _ => return,
    };
    if setting.get(flag).is_some_and(truthy) {
        setting.insert("kind".into(), "string".into());
    } else {
        setting.insert(flag.into(), true.into());
    }
}

fn canonical_setting(setting: &SettingJson) -> SettingJson {
    let mut out = Map::new();
    for key in SETTING_KEY_ORDER {
        if let Some(value) = setting.get(key) {
            let kept = if key == "value" {
                !value.is_null()
            } else {
                keep(value)
            };
            if kept {
                out.insert(key.into(), value.clone());
            }
        }
    }
    for (key, value) in setting {
        let known = SETTING_KEY_ORDER.contains(&key.as_str())
            || SETTING_PRIVATE_KEYS.contains(&key.as_str());
        if !known && keep(value) {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

fn canonical_command(command: &Value) -> Value {
    let Value::Object(fields) = command else {
        return match command {
            Value::String(s) if s.is_empty() => Value::Object(Map::new()),
            other => other.clone(),
        };
    };
    let mut out = Map::new();
    for key in ["args", "description", "executable"] {
        if let Some(v) = fields.get(key).filter(|v| keep(v)) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Object(spec)) = fields.get("container_spec").filter(|v| truthy(v)) {
        let mut spec_out = Map::new();
        for key in ["image", "command", "entrypoint", "ports", "volumes", "env"] {
            if let Some(v) = spec.get(key).filter(|v| keep(v)) {
                spec_out.insert(key.into(), v.clone());
            }
        }
        if !spec_out.is_empty() {
            out.insert("container_spec".into(), Value::Object(spec_out));
        }
    }
    for (key, value) in fields {
        let known = matches!(
            key.as_str(),
            "args" | "description" | "executable" | "container_spec"
        );
        if !known && keep(value) {
            out.insert(key.clone(), value.clone());
        }
    }
    match (out.len(), out.get("args")) {
        (1, Some(args)) => args.clone(),
        _ => Value::Object(out),
    }
}

fn canonical_requires(requires: &IndexMap<String, Vec<Requirement>>) -> Value {
    Value::Object(
        requires
            .iter()
            .map(|(plugin_type, list)| {
                let items = list
                    .iter()
                    .map(|r| {
                        let mut m = Map::new();
                        if !r.name.is_empty() {
                            m.insert("name".into(), r.name.clone().into());
                        }
                        if let Some(v) = r.variant.as_ref().filter(|v| !v.is_empty()) {
                            m.insert("variant".into(), v.clone().into());
                        }
                        Value::Object(m)
                    })
                    .collect();
                (plugin_type.clone(), Value::Array(items))
            })
            .collect(),
    )
}

/// Python truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Meltano's canonical form keeps truthy values and `false`.
fn keep(value: &Value) -> bool {
    truthy(value) || matches!(value, Value::Bool(false))
}

fn opt_str(value: &Option<String>) -> Value {
    value.clone().map_or(Value::Null, Value::String)
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Removes `key` and parses it; `null` counts as absent for `Option` targets.
fn take<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &'static str,
) -> Result<T, DefinitionError> {
    let value = map.shift_remove(key).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| DefinitionError::Invalid {
        key: key.into(),
        message: e.to_string(),
    })
}

fn take_list<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &'static str,
) -> Result<Vec<T>, DefinitionError> {
    Ok(take::<Option<Vec<T>>>(map, key)?.unwrap_or_default())
}
