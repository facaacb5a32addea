//! Plugin entries under `plugins:` and the per-type lists that hold them.
//!
//! One [`PluginEntry`] type serves every plugin type: the generic keys are typed, the known
//! type-specific extras (`select`, `dialect`, `mappings`, `vars`, `update`…) are typed too, and any
//! other key is kept in [`PluginEntry::extras`] because Meltano exposes it as a `_<key>` setting.

use std::fmt;

use indexmap::IndexMap;
use meltano_core::PluginType;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::setting::SettingDefinition;
use super::value::{self, Annotations, EnvMap, Noun, ValueMap};

/// A list per plugin type, as under `plugins:`, a plugin's `requires:` and an environment's
/// `config.plugins:`. Fields are in Meltano's listing order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Deserialize<'de> + Noun", serialize = "T: Serialize")
)]
pub struct ByType<T> {
    /// `extractors:`
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extractors: Vec<T>,
    /// `loaders:`
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub loaders: Vec<T>,
    /// `transforms:` (dbt packages)
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub transforms: Vec<T>,
    /// `orchestrators:`
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub orchestrators: Vec<T>,
    /// `transformers:`
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub transformers: Vec<T>,
    /// `files:` (file bundles)
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<T>,
    /// `utilities:`
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub utilities: Vec<T>,
    /// `mappers:`
    #[serde(
        default = "Vec::new",
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub mappers: Vec<T>,
}

impl<T> Default for ByType<T> {
    fn default() -> Self {
        ByType {
            extractors: Vec::new(),
            loaders: Vec::new(),
            transforms: Vec::new(),
            orchestrators: Vec::new(),
            transformers: Vec::new(),
            files: Vec::new(),
            utilities: Vec::new(),
            mappers: Vec::new(),
        }
    }
}

impl<T> ByType<T> {
    /// The list for one type; `mappings` live inside mappers, so their list is always empty.
    pub fn get(&self, plugin_type: PluginType) -> &[T] {
        match plugin_type {
            PluginType::Extractors => &self.extractors,
            PluginType::Loaders => &self.loaders,
            PluginType::Transforms => &self.transforms,
            PluginType::Orchestrators => &self.orchestrators,
            PluginType::Transformers => &self.transformers,
            PluginType::Files => &self.files,
            PluginType::Utilities => &self.utilities,
            PluginType::Mappers => &self.mappers,
            PluginType::Mappings => &[],
        }
    }

    /// The list for one type, for merging; `None` for `mappings`.
    pub fn get_mut(&mut self, plugin_type: PluginType) -> Option<&mut Vec<T>> {
        match plugin_type {
            PluginType::Extractors => Some(&mut self.extractors),
            PluginType::Loaders => Some(&mut self.loaders),
            PluginType::Transforms => Some(&mut self.transforms),
            PluginType::Orchestrators => Some(&mut self.orchestrators),
            PluginType::Transformers => Some(&mut self.transformers),
            PluginType::Files => Some(&mut self.files),
            PluginType::Utilities => Some(&mut self.utilities),
            PluginType::Mappers => Some(&mut self.mappers),
            PluginType::Mappings => None,
        }
    }

    /// Every entry with its type, in type order then file order.
    pub fn iter(&self) -> impl Iterator<Item = (PluginType, &T)> {
        PluginType::IN_MANIFEST
            .into_iter()
            .flat_map(move |t| self.get(t).iter().map(move |e| (t, e)))
    }

    /// Whether no type has an entry.
    pub fn is_empty(&self) -> bool {
        PluginType::IN_MANIFEST
            .into_iter()
            .all(|t| self.get(t).is_empty())
    }
}

/// The `plugins:` section.
pub type Plugins = ByType<PluginEntry>;

