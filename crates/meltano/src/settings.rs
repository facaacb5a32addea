//! The settings of the project or of one plugin, gathered from every store and resolved.
//!
//! This is where files, the environment and the system database meet the pure resolver of
//! `meltano-core`: definitions come from meltano.yml (inheritance included) or the project's own
//! list, values from the process environment, `.env`, the active environment, meltano.yml and the
//! `plugin_settings` table.

use indexmap::IndexMap;
use meltano_core::settings::date::processed;
use meltano_core::settings::env_names::{
    plugin_info_vars, project_env_var, read_names, stringify_for_env, write_names,
};
use meltano_core::settings::expand::expand_str;
use meltano_core::settings::extras::{plugin_extras, plugin_extras_with};
use meltano_core::settings::nest::nest;
use meltano_core::settings::project::project_settings;
use meltano_core::settings::{Kind, Layers, Resolved, SettingOption, SettingSpec};
use meltano_core::{PluginType, env_vars, pickle};
use meltano_db::SystemDb;
use meltano_project::Project;
use meltano_project::manifest::{Environment, PluginEntry, SettingDefinition};
use serde_json::{Map, Value};

use crate::error::{CliError, CliResult};

/// What a `config` command is about: the project itself or one plugin.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Project,
    Plugin {
        plugin_type: PluginType,
        entry: &'a PluginEntry,
    },
}

impl<'a> Subject<'a> {
    /// `meltano` names the project; anything else a plugin of the project.
    pub fn find(
        project: &'a Project,
        name: &str,
        plugin_type: Option<PluginType>,
    ) -> CliResult<Subject<'a>> {
        if name == "meltano" {
            return Ok(Subject::Project);
        }
        let (plugin_type, entry) = project
            .manifest()
            .manifest
            .find_plugin(name, plugin_type)
            .ok_or_else(|| {
                CliError::Meltano(format!("Plugin '{name}' is not known to Meltano."))
            })?;
        ancestors(project, plugin_type, entry)?;
        Ok(Subject::Plugin { plugin_type, entry })
    }

    /// How messages name it: `Meltano`, or `Extractor 'tap-x'`.
    pub fn title(&self) -> String {
        match self {
            Subject::Project => "Meltano".to_string(),
            Subject::Plugin { plugin_type, entry } => {
                format!("{} '{}'", capitalize(plugin_type.descriptor()), entry.name)
            }
        }
    }

    /// The `plugin_settings.namespace` of its values.
    pub fn db_namespace(&self) -> String {
        match self {
            Subject::Project => "meltano".to_string(),
            Subject::Plugin { plugin_type, entry } => {
                format!("{}.{}.default", plugin_type.plural(), entry.name)
            }
        }
    }

    /// The plugin's namespace: its own, else its parent's, else its name with underscores.
    pub fn namespace(&self, project: &Project) -> Option<String> {
        let Subject::Plugin { plugin_type, entry } = self else {
            return None;
        };
        if let Some(ns) = &entry.namespace {
            return Some(ns.clone());
        }
        if entry.inherit_from.is_some() {
            return Some(entry.name.replace('-', "_"));
        }
        let base = crate::definitions::base_definition(project, *plugin_type, entry);
        Some(base.map_or_else(|| entry.name.replace('-', "_"), |d| d.namespace))
    }

    /// Prefixes of the variables that may set its settings: the name, then the namespace.
    pub fn env_prefixes(&self, project: &Project) -> Vec<String> {
        let Subject::Plugin { entry, .. } = self else {
            return Vec::new();
        };
        let mut prefixes = vec![entry.name.clone()];
        if let Some(ns) = self.namespace(project)
            && !prefixes.contains(&ns)
        {
            prefixes.push(ns);
        }
        prefixes
    }
}

/// The project plugin `entry` inherits from, when it inherits from one.
fn parent<'a>(
    project: &'a Project,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> Option<&'a PluginEntry> {
    let name = entry.inherit_from.as_deref()?;
    project
        .manifest()
        .manifest
        .find_plugin(name, Some(plugin_type))
        .map(|(_, p)| p)
}

