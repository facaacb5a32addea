//! Environment-variable names of settings: the names a value is read from, the names it is
//! injected into plugin processes under, and how values are spelled there.
//!
//! Meltano derives every name from a prefix (plugin name, namespace, `meltano`) and the setting
//! name; keeping the derivation in one place keeps `config list`, the resolver and the runner in
//! agreement.

use serde_json::Value;

use super::repr::{py_json_dumps, py_str};
use super::spec::{Kind, SettingSpec};
use crate::PluginType;

/// Joins non-empty parts with `_`, each upper-cased with every character outside `[A-Za-z0-9]`
/// replaced by `_`: ("tap-fake", "nested.value") → `TAP_FAKE_NESTED_VALUE`.
///
/// An empty part is skipped, as Meltano does, so ("", "x") is `X`.
pub fn to_env_var(prefix: &str, name: &str) -> String {
    [prefix, name]
        .iter()
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// The variables a plugin setting is read from: every prefix (deduplicated) with the name, then
/// every prefix with each alias (`TAP_FAKE__METADATA, FAKENS__METADATA, TAP_FAKE_METADATA, …`).
///
/// `prefixes` are the plugin's own name and namespace; parents' variables are not read (their
/// values arrive through the inherited store). The `env:` override is never read.
pub fn read_names(prefixes: &[&str], spec: &SettingSpec) -> Vec<String> {
    let prefixes = uniques(prefixes.iter().map(|p| p.to_string()));
    uniques(
        spec.names()
            .flat_map(|name| prefixes.iter().map(move |prefix| to_env_var(prefix, name))),
    )
}

/// The variable of a project setting: `cli.log_level` → `MELTANO_CLI_LOG_LEVEL`.
pub fn project_env_var(name: &str) -> String {
    to_env_var("meltano", name)
}

/// The variables a resolved value is injected into a plugin process under: the setting's `env:`
/// first, then each prefix of `prefix_groups` (own name and namespace, then each ancestor's, in
/// order), then `MELTANO_<VERB>_<NAME>`. Aliases are not used for writing.
pub fn write_names(
    spec: &SettingSpec,
    prefix_groups: &[&[&str]],
    plugin_type: PluginType,
) -> Vec<String> {
    let verb_prefix = format!("meltano_{}", plugin_type.verb());
    let prefixes = uniques(
        prefix_groups
            .iter()
            .flat_map(|group| group.iter().map(|p| p.to_string()))
            .chain(std::iter::once(verb_prefix)),
    );
    uniques(
        spec.env
            .iter()
            .cloned()
            .chain(prefixes.iter().map(|prefix| to_env_var(prefix, &spec.name))),
    )
}

/// How a value is spelled in an injected variable; `None` for a null value (nothing injected).
///
/// Strings as they are; non-strings of settings without kind or of kind string/decimal as
/// Python's `str()` (`['a']`, `True`); everything else as Python's `json.dumps` (`["a"]`, `true`).
pub fn stringify_for_env(kind: Option<Kind>, value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => match kind {
            None | Some(Kind::String | Kind::Decimal) => Some(py_str(other)),
            Some(_) => Some(py_json_dumps(other)),
        },
    }
}

/// The variables describing a plugin to itself and to `$VAR` expansion:
/// `MELTANO_<SINGULAR>_NAME`, `_NAMESPACE` and `_VARIANT` (`MELTANO_FILE_NAME` for file bundles).
///
/// A plugin without a variant reports `default`, the name Meltano gives an unnamed variant.
pub fn plugin_info_vars(
    plugin_type: PluginType,
    name: &str,
    namespace: &str,
    variant: Option<&str>,
) -> Vec<(String, String)> {
    let prefix = to_env_var("meltano", plugin_type.singular());
    [
        ("name", name),
        ("namespace", namespace),
        ("variant", variant.unwrap_or("default")),
    ]
    .into_iter()
    .map(|(key, value)| (to_env_var(&prefix, key), value.to_string()))
    .collect()
}

