//! Index entries: a plugin name with its variants, as the Hub index and the built-in index list
//! them, and the rules for picking one variant.

use meltano_core::PluginType;

use crate::definition::PluginDefinition;

/// The variant name that means "the default variant".
pub const DEFAULT_VARIANT: &str = "default";
/// The variant name that means "the variant flagged original, else the default".
pub const ORIGINAL_VARIANT: &str = "original";

/// One plugin name of an index, with every variant it offers.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginVariants {
    /// The plugin type the index lists it under.
    pub plugin_type: PluginType,
    /// The plugin name.
    pub name: String,
    /// Logo URL from the index.
    pub logo_url: Option<String>,
    /// The name of the default variant.
    pub default_variant: String,
    /// Every variant, in index order.
    pub variants: Vec<VariantEntry>,
}

/// A definition picked from an index, and whether it is the default variant (for "(default)").
#[derive(Debug, Clone, PartialEq)]
pub struct FoundDefinition {
    /// The definition, with `plugin_type` set.
    pub definition: PluginDefinition,
    /// Whether the index names it as the default variant.
    pub is_default_variant: bool,
}

/// One variant of an index entry.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantEntry {
    /// The variant name.
    pub name: String,
    /// Where its definition is.
    pub source: VariantSource,
}

/// Where a variant's definition comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum VariantSource {
    /// A Hub URL (`ref`) to fetch the definition from.
    Ref(String),
    /// The definition itself (built-in index).
    Definition(Box<PluginDefinition>),
}

/// The plugin, or its variant, is in no index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownPlugin {
    /// No index knows the name.
    #[error(
        "{} '{name}' is not known to Meltano. Check https://hub.meltano.com/ for available plugins.",
        capitalize(plugin_type.descriptor())
    )]
    Name {
        /// The plugin type looked in.
        plugin_type: PluginType,
        /// The name asked for.
        name: String,
    },
    /// The name is known but not the variant.
    #[error(
        "{} '{name}' variant '{variant}' is not known to Meltano. Variants: {}.",
        capitalize(plugin_type.descriptor()),
        python_list(variants)
    )]
    Variant {
        /// The plugin type looked in.
        plugin_type: PluginType,
        /// The plugin name.
        name: String,
        /// The variant asked for.
        variant: String,
        /// The known variants as labels: the default first, as `<name> (default)`.
        variants: Vec<String>,
    },
}

impl PluginVariants {
    /// Labels of the variants, default first (`"a (default)"`), then the others in index order.
    pub fn variant_labels(&self) -> Vec<String> {
        let mut labels = vec![format!("{} (default)", self.default_variant)];
        labels.extend(
            self.variants
                .iter()
                .filter(|v| v.name != self.default_variant)
                .map(|v| v.name.clone()),
        );
        labels
    }

    /// Whether `variant` names the default variant.
    pub fn is_default(&self, variant: &str) -> bool {
        variant == self.default_variant
    }

    /// Picks a variant: `None` or `default` → the default; `original` → the variant flagged
    /// original, else the default; any other name must match exactly.
    pub fn find_variant(&self, requested: Option<&str>) -> Result<&VariantEntry, UnknownPlugin> {
        let wanted = match requested {
            None | Some(DEFAULT_VARIANT) => self.default_variant.as_str(),
            Some(ORIGINAL_VARIANT) => self
                .variants
                .iter()
                .find(|v| {
                    matches!(&v.source, VariantSource::Definition(d) if d.original == Some(true))
                })
                .map_or(self.default_variant.as_str(), |v| v.name.as_str()),
            Some(name) => name,
        };
        self.variants
            .iter()
            .find(|v| v.name == wanted)
            .ok_or_else(|| UnknownPlugin::Variant {
                plugin_type: self.plugin_type,
                name: self.name.clone(),
                variant: requested.unwrap_or(wanted).to_string(),
                variants: self.variant_labels(),
            })
    }
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A list of strings as Python prints it: `['a', 'b']`.
pub(crate) fn python_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| python_str(s)).collect();
    format!("[{}]", parts.join(", "))
}

fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
