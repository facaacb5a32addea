//! `meltano config list|print|set|unset|reset`: the settings of the project or a plugin, where
//! each value comes from, and writing values to the store they belong in.

use std::cell::OnceCell;
use std::process::ExitCode;

use meltano_cli::{ConfigArgs, ConfigCommand, ConfigTarget, PrintFormat, SettingStore};
use meltano_core::PluginType;
use meltano_core::pickle;
use meltano_core::pyjson::dumps_indent2;
use meltano_core::settings::cast::cast;
use meltano_core::settings::date::processed;
use meltano_core::settings::env_names::stringify_for_env;
use meltano_core::settings::nest::{nest, split_raw};
use meltano_core::settings::repr::py_repr;
use meltano_core::settings::{Resolved, SettingSpec, Source};
use meltano_project::manifest::{Environment, PluginEntry};
use meltano_project::{Project, dotenv};
use serde_json::{Map, Value};

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::prompt;
use crate::settings::{SettingsStores, Subject};

const REDACTED: &str = "(redacted)";
const SETTINGS_DOCS: &str = "https://docs.meltano.com/reference/settings";

/// Runs one `config` subcommand; without one, prints nothing (as Meltano does).
pub fn run(ctx: &Context, args: ConfigArgs) -> CliResult<ExitCode> {
    let Some(command) = args.command else {
        return Ok(ExitCode::SUCCESS);
    };
    let safe = !args.unsafe_;
    let project = ctx.project(&["config"])?;
    let environment_name = ctx.environment(&project, EnvironmentPolicy::ExplicitOnly("config"))?;
    let environment = environment_name
        .as_deref()
        .and_then(|n| project.manifest().manifest.environment(n));
    let target = match &command {
        ConfigCommand::List { target, .. }
        | ConfigCommand::Print { target, .. }
        | ConfigCommand::Set { target, .. }
        | ConfigCommand::Unset { target, .. }
        | ConfigCommand::Reset { target, .. }
        | ConfigCommand::Test { target, .. } => target.clone(),
    };
    block_on(async {
        let db = ctx
            .database(&project, target.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment,
            db: &db,
        };
        let result = dispatch(ctx, &stores, command, &target, safe).await;
        db.close().await;
        result
    })?
}