/// One plugin under `plugins.<type>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginEntry {
    /// The plugin name, unique within its type.
    pub name: String,
    /// Another plugin (project plugin or Hub definition) this one inherits from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit_from: Option<String>,
    /// The variant of the Hub definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Namespace; without `inherit_from` it makes this a custom plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What `pip install` gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pip_url: Option<String>,
    /// Python version, executable name or path for the plugin's venv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// The executable to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Logo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// Documentation URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Source repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Repository of the Meltano extension wrapping the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_repo: Option<String>,
    /// Hidden from listings.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub hidden: Option<bool>,
    /// Capabilities (`catalog`, `discover`, `state`…); absent means "inherit".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// Setting definitions.
    #[serde(
        default,
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub settings: Vec<SettingDefinition>,
    /// Sets of setting names, one of which must be fully configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_group_validation: Option<Vec<Vec<String>>>,
    /// Named commands for `meltano invoke <plugin>:<command>`.
    #[serde(
        default,
        deserialize_with = "commands",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub commands: IndexMap<String, Command>,
    /// Other plugins this one needs installed.
    #[serde(
        default,
        deserialize_with = "value::nullable",
        skip_serializing_if = "ByType::is_empty"
    )]
    pub requires: ByType<PluginRequirement>,
    /// Meltano version specifier this plugin needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_meltano: Option<String>,
    /// Setting values, nested (`a: {b: 1}`) or dotted (`a.b: 1`) exactly as written.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "ValueMap::is_empty"
    )]
    pub config: ValueMap,
    /// Environment variables for the plugin's process.
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

    /// Extractors: stream/property selection patterns (`select` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Vec<String>>,
    /// Extractors: stream filter patterns (`select_filter` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_filter: Option<Vec<String>>,
    /// Extractors: catalog metadata rules (`metadata` extra).
    #[serde(
        default,
        deserialize_with = "value::opt_value_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<ValueMap>,
    /// Extractors: schema override rules (`schema` extra).
    #[serde(
        default,
        deserialize_with = "value::opt_value_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub schema: Option<ValueMap>,
    /// Extractors: a catalog file to use instead of discovery (`catalog` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// Extractors: a state file to start from (`state` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Extractors: target schema name (`load_schema` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_schema: Option<String>,
    /// Extractors: whether the discovered catalog may be reused (`use_cached_catalog` extra).
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub use_cached_catalog: Option<bool>,
    /// Extractors, loaders, mappers: the log parser (`log_parser` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_parser: Option<String>,
    /// Loaders: the database dialect (`dialect` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// Mappers: the runnable mappings, each with its own config.
    #[serde(
        default,
        deserialize_with = "opt_mappings",
        skip_serializing_if = "Option::is_none"
    )]
    pub mappings: Option<Vec<Mapping>>,
    /// Transforms: dbt variables (`vars` extra).
    #[serde(
        default,
        deserialize_with = "value::opt_value_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub vars: Option<ValueMap>,
    /// Transforms: the dbt package's project name (`package_name` extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_name: Option<String>,
    /// File bundles: which bundled files to keep updated (`update` extra).
    #[serde(
        default,
        deserialize_with = "value::opt_value_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub update: Option<ValueMap>,

    /// Any other key: an extra, exposed by Meltano as the setting `_<key>`.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

impl Noun for PluginEntry {
    const PLURAL: &'static str = "plugins";
}

impl PluginEntry {
    /// Every extra as a raw value (the typed ones first, in schema order, then unknown keys in
    /// file order), for the settings resolver, which treats them all as `_<key>` settings.
    pub fn extras_as_values(&self) -> ValueMap {
        let mut out = ValueMap::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                out.insert(key.to_string(), v);
            }
        };
        let strings = |v: &Option<Vec<String>>| {
            v.as_ref()
                .map(|v| Value::Array(v.iter().cloned().map(Value::String).collect()))
        };
        let map = |v: &Option<ValueMap>| {
            v.as_ref()
                .map(|m| Value::Object(m.clone().into_iter().collect()))
        };
        let string = |v: &Option<String>| v.clone().map(Value::String);
        put("select", strings(&self.select));
        put("select_filter", strings(&self.select_filter));
        put("metadata", map(&self.metadata));
        put("schema", map(&self.schema));
        put("catalog", string(&self.catalog));
        put("state", string(&self.state));
        put("load_schema", string(&self.load_schema));
        put(
            "use_cached_catalog",
            self.use_cached_catalog.map(Value::Bool),
        );
        put("log_parser", string(&self.log_parser));
        put("dialect", string(&self.dialect));
        put("vars", map(&self.vars));
        put("package_name", string(&self.package_name));
        put("update", map(&self.update));
        for (k, v) in &self.extras {
            out.insert(k.clone(), v.clone());
        }
        out
    }
}

/// One mapping of a mapper: a named config that runs as its own "mapping" plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// The name used in `meltano run`.
    pub name: String,
    /// The mapper config for this mapping.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "ValueMap::is_empty"
    )]
    pub config: ValueMap,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
}

impl Noun for Mapping {
    const PLURAL: &'static str = "mappings";
}

fn opt_mappings<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Mapping>>, D::Error> {
    value::seq(deserializer).map(Some)
}

/// An entry of `requires.<type>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRequirement {
    /// The required plugin's name.
    pub name: String,
    /// The required variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
}

impl Noun for PluginRequirement {
    const PLURAL: &'static str = "plugin requirements";
}

/// A plugin command: just the arguments, or a full description.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Command {
    /// `name: "args…"`
    Args(String),
    /// `name: {args, description, executable, container_spec}`
    Spec(Box<CommandSpec>),
}

impl Command {
    /// The argument string (shell-split at run time).
    pub fn args(&self) -> &str {
        match self {
            Command::Args(a) => a,
            Command::Spec(s) => s.args.as_deref().unwrap_or(""),
        }
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command string or a mapping with `args`")
            }
            fn visit_str<E>(self, v: &str) -> Result<Command, E> {
                Ok(Command::Args(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Command, E> {
                Ok(Command::Args(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Command, A::Error> {
                CommandSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|spec| Command::Spec(Box::new(spec)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

fn commands<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, Command>, D::Error> {
    Ok(Option::<IndexMap<String, Command>>::deserialize(deserializer)?.unwrap_or_default())
}

/// The mapping form of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Command arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Shown when listing commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Overrides the plugin's executable for this command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Run in a container instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_spec: Option<ContainerSpec>,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
}

/// `container_spec:` of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// Container image.
    pub image: String,
    /// Command run in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Entrypoint override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    /// Host port to container port.
    #[serde(
        default,
        deserialize_with = "value::env_map",
        skip_serializing_if = "EnvMap::is_empty"
    )]
    pub ports: EnvMap,
    /// Volumes to mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<String>>,
    /// Environment variables in the container.
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
}