/// The project plugins `entry` inherits from, nearest first; an inheritance cycle is an error.
pub fn ancestors<'a>(
    project: &'a Project,
    plugin_type: PluginType,
    entry: &'a PluginEntry,
) -> CliResult<Vec<&'a PluginEntry>> {
    let mut chain: Vec<&PluginEntry> = Vec::new();
    let mut current = entry;
    while let Some(p) = parent(project, plugin_type, current) {
        if p.name == entry.name || chain.iter().any(|c| c.name == p.name) {
            return Err(CliError::Meltano(format!(
                "{} '{}' cannot inherit from '{}', which itself inherits from '{}'. Remove one of the `inherit_from` keys.",
                capitalize(plugin_type.descriptor()),
                current.name,
                p.name,
                current.name
            )));
        }
        chain.push(p);
        current = p;
    }
    Ok(chain)
}

/// The stores of one project, for one command.
pub struct SettingsStores<'a> {
    pub project: &'a Project,
    /// The active environment, if any (`config` uses only an explicit one).
    pub environment: Option<&'a Environment>,
    pub db: &'a SystemDb,
}

impl SettingsStores<'_> {
    /// Every setting of `subject`, resolved.
    pub async fn resolve(&self, subject: Subject<'_>) -> CliResult<Vec<Resolved>> {
        if let Subject::Plugin { plugin_type, entry } = subject {
            ancestors(self.project, plugin_type, entry)?;
        }
        let inherited = match subject {
            Subject::Plugin { plugin_type, entry } => {
                match parent(self.project, plugin_type, entry) {
                    Some(p) => {
                        let parent_subject = Subject::Plugin {
                            plugin_type,
                            entry: p,
                        };
                        Some((
                            p.name.clone(),
                            Box::pin(self.resolve(parent_subject)).await?,
                        ))
                    }
                    None => None,
                }
            }
            Subject::Project => None,
        };
        let db_values = self.db_values(&subject).await?;
        let specs = self.specs(&subject);
        let manifest = self.manifest_values(&subject);
        let environment = self.environment_values(&subject);
        let env_names = |spec: &SettingSpec| self.env_names(&subject, spec);
        let expansion_vars = self.expansion_vars(&subject);
        let expansion = |name: &str| {
            expansion_vars
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
                .or_else(|| self.project.dotenv().get(name).cloned())
        };
        let process_env = |name: &str| std::env::var(name).ok();
        let overrides = Map::new();
        let strict = self.strict_env_var_mode();
        let mut layers = Layers {
            specs,
            env_names: &env_names,
            overrides: &overrides,
            process_env: &process_env,
            dotenv: self.project.dotenv(),
            environment: environment.as_ref(),
            manifest: &manifest,
            db: &db_values,
            inherited: inherited
                .as_ref()
                .map(|(name, settings)| (name.as_str(), settings.as_slice())),
            expansion: &expansion,
            extras_expansion: None,
            strict,
        };
        if matches!(subject, Subject::Project) {
            return layers.resolve().map_err(CliError::meltano);
        }
        // Extras may name the plugin's own settings as it receives them, so the settings are
        // resolved first (leniently: the second pass reports unset variables in strict mode).
        layers.strict = false;
        let first = layers.resolve().map_err(CliError::meltano)?;
        let own_env: IndexMap<String, String> = first
            .iter()
            .filter(|r| !r.spec.is_extra())
            .filter_map(|r| {
                let text = stringify_for_env(r.spec.kind, r.value.as_ref()?)?;
                Some((r, text))
            })
            .flat_map(|(r, text)| {
                self.write_env_names(&subject, &r.spec)
                    .into_iter()
                    .map(move |name| (name, text.clone()))
            })
            .collect();
        let own = |name: &str| own_env.get(name).cloned();
        layers.strict = strict;
        layers.extras_expansion = Some(&own);
        layers.resolve().map_err(CliError::meltano)
    }

    /// `ff.strict_env_var_mode` from the environment, `.env` or meltano.yml: an unset `$VAR` is an error.
    fn strict_env_var_mode(&self) -> bool {
        match self
            .project
            .env_var(env_vars::MELTANO_FF_STRICT_ENV_VAR_MODE)
        {
            Some(value) => env_vars::truthy(&value),
            None => self
                .project
                .manifest()
                .manifest
                .ff
                .as_ref()
                .and_then(|ff| ff.strict_env_var_mode)
                .unwrap_or(false),
        }
    }

    /// The variables `spec`'s value is injected into a plugin process under: its `env`, its own
    /// and its ancestors' prefixes, then `MELTANO_<VERB>_<NAME>`.
    pub fn write_env_names(&self, subject: &Subject, spec: &SettingSpec) -> Vec<String> {
        let Subject::Plugin { plugin_type, entry } = subject else {
            return spec.names().take(1).map(project_env_var).collect();
        };
        let mut groups: Vec<Vec<String>> = vec![subject.env_prefixes(self.project)];
        for ancestor in ancestors(self.project, *plugin_type, entry).unwrap_or_default() {
            groups.push(
                Subject::Plugin {
                    plugin_type: *plugin_type,
                    entry: ancestor,
                }
                .env_prefixes(self.project),
            );
        }
        let group_refs: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        let group_slices: Vec<&[&str]> = group_refs.iter().map(Vec::as_slice).collect();
        write_names(spec, &group_slices, *plugin_type)
    }

    /// The variables that may set `spec` for `subject`, in lookup order (nothing is resolved).
    pub fn env_names(&self, subject: &Subject, spec: &SettingSpec) -> Vec<String> {
        match subject {
            Subject::Project => spec.names().map(project_env_var).collect(),
            Subject::Plugin { .. } => {
                let prefixes = subject.env_prefixes(self.project);
                let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
                read_names(&refs, spec)
            }
        }
    }

    /// Definitions: the project's own list, or the plugin's settings (its ancestors' after its
    /// own) followed by its type's extras.
    pub fn specs(&self, subject: &Subject) -> Vec<SettingSpec> {
        match subject {
            Subject::Project => project_settings(),
            Subject::Plugin { plugin_type, entry } => {
                let mut specs: Vec<SettingSpec> = Vec::new();
                let mut add = |definition: &SettingDefinition| {
                    if !specs.iter().any(|s| s.name == definition.name) {
                        specs.push(spec_from_definition(definition));
                    }
                };
                let chain = ancestors(self.project, *plugin_type, entry).unwrap_or_default();
                for plugin in std::iter::once(*entry).chain(chain) {
                    plugin.settings.iter().for_each(&mut add);
                }
                let base = crate::definitions::base_definition(self.project, *plugin_type, entry);
                if let Some(base) = &base {
                    crate::definitions::definition_settings(base)
                        .iter()
                        .for_each(&mut add);
                }
                match &base {
                    Some(base) => specs.extend(plugin_extras_with(*plugin_type, &base.extras)),
                    None => specs.extend(plugin_extras(*plugin_type)),
                }
                specs
            }
        }
    }

    /// `settings_group_validation` of the plugin or its nearest ancestor that has one.
    pub fn settings_groups(&self, subject: &Subject) -> Vec<Vec<String>> {
        let Subject::Plugin { plugin_type, entry } = subject else {
            return Vec::new();
        };
        let chain = ancestors(self.project, *plugin_type, entry).unwrap_or_default();
        std::iter::once(*entry)
            .chain(chain)
            .find_map(|p| p.settings_group_validation.clone())
            .or_else(|| {
                crate::definitions::base_definition(self.project, *plugin_type, entry)
                    .map(|d| d.settings_group_validation)
                    .filter(|g| !g.is_empty())
            })
            .unwrap_or_default()
    }

    /// Values written in meltano.yml: a plugin's `config` plus its extras as `_<key>`, or the
    /// project's top-level settings.
    fn manifest_values(&self, subject: &Subject) -> Map<String, Value> {
        match subject {
            Subject::Project => {
                let Ok(Value::Object(top)) =
                    serde_json::to_value(&self.project.manifest().manifest)
                else {
                    return Map::new();
                };
                let first_segments: Vec<String> = project_settings()
                    .iter()
                    .map(|s| s.name.split('.').next().unwrap_or_default().to_string())
                    .collect();
                top.into_iter()
                    .filter(|(k, _)| {
                        first_segments
                            .iter()
                            .any(|s| k == s || k.starts_with(&format!("{s}.")))
                    })
                    .collect()
            }
            Subject::Plugin { entry, .. } => {
                let mut values: Map<String, Value> = entry.config.clone().into_iter().collect();
                for (key, value) in entry.extras_as_values() {
                    values.insert(format!("_{key}"), value);
                }
                // A mapper's stream maps resolve like any extra, `$VAR`s expanded at every level.
                if let Some(mappings) = &entry.mappings
                    && let Ok(value) = serde_json::to_value(mappings)
                {
                    values.insert("_mappings".to_string(), value);
                }
                values
            }
        }
    }

    /// Values the active environment gives this plugin (`config` plus extras), if any.
    fn environment_values(&self, subject: &Subject) -> Option<Map<String, Value>> {
        let Subject::Plugin { plugin_type, entry } = subject else {
            return None;
        };
        let override_entry = self.environment?.plugin(*plugin_type, &entry.name)?;
        let mut values: Map<String, Value> = override_entry.config.clone().into_iter().collect();
        for (key, value) in &override_entry.extras {
            values.insert(format!("_{key}"), value.clone());
        }
        Some(values)
    }

    /// The `plugin_settings` rows of the subject, unpickled.
    async fn db_values(&self, subject: &Subject<'_>) -> CliResult<Map<String, Value>> {
        let rows = self
            .db
            .plugin_settings(&subject.db_namespace())
            .await
            .map_err(CliError::meltano)?;
        let mut values = Map::new();
        for (name, bytes) in rows {
            let value = pickle::loads(&bytes).map_err(|e| {
                CliError::Meltano(format!(
                    "The system database holds a value for '{name}' ({}) that cannot be read: {e}. \
                     Unset it with `meltano config unset --store=db`.",
                    subject.db_namespace()
                ))
            })?;
            values.insert(name, value);
        }
        Ok(values)
    }

    /// Variables `$VAR` may name besides the process environment and `.env`: the project's and
    /// plugin's `env:` maps, the active environment's, and Meltano's own.
    fn expansion_vars(&self, subject: &Subject) -> IndexMap<String, String> {
        let project = self.project;
        let mut vars = IndexMap::new();
        vars.insert(
            env_vars::MELTANO_PROJECT_ROOT.to_string(),
            project.root().display().to_string(),
        );
        vars.insert(
            env_vars::MELTANO_SYS_DIR_ROOT.to_string(),
            project.sys_dir().root().display().to_string(),
        );
        vars.insert(
            env_vars::MELTANO_ENVIRONMENT.to_string(),
            self.environment.map(|e| e.name.clone()).unwrap_or_default(),
        );
        extend_expanded(&mut vars, &project.manifest().manifest.env);
        if let Some(environment) = self.environment {
            extend_expanded(&mut vars, &environment.env);
        }
        if let Subject::Plugin { plugin_type, entry } = subject {
            let singular = plugin_type.singular().to_uppercase();
            vars.insert(format!("MELTANO_{singular}_NAME"), entry.name.clone());
            if let Some(ns) = subject.namespace(project) {
                vars.insert(format!("MELTANO_{singular}_NAMESPACE"), ns);
            }
            vars.insert(
                format!("MELTANO_{singular}_VARIANT"),
                entry.variant.clone().unwrap_or_else(|| "default".into()),
            );
            // The active environment's `env:` (already in `vars`) stays in force over the
            // plugin's; the environment's override of the plugin expands against the plugin's.
            let plugin_env = expanded(&pairs(&vars), &entry.env);
            let override_env = self
                .environment
                .and_then(|e| e.plugin(*plugin_type, &entry.name))
                .map(|o| expanded(&[pairs(&vars), plugin_env.clone()].concat(), &o.env))
                .unwrap_or_default();
            let environment_env = self.environment.map(|e| &e.env);
            for (key, value) in plugin_env {
                if !environment_env.is_some_and(|env| env.contains_key(&key)) {
                    vars.insert(key, value);
                }
            }
            vars.extend(override_env);
        }
        vars
    }
}