async fn dispatch(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    command: ConfigCommand,
    target: &ConfigTarget,
    safe: bool,
) -> CliResult<ExitCode> {
    let plugin_type = target
        .plugin_type
        .as_deref()
        .map(|t| t.parse::<PluginType>().map_err(CliError::meltano))
        .transpose()?;
    match command {
        ConfigCommand::List {
            plugin_name,
            extras,
            all,
            filter,
            ..
        } => {
            let mapping = OnceCell::new();
            let subject = find_readable(stores.project, &mapping, &plugin_name, plugin_type)?;
            let settings = stores.resolve(subject).await?;
            list(
                ctx,
                stores,
                subject,
                &settings,
                extras,
                all,
                filter.as_deref(),
                safe,
            );
        }
        ConfigCommand::Print {
            plugin_name,
            format,
            extras,
            ..
        } => {
            let mapping = OnceCell::new();
            let subject = find_readable(stores.project, &mapping, &plugin_name, plugin_type)?;
            let settings = stores.resolve(subject).await?;
            print(ctx, stores, subject, &settings, format, extras, safe);
        }
        ConfigCommand::Set {
            args,
            interactive,
            from_file,
            store,
            ..
        } => {
            set(
                ctx,
                stores,
                plugin_type,
                args,
                interactive,
                from_file,
                store,
            )
            .await?;
        }
        ConfigCommand::Unset {
            plugin_name,
            setting_name,
            store,
            ..
        } => {
            let subject = Subject::find(stores.project, &plugin_name, plugin_type)?;
            unset(ctx, stores, subject, &setting_name.join("."), store).await?;
        }
        ConfigCommand::Test {
            plugin_name,
            install,
            ..
        } => {
            let subject = Subject::find(stores.project, &plugin_name, plugin_type)?;
            return super::config_test::run(ctx, stores, subject, &install).await;
        }
        ConfigCommand::Reset {
            plugin_name,
            store,
            yes,
            ..
        } => {
            let subject = Subject::find(stores.project, &plugin_name, plugin_type)?;
            if !yes && !prompt::confirm(&ctx.printer, "Do you want to continue?")? {
                return Err(CliError::Aborted);
            }
            reset(ctx, stores, subject, store).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text of a value in listings: `(redacted)` for secrets unless `--unsafe`.
fn shown(resolved: &Resolved, safe: bool) -> String {
    match &resolved.value {
        Some(_) if safe && resolved.spec.is_sensitive() => REDACTED.to_string(),
        Some(value) => py_repr(value),
        None => "None".to_string(),
    }
}

/// One `config list` line and its description line.
fn list_line(resolved: &Resolved, group: Option<usize>, safe: bool) -> String {
    let spec = &resolved.spec;
    let mut line = spec.name.clone();
    if let Some(group) = group {
        line.push_str(&format!(" (required by group {group})"));
    }
    if !resolved.env_names.is_empty() {
        line.push_str(&format!(" [env: {}]", resolved.env_names.join(", ")));
    }
    if resolved.source != Source::Default
        && let Some(default) = &spec.default
    {
        let default = if safe && spec.is_sensitive() {
            REDACTED.to_string()
        } else {
            py_repr(default)
        };
        line.push_str(&format!(" (default: {default})"));
    }
    line.push_str(&format!(" current value: {}", shown(resolved, safe)));
    let mut origin = resolved.source.describe();
    // Meltano shows a secret's unexpanded form (`$VAR`) except when it was inherited: the parent
    // hands a redacted secret down already redacted.
    let inherited = matches!(resolved.source, Source::Inherited(_));
    if let Some(unexpanded) = &resolved.unexpanded
        && !(safe && spec.is_sensitive() && inherited)
    {
        origin.push_str(&format!(": {}", py_repr(unexpanded)));
    }
    line.push_str(&format!(" ({origin})"));
    if let Some(description) = &spec.description {
        match &spec.label {
            Some(label) => line.push_str(&format!("\n\t{label}: {description}")),
            None => line.push_str(&format!("\n\t{description}")),
        }
    }
    line
}

/// The plugin `name` names, or else the mapping of that name: Meltano reads a mapping as a copy
/// of its mapper whose `config:` is the mapping's, with the extras `mapping: true` and
/// `mapping_name`. Only `list` and `print` take mappings; `slot` holds the copy.
fn find_readable<'a>(
    project: &'a Project,
    slot: &'a OnceCell<PluginEntry>,
    name: &str,
    plugin_type: Option<PluginType>,
) -> CliResult<Subject<'a>> {
    let manifest = &project.manifest().manifest;
    if manifest.find_plugin(name, plugin_type).is_some()
        || plugin_type.is_some_and(|t| t != PluginType::Mappers)
    {
        return Subject::find(project, name, plugin_type);
    }
    let found = manifest
        .all_plugins()
        .filter(|(t, _)| *t == PluginType::Mappers)
        .find_map(|(_, mapper)| {
            let mapping = mapper.mappings.as_ref()?.iter().find(|m| m.name == name)?;
            Some((mapper, mapping))
        });
    let Some((mapper, mapping)) = found else {
        return Subject::find(project, name, plugin_type);
    };
    let mut entry = mapper.clone();
    entry.config = mapping.config.clone();
    entry
        .extras
        .insert("mapping".to_string(), Value::Bool(true));
    entry
        .extras
        .insert("mapping_name".to_string(), Value::String(name.to_string()));
    Ok(Subject::Plugin {
        plugin_type: PluginType::Mappers,
        entry: slot.get_or_init(|| entry),
    })
}

/// `config list`: settings grouped as Required, Configured, Optional (with `--all`), Custom and
/// (without `--extras`) Custom extras.
#[allow(clippy::too_many_arguments)]
fn list(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject,
    settings: &[Resolved],
    extras: bool,
    all: bool,
    filter: Option<&str>,
    safe: bool,
) {
    let groups = stores.settings_groups(&subject);
    let mut out: Vec<String> = Vec::new();
    let matches = |r: &&Resolved| {
        filter.is_none_or(|f| r.spec.name.to_lowercase().contains(&f.to_lowercase()))
    };
    let mut visible: Vec<&Resolved> = settings
        .iter()
        // Meltano lists hidden settings too (`hidden` only matters to UIs), and custom extras
        // with the settings.
        .filter(|r| r.spec.is_extra() == extras || (!extras && r.spec.custom))
        .filter(matches)
        .collect();
    visible.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    if filter.is_some() && visible.is_empty() {
        out.push(format!(
            "No settings match {}.",
            py_repr(&Value::String(filter.unwrap_or_default().to_string()))
        ));
    } else {
        if !extras {
            match groups.as_slice() {
                [] => {}
                [one] => {
                    let mut names = one.clone();
                    names.sort();
                    out.push(format!("Required settings: {}\n", names.join(", ")));
                }
                many => {
                    out.push(
                        "Setting groups (one of the following combinations is required):"
                            .to_string(),
                    );
                    for (i, group) in many.iter().enumerate() {
                        let mut names = group.clone();
                        names.sort();
                        out.push(format!("  Group {}: {}", i + 1, names.join(", ")));
                    }
                    out.push(String::new());
                }
            }
        }
        let group_of = |name: &str| groups.iter().position(|g| g.iter().any(|n| n == name));
        let required: Vec<&&Resolved> = visible
            .iter()
            .filter(|r| !extras && group_of(&r.spec.name).is_some())
            .collect();
        let rest: Vec<&&Resolved> = visible
            .iter()
            .filter(|r| extras || group_of(&r.spec.name).is_none())
            .collect();
        let configured: Vec<_> = rest
            .iter()
            .filter(|r| !r.spec.custom && r.source != Source::Default)
            .collect();
        let optional: Vec<_> = rest
            .iter()
            .filter(|r| !r.spec.custom && r.source == Source::Default)
            .collect();
        let custom: Vec<_> = rest
            .iter()
            .filter(|r| r.spec.custom && r.spec.is_extra() == extras)
            .collect();
        let custom_extras: Vec<_> = rest
            .iter()
            .filter(|r| !extras && r.spec.custom && r.spec.is_extra())
            .collect();
        let show_optional = all || filter.is_some();
        // Extras at their defaults alone are listed without a header, as Meltano does.
        let optional_title = if extras && configured.is_empty() {
            ""
        } else {
            "Optional"
        };
        let mut section = |title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                if !title.is_empty() {
                    out.push(format!("{title}:"));
                }
                out.extend(lines);
                out.push(String::new());
            }
        };
        let numbered = groups.len() > 1;
        section(
            "Required",
            required
                .iter()
                .map(|r| {
                    list_line(
                        r,
                        if numbered {
                            group_of(&r.spec.name).map(|g| g + 1)
                        } else {
                            None
                        },
                        safe,
                    )
                })
                .collect(),
        );
        section(
            "Configured",
            configured
                .iter()
                .map(|r| list_line(r, None, safe))
                .collect(),
        );
        if show_optional {
            section(
                optional_title,
                optional.iter().map(|r| list_line(r, None, safe)).collect(),
            );
        }
        let custom_title = if extras {
            "Custom"
        } else {
            "Custom, possibly unsupported by the plugin"
        };
        section(
            custom_title,
            custom.iter().map(|r| list_line(r, None, safe)).collect(),
        );
        section(
            "Custom extras, plugin-specific options handled by Meltano",
            custom_extras
                .iter()
                .map(|r| list_line(r, None, safe))
                .collect(),
        );
        if !show_optional && !optional.is_empty() {
            out.push(format!(
                "Optional settings with default values: {} hidden. Use --all to show all.",
                optional.len()
            ));
            out.push(String::new());
        }
    }
    // One blank line always comes before the docs link, even after an empty listing.
    if let Subject::Project = subject {
        if out.last().is_none_or(|l| !l.is_empty()) {
            out.push(String::new());
        }
        out.push(format!(
            "To learn more about Meltano and its settings, visit {SETTINGS_DOCS}"
        ));
    } else if let Subject::Plugin { plugin_type, entry } = subject
        && let Some(docs) = entry.docs.clone().or(entry.repo.clone()).or_else(|| {
            crate::definitions::base_definition(stores.project, plugin_type, entry)
                .and_then(|d| d.docs.or(d.repo))
        })
    {
        if out.last().is_none_or(|l| !l.is_empty()) {
            out.push(String::new());
        }
        out.push(format!(
            "To learn more about {} '{}' and its settings, visit {docs}",
            subject_kind(&subject),
            entry.name
        ));
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    if !out.is_empty() {
        ctx.printer.out(&out.join("\n"));
    }
}

