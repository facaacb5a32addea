//! `meltano add`: plugins from the index (built in, else Meltano Hub, locked in `plugins/`),
//! custom plugins, plugins from a definition file, and plugins inheriting from another.

use std::process::ExitCode;

use meltano_cli::AddArgs;
use meltano_core::PluginType;
use meltano_project::Project;
use serde_json::{Map, Value};

use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};
use crate::installer;
use crate::printer::Printer;
use crate::prompt;
use crate::settings::SettingsStores;
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
    // Every plugin named, added or already there: the closing "To learn more" lines.
    let mut named: Vec<(PluginType, String)> = Vec::new();
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
        if exists(&name) && args.custom && args.from_ref.is_none() && inherit_from.is_none() {
            // As in Meltano, `--custom` on an existing plugin asks again and redefines it in
            // place; its config and other keys stay.
            let definition = custom(ctx, &args, plugin_type, &name)?;
            redefine(&project, plugin_type, &name, &definition)?;
            ctx.printer
                .out(&format!("Updated {descriptor} '{name}' in your project"));
            ctx.printer.out("");
            named.push((plugin_type, name.clone()));
            added.push((plugin_type, name.clone()));
            continue;
        }
        if exists(&name) {
            // Re-adding an index plugin with its own variant refreshes its lock file (`--update`,
            // the default); anything else is left alone with a notice.
            let existing = project
                .manifest()
                .manifest
                .find_plugin(&name, Some(plugin_type))
                .map(|(_, p)| p);
            let same_variant = existing.is_some_and(|p| {
                p.namespace.is_none()
                    && p.inherit_from.is_none()
                    && (args.variant.is_none() || args.variant == p.variant)
            });
            if same_variant
                && !args.no_update
                && !args.custom
                && args.from_ref.is_none()
                && inherit_from.is_none()
            {
                let variant = existing.and_then(|p| p.variant.as_deref());
                let found = block_on(fetch_definition(
                    &ctx.printer,
                    &project,
                    plugin_type,
                    &name,
                    variant,
                ))??;
                lock(&project, plugin_type, &name, &found.definition)?;
                ctx.printer
                    .out(&format!("Updated {descriptor} '{name}' in your project"));
                for line in definition_details(&found.definition, found.is_default_variant) {
                    ctx.printer.out(&line);
                }
                ctx.printer.out("");
            } else {
                let switch_to = match (existing, &args.variant) {
                    (Some(p), Some(wanted))
                        if p.variant.as_ref() != Some(wanted)
                            && p.namespace.is_none()
                            && p.inherit_from.is_none() =>
                    {
                        block_on(fetch_definition(
                            &ctx.printer,
                            &project,
                            plugin_type,
                            &p.name,
                            Some(wanted),
                        ))??
                        .definition
                        .into()
                    }
                    _ => None,
                };
                report_existing(ctx, plugin_type, &name, existing, switch_to.as_ref());
            }
            named.push((plugin_type, name.clone()));
            continue;
        }
        let (entry, details) = if let Some(reference) = &args.from_ref {
            from_ref(reference, &name)?
        } else if args.custom {
            (custom(ctx, &args, plugin_type, &name)?, Vec::new())
        } else if let Some(parent) = &inherit_from {
            block_on(inherited(
                &ctx.printer,
                &project,
                plugin_type,
                &name,
                parent,
                args.variant.as_deref(),
            ))??
        } else {
            block_on(from_index(
                &ctx.printer,
                &project,
                plugin_type,
                &name,
                args.variant.as_deref(),
            ))??
        };
        let added_name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_string();
        if added_name != name && exists(&added_name) {
            report_existing(ctx, plugin_type, &added_name, None, None);
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
        named.push((plugin_type, added_name.clone()));
        added.push((plugin_type, added_name));
        for line in details {
            ctx.printer.out(&line);
        }
        ctx.printer.out("");
    }
    if !args.no_install && !added.is_empty() {
        install_added(
            ctx,
            &project,
            &added,
            args.force_install,
            args.db.database_uri.as_deref(),
        )?;
    }
    print_learn_more(ctx, &project, &named);
    Ok(ExitCode::SUCCESS)
}

