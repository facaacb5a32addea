//! Installing one plugin into its venv without ever leaving a broken venv behind.
//!
//! Venvs have their absolute path baked into `bin/` script shebangs and `pyvenv.cfg`, so a venv cannot be built
//! elsewhere and renamed into place. Instead a fresh build moves the old venv aside to a sibling
//! `venv.old-<pid>` (a rename in the same directory), builds the new one at the final path, and only after
//! pip/uv succeeded and the fingerprint was written deletes the backup. On failure the partial venv is removed
//! and the backup renamed back. The fingerprint is written last, so "has a fingerprint" means "finished":
//! if the process dies mid-build, the next install (under the same `venv.lock`) finds the backup and restores
//! it when the venv at the final path is unfinished.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::backend::{
    Backend, default_python, looks_like_path, remove_dir_if_exists, resolve_python,
};
use crate::error::InstallError;
use crate::lock::FileLock;
use crate::process::{run_step, tail};
use crate::request::{
    FINGERPRINT_FILE, InstallRequest, fingerprint_of, needs_install, venv_bin, venv_is_complete,
};

/// What an install did, for the summary line and the debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallKind {
    /// A new venv was built (first install, `clean`, or a changed fingerprint); any previous venv was replaced
    /// only after the build succeeded.
    Fresh,
    /// The venv was healthy and its fingerprint matched, so pip/uv installed into it in place (as Meltano does
    /// on an explicit `meltano install`).
    InPlace,
    /// Nothing ran: another request with the same `venv_dir` installed it (see [`crate::install_all`]).
    Shared {
        /// The name of the plugin whose install covered this one.
        installed_by: String,
    },
}

/// The outcome of a successful install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// The venv that now holds the plugin.
    pub venv_dir: PathBuf,
    /// Fresh build, in-place install, or shared with another plugin.
    pub kind: InstallKind,
    /// Every command run (`$ command` lines) with its combined output, for the debug log.
    pub output: String,
    /// Non-fatal problems (pip could not upgrade itself, a backup could not be deleted).
    pub warnings: Vec<String>,
    /// Wall-clock time including waiting for the venv lock.
    pub duration: Duration,
}

/// Installs `req.pip_url` into `req.venv_dir`: a fresh venv when `req.clean`, when the venv is unfinished or its
/// fingerprint differs; otherwise pip/uv into the existing venv. Writes the fingerprint after success. Holds
/// `<venv_dir>.lock` throughout, so concurrent meltano processes serialize on the same venv.
pub fn install(req: &InstallRequest, backend: &Backend) -> Result<InstallReport, InstallError> {
    let started = Instant::now();
    let plugin = req.describe();
    let io_err = |action: &'static str, path: &Path| {
        let plugin = plugin.clone();
        let path = path.to_path_buf();
        move |source| InstallError::Io {
            plugin,
            action,
            path,
            source,
        }
    };

    let pip_args = req.pip_args()?;
    let python = interpreter(req, backend)?;
    let venv = req.venv_dir.as_path();
    let (parent, file_name) = match (venv.parent(), venv.file_name()) {
        (Some(parent), Some(name)) => (parent, name.to_string_lossy().into_owned()),
        _ => {
            return Err(io_err("use", venv)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory path with a parent",
            )));
        }
    };
    fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    let lock_path = parent.join(format!("{file_name}.lock"));
    let _lock = FileLock::acquire(&lock_path).map_err(io_err("lock", &lock_path))?;
    recover_interrupted(venv, parent, &file_name).map_err(io_err("recover", venv))?;

    let mut install = Install {
        req,
        backend,
        plugin: &plugin,
        pip_args: &pip_args,
        log: String::new(),
        warnings: Vec::new(),
    };
    let kind = if !req.clean && !needs_install(req) {
        install.packages()?;
        InstallKind::InPlace
    } else {
        let backup = parent.join(format!("{file_name}.old-{}", std::process::id()));
        let had_old = venv.symlink_metadata().is_ok();
        if had_old {
            fs::rename(venv, &backup).map_err(io_err("move aside", venv))?;
        }
        let built = install
            .create_venv(python.as_deref())
            .and_then(|()| install.packages())
            .and_then(|()| {
                let fingerprint = fingerprint_of(&pip_args, req.python.as_deref());
                write_fingerprint(venv, &fingerprint)
                    .map_err(io_err("write the fingerprint in", venv))
            });
        if let Err(e) = built {
            // Best effort: whatever remains is repaired by `recover_interrupted` on the next install.
            let _ = remove_dir_if_exists(venv);
            if had_old {
                let _ = fs::rename(&backup, venv);
            }
            return Err(e);
        }
        if had_old && let Err(e) = remove_dir_if_exists(&backup) {
            install.warnings.push(format!(
                "Could not delete the previous virtualenv {}: {e}",
                backup.display()
            ));
        }
        InstallKind::Fresh
    };
    Ok(InstallReport {
        venv_dir: req.venv_dir.clone(),
        kind,
        output: install.log,
        warnings: install.warnings,
        duration: started.elapsed(),
    })
}

/// One install in progress: the request, its split arguments, and the log of commands run so far.
struct Install<'a> {
    req: &'a InstallRequest,
    backend: &'a Backend,
    plugin: &'a str,
    pip_args: &'a [String],
    log: String,
    warnings: Vec<String>,
}