fn subject_kind(subject: &Subject) -> &'static str {
    match subject {
        Subject::Project => "Meltano",
        Subject::Plugin { plugin_type, .. } => plugin_type.descriptor(),
    }
}

/// `config print`: the configuration as a plugin receives it (JSON) or as variables (`env`).
fn print(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject,
    settings: &[Resolved],
    format: PrintFormat,
    extras: bool,
    safe: bool,
) {
    let wanted = |r: &&Resolved| r.spec.is_extra() == extras;
    let value_of = |r: &Resolved| match &r.value {
        Some(_) if safe && r.spec.is_sensitive() => Some(Value::String("*****".to_string())),
        other => other.clone(),
    };
    match format {
        PrintFormat::Json if extras => {
            let map: Map<String, Value> = settings
                .iter()
                .filter(wanted)
                .map(|r| (r.spec.name.clone(), value_of(r).unwrap_or(Value::Null)))
                .collect();
            ctx.printer.out(&dumps_indent2(&Value::Object(map)));
        }
        PrintFormat::Json => {
            // The project shows every setting (unset ones as `{}`, as Meltano's nesting leaves
            // them); a plugin gets only set values.
            let keep_unset = matches!(subject, Subject::Project);
            let now = chrono::Utc::now().naive_utc();
            let pairs: Vec<(String, Value)> = settings
                .iter()
                .filter(wanted)
                .filter_map(|r| match value_of(r) {
                    Some(v) => Some((r.spec.name.clone(), processed(&r.spec, v, now))),
                    None => keep_unset.then(|| (r.spec.name.clone(), Value::Object(Map::new()))),
                })
                .collect();
            let config = nest(pairs);
            ctx.printer.out(&dumps_indent2(&Value::Object(config)));
        }
        PrintFormat::Env => {
            let mut lines = Vec::new();
            for resolved in settings.iter().filter(wanted) {
                let Some(value) = value_of(resolved) else {
                    continue;
                };
                let Some(text) = stringify_for_env(resolved.spec.kind, &value) else {
                    continue;
                };
                // Quoted as python-dotenv's `set_key` quotes: backslashes, then single quotes.
                let quoted = text.replace('\\', "\\\\").replace('\'', "\\'");
                for name in stores.write_env_names(&subject, &resolved.spec) {
                    lines.push(format!("{name}='{quoted}'\n"));
                }
            }
            // Meltano echoes the whole .env text, whose last line already ends in a newline.
            ctx.printer.out(&lines.concat());
        }
    }
}

