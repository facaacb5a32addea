//! One compiled manifest: meltano.yml (with its included files) as written, the active
//! environment laid over it, plus what Meltano resolves from it.
//!
//! - top-level keys as written, without `environments` and `include_paths`; the environment's
//!   `annotations` merged into the project's;
//! - `env`: every set project setting as its `MELTANO_*` variable, then the project's `env:`,
//!   then the environment's `env:` (its references to project `env:` variables expanded);
//! - `plugins`: every plugin type, each plugin with its definition (lock file or built-in index)
//!   under its own keys, the environment's `config` merged in and its extras laid over, and an
//!   `env` of every set setting under each variable it is injected as, then its `env:` maps;
//! - `jobs`, and `schedules` (each with an `env`).
//!
//! Values that hold the project root show it as `${MELTANO_PROJECT_ROOT}`, so manifests can move
//! with the project. With `safe`, sensitive values read `(redacted)` wherever they appear.

use meltano_core::PluginType;
use meltano_core::settings::Resolved;
use meltano_core::settings::env_names::{project_env_var, stringify_for_env};
use meltano_core::settings::nest::split_raw;
use meltano_db::SystemDb;
use meltano_project::Project;
use meltano_project::manifest::{Environment, PluginEntry};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::definitions::base_definition;
use crate::error::{CliError, CliResult};
use crate::settings::{SettingsStores, Subject};

/// What sensitive values read as in a safe manifest.
const REDACTED: &str = "(redacted)";

/// How a manifest is compiled.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Show sensitive values as `(redacted)`.
    pub safe: bool,
}

/// The manifest of `environment` (or of no environment).
pub async fn build(
    project: &Project,
    db: &SystemDb,
    environment: Option<&Environment>,
    options: Options,
) -> CliResult<Value> {
    let manifest = &project.manifest().manifest;
    let stores = SettingsStores {
        project,
        environment,
        db,
    };
    let root = ProjectRoot::of(project);

    let mut top = object(manifest)?;
    top.remove("environments");
    top.remove("include_paths");
    if let Some(environment) = environment
        && !environment.annotations.is_empty()
    {
        merge_into(&mut top, "annotations", to_value(&environment.annotations)?);
    }

    let project_settings = stores.resolve(Subject::Project).await?;
    let mut env = Map::new();
    for resolved in &project_settings {
        if let Some(text) = env_text(resolved, options, &root) {
            env.insert(project_env_var(&resolved.spec.name), text);
        }
    }
    for (key, value) in &manifest.env {
        env.insert(key.clone(), Value::String(value.clone()));
    }
    if let Some(environment) = environment {
        for (key, value) in &environment.env {
            let expanded = expand_known(value, &|name| manifest.env.get(name).cloned());
            env.insert(key.clone(), Value::String(expanded));
        }
    }
    top.insert("env".to_string(), Value::Object(env));
    if options.safe {
        for resolved in project_settings.iter().filter(|r| is_secret(r)) {
            redact_at(&mut top, &resolved.spec.name);
        }
    }

    let mut plugins: Map<String, Value> = PluginType::IN_MANIFEST
        .iter()
        .map(|t| (t.plural().to_string(), Value::Array(Vec::new())))
        .collect();
    for (plugin_type, entry) in manifest.all_plugins() {
        let compiled = plugin(&stores, plugin_type, entry, options, &root).await?;
        if let Some(Value::Array(list)) = plugins.get_mut(plugin_type.plural()) {
            list.push(Value::Object(compiled));
        }
    }
    top.insert("plugins".to_string(), Value::Object(plugins));

    let mut schedules = Vec::new();
    for schedule in &manifest.schedules {
        let mut compiled = object(schedule)?;
        compiled
            .entry("env")
            .or_insert_with(|| Value::Object(Map::new()));
        schedules.push(Value::Object(compiled));
    }
    top.insert("schedules".to_string(), Value::Array(schedules));
    Ok(Value::Object(top))
}

