//! Turning project plugins into install requests, and running them with a progress log; shared
//! by `meltano install` and the automatic install before `invoke`, `test` and `config test`.

use meltano_core::PluginType;
use meltano_core::settings::expand::expand_str;
use meltano_project::manifest::PluginEntry;
use meltano_venv::{
    Backend, InstallEvent, InstallRequest, find_backend, install_all, needs_install,
};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::settings::{SettingsStores, Subject, capitalize, plugin_dir_name};

/// A plugin to install, with the names messages use.
pub struct Planned {
    pub plugin_type: PluginType,
    pub name: String,
    pub request: InstallRequest,
}

/// The install request of a plugin, or None when it has nothing to install (no `pip_url` in it
/// or its ancestors).
pub async fn plan(
    stores: &SettingsStores<'_>,
    plugin_type: PluginType,
    entry: &PluginEntry,
    clean: bool,
    force: bool,
) -> CliResult<Option<Planned>> {
    let project = stores.project;
    let ancestors = ancestry(stores, plugin_type, entry);
    let base =
        || crate::definitions::base_definition(project, plugin_type, entry).and_then(|d| d.pip_url);
    let Some(raw_pip_url) = ancestors
        .iter()
        .find_map(|p| p.pip_url.clone())
        .or_else(base)
    else {
        return Ok(None);
    };
    let project_python = stores
        .resolve(Subject::Project)
        .await?
        .into_iter()
        .find(|r| r.spec.name == "python")
        .and_then(|r| r.value)
        .and_then(|v| v.as_str().map(str::to_string));
    let python = ancestors
        .iter()
        .find_map(|p| p.python.clone())
        .or(project_python)
        .or_else(|| python_version_file(project.root()));
    // As in Meltano, `pip_url` sees neither the active environment nor settings, so the same
    // plugin installs the same way whatever the environment (and is not reinstalled under one).
    let mut env = stores.install_env(plugin_type, entry);
    if raw_pip_url.contains("MELTANO__PYTHON_VERSION") {
        let interpreter = python.as_deref().unwrap_or("python3");
        if let Some(version) = python_version(interpreter) {
            env.insert(0, ("MELTANO__PYTHON_VERSION".to_string(), version));
        }
    }
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let pip_url = expand_str(&raw_pip_url, &lookup, false)
        .map_err(CliError::meltano)?
        .unwrap_or_default();
    let venv_dir = project
        .sys_dir()
        .plugin_dir(plugin_type, &plugin_dir_name(project, plugin_type, entry))
        .join("venv");
    let request = InstallRequest {
        plugin_type,
        name: entry.name.clone(),
        venv_dir,
        pip_url,
        python,
        clean,
        ignore_requires_python: force,
        env: project
            .dotenv()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    Ok(Some(Planned {
        plugin_type,
        name: entry.name.clone(),
        request,
    }))
}

/// The plugin, then the project plugins it inherits from.
fn ancestry<'a>(
    stores: &SettingsStores<'a>,
    plugin_type: PluginType,
    entry: &'a PluginEntry,
) -> Vec<&'a PluginEntry> {
    let mut chain = vec![entry];
    while let Some(parent) = chain
        .last()
        .and_then(|p| p.inherit_from.as_deref())
        .and_then(|name| {
            stores
                .project
                .manifest()
                .manifest
                .find_plugin(name, Some(plugin_type))
        })
        .map(|(_, p)| p)
    {
        if chain.iter().any(|p| p.name == parent.name) {
            break;
        }
        chain.push(parent);
    }
    chain
}

/// The first line of `.python-version`, the project's default interpreter for plugins.
fn python_version_file(root: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join(".python-version")).ok()?;
    text.lines()
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

/// The backend the `venv.backend` setting names.
pub async fn backend(stores: &SettingsStores<'_>) -> CliResult<Backend> {
    let setting = stores
        .resolve(Subject::Project)
        .await?
        .into_iter()
        .find(|r| r.spec.name == "venv.backend")
        .and_then(|r| r.value)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "uv".to_string());
    find_backend(&setting).map_err(CliError::meltano)
}

/// Installs `planned` (at most `parallelism` at once), logging progress; returns how many failed.
pub fn install(
    ctx: &Context,
    planned: Vec<Planned>,
    backend: &Backend,
    parallelism: usize,
) -> usize {
    let labels: Vec<(String, String)> = planned
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                format!("{} '{}'", p.plugin_type.descriptor(), p.name),
            )
        })
        .collect();
    let label_of = |name: &str| {
        labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| format!("'{name}'"))
    };
    let printer = &ctx.printer;
    let results = install_all(
        planned.into_iter().map(|p| p.request).collect(),
        backend,
        parallelism,
        |event| match event {
            InstallEvent::Started { name, .. } => {
                printer.info(&format!("Installing {}", label_of(&name)))
            }
            InstallEvent::Skipped { name, .. } => printer.debug(&format!(
                "Skipped installing {}. Requirements have not changed.",
                label_of(&name)
            )),
            InstallEvent::Finished { name, ok: true, .. } => {
                printer.info(&format!("Installed {}", label_of(&name)))
            }
            InstallEvent::Finished { .. } => {}
        },
    );
    let mut failed = 0;
    for (request, result) in results {
        if let Err(error) = result {
            failed += 1;
            ctx.printer.error(&format!(
                "Installation failed. {} could not be installed: {error}",
                capitalize(&label_of(&request.name))
            ));
        }
    }
    failed
}

/// What a running command does about installation (`--install`, `--no-install`, `--only-install`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoInstall {
    /// Install when missing or changed (the default).
    IfNeeded,
    /// Never install.
    Never,
    /// Install when needed, then stop without running anything.
    Only,
}

impl AutoInstall {
    /// The choice the flags make.
    pub fn from_args(args: &meltano_cli::InstallArgs) -> AutoInstall {
        if args.only_install {
            AutoInstall::Only
        } else if args.no_install {
            AutoInstall::Never
        } else {
            AutoInstall::IfNeeded
        }
    }
}

/// Before plugins run: installs those whose virtualenv is missing or out of date (reason AUTO).
pub async fn ensure_installed(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    plugins: &[(PluginType, &PluginEntry)],
    mode: AutoInstall,
) -> CliResult<()> {
    if mode == AutoInstall::Never {
        return Ok(());
    }
    let mut missing = Vec::new();
    for (plugin_type, entry) in plugins {
        if let Some(plan) = plan(stores, *plugin_type, entry, false, false).await?
            && needs_install(&plan.request)
        {
            missing.push(plan);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let backend = backend(stores).await?;
    if install(ctx, missing, &backend, 0) > 0 {
        return Err(CliError::Meltano("Failed to install plugin(s)".to_string()));
    }
    Ok(())
}

/// `<major>.<minor>` of the Python interpreter `python` (a name on PATH or a path).
fn python_version(python: &str) -> Option<String> {
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