/// Where a value is written or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Db,
    Dotenv,
    /// The plugin's entry (or the top level for the project) in meltano.yml.
    MeltanoYml,
    /// The active environment's override of the plugin in meltano.yml.
    Environment,
}

impl Store {
    fn label(self) -> &'static str {
        match self {
            Store::Db => Source::Db.store_label(),
            Store::Dotenv => Source::Dotenv(String::new()).store_label(),
            Store::MeltanoYml => Source::MeltanoYml.store_label(),
            Store::Environment => Source::Environment.store_label(),
        }
    }
}

/// The store a write of `spec` goes to; `auto` follows Meltano's rules: read-only projects use
/// the database, secrets and environment-specific settings `.env`, plugin settings the active
/// environment when one was chosen, everything else meltano.yml.
fn write_store(
    project: &Project,
    spec: &SettingSpec,
    environment: Option<&Environment>,
    subject: &Subject,
    store: SettingStore,
) -> Store {
    match store {
        SettingStore::Db => Store::Db,
        SettingStore::Dotenv => Store::Dotenv,
        SettingStore::Auto if project.readonly() => Store::Db,
        SettingStore::Auto if spec.is_sensitive() || spec.env_specific => Store::Dotenv,
        // meltano.yml means the active environment's section for a plugin, as in Meltano.
        SettingStore::MeltanoYml | SettingStore::Auto => yaml_store(subject, environment),
    }
}