/// One plugin of the manifest.
async fn plugin(
    stores: &SettingsStores<'_>,
    plugin_type: PluginType,
    entry: &PluginEntry,
    options: Options,
    root: &ProjectRoot,
) -> CliResult<Map<String, Value>> {
    let mut compiled = with_definition(stores.project, plugin_type, entry)?;
    let overlay = stores
        .environment
        .and_then(|e| e.plugin(plugin_type, &entry.name));
    if let Some(overlay) = overlay {
        if !overlay.config.is_empty() {
            merge_into(&mut compiled, "config", to_value(&overlay.config)?);
        }
        if !overlay.annotations.is_empty() {
            merge_into(
                &mut compiled,
                "annotations",
                to_value(&overlay.annotations)?,
            );
        }
        // Extras (`select`, `metadata`…) replace the plugin's, as when the environment is active.
        for (key, value) in &overlay.extras {
            compiled.insert(key.clone(), value.clone());
        }
    }

    let subject = Subject::Plugin { plugin_type, entry };
    let settings = stores.resolve(subject).await?;
    if options.safe
        && let Some(config) = compiled.get_mut("config").and_then(Value::as_object_mut)
    {
        for resolved in settings
            .iter()
            .filter(|r| is_secret(r) && !r.spec.is_extra())
        {
            redact_at(config, &resolved.spec.name);
        }
    }

    let mut env = Map::new();
    for resolved in &settings {
        let Some(text) = env_text(resolved, options, root) else {
            continue;
        };
        for name in stores.write_env_names(&subject, &resolved.spec) {
            env.insert(name, text.clone());
        }
    }
    // The plugin's own `env:` (its definition's under its entry's), then the environment's.
    let own_env = compiled.remove("env");
    let overlay_env = overlay.map(|o| &o.env).into_iter().flatten();
    let declared = own_env
        .as_ref()
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(overlay_env.map(|(k, v)| (k.clone(), Value::String(v.clone()))));
    for (key, value) in declared {
        let value = match value {
            Value::String(s) => Value::String(root.hide(&s)),
            other => other,
        };
        env.insert(key, value);
    }
    compiled.insert("env".to_string(), Value::Object(env));
    Ok(compiled)
}

/// The plugin's keys as written, under the definition it builds on: none for a plugin that
/// inherits (its parent is in the manifest too), its own entry for a custom plugin, else its lock
/// file's (or the built-in index's) definition.
fn with_definition(
    project: &Project,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> CliResult<Map<String, Value>> {
    let own = object(entry)?;
    if entry.inherit_from.is_some() {
        return Ok(own);
    }
    let mut compiled = match base_definition(project, plugin_type, entry)
        .filter(|_| entry.namespace.is_none())
        .map(|d| d.to_canonical_value())
    {
        Some(Value::Object(definition)) => definition,
        _ => Map::new(),
    };
    for (key, value) in own {
        match (key.as_str(), compiled.get_mut(&key)) {
            ("settings", Some(Value::Array(base))) => {
                merge_settings(base, value);
            }
            (_, Some(base @ Value::Object(_))) => merge_values(base, value),
            _ => {
                compiled.insert(key, value);
            }
        }
    }
    compiled
        .entry("plugin_type")
        .or_insert_with(|| Value::String(plugin_type.plural().to_string()));
    compiled
        .entry("label")
        .or_insert_with(|| Value::String(entry.name.clone()));
    if let Some(Value::Array(settings)) = compiled.get_mut("settings") {
        settings.iter_mut().for_each(mark_password_sensitive);
    }
    Ok(compiled)
}

/// The entry's setting definitions first (as 4.4.1 lists them), then the definition's that the
/// entry does not redefine.
fn merge_settings(base: &mut Vec<Value>, own: Value) {
    let Value::Array(own) = own else {
        return;
    };
    let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
    let redefined: Vec<Option<String>> = own.iter().map(name_of).collect();
    base.retain(|b| {
        let name = name_of(b);
        name.is_none() || !redefined.contains(&name)
    });
    base.splice(0..0, own);
}

/// `kind: password` is Meltano's old spelling of `sensitive: true`; the manifest says both.
fn mark_password_sensitive(setting: &mut Value) {
    if let Value::Object(map) = setting
        && map.get("kind").and_then(Value::as_str) == Some("password")
        && !map.contains_key("sensitive")
    {
        map.insert("sensitive".to_string(), Value::Bool(true));
    }
}

/// Whether a setting with a value must be hidden.
/// Whether a setting's value must be hidden: a sensitive one that is set to something (4.4.1
/// shows an empty secret as it is).
fn is_secret(resolved: &Resolved) -> bool {
    resolved.spec.is_sensitive()
        && resolved
            .value
            .as_ref()
            .is_some_and(meltano_core::python::is_truthy)
}

/// A set value as its variables carry it, secrets redacted.
fn env_text(resolved: &Resolved, options: Options, root: &ProjectRoot) -> Option<Value> {
    let text = resolved
        .value
        .as_ref()
        .and_then(|v| stringify_for_env(resolved.spec.kind, v))?;
    Some(Value::String(if options.safe && is_secret(resolved) {
        REDACTED.to_string()
    } else {
        root.hide(&text)
    }))
}

/// Replaces the value of setting `name` in `map`, written dotted (`a.b: x`) or nested
/// (`a: {b: x}`), with `(redacted)`.
fn redact_at(map: &mut Map<String, Value>, name: &str) {
    if let Some(value) = map.get_mut(name) {
        *value = Value::String(REDACTED.to_string());
        return;
    }
    let segments = split_raw(name);
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut current = map;
    for segment in parents {
        match current.get_mut(*segment).and_then(Value::as_object_mut) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(value) = current.get_mut(*last) {
        *value = Value::String(REDACTED.to_string());
    }
}

/// Merges `value` into `map[key]`, objects key by key at every level.
fn merge_into(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get_mut(key) {
        Some(base) => merge_values(base, value),
        None => {
            map.insert(key.to_string(), value);
        }
    }
}

fn merge_values(base: &mut Value, value: Value) {
    match (base, value) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, item) in over {
                merge_into(base, &key, item);
            }
        }
        (base, value) => *base = value,
    }
}