/// A blank line, then "To learn more about extractor 'x', visit <docs or repo>" for each plugin
/// whose definition names a page.
fn print_learn_more(ctx: &Context, project: &Project, named: &[(PluginType, String)]) {
    let Ok(reloaded) = project.reload() else {
        return;
    };
    // Then the plugins added as requirements: new in meltano.yml, and not named.
    let required = reloaded
        .manifest()
        .manifest
        .all_plugins()
        .filter(|(t, p)| {
            project
                .manifest()
                .manifest
                .find_plugin(&p.name, Some(*t))
                .is_none()
                && !named.iter().any(|(nt, nn)| nt == t && *nn == p.name)
        })
        .map(|(t, p)| (t, p.name.clone()))
        .collect::<Vec<_>>();
    let project = reloaded;
    let mut first = true;
    for (plugin_type, name) in named.iter().chain(&required) {
        let Some((_, entry)) = project
            .manifest()
            .manifest
            .find_plugin(name, Some(*plugin_type))
        else {
            continue;
        };
        let url = entry
            .docs
            .clone()
            .or_else(|| entry.repo.clone())
            .or_else(|| {
                crate::definitions::base_definition(&project, *plugin_type, entry)
                    .and_then(|d| d.docs.or(d.repo))
            });
        let Some(url) = url else {
            continue;
        };
        if std::mem::take(&mut first) {
            ctx.printer.out("");
        }
        ctx.printer.out(&format!(
            "To learn more about {} '{name}', visit {url}",
            plugin_type.descriptor()
        ));
    }
}

/// Installs the plugins just added (Meltano installs on `add` unless `--no-install`).
fn install_added(
    ctx: &Context,
    project: &Project,
    added: &[(PluginType, String)],
    force: bool,
    database_uri: Option<&str>,
) -> CliResult<ExitCode> {
    let project = project.reload().map_err(CliError::meltano)?;
    block_on(async {
        let db = ctx.database(&project, database_uri).await?;
        let stores = SettingsStores {
            project: &project,
            environment: None,
            db: &db,
        };
        let mut planned = Vec::new();
        for (plugin_type, name) in added {
            let Some((_, entry)) = project
                .manifest()
                .manifest
                .find_plugin(name, Some(*plugin_type))
            else {
                continue;
            };
            match installer::plan(&stores, *plugin_type, entry, false, force).await? {
                Some(plan) => planned.push(plan),
                None => ctx.printer.info(&format!(
                    "Skipped installing {} '{name}'. Plugin is not installable.",
                    plugin_type.descriptor()
                )),
            }
        }
        let failed = if planned.is_empty() {
            0
        } else {
            let backend = installer::backend(&stores).await?;
            installer::install(ctx, planned, &backend, 0)
        };
        db.close().await;
        if failed > 0 {
            return Err(CliError::Meltano("Failed to install plugin(s)".to_string()));
        }
        Ok(ExitCode::SUCCESS)
    })?
}

/// Rewrites the definition keys `add --custom` asks for in the file the plugin comes from.
fn redefine(
    project: &Project,
    plugin_type: PluginType,
    name: &str,
    definition: &Map<String, Value>,
) -> CliResult<()> {
    const DEFINITION_KEYS: [&str; 5] = [
        "namespace",
        "pip_url",
        "executable",
        "capabilities",
        "settings",
    ];
    let loaded = project.manifest();
    let origin = loaded
        .plugin_origin(plugin_type, name)
        .unwrap_or(loaded.main_file.as_path());
    let mut file = project.edit(origin).map_err(CliError::meltano)?;
    file.redefine_plugin(
        plugin_type,
        name,
        &ordered(definition.clone()),
        &DEFINITION_KEYS,
        &KEY_ORDER,
    )
    .map_err(CliError::meltano)?;
    file.save().map_err(CliError::meltano)
}