/// The part of meltano.yml a plugin's (or the project's) values live in.
fn yaml_store(subject: &Subject, environment: Option<&Environment>) -> Store {
    match (subject, environment) {
        (Subject::Plugin { .. }, Some(_)) => Store::Environment,
        _ => Store::MeltanoYml,
    }
}

/// The stores `unset`/`reset` clear: one, or with `auto` every writable one.
fn clear_stores(stores: &SettingsStores<'_>, subject: &Subject, store: SettingStore) -> Vec<Store> {
    match store {
        SettingStore::Db => vec![Store::Db],
        SettingStore::Dotenv => vec![Store::Dotenv],
        SettingStore::MeltanoYml => vec![yaml_store(subject, stores.environment)],
        SettingStore::Auto if stores.project.readonly() => vec![Store::Db],
        SettingStore::Auto => {
            let mut all = vec![Store::Db];
            if matches!(subject, Subject::Plugin { .. }) && stores.environment.is_some() {
                all.push(Store::Environment);
            }
            all.extend([Store::MeltanoYml, Store::Dotenv]);
            all
        }
    }
}

/// `config set`: parses the arguments, casts the value by the setting's kind and writes it.
async fn set(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    plugin_type: Option<PluginType>,
    args: Vec<String>,
    interactive: bool,
    from_file: Option<std::path::PathBuf>,
    store: SettingStore,
) -> CliResult<()> {
    let Some((plugin_name, rest)) = args.split_first() else {
        return Err(crate::usage::usage_error(
            &["config", "set"],
            "Missing argument 'PLUGIN_NAME'.".to_string(),
        ));
    };
    let subject = Subject::find(stores.project, plugin_name, plugin_type)?;
    if interactive || rest.is_empty() {
        return set_interactively(ctx, stores, subject, store).await;
    }
    let (name_parts, raw) = match &from_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::Meltano(format!("Could not read '{}': {e}", path.display()))
            })?;
            (rest.to_vec(), text.trim().to_string())
        }
        None => {
            let Some((value, names)) = rest.split_last().filter(|(_, names)| !names.is_empty())
            else {
                return Err(crate::usage::usage_error(
                    &["config", "set"],
                    "Missing argument 'VALUE'.".to_string(),
                ));
            };
            (names.to_vec(), value.clone())
        }
    };
    let name = if name_parts.len() == 1 {
        name_parts[0].clone()
    } else {
        name_parts.join(".")
    };
    set_one(ctx, stores, subject, &name, &raw, store).await
}