/// The aliases of a built-in extra (`_metadata` is also `metadata`), which add read names such
/// as `TAP_FAKE_METADATA`. Only these four extras have aliases in Meltano 4.4.1.
pub fn extra_aliases(plugin_type: PluginType, extra: &str) -> &'static [&'static str] {
    match (plugin_type, extra) {
        (PluginType::Extractors, "_metadata") => &["metadata"],
        (PluginType::Files, "_update") => &["update"],
        (PluginType::Mappers | PluginType::Mappings, "_mappings") => &["mappings"],
        (PluginType::Mappers | PluginType::Mappings, "_mapping_name") => &["mapping_name"],
        _ => &[],
    }
}

/// The items in first-seen order, without repeats.
fn uniques(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, aliases: &[&str]) -> SettingSpec {
        SettingSpec {
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..SettingSpec::named(name)
        }
    }

    #[test]
    fn env_var_names() {
        assert_eq!(
            to_env_var("tap-fake", "nested.value"),
            "TAP_FAKE_NESTED_VALUE"
        );
        assert_eq!(to_env_var("tap-fake", "_select"), "TAP_FAKE__SELECT");
        assert_eq!(to_env_var("tap-fake", "obj.$FOO"), "TAP_FAKE_OBJ__FOO");
        assert_eq!(to_env_var("tap-é", "a b"), "TAP___A_B");
        assert_eq!(to_env_var("", "x"), "X");
        assert_eq!(
            to_env_var("meltano_extract", "_dialect"),
            "MELTANO_EXTRACT__DIALECT"
        );
    }

    #[test]
    fn read_names_are_prefixes_times_names_then_aliases() {
        // Observed: `_metadata [env: TAP_FAKE__METADATA, FAKENS__METADATA, TAP_FAKE_METADATA, FAKENS_METADATA]`.
        let metadata = spec(
            "_metadata",
            extra_aliases(PluginType::Extractors, "_metadata"),
        );
        assert_eq!(
            read_names(&["tap-fake", "fakens"], &metadata),
            [
                "TAP_FAKE__METADATA",
                "FAKENS__METADATA",
                "TAP_FAKE_METADATA",
                "FAKENS_METADATA"
            ]
        );
        assert_eq!(
            read_names(&["tap-fake", "fakens"], &spec("nested.value", &[])),
            ["TAP_FAKE_NESTED_VALUE", "FAKENS_NESTED_VALUE"]
        );
        // Namespace equal to the name after conversion: one variable.
        assert_eq!(
            read_names(&["envdump", "envdump"], &spec("x", &[])),
            ["ENVDUMP_X"]
        );
        assert_eq!(
            read_names(&["tap-x", "tap_x"], &spec("y", &[])),
            ["TAP_X_Y"]
        );
    }

    #[test]
    fn read_names_ignore_env_override() {
        let mut pw = spec("pw", &[]);
        pw.env = Some("MY_PW".into());
        assert_eq!(
            read_names(&["tap-fake", "fakens"], &pw),
            ["TAP_FAKE_PW", "FAKENS_PW"]
        );
    }

    #[test]
    fn project_names() {
        assert_eq!(project_env_var("cli.log_level"), "MELTANO_CLI_LOG_LEVEL");
        assert_eq!(
            project_env_var("state_backend.s3.aws_access_key_id"),
            "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID"
        );
    }

    #[test]
    fn write_names_order() {
        let mut s = spec("username", &["user"]);
        s.env = Some("MY_USER".into());
        assert_eq!(
            write_names(
                &s,
                &[&["tap-fake-2", "tap_fake_2"], &["tap-fake", "fakens"]],
                PluginType::Extractors
            ),
            [
                "MY_USER",
                "TAP_FAKE_2_USERNAME",
                "TAP_FAKE_USERNAME",
                "FAKENS_USERNAME",
                "MELTANO_EXTRACT_USERNAME"
            ]
        );
        // Observed in `config print --format env`: TAP_FAKE_PORT, FAKENS_PORT, MELTANO_EXTRACT_PORT.
        assert_eq!(
            write_names(
                &spec("port", &[]),
                &[&["tap-fake", "fakens"]],
                PluginType::Extractors
            ),
            ["TAP_FAKE_PORT", "FAKENS_PORT", "MELTANO_EXTRACT_PORT"]
        );
        assert_eq!(
            write_names(
                &spec("_dialect", &[]),
                &[&["target-x", "target_x"]],
                PluginType::Loaders
            ),
            ["TARGET_X__DIALECT", "MELTANO_LOAD__DIALECT"]
        );
        assert_eq!(
            write_names(
                &spec("_mappings", &["mappings"]),
                &[&["m", "m"]],
                PluginType::Mappers
            ),
            ["M__MAPPINGS", "MELTANO_MAP__MAPPINGS"]
        );
        assert_eq!(
            write_names(&spec("foo", &[]), &[&["u", "u"]], PluginType::Utilities),
            ["U_FOO", "MELTANO_UTILIZE_FOO"]
        );
    }

    #[test]
    fn stringify() {
        assert_eq!(stringify_for_env(Some(Kind::Integer), &json!(null)), None);
        assert_eq!(
            stringify_for_env(Some(Kind::Integer), &json!("5")).as_deref(),
            Some("5")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Boolean), &json!(true)).as_deref(),
            Some("true")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Integer), &json!(1234)).as_deref(),
            Some("1234")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Array), &json!(["a"])).as_deref(),
            Some("[\"a\"]")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Object), &json!({})).as_deref(),
            Some("{}")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Object), &json!({"a": [1, "b"]})).as_deref(),
            Some("{\"a\": [1, \"b\"]}")
        );
        assert_eq!(
            stringify_for_env(None, &json!(["a"])).as_deref(),
            Some("['a']")
        );
        assert_eq!(
            stringify_for_env(None, &json!(false)).as_deref(),
            Some("False")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::String), &json!(2)).as_deref(),
            Some("2")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Decimal), &json!(0.25)).as_deref(),
            Some("0.25")
        );
        assert_eq!(
            stringify_for_env(Some(Kind::Array), &json!(["https://sp.meltano.com"])).as_deref(),
            Some("[\"https://sp.meltano.com\"]")
        );
    }

    #[test]
    fn info_vars() {
        assert_eq!(
            plugin_info_vars(PluginType::Extractors, "tap-fake", "fakens", Some("acme")),
            [
                ("MELTANO_EXTRACTOR_NAME".to_string(), "tap-fake".to_string()),
                (
                    "MELTANO_EXTRACTOR_NAMESPACE".to_string(),
                    "fakens".to_string()
                ),
                ("MELTANO_EXTRACTOR_VARIANT".to_string(), "acme".to_string()),
            ]
        );
        // Observed with a custom utility without variant: MELTANO_UTILITY_VARIANT=default.
        let util = plugin_info_vars(PluginType::Utilities, "envdump", "envdump", None);
        assert_eq!(util[0].0, "MELTANO_UTILITY_NAME");
        assert_eq!(
            util[2],
            ("MELTANO_UTILITY_VARIANT".to_string(), "default".to_string())
        );
        assert_eq!(
            plugin_info_vars(PluginType::Files, "f", "f", None)[0].0,
            "MELTANO_FILE_NAME"
        );
        assert_eq!(
            plugin_info_vars(PluginType::Loaders, "t", "t", None)[1].0,
            "MELTANO_LOADER_NAMESPACE"
        );
        assert_eq!(
            plugin_info_vars(PluginType::Mappers, "m", "m", None)[0].0,
            "MELTANO_MAPPER_NAME"
        );
    }

    #[test]
    fn extras_with_aliases() {
        assert_eq!(
            extra_aliases(PluginType::Extractors, "_metadata"),
            ["metadata"]
        );
        assert!(extra_aliases(PluginType::Extractors, "_select").is_empty());
        assert!(extra_aliases(PluginType::Extractors, "_schema").is_empty());
        assert_eq!(extra_aliases(PluginType::Files, "_update"), ["update"]);
        assert_eq!(
            extra_aliases(PluginType::Mappers, "_mapping_name"),
            ["mapping_name"]
        );
    }
}