/// The config object a plugin receives: every set, non-extra setting, nested at its dots.
pub fn plugin_config(settings: &[Resolved]) -> Value {
    let now = chrono::Utc::now().naive_utc();
    let pairs = settings
        .iter()
        .filter(|r| !r.spec.is_extra())
        .filter_map(|r| {
            r.value
                .clone()
                .filter(|v| !v.is_null())
                .map(|v| (r.spec.name.clone(), processed(&r.spec, v, now)))
        });
    Value::Object(nest(pairs))
}

impl SettingsStores<'_> {
    /// The variables a plugin process gets on top of the inherited environment, later entries
    /// winning: Meltano's own, project `env:`, `.env`, project settings, plugin info, every
    /// injected name of every plugin setting, then the plugin's, environment's and
    /// environment-plugin's `env:` maps.
    pub async fn plugin_process_env(
        &self,
        subject: &Subject<'_>,
        settings: &[Resolved],
    ) -> CliResult<Vec<(String, String)>> {
        let project = self.project;
        let Subject::Plugin { plugin_type, entry } = subject else {
            return Ok(Vec::new());
        };
        let environment_name = self.environment.map(|e| e.name.clone()).unwrap_or_default();
        let mut env: Vec<(String, String)> = vec![
            (
                env_vars::MELTANO_PROJECT_ROOT.to_string(),
                project.root().display().to_string(),
            ),
            (env_vars::MELTANO_ENVIRONMENT.to_string(), environment_name),
            (
                env_vars::MELTANO_SYS_DIR_ROOT.to_string(),
                project.sys_dir().root().display().to_string(),
            ),
            (
                "MELTANO_USER_AGENT".to_string(),
                format!("Meltano/{}", meltano_core::MELTANO_VERSION),
            ),
        ];
        let project_env = expanded(&env, &project.manifest().manifest.env);
        env.extend(project_env);
        env.extend(project.dotenv().iter().map(|(k, v)| (k.clone(), v.clone())));
        for resolved in self.resolve(Subject::Project).await? {
            if let Some(text) = resolved
                .value
                .as_ref()
                .and_then(|v| stringify_for_env(resolved.spec.kind, v))
            {
                env.push((project_env_var(&resolved.spec.name), text));
            }
        }
        let namespace = subject.namespace(project).unwrap_or_default();
        env.extend(plugin_info_vars(
            *plugin_type,
            &entry.name,
            &namespace,
            entry.variant.as_deref(),
        ));
        for resolved in settings {
            let Some(text) = resolved
                .value
                .as_ref()
                .and_then(|v| stringify_for_env(resolved.spec.kind, v))
            else {
                continue;
            };
            for name in self.write_env_names(subject, &resolved.spec) {
                env.push((name, text.clone()));
            }
        }
        // A plugin's `env:` may name variables that only the active environment's `env:` defines;
        // the environment's own values still come later and win.
        // The environment's plugin override expands against the plugin's own `env:` (as 4.4.1
        // does: `${STACKED}5` over a plugin's `${STACKED}4` is `…45`).
        let environment_env = self
            .environment
            .map(|environment| expanded(&env, &environment.env))
            .unwrap_or_default();
        let plugin_env = expanded(&[env.as_slice(), &environment_env].concat(), &entry.env);
        let override_env = self
            .environment
            .and_then(|environment| environment.plugin(*plugin_type, &entry.name))
            .map(|o| {
                let base = [env.as_slice(), &environment_env, &plugin_env].concat();
                expanded(&base, &o.env)
            })
            .unwrap_or_default();
        env.extend(plugin_env);
        env.extend(environment_env);
        env.extend(override_env);
        if std::env::var_os("PYTHONWARNINGS").is_none() {
            env.push(("PYTHONWARNINGS".to_string(), "once".to_string()));
        }
        Ok(env)
    }
}

