//! Preparing a plugin process: its program, arguments, config file and environment, the same way
//! for `invoke`, `test` and `config test`.

use std::ffi::OsString;

use meltano_core::PluginType;
use meltano_core::settings::Resolved;
use meltano_core::settings::expand::expand_str;
use meltano_project::manifest::{Command, PluginEntry};
use meltano_runner::logging_files::write_logging_files;
use meltano_runner::{ConfigFile, PluginProcess, find_executable};

use crate::error::{CliError, CliResult};
use crate::settings::{SettingsStores, Subject, capitalize, plugin_config, plugin_program};

/// A plugin ready to start; its config file is removed when this is dropped.
pub struct Prepared {
    pub process: PluginProcess,
    _config_file: Option<ConfigFile>,
}

/// The file-name prefix of a Singer plugin's run files, or None for plugins that get no config file.
fn singer_role(plugin_type: PluginType) -> Option<&'static str> {
    match plugin_type {
        PluginType::Extractors => Some("tap"),
        PluginType::Loaders => Some("target"),
        PluginType::Mappers | PluginType::Mappings => Some("mapper"),
        _ => None,
    }
}

/// The commands of a plugin and its ancestors (the plugin's own win).
pub fn plugin_commands(
    stores: &SettingsStores<'_>,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> Vec<(String, Command)> {
    let project = stores.project;
    let chain = crate::settings::ancestors(project, plugin_type, entry).unwrap_or_default();
    let base = crate::definitions::base_definition(project, plugin_type, entry)
        .map(|d| crate::definitions::definition_commands(&d))
        .unwrap_or_default();
    let mut commands: Vec<(String, Command)> = Vec::new();
    let declared = std::iter::once(entry)
        .chain(chain)
        .flat_map(|p| p.commands.iter().map(|(n, c)| (n.clone(), c.clone())));
    for (name, command) in declared.chain(base) {
        if !commands.iter().any(|(n, _)| *n == name) {
            commands.push((name, command));
        }
    }
    commands
}

/// How to prepare a plugin process, beyond which plugin it is.
#[derive(Debug, Clone, Copy)]
pub struct PrepareOptions<'a> {
    /// A name from the plugin's `commands:`.
    pub command: Option<&'a str>,
    /// Appended to the command line.
    pub user_args: &'a [String],
    /// The level written into the Singer logging files.
    pub log_level: &'a str,
    /// A tap's prepared catalog (sync mode).
    pub catalog: Option<&'a std::path::Path>,
    /// A tap's prepared state file (sync mode); when None, the `state` extra, if set.
    pub state: Option<&'a std::path::Path>,
    /// Merged over the plugin's config file (a mapping's `config:`).
    pub config_overlay: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The variables of the plugins upstream in a pipeline, set before the plugin's own.
    pub upstream_env: &'a [(String, String)],
}

impl Default for PrepareOptions<'_> {
    fn default() -> Self {
        PrepareOptions {
            command: None,
            user_args: &[],
            log_level: "info",
            catalog: None,
            state: None,
            config_overlay: None,
            upstream_env: &[],
        }
    }
}

