//! `meltano add`: custom plugins, plugins from a definition file, and plugins inheriting from
//! another project plugin.

use std::process::ExitCode;

use meltano_cli::AddArgs;
use meltano_core::PluginType;
use meltano_project::Project;
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::prompt;
use crate::settings::capitalize;

/// The order Meltano writes a plugin's definition keys in.
const KEY_ORDER: [&str; 20] = [
    "name",
    "inherit_from",
    "namespace",
    "label",
    "logo_url",
    "description",
    "variant",
    "pip_url",
    "python",
    "executable",
    "capabilities",
    "settings_group_validation",
    "settings",
    "commands",
    "requires",
    "requires_meltano",
    "env",
    "config",
    "docs",
    "repo",
];

/// Setting kinds a custom plugin's settings may declare.
const SETTING_KINDS: &str = "string | integer | boolean | decimal | date_iso8601 | email | password | oauth | options | file | array | object | hidden";

/// Adds each named plugin to meltano.yml.
pub fn run(ctx: &Context, args: AddArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["add"])?;
    project.ensure_writable().map_err(CliError::meltano)?;
    let explicit_type = args
        .plugin_type
        .as_deref()
        .map(|t| t.parse::<PluginType>().map_err(CliError::meltano))
        .transpose()?;
    // Plugins this command already added: the manifest read at start-up does not list them.
    let mut added: Vec<(PluginType, String)> = Vec::new();
    for requested in &args.plugins {
        // `add <base> --as <name>` is `add <name> --inherit-from <base>`.
        let (name, inherit_from) = match &args.as_name {
            Some(alias) => (alias.clone(), Some(requested.clone())),
            None => (requested.clone(), args.inherit_from.clone()),
        };
        let plugin_type = explicit_type.unwrap_or_else(|| PluginType::infer_from_name(&name));
        let descriptor = plugin_type.descriptor();
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            return Err(CliError::Meltano(format!(
                "'{name}' is not a valid plugin name: names may not contain '/' or be '.' or '..'."
            )));
        }
        if name.contains(':') {
            return Err(CliError::Meltano(format!(
                "Plugin name '{name}' may not contain ':'. Choose a name without it."
            )));
        }
        let exists = |name: &str| {
            added.iter().any(|(t, n)| *t == plugin_type && n == name)
                || project
                    .manifest()
                    .manifest
                    .find_plugin(name, Some(plugin_type))
                    .is_some()
        };
        if exists(&name) {
            report_existing(ctx, plugin_type, &name);
            continue;
        }
        let (entry, details) = if let Some(reference) = &args.from_ref {
            from_ref(reference, &name)?
        } else if args.custom {
            (custom(ctx, &args, plugin_type, &name)?, Vec::new())
        } else if let Some(parent) = &inherit_from {
            inherited(
                &project,
                plugin_type,
                &name,
                parent,
                args.variant.as_deref(),
            )?
        } else {
            return Err(CliError::Meltano(format!(
                "{} '{name}' is not known to Meltano. Add it with `--custom`, `--from-ref <file>` or `--inherit-from <plugin>`; \
                 plugins from an index are not available in this build yet.",
                capitalize(descriptor)
            )));
        };
        let added_name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_string();
        if added_name != name && exists(&added_name) {
            report_existing(ctx, plugin_type, &added_name);
            continue;
        }
        let mut entry = entry;
        if let Some(python) = &args.python {
            entry.insert("python".into(), Value::String(python.clone()));
        }
        let entry = ordered(entry);
        let mut file = project
            .edit(&project.manifest_path())
            .map_err(CliError::meltano)?;
        file.add_plugin(plugin_type, &entry)
            .map_err(CliError::meltano)?;
        file.save().map_err(CliError::meltano)?;
        ctx.printer.out(&format!(
            "Added {descriptor} '{added_name}' to your project"
        ));
        added.push((plugin_type, added_name));
        for line in details {
            ctx.printer.out(&line);
        }
        ctx.printer.out("");
    }
    Ok(ExitCode::SUCCESS)
}