/// Adds an `env:` map to `vars`, each value expanded against what `vars` holds so far.
fn extend_expanded(vars: &mut IndexMap<String, String>, env: &IndexMap<String, String>) {
    let values = expanded(&pairs(vars), env);
    vars.extend(values);
}

fn pairs(vars: &IndexMap<String, String>) -> Vec<(String, String)> {
    vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl SettingsStores<'_> {
    /// The variables a plugin's `pip_url` expands against, as Meltano installs: the project's
    /// `env:`, `.env`, the plugin's info variables and its own `env:` (then the process
    /// environment). Neither the active environment nor settings take part.
    pub fn install_env(
        &self,
        plugin_type: PluginType,
        entry: &PluginEntry,
    ) -> Vec<(String, String)> {
        let project = self.project;
        let mut env = expanded(&[], &project.manifest().manifest.env);
        env.extend(project.dotenv().iter().map(|(k, v)| (k.clone(), v.clone())));
        let subject = Subject::Plugin { plugin_type, entry };
        let namespace = subject.namespace(project).unwrap_or_default();
        env.extend(plugin_info_vars(
            plugin_type,
            &entry.name,
            &namespace,
            entry.variant.as_deref(),
        ));
        let plugin_env = expanded(&env, &entry.env);
        env.extend(plugin_env);
        env
    }
}