/// The notice for a plugin that is already in the project (not an error): how to switch it to
/// the variant asked for, else how to add it another time.
fn report_existing(
    ctx: &Context,
    plugin_type: PluginType,
    name: &str,
    existing: Option<&meltano_project::manifest::PluginEntry>,
    switch_to: Option<&meltano_hub::PluginDefinition>,
) {
    let singular = plugin_type.singular();
    ctx.printer.err(&format!(
        "{} '{name}' already exists in your Meltano project",
        capitalize(plugin_type.descriptor())
    ));
    match switch_to {
        Some(new) => {
            let current = existing
                .and_then(|p| p.variant.as_deref())
                .unwrap_or("None");
            let variant = new.variant_name();
            let pip_url = new.pip_url.as_deref().unwrap_or("None");
            ctx.printer.out(&format!(
                "\nTo switch from the current '{current}' variant to '{variant}':\n\
                 1. Update `variant` and `pip_url` in your `meltano.yml` project file:\n\
                 \tname: {name}\n\
                 \tvariant: {variant}\n\
                 \tpip_url: {pip_url}\n\
                 2. Reinstall the plugin:\n\
                 \tmeltano install {singular} {name}\n\
                 3. Check if the configuration is still valid (and make changes until it is):\n\
                 \tmeltano config {name} list\n\n\
                 To learn more, visit {SWITCH_VARIANT_DOCS}\n\n\
                 Alternatively, to keep the existing '{name}' with variant '{variant}', add variant \
                 '{variant}' as a separate plugin with its own unique name:\n\
                 \tmeltano add {singular} {name}--{variant} --inherit-from {name} --variant {variant}\n\n\
                 To learn more, visit {MULTIPLE_VARIANTS_DOCS}"
            ));
        }
        None => ctx.printer.out(&format!(
            "To add it to your project another time so that each can be configured differently,\n\
             add a new plugin inheriting from the existing one with its own unique name:\n\
             \tmeltano add {singular} {name}--new --inherit-from {name}"
        )),
    }
    ctx.printer.out("");
}

const SWITCH_VARIANT_DOCS: &str =
    "https://docs.meltano.com/guide/plugin-management#switching-from-one-variant-to-another";
const MULTIPLE_VARIANTS_DOCS: &str =
    "https://docs.meltano.com/guide/plugin-management#multiple-variants";

/// `--inherit-from`: from a project plugin of the same type, or (with `--variant`, or when no
/// project plugin has the name) from a plugin of the index, whose lock file is written.
async fn inherited(
    printer: &Printer,
    project: &Project,
    plugin_type: PluginType,
    name: &str,
    parent: &str,
    variant: Option<&str>,
) -> CliResult<(Map<String, Value>, Vec<String>)> {
    let in_project = project
        .manifest()
        .manifest
        .find_plugin(parent, Some(plugin_type))
        .is_some();
    let mut entry = Map::new();
    entry.insert("name".into(), name.into());
    entry.insert("inherit_from".into(), parent.into());
    if in_project && variant.is_none() {
        return Ok((entry, vec![format!("Inherit from:\t{parent}")]));
    }
    let definition = fetch_definition(printer, project, plugin_type, parent, variant)
        .await?
        .definition;
    let variant = definition.variant_name().to_string();
    lock(project, plugin_type, parent, &definition)?;
    entry.insert("variant".into(), variant.clone().into());
    if let Some(pip_url) = &definition.pip_url {
        entry.insert("pip_url".into(), pip_url.clone().into());
    }
    Ok((
        entry,
        vec![format!("Inherit from:\t{parent}, variant {variant}")],
    ))
}

/// A plugin of the index: its definition from the configured custom Hub, else the built-in
/// index, else Meltano Hub.
async fn fetch_definition(
    printer: &Printer,
    project: &Project,
    plugin_type: PluginType,
    name: &str,
    variant: Option<&str>,
) -> CliResult<meltano_hub::FoundDefinition> {
    let mut definitions = crate::definitions::project_definitions(project, "meltano add")?;
    definitions.auto_lock = false;
    let (found, source) = definitions
        .fetch(plugin_type, name, variant)
        .await
        .map_err(CliError::meltano)?;
    // Meltano logs this before it requests the definition, once the index has the plugin.
    if source == meltano_hub::DefinitionSource::Hub {
        printer.info("Fetching plugin definition from Meltano Hub");
    }
    Ok(found)
}

/// The Hub client for `hub_url` / `hub_api_root` / `hub_url_auth` (environment, `.env`, meltano.yml).
pub fn hub_client(project: &Project) -> CliResult<meltano_hub::HubClient> {
    crate::definitions::hub_client(project, "meltano add")
}

/// Writes the lock file `plugins/<type>/<name>--<variant>.lock`.
fn lock(
    project: &Project,
    plugin_type: PluginType,
    name: &str,
    definition: &meltano_hub::PluginDefinition,
) -> CliResult<()> {
    let path = meltano_hub::lock_path(
        project.root(),
        plugin_type,
        name,
        definition.variant.as_deref(),
    );
    meltano_hub::write_lock(&path, definition).map_err(CliError::meltano)
}