/// `$NAME` and `${NAME}` references to variables `known` holds, replaced by their values; any
/// other text (other variables included) is kept as written.
fn expand_known(text: &str, known: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => {
                let name_len = inner
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                if name_len > 0 && inner[name_len..].starts_with('}') {
                    (&inner[..name_len], name_len + 2)
                } else {
                    ("", 0)
                }
            }
            None => {
                let name_len = after
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(after.len());
                let starts_with_letter = after.starts_with(|c: char| c.is_ascii_uppercase());
                if starts_with_letter {
                    (&after[..name_len], name_len)
                } else {
                    ("", 0)
                }
            }
        };
        match (!name.is_empty()).then(|| known(name)).flatten() {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The project root as resolved values spell it, shown as `${MELTANO_PROJECT_ROOT}`.
struct ProjectRoot(String);

impl ProjectRoot {
    fn of(project: &Project) -> ProjectRoot {
        ProjectRoot(project.root().display().to_string())
    }

    fn hide(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "${MELTANO_PROJECT_ROOT}")
        }
    }
}

fn to_value<T: Serialize>(value: &T) -> CliResult<Value> {
    serde_json::to_value(value).map_err(CliError::meltano)
}

/// A model object as a JSON object (what serde writes of it, every key as in meltano.yml).
fn object<T: Serialize>(value: &T) -> CliResult<Map<String, Value>> {
    match to_value(value)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_only_known_variables_and_keeps_the_rest_as_written() {
        let known = |name: &str| (name == "BASE").then(|| "b".to_string());
        assert_eq!(
            expand_known("${BASE}-$BASE-${OTHER}-$OTHER-$lower-$-${}", &known),
            "b-b-${OTHER}-$OTHER-$lower-$-${}"
        );
        assert_eq!(expand_known("$BASEX", &known), "$BASEX");
    }

    #[test]
    fn redacts_dotted_and_nested_values() {
        let mut map = json!({"a.b": 1, "c": {"d": 2}, "e": 3})
            .as_object()
            .cloned()
            .unwrap_or_default();
        redact_at(&mut map, "a.b");
        redact_at(&mut map, "c.d");
        redact_at(&mut map, "missing.key");
        assert_eq!(
            Value::Object(map),
            json!({"a.b": "(redacted)", "c": {"d": "(redacted)"}, "e": 3})
        );
    }

    #[test]
    fn entry_settings_come_first_and_replace_definition_settings_by_name() {
        let mut base = vec![
            json!({"name": "a", "kind": "integer"}),
            json!({"name": "b"}),
        ];
        merge_settings(
            &mut base,
            json!([{"name": "b", "sensitive": true}, {"name": "c"}]),
        );
        // As 4.4.1's manifests list them: the entry's own, then the definition's others.
        assert_eq!(
            base,
            vec![
                json!({"name": "b", "sensitive": true}),
                json!({"name": "c"}),
                json!({"name": "a", "kind": "integer"}),
            ]
        );
    }
}