/// Builds the process for `subject` as `options` say.
pub async fn prepare(
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    options: &PrepareOptions<'_>,
) -> CliResult<Prepared> {
    let PrepareOptions {
        command,
        user_args,
        log_level,
        catalog,
        state,
        config_overlay,
        upstream_env,
    } = *options;
    let Subject::Plugin { plugin_type, entry } = subject else {
        return Err(CliError::Meltano(
            "Meltano itself cannot be invoked as a plugin.".to_string(),
        ));
    };
    let project = stores.project;
    let settings = stores.resolve(subject).await?;
    let mut env = upstream_env.to_vec();
    env.extend(stores.plugin_process_env(&subject, &settings).await?);
    let (mut executable, venv) = plugin_program(project, plugin_type, entry);
    let lookup_env = env.clone();
    let lookup = move |name: &str| {
        lookup_env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };

    let mut command_args: Vec<String> = Vec::new();
    if let Some(name) = command {
        let commands = plugin_commands(stores, plugin_type, entry);
        let Some((_, found)) = commands.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = commands.iter().map(|(n, _)| n.as_str()).collect();
            return Err(CliError::Meltano(format!(
                "Command '{name}' could not be found. {} '{}' supports the following commands: {}",
                capitalize(plugin_type.descriptor()),
                entry.name,
                names.join(", ")
            )));
        };
        if let Command::Spec(spec) = found
            && let Some(command_executable) = &spec.executable
        {
            executable = command_executable.clone();
        }
        let words = shlex::split(found.args()).ok_or_else(|| {
            CliError::Meltano(format!(
                "Command '{name}' of '{}' has unbalanced quotes in its args.",
                entry.name
            ))
        })?;
        for word in words {
            let expanded = expand_str(&word, &lookup, false).map_err(CliError::meltano)?;
            match expanded {
                Some(value) => command_args.push(value),
                None => {
                    return Err(CliError::Meltano(format!(
                        "Command '{name}' referenced unset environment variable '{word}' in an argument. \
                         Set it in the environment, `.env` or the plugin's `env:`."
                    )));
                }
            }
        }
    }

    let program = find_executable(&executable, project.root(), &venv).ok_or_else(|| {
        CliError::Meltano(format!(
            "Executable '{executable}' could not be found. {} '{}' may not have been installed yet using \
             `meltano install --plugin-type {} {}`, or the executable name may be incorrect.",
            capitalize(plugin_type.descriptor()),
            entry.name,
            plugin_type.singular(),
            entry.name
        ))
    })?;

    let mut args: Vec<OsString> = Vec::new();
    let mut config_file = None;
    if let Some(role) = singer_role(plugin_type) {
        let run_dir = project.sys_dir().run_dir().join(&entry.name);
        let mut config = plugin_config(&settings);
        if let (Some(overlay), Some(object)) = (config_overlay, config.as_object_mut()) {
            object.extend(overlay.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let file = ConfigFile::write(&run_dir, role, &config).map_err(CliError::meltano)?;
        args.extend(["--config".into(), file.path().into()]);
        config_file = Some(file);
        env.extend(write_logging_files(&run_dir, role, log_level).map_err(CliError::meltano)?);
        if plugin_type == PluginType::Extractors && command.is_none() && user_args.is_empty() {
            args.extend(sync_mode_args(project, entry, &settings, catalog, state));
        }
    }
    args.extend(command_args.into_iter().map(OsString::from));
    args.extend(user_args.iter().map(OsString::from));

    let mut env_remove = vec!["VIRTUAL_ENV".to_string(), "PYTHONPATH".to_string()];
    if venv.join("bin").is_dir() {
        let path = std::env::var("PATH").unwrap_or_default();
        env.push(("VIRTUAL_ENV".to_string(), venv.display().to_string()));
        env.push((
            "PATH".to_string(),
            format!("{}:{path}", venv.join("bin").display()),
        ));
        env_remove.retain(|n| n != "VIRTUAL_ENV");
    }
    let process = PluginProcess {
        program,
        args,
        env,
        env_remove,
        cwd: project.root().to_path_buf(),
    };
    Ok(Prepared {
        process,
        _config_file: config_file,
    })
}

/// A tap run without arguments syncs: it gets its prepared catalog (`--catalog` or
/// `--properties`, per its capabilities) and the `state` extra when set.
fn sync_mode_args(
    project: &meltano_project::Project,
    entry: &PluginEntry,
    settings: &[Resolved],
    catalog: Option<&std::path::Path>,
    state_file: Option<&std::path::Path>,
) -> Vec<OsString> {
    let capabilities = crate::settings::capabilities(project, PluginType::Extractors, entry);
    let mut args: Vec<OsString> = Vec::new();
    if let Some(catalog) = catalog {
        if capabilities.iter().any(|c| c == "catalog") {
            args.extend(["--catalog".into(), catalog.into()]);
        } else if capabilities.iter().any(|c| c == "properties") {
            args.extend(["--properties".into(), catalog.into()]);
        }
    }
    let state = state_file.map(std::path::Path::to_path_buf).or_else(|| {
        settings
            .iter()
            .find(|r| r.spec.name == "_state")
            .and_then(|r| r.value.as_ref())
            .and_then(|v| v.as_str().map(|s| project.root().join(s)))
    });
    if let Some(state) = state
        && capabilities.iter().any(|c| c == "state")
    {
        args.extend(["--state".into(), state.into()]);
    }
    args
}
