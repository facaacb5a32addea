//! Setting definitions (`settings:` of a plugin): what a plugin can be configured with.
//!
//! Only the shape is modelled here; what a kind means (casting, redaction) belongs to the settings
//! resolver in `meltano-core`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::value::{self, Annotations, Noun, ValueMap};

/// One entry of a plugin's `settings:` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingDefinition {
    /// The setting name; may be dotted (`auth.token`) to address a nested config key.
    pub name: String,
    /// Other names accepted in meltano.yml and `meltano config set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// Human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Placeholder shown in UIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// The kind of value, which decides casting and redaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SettingKind>,
    /// What the setting does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A short extra explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tooltip: Option<String>,
    /// Link to documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// Not user-configurable.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub hidden: Option<bool>,
    /// Redacted in command output.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub sensitive: Option<bool>,
    /// An extra environment variable the value is exported as when the plugin runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Further environment variable names read for this setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_aliases: Option<Vec<String>>,
    /// Stored in `.env` rather than meltano.yml by default.
    #[serde(
        default,
        deserialize_with = "value::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub env_specific: Option<bool>,
    /// The allowed values of an `options` setting.
    #[serde(
        default,
        deserialize_with = "opt_options",
        skip_serializing_if = "Option::is_none"
    )]
    pub options: Option<Vec<SettingOption>>,
    /// OAuth provider of an `oauth` setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuth>,
    /// Applied to the value when it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_processor: Option<ValueProcessor>,
    /// Applied to the value before it is handed to the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_post_processor: Option<ValuePostProcessor>,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
    /// Keys Meltano does not know, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

impl Noun for SettingDefinition {
    const PLURAL: &'static str = "setting definitions";
}

/// The kinds a setting can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// True or false.
    Boolean,
    /// A decimal number.
    Decimal,
    /// A date or date-time, parsed leniently.
    DateIso8601,
    /// An e-mail address.
    Email,
    /// Deprecated: a sensitive string.
    Password,
    /// An OAuth token (sensitive).
    Oauth,
    /// One of `options`.
    Options,
    /// A file path.
    File,
    /// A list.
    Array,
    /// A mapping.
    Object,
    /// Deprecated: a hidden string.
    Hidden,
}

/// One allowed value of an `options` setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingOption {
    /// Human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The value stored when this option is chosen.
    #[serde(default)]
    pub value: Value,
}

impl Noun for SettingOption {
    const PLURAL: &'static str = "options";
}

fn opt_options<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<SettingOption>>, D::Error> {
    value::seq(deserializer).map(Some)
}

/// `oauth:` of a setting definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuth {
    /// A Meltano-supported OAuth provider name.
    pub provider: String,
}

/// `value_processor` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueProcessor {
    /// Turn dotted keys into nested objects.
    NestObject,
    /// Upper-case a string.
    UpcaseString,
}

/// `value_post_processor` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValuePostProcessor {
    /// Turn dotted keys into nested objects.
    NestObject,
    /// Upper-case a string.
    UpcaseString,
    /// Serialize the value as a JSON string.
    Stringify,
    /// Parse the value as a date.
    ParseDate,
}