async fn set_one(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    name: &str,
    raw: &str,
    store: SettingStore,
) -> CliResult<()> {
    let specs = stores.specs(&subject);
    let spec = specs
        .iter()
        .find(|s| s.names().any(|n| n == name))
        .cloned()
        .unwrap_or_else(|| {
            ctx.printer.warn(&format!("Unknown setting '{name}'"));
            let mut spec = SettingSpec::named(name);
            spec.custom = true;
            spec
        });
    if raw == REDACTED {
        return Ok(());
    }
    let value = cast(&spec, raw).map_err(|e| {
        CliError::Meltano(format!(
            "Cannot set {} setting '{}' (kind {}): {e}",
            subject.title(),
            spec.name,
            spec.kind.map_or("string", |k| k.as_str())
        ))
    })?;
    let store = write_store(stores.project, &spec, stores.environment, &subject, store);
    write(stores, &subject, &spec, &value, store).await?;
    let label = store.label();
    let shown_value = if spec.is_sensitive() {
        REDACTED.to_string()
    } else {
        py_repr(&value)
    };
    ctx.printer.out(&format!(
        "{} setting '{}' was set in {label}: {shown_value}",
        subject.title(),
        spec.name
    ));
    let now = current_value(stores, &subject, &spec.name).await;
    if let Some(current) = now
        && current.source.store_label() != label
    {
        ctx.printer.out(&format!(
            "Current value is still: {} (from {})",
            shown(&current, true),
            current.source.store_label()
        ));
    }
    Ok(())
}

/// Writes one value to `store`.
async fn write(
    stores: &SettingsStores<'_>,
    subject: &Subject<'_>,
    spec: &SettingSpec,
    value: &Value,
    store: Store,
) -> CliResult<()> {
    let project = stores.project;
    match store {
        Store::Db => stores
            .db
            .set_plugin_setting(&subject.db_namespace(), &spec.name, &pickle::dumps(value))
            .await
            .map_err(CliError::meltano),
        Store::Dotenv => {
            project.ensure_writable().map_err(CliError::meltano)?;
            let names = stores.env_names(subject, spec);
            let Some(first) = names.first() else {
                return Err(CliError::Meltano(format!(
                    "Setting '{}' has no environment variable to store it in.",
                    spec.name
                )));
            };
            let text = stringify_for_env(spec.kind, value).unwrap_or_default();
            dotenv::unset_keys(project.dotenv_path(), &names[1..]).map_err(CliError::meltano)?;
            dotenv::set_key(project.dotenv_path(), first, &text).map_err(CliError::meltano)
        }
        Store::MeltanoYml | Store::Environment => {
            project.ensure_writable().map_err(CliError::meltano)?;
            write_yaml(
                stores,
                subject,
                spec,
                Some(value),
                store == Store::Environment,
            )
            .map(|_| ())
        }
    }
}

/// Removes one value from `store`; returns whether there was one.
async fn remove(
    stores: &SettingsStores<'_>,
    subject: &Subject<'_>,
    spec: &SettingSpec,
    store: Store,
) -> CliResult<bool> {
    match store {
        Store::Db => stores
            .db
            .unset_plugin_setting(&subject.db_namespace(), &spec.name)
            .await
            .map_err(CliError::meltano),
        Store::Dotenv => {
            stores
                .project
                .ensure_writable()
                .map_err(CliError::meltano)?;
            let names = stores.env_names(subject, spec);
            let removed = dotenv::unset_keys(stores.project.dotenv_path(), &names)
                .map_err(CliError::meltano)?;
            Ok(!removed.is_empty())
        }
        Store::MeltanoYml | Store::Environment => {
            stores
                .project
                .ensure_writable()
                .map_err(CliError::meltano)?;
            write_yaml(stores, subject, spec, None, store == Store::Environment)
        }
    }
}