/// An `env:` map with each value `$VAR`-expanded against `base` (later entries winning), the
/// map's earlier entries, then the process environment (Meltano 4.4.1 expands plugin `env:` only
/// against the active environment's `env:`; see docs/compatibility.md).
fn expanded(base: &[(String, String)], vars: &IndexMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(vars.len());
    for (key, raw) in vars {
        let lookup = |name: &str| {
            base.iter()
                .chain(out.iter())
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
        };
        let value = expand_str(raw, &lookup, false)
            .ok()
            .flatten()
            .unwrap_or_default();
        out.push((key.clone(), value));
    }
    out
}

/// The executable of a plugin (its own, an ancestor's, else its name) and its virtualenv.
pub fn plugin_program(
    project: &Project,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> (String, std::path::PathBuf) {
    let chain = ancestors(project, plugin_type, entry).unwrap_or_default();
    let executable = std::iter::once(entry)
        .chain(chain)
        .find_map(|p| p.executable.clone())
        .or_else(|| {
            crate::definitions::base_definition(project, plugin_type, entry)
                .and_then(|d| d.executable)
        })
        .unwrap_or_else(|| entry.name.clone());
    let venv = project
        .sys_dir()
        .plugin_dir(plugin_type, &plugin_dir_name(project, plugin_type, entry))
        .join("venv");
    (executable, venv)
}

/// The capabilities of a plugin: its own, its project ancestors', else its index definition's.
pub fn capabilities(
    project: &Project,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> Vec<String> {
    let chain = ancestors(project, plugin_type, entry).unwrap_or_default();
    std::iter::once(entry)
        .chain(chain)
        .find_map(|p| p.capabilities.clone())
        .or_else(|| {
            crate::definitions::base_definition(project, plugin_type, entry).map(|d| d.capabilities)
        })
        .unwrap_or_default()
}

/// The `pip_url` of a plugin: its own, its project ancestors', else its index definition's.
pub fn plugin_pip_url(
    project: &Project,
    plugin_type: PluginType,
    entry: &PluginEntry,
) -> Option<String> {
    let chain = ancestors(project, plugin_type, entry).unwrap_or_default();
    std::iter::once(entry)
        .chain(chain)
        .find_map(|p| p.pip_url.clone())
        .or_else(|| {
            crate::definitions::base_definition(project, plugin_type, entry).and_then(|d| d.pip_url)
        })
}

/// The directory under `.meltano/<type>/` holding a plugin's virtualenv: its own name, unless it
/// inherits without a `pip_url` of its own and so shares its parent's.
pub fn plugin_dir_name(project: &Project, plugin_type: PluginType, entry: &PluginEntry) -> String {
    let mut current = entry;
    // Bounded: an inheritance cycle must not hang the command.
    for _ in 0..32 {
        match parent(project, plugin_type, current) {
            Some(p) if current.pip_url.is_none() => current = p,
            _ => break,
        }
    }
    current.name.clone()
}

/// A definition from meltano.yml as the resolver sees it.
pub fn spec_from_definition(definition: &SettingDefinition) -> SettingSpec {
    let kind = definition
        .kind
        .and_then(|k| serde_json::to_value(k).ok())
        .and_then(|k| k.as_str().and_then(Kind::parse));
    SettingSpec {
        name: definition.name.clone(),
        aliases: definition.aliases.clone().unwrap_or_default(),
        kind,
        default: definition.value.clone(),
        sensitive: definition.sensitive.unwrap_or(false),
        hidden: definition.hidden.unwrap_or(false) || kind == Some(Kind::Hidden),
        env: definition.env.clone(),
        env_specific: definition.env_specific.unwrap_or(false),
        label: definition.label.clone(),
        description: definition.description.clone(),
        options: definition
            .options
            .iter()
            .flatten()
            .map(|o| SettingOption {
                label: o.label.clone(),
                value: o.value.clone(),
            })
            .collect(),
        custom: false,
    }
}

pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