/// The notice for a plugin that is already in the project; not an error.
fn report_existing(ctx: &Context, plugin_type: PluginType, name: &str) {
    let singular = plugin_type.singular();
    ctx.printer.err(&format!(
        "{} '{name}' already exists in your Meltano project\n\n\
         To add it to your project another time so that each can be configured differently,\n\
         add a new plugin inheriting from the existing one with its own unique name:\n\
         \tmeltano add {name}--new --plugin-type {singular} --inherit-from {name}\n",
        capitalize(plugin_type.descriptor())
    ));
}

/// `--inherit-from`: the parent must be a plugin of the same type in this project.
fn inherited(
    project: &Project,
    plugin_type: PluginType,
    name: &str,
    parent: &str,
    variant: Option<&str>,
) -> CliResult<(Map<String, Value>, Vec<String>)> {
    if project
        .manifest()
        .manifest
        .find_plugin(parent, Some(plugin_type))
        .is_none()
    {
        return Err(CliError::Meltano(format!(
            "{} '{parent}' is not known to Meltano. Add '{parent}' to the project first, or check the name and `--plugin-type`.",
            capitalize(plugin_type.descriptor())
        )));
    }
    let mut entry = Map::new();
    entry.insert("name".into(), name.into());
    entry.insert("inherit_from".into(), parent.into());
    let mut detail = format!("Inherit from:\t{parent}");
    if let Some(variant) = variant {
        entry.insert("variant".into(), variant.into());
        detail.push_str(&format!(", variant {variant}"));
    }
    Ok((entry, vec![detail]))
}

/// `--from-ref FILE`: a YAML plugin definition, embedded as a custom definition.
fn from_ref(reference: &str, cli_name: &str) -> CliResult<(Map<String, Value>, Vec<String>)> {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return Err(CliError::Meltano(format!(
            "Could not read '{reference}': URLs are not supported by --from-ref yet. Download the file and pass its path."
        )));
    }
    let text = std::fs::read_to_string(reference).map_err(|e| {
        CliError::Meltano(format!(
            "Could not read plugin definition '{reference}': {e}"
        ))
    })?;
    let value: Value = serde_saphyr::from_str(&text).map_err(|e| {
        CliError::Meltano(format!("{reference}: not a valid plugin definition: {e}"))
    })?;
    let Value::Object(mut definition) = value else {
        return Err(CliError::Meltano(format!(
            "{reference}: a plugin definition must be a mapping with at least `name` and `namespace`"
        )));
    };
    if !definition.contains_key("name") {
        definition.insert("name".into(), cli_name.into());
    }
    if !definition.contains_key("namespace") {
        return Err(CliError::Meltano(format!(
            "{reference}: the definition has no `namespace`; add one (e.g. `namespace: {}`)",
            cli_name.replace('-', "_")
        )));
    }
    if let Some(Value::Array(settings)) = definition.get_mut("settings") {
        settings.iter_mut().for_each(normalize_setting_kind);
    }
    definition.remove("variants");
    let details = match definition.get("variant").and_then(Value::as_str) {
        Some(variant) => vec![format!("Variant:\t{variant} (default)")],
        None => Vec::new(),
    };
    Ok((definition, details))
}

/// `kind: password`/`oauth` become `kind: string` with `sensitive: true`: the kinds are
/// deprecated, and this is how Meltano writes such settings back when it rewrites an entry.
fn normalize_setting_kind(setting: &mut Value) {
    let Value::Object(setting) = setting else {
        return;
    };
    if matches!(
        setting.get("kind").and_then(Value::as_str),
        Some("password" | "oauth")
    ) {
        setting.insert("kind".into(), "string".into());
        setting.insert("sensitive".into(), true.into());
    }
}

