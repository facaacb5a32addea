//! The kinds of plugin a project can hold, and the names Meltano uses for each.

use std::fmt;
use std::str::FromStr;

/// A plugin type, in the order Meltano lists them everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginType {
    Extractors,
    Loaders,
    Transforms,
    Orchestrators,
    Transformers,
    Files,
    Utilities,
    Mappers,
    Mappings,
}

impl PluginType {
    /// Every type, in listing order.
    pub const ALL: [PluginType; 9] = [
        PluginType::Extractors,
        PluginType::Loaders,
        PluginType::Transforms,
        PluginType::Orchestrators,
        PluginType::Transformers,
        PluginType::Files,
        PluginType::Utilities,
        PluginType::Mappers,
        PluginType::Mappings,
    ];

    /// The types that appear as keys under `plugins:` in meltano.yml (mappings live inside mappers).
    pub const IN_MANIFEST: [PluginType; 8] = [
        PluginType::Extractors,
        PluginType::Loaders,
        PluginType::Transforms,
        PluginType::Orchestrators,
        PluginType::Transformers,
        PluginType::Files,
        PluginType::Utilities,
        PluginType::Mappers,
    ];

    /// The key under `plugins:` and the directory name under `.meltano/` and `plugins/`.
    pub fn plural(self) -> &'static str {
        match self {
            PluginType::Extractors => "extractors",
            PluginType::Loaders => "loaders",
            PluginType::Transforms => "transforms",
            PluginType::Orchestrators => "orchestrators",
            PluginType::Transformers => "transformers",
            PluginType::Files => "files",
            PluginType::Utilities => "utilities",
            PluginType::Mappers => "mappers",
            PluginType::Mappings => "mappings",
        }
    }

    /// The singular form (`extractor`, `file`, ...).
    pub fn singular(self) -> &'static str {
        match self {
            PluginType::Extractors => "extractor",
            PluginType::Loaders => "loader",
            PluginType::Transforms => "transform",
            PluginType::Orchestrators => "orchestrator",
            PluginType::Transformers => "transformer",
            PluginType::Files => "file",
            PluginType::Utilities => "utility",
            PluginType::Mappers => "mapper",
            PluginType::Mappings => "mapping",
        }
    }

    /// How messages name the type (`extractor`, `file bundle`, ...).
    pub fn descriptor(self) -> &'static str {
        match self {
            PluginType::Files => "file bundle",
            other => other.singular(),
        }
    }

    /// The verb used in `MELTANO_<VERB>_<SETTING>` variables (Meltano's spelling, `orchestrat` and `mappi` included).
    pub fn verb(self) -> &'static str {
        match self {
            PluginType::Extractors => "extract",
            PluginType::Loaders => "load",
            PluginType::Transforms | PluginType::Transformers => "transform",
            PluginType::Orchestrators => "orchestrat",
            PluginType::Files => "fi",
            PluginType::Utilities => "utilize",
            PluginType::Mappers => "map",
            PluginType::Mappings => "mappi",
        }
    }

    /// The type implied by a plugin name when none is given: `tap-*` extracts, `target-*` loads.
    pub fn infer_from_name(name: &str) -> PluginType {
        if name.starts_with("tap-") {
            PluginType::Extractors
        } else if name.starts_with("target-") {
            PluginType::Loaders
        } else {
            PluginType::Utilities
        }
    }
}

impl fmt::Display for PluginType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plural())
    }
}

/// A `--plugin-type` value that names no plugin type.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a valid plugin type")]
pub struct UnknownPluginType(pub String);

impl FromStr for PluginType {
    type Err = UnknownPluginType;

    /// Accepts the singular and plural forms, as `--plugin-type` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginType::ALL
            .into_iter()
            .find(|t| s == t.plural() || s == t.singular() || s == t.descriptor())
            .ok_or_else(|| UnknownPluginType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singular_and_plural() {
        assert_eq!(
            "extractor".parse::<PluginType>().ok(),
            Some(PluginType::Extractors)
        );
        assert_eq!(
            "utilities".parse::<PluginType>().ok(),
            Some(PluginType::Utilities)
        );
        assert_eq!(
            "mapping".parse::<PluginType>().ok(),
            Some(PluginType::Mappings)
        );
        assert!("widget".parse::<PluginType>().is_err());
    }

    #[test]
    fn infers_type_from_name_prefix() {
        assert_eq!(
            PluginType::infer_from_name("tap-gitlab"),
            PluginType::Extractors
        );
        assert_eq!(
            PluginType::infer_from_name("target-jsonl"),
            PluginType::Loaders
        );
        assert_eq!(
            PluginType::infer_from_name("dbt-postgres"),
            PluginType::Utilities
        );
    }
}