/// Adds (and locks) the plugins a definition `requires` that the project does not have yet;
/// returns the "Added required ..." lines.
async fn required_plugins(
    printer: &Printer,
    project: &Project,
    definition: &meltano_hub::PluginDefinition,
) -> CliResult<Vec<String>> {
    let mut lines = Vec::new();
    for (type_key, requirements) in &definition.requires {
        let plugin_type = type_key.parse::<PluginType>().map_err(CliError::meltano)?;
        for requirement in requirements {
            if project
                .manifest()
                .manifest
                .find_plugin(&requirement.name, Some(plugin_type))
                .is_some()
            {
                continue;
            }
            let required = Box::pin(fetch_definition(
                printer,
                project,
                plugin_type,
                &requirement.name,
                requirement.variant.as_deref(),
            ))
            .await?
            .definition;
            lock(project, plugin_type, &requirement.name, &required)?;
            let mut entry = Map::new();
            entry.insert("name".into(), requirement.name.clone().into());
            if let Some(v) = &required.variant {
                entry.insert("variant".into(), v.clone().into());
            }
            if let Some(pip_url) = &required.pip_url {
                entry.insert("pip_url".into(), pip_url.clone().into());
            }
            let mut file = project
                .edit(&project.manifest_path())
                .map_err(CliError::meltano)?;
            file.add_plugin(plugin_type, &entry)
                .map_err(CliError::meltano)?;
            file.save().map_err(CliError::meltano)?;
            lines.push(format!(
                "Added required {} '{}' to your project",
                plugin_type.descriptor(),
                requirement.name
            ));
        }
    }
    Ok(lines)
}

/// A plugin of the index: `name`, `variant` and `pip_url` in meltano.yml, the rest in its lock file.
async fn from_index(
    printer: &Printer,
    project: &Project,
    plugin_type: PluginType,
    name: &str,
    variant: Option<&str>,
) -> CliResult<(Map<String, Value>, Vec<String>)> {
    let meltano_hub::FoundDefinition {
        definition,
        is_default_variant: is_default,
    } = fetch_definition(printer, project, plugin_type, name, variant).await?;
    lock(project, plugin_type, name, &definition)?;
    let mut details = required_plugins(printer, project, &definition).await?;
    let mut entry = Map::new();
    entry.insert("name".into(), name.into());
    if let Some(v) = &definition.variant {
        entry.insert("variant".into(), v.clone().into());
    }
    if let Some(pip_url) = &definition.pip_url {
        entry.insert("pip_url".into(), pip_url.clone().into());
    }
    details.extend(definition_details(&definition, is_default));
    Ok((entry, details))
}

/// The lines under "Added …" / "Updated …": variant, repository, documentation.
fn definition_details(definition: &meltano_hub::PluginDefinition, is_default: bool) -> Vec<String> {
    let mut details = Vec::new();
    if let Some(v) = &definition.variant {
        details.push(format!(
            "Variant:\t{v}{}",
            if is_default { " (default)" } else { "" }
        ));
    }
    if let Some(repo) = &definition.repo {
        details.push(format!("Repository:\t{repo}"));
    }
    if let Some(docs) = &definition.docs {
        details.push(format!("Documentation:\t{docs}"));
    }
    details
}

/// `--from-ref FILE`: a YAML plugin definition, embedded as a custom definition.
fn from_ref(reference: &str, cli_name: &str) -> CliResult<(Map<String, Value>, Vec<String>)> {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return Err(CliError::Meltano(format!(
            "Could not read '{reference}': URLs are not supported by --from-ref yet. Download the file and pass its path."
        )));
    }
    // A file that cannot be read is a bad option value (exit 2), worded as click words it.
    let text = std::fs::read_to_string(reference).map_err(|e| {
        let reason = match e.raw_os_error() {
            Some(code) => {
                let text = e.to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                format!("[Errno {code}] {text}: '{reference}'")
            }
            None => e.to_string(),
        };
        crate::usage::usage_error(
            &["add"],
            format!("Invalid value for '--from-ref': {reason}"),
        )
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

/// `name[:kind]` as a setting definition; `password` and `oauth` kinds are also marked
/// `sensitive: true`, as Meltano writes them.
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
        if matches!(kind, "password" | "oauth") {
            setting.insert("sensitive".into(), true.into());
        }
    }
    Ok(Value::Object(setting))
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