/// `--custom`: the definition from the answers given as flags, or asked on the terminal.
fn custom(
    ctx: &Context,
    args: &AddArgs,
    plugin_type: PluginType,
    name: &str,
) -> CliResult<Map<String, Value>> {
    if matches!(
        plugin_type,
        PluginType::Transforms | PluginType::Orchestrators
    ) {
        return Err(CliError::Meltano(format!(
            "--custom is not supported for {}",
            plugin_type.plural()
        )));
    }
    let descriptor = plugin_type.descriptor();
    let printer = &ctx.printer;
    printer.out(&format!(
        "Adding new custom {descriptor} with name '{name}'...\n"
    ));

    let default_namespace = name.replace('-', "_");
    let namespace = match &args.namespace {
        Some(v) => v.clone(),
        None => {
            let purpose = match plugin_type {
                PluginType::Extractors => {
                    "\n- default database schema (`load_schema` extra), for use by loaders that support a target schema"
                }
                PluginType::Loaders => {
                    "\n- default target database dialect (`dialect` extra), for use by transformers that connect with the database"
                }
                _ => "",
            };
            printer.out(&format!(
                "Specify the plugin's namespace, which will serve as the:\n- identifier to find related/compatible plugins{purpose}\n\n\
                 Hit Return to accept the default: plugin name with underscores instead of dashes\n"
            ));
            prompt::ask(printer, "namespace", &default_namespace)?
        }
    };

    let pip_url = match &args.pip_url {
        Some(v) => v.clone(),
        None => {
            printer.out(&format!(
                "\nSpecify the plugin's `pip install` argument, for example:\n\
                 - PyPI package name:\n\t{name}\n\
                 - Git repository URL:\n\tgit+https://<PLUGIN REPO URL>.git\n\
                 - local directory, in editable/development mode:\n\t-e extract/{name}\n\
                 - 'n' if using a local executable (nothing to install)\n\n\
                 Default: plugin name as PyPI package name\n"
            ));
            prompt::ask(printer, "pip_url", name)?
        }
    };
    let pip_url = (!matches!(pip_url.trim(), "n" | "N" | "")).then(|| pip_url.trim().to_string());

    let default_executable = pip_url
        .as_deref()
        .map_or_else(|| name.to_string(), |p| executable_from_pip_url(p, name));
    let executable = match &args.executable {
        Some(v) => v.clone(),
        None => {
            printer.out(
                "\nSpecify the plugin's executable name\n\nDefault: name derived from `pip_url`\n",
            );
            prompt::ask(printer, "executable", &default_executable)?
        }
    };

    let capabilities = if plugin_type == PluginType::Extractors {
        let answer = match &args.capabilities {
            Some(v) => v.clone(),
            None => {
                printer.out(
                    "\nSpecify the tap's supported Singer features (executable flags), for example:\n\
                     \t`catalog`: supports the `--catalog` flag\n\
                     \t`discover`: supports the `--discover` flag\n\
                     \t`properties`: supports the `--properties` flag\n\
                     \t`state`: supports the `--state` flag\n\n\
                     To find out what features a tap supports, reference its documentation.\n\n\
                     Multiple capabilities can be separated using commas.\n\n\
                     Default: no capabilities\n",
                );
                prompt::ask(printer, "capabilities", "[]")?
            }
        };
        comma_list(&answer)
    } else {
        Vec::new()
    };

    let settings = if matches!(
        plugin_type,
        PluginType::Extractors | PluginType::Loaders | PluginType::Transformers
    ) {
        let answer = match &args.settings {
            Some(v) => v.clone(),
            None => {
                printer.out(&format!(
                    "\nSpecify the {descriptor}'s supported settings\n\
                     Multiple setting names (keys) can be separated using commas.\n\n\
                     A setting kind can be specified alongside the name (key) by using the `:` delimiter,\n\
                     e.g. `port:integer` to set the kind `integer` for the name `port`\n\n\
                     Supported setting kinds:\n{SETTING_KINDS}\n\n\
                     - Credentials and other sensitive setting types should use the password kind.\n\
                     - If not specified, setting kind defaults to string.\n\
                     - Nested properties can be represented using the `.` separator, e.g. `auth.username` for `{{ \"auth\": {{ \"username\": value }} }}`.\n\
                     - To find out what settings a {descriptor} supports, reference its documentation.\n\n\
                     Default: no settings\n"
                ));
                prompt::ask(printer, "settings", "[]")?
            }
        };
        comma_list(&answer)
            .into_iter()
            .map(setting_definition)
            .collect::<CliResult<Vec<_>>>()?
    } else {
        Vec::new()
    };

    let mut entry = Map::new();
    entry.insert("name".into(), name.into());
    entry.insert("namespace".into(), namespace.into());
    if let Some(pip_url) = pip_url {
        entry.insert("pip_url".into(), pip_url.into());
    }
    entry.insert("executable".into(), executable.into());
    if !capabilities.is_empty() {
        entry.insert(
            "capabilities".into(),
            capabilities.into_iter().map(Value::String).collect(),
        );
    }
    if !settings.is_empty() {
        entry.insert("settings".into(), Value::Array(settings));
    }
    Ok(entry)
}