/// Sets (or with `None` removes) a value in meltano.yml: the active environment's override of a
/// plugin (`in_environment`), else the plugin's entry (or the top level for the project).
/// Returns whether the file changed.
fn write_yaml(
    stores: &SettingsStores<'_>,
    subject: &Subject<'_>,
    spec: &SettingSpec,
    value: Option<&Value>,
    in_environment: bool,
) -> CliResult<bool> {
    let project = stores.project;
    // Keys keep their escapes (`a\\.b` stays one key), as Meltano writes them.
    let path: Vec<String> = split_raw(&spec.name)
        .into_iter()
        .map(str::to_string)
        .collect();
    let loaded = project.manifest();
    let (file_path, changed) = match subject {
        Subject::Project => {
            let mut file = project
                .edit(&project.manifest_path())
                .map_err(CliError::meltano)?;
            let changed = match value {
                Some(v) => {
                    file.set_top_level(&path, v).map_err(CliError::meltano)?;
                    true
                }
                None => file.unset_top_level(&path).map_err(CliError::meltano)?,
            };
            (file, changed)
        }
        Subject::Plugin { plugin_type, entry } => {
            let extra = spec.is_extra();
            // A key written dotted (`a.b: 1`) is kept dotted.
            let path = if !extra && entry.config.contains_key(&spec.name) {
                vec![spec.name.clone()]
            } else {
                path
            };
            match stores.environment.filter(|_| in_environment) {
                Some(environment) => {
                    let origin = loaded
                        .environment_origin(&environment.name)
                        .unwrap_or(loaded.main_file.as_path());
                    let mut file = project.edit(origin).map_err(CliError::meltano)?;
                    let changed = match value {
                        Some(v) => file
                            .set_environment_plugin_value(
                                &environment.name,
                                *plugin_type,
                                &entry.name,
                                &path,
                                v,
                                extra,
                            )
                            .map_err(CliError::meltano)?,
                        None => file
                            .unset_environment_plugin_value(
                                &environment.name,
                                *plugin_type,
                                &entry.name,
                                &path,
                                extra,
                            )
                            .map_err(CliError::meltano)?,
                    };
                    (file, changed)
                }
                None => {
                    let origin = loaded
                        .plugin_origin(*plugin_type, &entry.name)
                        .unwrap_or(loaded.main_file.as_path());
                    let mut file = project.edit(origin).map_err(CliError::meltano)?;
                    let changed = match value {
                        Some(v) => file
                            .set_plugin_value(*plugin_type, &entry.name, &path, v, extra)
                            .map_err(CliError::meltano)?,
                        None => file
                            .unset_plugin_value(*plugin_type, &entry.name, &path, extra)
                            .map_err(CliError::meltano)?,
                    };
                    (file, changed)
                }
            }
        }
    };
    if changed {
        file_path.save().map_err(CliError::meltano)?;
    }
    Ok(changed)
}

/// The value of one setting as the files on disk now say (re-read after a write).
async fn current_value(
    stores: &SettingsStores<'_>,
    subject: &Subject<'_>,
    name: &str,
) -> Option<Resolved> {
    // Only a report: a value that cannot be read now must not fail the write that succeeded.
    let project = stores.project.reload().ok()?;
    let environment = stores
        .environment
        .and_then(|e| project.manifest().manifest.environment(&e.name));
    let fresh = SettingsStores {
        project: &project,
        environment,
        db: stores.db,
    };
    let subject = match subject {
        Subject::Project => Subject::Project,
        Subject::Plugin { plugin_type, entry } => {
            Subject::find(&project, &entry.name, Some(*plugin_type)).ok()?
        }
    };
    fresh
        .resolve(subject)
        .await
        .ok()?
        .into_iter()
        .find(|r| r.spec.name == name)
}

