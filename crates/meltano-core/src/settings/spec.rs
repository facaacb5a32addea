//! What a setting is: its name, kind, default and how it may be set and shown.
//!
//! Plugin definitions (from meltano.yml or lock files) and the project's own settings are both
//! turned into [`SettingSpec`]s, so one resolver serves them all.

use serde_json::Value;

/// The kind of a setting's value, which decides casting, redaction and how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    String,
    Integer,
    Boolean,
    Decimal,
    DateIso8601,
    Email,
    Password,
    Oauth,
    Options,
    File,
    Array,
    Object,
    Hidden,
}

impl Kind {
    /// Every kind with its meltano.yml spelling.
    pub const ALL: [(Kind, &'static str); 13] = [
        (Kind::String, "string"),
        (Kind::Integer, "integer"),
        (Kind::Boolean, "boolean"),
        (Kind::Decimal, "decimal"),
        (Kind::DateIso8601, "date_iso8601"),
        (Kind::Email, "email"),
        (Kind::Password, "password"),
        (Kind::Oauth, "oauth"),
        (Kind::Options, "options"),
        (Kind::File, "file"),
        (Kind::Array, "array"),
        (Kind::Object, "object"),
        (Kind::Hidden, "hidden"),
    ];

    /// The kind named `name` in meltano.yml.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    /// The kind a setting gets from a value written for it (custom settings, definition extras).
    pub fn of_value(value: &Value) -> Option<Kind> {
        match value {
            Value::Bool(_) => Some(Kind::Boolean),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(Kind::Integer),
            Value::Number(_) => Some(Kind::Decimal),
            Value::Array(_) => Some(Kind::Array),
            Value::Object(_) => Some(Kind::Object),
            _ => None,
        }
    }

    /// The meltano.yml spelling.
    pub fn as_str(self) -> &'static str {
        Kind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("string", |(_, n)| n)
    }
}

/// One allowed value of an `options` setting.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingOption {
    pub label: Option<String>,
    pub value: Value,
}

/// A setting definition, normalised from wherever it came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingSpec {
    /// The name; dots address nested config (`auth.token`), `\.` is a literal dot.
    pub name: String,
    /// Other names accepted in meltano.yml, on the command line and as env-var suffixes.
    pub aliases: Vec<String>,
    /// None: a setting without a kind (custom settings, project strings).
    pub kind: Option<Kind>,
    /// The default (`value:` of the definition); may reference `$VAR`s.
    pub default: Option<Value>,
    /// Redacted in output unless `--unsafe`; never written to meltano.yml by our commands.
    pub sensitive: bool,
    /// Not shown in listings.
    pub hidden: bool,
    /// An extra variable name to inject the value as (never read).
    pub env: Option<String>,
    /// Environment-specific: the `auto` store writes it to `.env`.
    pub env_specific: bool,
    pub label: Option<String>,
    pub description: Option<String>,
    pub options: Vec<SettingOption>,
    /// A setting that is not in the plugin's definition (found only in config).
    pub custom: bool,
}

impl SettingSpec {
    /// A spec with only a name (what a custom setting starts as).
    pub fn named(name: impl Into<String>) -> SettingSpec {
        SettingSpec {
            name: name.into(),
            ..SettingSpec::default()
        }
    }

    /// Whether the value must be redacted: `sensitive: true`, or kind `password`/`oauth`.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive || matches!(self.kind, Some(Kind::Password | Kind::Oauth))
    }

    /// Whether the setting is an extra (`_select`, `_metadata`, ...), handled by Meltano itself.
    pub fn is_extra(&self) -> bool {
        self.name.starts_with('_')
    }

    /// The name and every alias.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}