/// The executable a pip URL most likely installs: its last path segment without version or `.git`.
fn executable_from_pip_url(pip_url: &str, fallback: &str) -> String {
    let last = pip_url.split_whitespace().last().unwrap_or(pip_url);
    let last = last.split('#').next().unwrap_or(last).trim_end_matches('/');
    let base = last.rsplit('/').next().unwrap_or(last);
    let base = base.strip_suffix(".git").unwrap_or(base);
    let base = base
        .split(['=', '<', '>', '!', '~', '[', '@', ';'])
        .next()
        .unwrap_or(base)
        .trim();
    if base.is_empty() {
        fallback.to_string()
    } else {
        base.to_string()
    }
}

/// Splits `a, b,c` (or the default `[]`) into names.
fn comma_list(answer: &str) -> Vec<String> {
    let answer = answer.trim();
    if answer == "[]" {
        return Vec::new();
    }
    answer
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `name[:kind]` as a setting definition; `password` kinds become sensitive strings.
fn setting_definition(spec: String) -> CliResult<Value> {
    let (name, kind) = match spec.split_once(':') {
        Some((name, kind)) => (name.trim(), Some(kind.trim())),
        None => (spec.trim(), None),
    };
    let mut setting = Map::new();
    setting.insert("name".into(), name.into());
    if let Some(kind) = kind {
        if !SETTING_KINDS.split(" | ").any(|k| k == kind) {
            return Err(CliError::Meltano(format!(
                "Setting '{name}' has unknown kind '{kind}'. Use one of: {SETTING_KINDS}"
            )));
        }
        setting.insert("kind".into(), kind.into());
    }
    let mut setting = Value::Object(setting);
    normalize_setting_kind(&mut setting);
    Ok(setting)
}

/// The entry's keys in Meltano's canonical order, other keys after them in their own order.
fn ordered(mut entry: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in KEY_ORDER {
        if let Some(value) = entry.remove(key) {
            out.insert(key.to_string(), value);
        }
    }
    out.extend(entry);
    out.retain(|_, v| {
        !(v.is_null()
            || v.as_array().is_some_and(Vec::is_empty)
            || v.as_object().is_some_and(Map::is_empty))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_is_derived_from_the_pip_url() {
        assert_eq!(executable_from_pip_url("tap-mine", "x"), "tap-mine");
        assert_eq!(executable_from_pip_url("tap-mine==1.0", "x"), "tap-mine");
        assert_eq!(
            executable_from_pip_url("git+https://github.com/acme/tap-foo.git", "x"),
            "tap-foo"
        );
        assert_eq!(
            executable_from_pip_url("-e extract/tap-local", "x"),
            "tap-local"
        );
    }
}