/// `config unset`: removes the value from one store, or with `auto` from every writable one.
async fn unset(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    name: &str,
    store: SettingStore,
) -> CliResult<()> {
    let specs = stores.specs(&subject);
    let spec = specs
        .iter()
        .find(|s| s.names().any(|n| n == name))
        .cloned()
        .unwrap_or_else(|| SettingSpec::named(name));
    let targets = clear_stores(stores, &subject, store);
    let mut cleared = Vec::new();
    for target in &targets {
        if remove(stores, &subject, &spec, *target).await? {
            cleared.push(*target);
        }
    }
    for target in if cleared.is_empty() {
        &targets[..1]
    } else {
        &cleared[..]
    } {
        ctx.printer.out(&format!(
            "{} setting '{}' in {} was unset",
            subject.title(),
            spec.name,
            target.label()
        ));
    }
    if let Some(current) = current_value(stores, &subject, &spec.name).await
        && current.value.is_some()
        && current.source != Source::Default
    {
        ctx.printer.out(&format!(
            "Current value is now: {} (from {})",
            shown(&current, true),
            current.source.store_label()
        ));
    }
    Ok(())
}

/// `config reset`: clears every value of the subject in the chosen stores (only the subject's
/// variables in `.env`: Meltano 4.4.1 deletes the whole file).
async fn reset(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    store: SettingStore,
) -> CliResult<()> {
    let targets = clear_stores(stores, &subject, store);
    let settings = stores.resolve(subject).await?;
    for target in &targets {
        match target {
            Store::Db => {
                stores
                    .db
                    .delete_plugin_settings(&subject.db_namespace())
                    .await
                    .map_err(CliError::meltano)?;
            }
            Store::Dotenv => {
                stores
                    .project
                    .ensure_writable()
                    .map_err(CliError::meltano)?;
                let names: Vec<String> =
                    settings.iter().flat_map(|r| r.env_names.clone()).collect();
                dotenv::unset_keys(stores.project.dotenv_path(), &names)
                    .map_err(CliError::meltano)?;
            }
            Store::MeltanoYml | Store::Environment => {
                stores
                    .project
                    .ensure_writable()
                    .map_err(CliError::meltano)?;
                for resolved in &settings {
                    write_yaml(
                        stores,
                        &subject,
                        &resolved.spec,
                        None,
                        *target == Store::Environment,
                    )?;
                }
            }
        }
    }
    let labels: Vec<&str> = targets.iter().map(|t| t.label()).collect();
    let stores_text = match labels.as_slice() {
        [one] => one.to_string(),
        [first, second] => format!("{first} and {second}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
        [] => String::new(),
    };
    ctx.printer.out(&format!(
        "{} settings in {stores_text} were reset",
        subject.title()
    ));
    Ok(())
}

/// `config set --interactive` (or without a setting): offers each setting in turn.
async fn set_interactively(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    store: SettingStore,
) -> CliResult<()> {
    let settings = stores.resolve(subject).await?;
    let editable: Vec<&Resolved> = settings.iter().filter(|r| !r.spec.is_extra()).collect();
    ctx.printer
        .out(&format!("Configuring {}...", subject.title()));
    for (i, resolved) in editable.iter().enumerate() {
        ctx.printer.out(&format!(
            "{:>3}. {}",
            i + 1,
            list_line(resolved, None, true)
                .lines()
                .next()
                .unwrap_or_default()
        ));
    }
    let choice = prompt::ask(
        &ctx.printer,
        &format!(
            "Loop through all settings (all), select a setting by number (1 - {}), or exit (e)?",
            editable.len()
        ),
        "all",
    )?;
    let chosen: Vec<&Resolved> = match choice.as_str() {
        "e" | "exit" => return Ok(()),
        "all" => editable,
        number => {
            let index: usize = number
                .parse()
                .ok()
                .filter(|n| (1..=editable.len()).contains(n))
                .ok_or_else(|| {
                    CliError::Meltano(format!("'{number}' is not a setting number, 'all' or 'e'."))
                })?;
            vec![editable[index - 1]]
        }
    };
    for resolved in chosen {
        let current = shown(resolved, true);
        let answer = prompt::ask(
            &ctx.printer,
            &format!("New value for {} (Enter to keep)", resolved.spec.name),
            &current,
        )?;
        if answer != current {
            set_one(ctx, stores, subject, &resolved.spec.name, &answer, store).await?;
        }
    }
    Ok(())
}
