//! The top level of `meltano.yml` and the nested project-setting objects (`cli`, `state_backend`…).
//!
//! Project settings may also be written dotted at the top level (`cli.log_level: debug`); such keys
//! are not split here, they land in [`Manifest::extras`] like any unknown key and the settings
//! resolver reads both forms.

use meltano_core::PluginType;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::environment::Environment;
use super::plugin::{PluginEntry, Plugins};
use super::schedule::{Job, Schedule};
use super::value::{self, Annotations, EnvMap, ValueMap};

/// The whole of `meltano.yml` (after `include_paths` are merged, when it comes from
/// [`load`](super::load)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Deprecated file-format version (always 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// PEP 440 specifier of the Meltano versions this project needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_meltano: Option<String>,
    /// The project's unique ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The environment used when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_environment: Option<String>,
    /// Telemetry opt-in.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub send_anonymous_usage_stats: Option<bool>,
    /// Legacy telemetry opt-out, read only when `send_anonymous_usage_stats` is unset.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_tracking: Option<bool>,
    /// System database URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_uri: Option<String>,
    /// Connection attempts to the system database.
    #[serde(
        default,
        deserialize_with = "value::lenient_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub database_max_retries: Option<i64>,
    /// Seconds between connection attempts.
    #[serde(
        default,
        deserialize_with = "value::lenient_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub database_retry_timeout: Option<i64>,
    /// Refuse every change to the project.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub project_readonly: Option<bool>,
    /// Python for plugin venvs: version, executable name or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Install missing plugins before running them.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_install: Option<bool>,
    /// Enable experimental features.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub experimental: Option<bool>,
    /// Meltano Hub API root; overrides `hub_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_api_root: Option<String>,
    /// Meltano Hub URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_url: Option<String>,
    /// `Authorization` header for the Hub: a string, or `false`/null for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_url_auth: Option<Value>,
    /// `cli:` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli: Option<CliSettings>,
    /// `elt:` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elt: Option<EltSettings>,
    /// `ff:` feature flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ff: Option<FeatureFlags>,
    /// `snowplow:` telemetry settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snowplow: Option<SnowplowSettings>,
    /// `state_backend:` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_backend: Option<StateBackendSettings>,
    /// `venv:` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venv: Option<VenvSettings>,
    /// Project-level environment variables (values may reference `$VAR`).
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
    /// Glob patterns (relative to the project root) of more files holding plugins, schedules,
    /// environments and jobs.
    #[serde(
        default,
        deserialize_with = "include_paths",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub include_paths: Vec<String>,
    /// Plugins per type.
    #[serde(
        default,
        deserialize_with = "value::nullable",
        skip_serializing_if = "Plugins::is_empty"
    )]
    pub plugins: Plugins,
    /// Schedules.
    #[serde(
        default,
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub schedules: Vec<Schedule>,
    /// Jobs.
    #[serde(
        default,
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub jobs: Vec<Job>,
    /// Environments.
    #[serde(
        default,
        deserialize_with = "value::seq",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub environments: Vec<Environment>,
    /// Any other top-level key, kept as written (Meltano preserves them on rewrite).
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

fn include_paths<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

impl Manifest {
    /// The plugins of one type, in file order (`mappings` is always empty: they live in mappers).
    pub fn plugins_of(&self, plugin_type: PluginType) -> &[PluginEntry] {
        self.plugins.get(plugin_type)
    }

    /// Every plugin with its type, in Meltano's type order then file order. Mappers' mappings are
    /// not listed separately.
    pub fn all_plugins(&self) -> impl Iterator<Item = (PluginType, &PluginEntry)> {
        self.plugins.iter()
    }

    /// The first plugin called `name`, of `plugin_type` when given, else of any type (type order).
    pub fn find_plugin(
        &self,
        name: &str,
        plugin_type: Option<PluginType>,
    ) -> Option<(PluginType, &PluginEntry)> {
        self.all_plugins()
            .find(|(t, p)| p.name == name && plugin_type.is_none_or(|want| want == *t))
    }

    /// The environment called `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    /// The job called `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }
}

/// `cli:` project settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CliSettings {
    /// `debug`, `info`, `warning`, `error`, `critical` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Logging config file, relative to the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_config: Option<String>,
    /// `colored`, `uncolored`, `json`, `key_value` or `plain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// Skip the PyPI version check.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_version_check: Option<bool>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `elt:` project settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EltSettings {
    /// Pipe buffer size in bytes (the longest Singer line is half of it).
    #[serde(
        default,
        deserialize_with = "value::lenient_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub buffer_size: Option<i64>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `ff:` feature flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureFlags {
    /// Undefined `$VAR` references are errors.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub strict_env_var_mode: Option<bool>,
    /// Lock files are required to run plugins.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub plugin_locks_required: Option<bool>,
    /// Other flags, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `snowplow:` telemetry settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnowplowSettings {
    /// Collector URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector_endpoints: Option<Vec<String>>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `venv:` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VenvSettings {
    /// `uv` (default) or `virtualenv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `state_backend:` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateBackendSettings {
    /// `systemdb`, `file://…`, `s3://…`, `gs://…` or `azure://…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Seconds a state lock stays valid.
    #[serde(
        default,
        deserialize_with = "value::lenient_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_timeout_seconds: Option<i64>,
    /// Seconds between lock attempts.
    #[serde(
        default,
        deserialize_with = "value::lenient_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_retry_seconds: Option<i64>,
    /// Azure Blob Storage credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureStateBackend>,
    /// Google Cloud Storage credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsStateBackend>,
    /// AWS S3 credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3StateBackend>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `state_backend.azure:`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AzureStateBackend {
    /// Connection string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
    /// Account URL, used with the default Azure credential chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_url: Option<String>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `state_backend.gcs:`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GcsStateBackend {
    /// Deprecated alias of `application_credentials_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credentials: Option<String>,
    /// Path to a credentials file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credentials_path: Option<String>,
    /// Credentials as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credentials_json: Option<String>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

/// `state_backend.s3:`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct S3StateBackend {
    /// Access key ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_access_key_id: Option<String>,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_secret_access_key: Option<String>,
    /// Endpoint URL (S3-compatible stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}