impl Install<'_> {
    /// A command with the request's extra environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.req.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Creates an empty venv at the (now vacant) final path.
    fn create_venv(&mut self, python: Option<&std::ffi::OsStr>) -> Result<(), InstallError> {
        let venv = &self.req.venv_dir;
        match self.backend {
            Backend::Uv { uv } => {
                // No `--clear`: the path is vacant, and older uv releases lack the flag.
                let mut cmd = self.command(uv);
                cmd.arg("venv");
                if let Some(python) = python {
                    cmd.arg("--python").arg(python);
                }
                cmd.arg(venv);
                run_step(cmd, self.plugin, "creating the virtualenv", &mut self.log)
            }
            Backend::VirtualenvPip { python: default } => {
                let python = python.unwrap_or(default.as_os_str());
                let mut cmd = self.command(python);
                cmd.arg("-m").arg("venv").arg(venv);
                run_step(cmd, self.plugin, "creating the virtualenv", &mut self.log)?;
                self.upgrade_pip();
                Ok(())
            }
        }
    }

    /// Upgrades the venv's bundled pip as Meltano does; a failure (typically offline) is only a warning,
    /// since the bundled pip installs fine. Skipped when the install is explicitly index-free.
    fn upgrade_pip(&mut self) {
        let no_index = self.pip_args.iter().any(|a| a == "--no-index")
            || self
                .req
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "PIP_NO_INDEX")
                .map(|(_, v)| OsString::from(v))
                .or_else(|| env::var_os("PIP_NO_INDEX"))
                .is_some_and(|v| {
                    matches!(
                        v.to_string_lossy().to_ascii_lowercase().as_str(),
                        "1" | "true" | "yes" | "on"
                    )
                });
        if no_index {
            return;
        }
        let mut cmd = self.command(venv_bin(&self.req.venv_dir, "python"));
        cmd.args(["-m", "pip", "install", "--upgrade", "pip"]);
        if let Err(e) = run_step(cmd, self.plugin, "upgrading pip", &mut self.log) {
            let detail = match &e {
                InstallError::CommandFailed { output, .. } => tail(output, 3),
                other => other.to_string(),
            };
            self.warnings.push(format!(
                "Could not upgrade pip in {}; continuing with the bundled pip. {detail}",
                self.req.venv_dir.display()
            ));
        }
    }

    /// Runs `pip install <pip_args>` against the venv.
    fn packages(&mut self) -> Result<(), InstallError> {
        let venv_python = venv_bin(&self.req.venv_dir, "python");
        let cmd = match self.backend {
            Backend::Uv { uv } => {
                let mut cmd = self.command(uv);
                cmd.args(["pip", "install", "--python"]).arg(&venv_python);
                cmd.args(self.pip_args);
                cmd
            }
            Backend::VirtualenvPip { .. } => {
                let mut cmd = self.command(&venv_python);
                cmd.args(["-m", "pip", "install"]);
                if self.req.ignore_requires_python {
                    cmd.arg("--ignore-requires-python");
                }
                cmd.args(self.pip_args);
                cmd
            }
        };
        run_step(cmd, self.plugin, "installing packages", &mut self.log)
    }
}

/// The interpreter to create the venv with, checked before anything is moved: a configured path must exist;
/// for the virtualenv backend a name or version must be on `PATH` (uv resolves names and versions itself).
fn interpreter(req: &InstallRequest, backend: &Backend) -> Result<Option<OsString>, InstallError> {
    let configured = req.python.as_deref().filter(|p| !p.trim().is_empty());
    let not_found = |python: &str| InstallError::PythonNotFound {
        plugin: req.describe(),
        python: python.to_string(),
    };
    match (backend, configured) {
        (_, Some(p)) if looks_like_path(p) && !Path::new(p).is_file() => Err(not_found(p)),
        (Backend::Uv { .. }, Some(p)) => Ok(Some(p.into())),
        // Without a python3 on PATH, uv picks (or downloads) one itself.
        (Backend::Uv { .. }, None) => Ok(default_python().map(PathBuf::into_os_string)),
        (Backend::VirtualenvPip { .. }, Some(p)) => resolve_python(p)
            .map(|p| Some(p.into_os_string()))
            .ok_or_else(|| not_found(p)),
        (Backend::VirtualenvPip { python }, None) => Ok(Some(python.clone().into_os_string())),
    }
}

/// Repairs what a killed install left behind (we hold the venv lock, so any `venv.old-*` sibling is stale):
/// restores a finished backup when the venv at the final path is unfinished, and deletes the other backups.
fn recover_interrupted(venv: &Path, parent: &Path, file_name: &str) -> io::Result<()> {
    let prefix = format!("{file_name}.old-");
    let mut backups: Vec<PathBuf> = fs::read_dir(parent)?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path())
        .collect();
    backups.sort();
    let mut venv_ok = venv_is_complete(venv);
    for backup in backups {
        if !venv_ok && venv_is_complete(&backup) {
            remove_dir_if_exists(venv)?;
            fs::rename(&backup, venv)?;
            venv_ok = true;
        } else {
            remove_dir_if_exists(&backup)?;
        }
    }
    Ok(())
}

/// Writes the fingerprint atomically (temp file + rename), so a crash never leaves a half-written one.
fn write_fingerprint(venv: &Path, fingerprint: &str) -> io::Result<()> {
    let tmp = venv.join(format!("{FINGERPRINT_FILE}.tmp"));
    fs::write(&tmp, fingerprint)?;
    fs::rename(&tmp, venv.join(FINGERPRINT_FILE))
}
