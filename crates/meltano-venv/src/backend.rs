//! Choosing the tool that builds venvs: uv (found on `PATH`, or installed once into the system dir) or the
//! standard library's `venv` module plus pip.

use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::InstallError;
use crate::lock::FileLock;
use crate::process::run_step;
use crate::request::venv_bin;

/// How venvs are built; mirrors the `venv.backend` project setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `uv venv` + `uv pip install` with this `uv` binary.
    Uv {
        /// The `uv` executable.
        uv: PathBuf,
    },
    /// `<python> -m venv` + `<venv>/bin/python -m pip install`; `python` is the default interpreter.
    VirtualenvPip {
        /// The interpreter used when a request configures none.
        python: PathBuf,
    },
}

/// Written into `<sys_dir>/uv/venv` once uv is fully installed there, so a crash mid-install is not mistaken
/// for a usable uv.
const UV_COMPLETE_MARKER: &str = ".meltano-uv-complete";

/// Resolves the `venv.backend` setting (`uv` or `virtualenv`). For uv: `uv` on `PATH`, else the one this crate
/// installed under `<sys_dir>/uv/`, else installs it there now ([`ensure_uv`]).
pub fn find_backend(setting: &str, sys_dir: &Path) -> Result<Backend, InstallError> {
    match setting {
        "uv" => {
            let uv = match find_on_path("uv") {
                Some(uv) => uv,
                None => ensure_uv(sys_dir)?,
            };
            Ok(Backend::Uv { uv })
        }
        "virtualenv" => Ok(Backend::VirtualenvPip {
            python: default_python().ok_or(InstallError::NoPython {
                purpose: "to create virtualenvs with",
            })?,
        }),
        other => Err(InstallError::UnknownBackend(other.to_string())),
    }
}

/// Returns the uv installed under `<sys_dir>/uv/` (`bin/uv`, or `venv/bin/uv` from the PyPI `uv` wheel),
/// installing it with `python3 -m venv` + `pip install uv` first if absent. Holds `<sys_dir>/uv/install.lock`
/// throughout, so concurrent meltano processes install it once.
pub fn ensure_uv(sys_dir: &Path) -> Result<PathBuf, InstallError> {
    const WHO: &str = "uv";
    let dir = sys_dir.join("uv");
    let io_err = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io {
            plugin: WHO.to_string(),
            action,
            path,
            source,
        }
    };
    fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    let lock_path = dir.join("install.lock");
    let _lock = FileLock::acquire(&lock_path).map_err(io_err("lock", &lock_path))?;

    let standalone = dir.join("bin").join(exe("uv"));
    if is_executable(&standalone) {
        return Ok(standalone);
    }
    let venv = dir.join("venv");
    let from_wheel = venv_bin(&venv, "uv");
    if is_executable(&from_wheel) && venv.join(UV_COMPLETE_MARKER).is_file() {
        return Ok(from_wheel);
    }

    // Anything here is a leftover of an interrupted install.
    remove_dir_if_exists(&venv).map_err(io_err("remove", &venv))?;
    let python = default_python().ok_or(InstallError::NoPython {
        purpose: "to install uv with",
    })?;
    let mut log = String::new();
    let result = (|| {
        let mut create = Command::new(&python);
        create.arg("-m").arg("venv").arg(&venv);
        run_step(create, WHO, "creating a virtualenv for uv", &mut log)?;
        let mut pip = Command::new(venv_bin(&venv, "python"));
        pip.args(["-m", "pip", "install", "uv"]);
        run_step(pip, WHO, "installing uv from PyPI", &mut log)?;
        if !is_executable(&from_wheel) {
            return Err(InstallError::Io {
                plugin: WHO.to_string(),
                action: "find the uv binary at",
                path: from_wheel.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        let marker = venv.join(UV_COMPLETE_MARKER);
        fs::write(&marker, b"").map_err(io_err("write", &marker))
    })();
    match result {
        Ok(()) => Ok(from_wheel),
        Err(e) => {
            let _ = remove_dir_if_exists(&venv);
            Err(e)
        }
    }
}

/// The first executable file called `name` in a `PATH` directory.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(exe(name)))
        .find(|candidate| is_executable(candidate))
}

/// The interpreter used when nothing is configured: `python3` on `PATH`, else `python`. Meltano uses its own
/// interpreter; we have none, so we take the one a user typing `python3` would get.
pub(crate) fn default_python() -> Option<PathBuf> {
    find_on_path("python3").or_else(|| find_on_path("python"))
}

/// Resolves a `python` value for the virtualenv backend: a path as given, a bare version (`3.12`) as
/// `python3.12` on `PATH`, any other name on `PATH`.
pub(crate) fn resolve_python(spec: &str) -> Option<PathBuf> {
    if looks_like_path(spec) {
        let path = PathBuf::from(spec);
        return path.is_file().then_some(path);
    }
    let is_version = spec.starts_with(|c: char| c.is_ascii_digit())
        && spec.chars().all(|c| c.is_ascii_digit() || c == '.');
    if is_version {
        find_on_path(&format!("python{spec}"))
    } else {
        find_on_path(spec)
    }
}

/// Whether a `python` value names a file rather than a command or version.
pub(crate) fn looks_like_path(spec: &str) -> bool {
    spec.contains('/') || (cfg!(windows) && spec.contains('\\'))
}

pub(crate) fn remove_dir_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn exe(name: &str) -> String {
    if cfg!(windows) && Path::new(name).extension().is_none() {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_backend_is_an_error() {
        let err = find_backend("conda", Path::new("/nonexistent")).unwrap_err();
        assert!(err.to_string().contains("'conda'"), "{err}");
    }

    #[test]
    fn classifies_python_specs() {
        assert!(looks_like_path("/usr/bin/python3"));
        assert!(looks_like_path("./venv/bin/python"));
        assert!(!looks_like_path("python3.12"));
        assert!(!looks_like_path("3.12"));
        assert_eq!(resolve_python("/nonexistent/python3"), None);
        assert_eq!(resolve_python("9.99"), None);
    }

    #[cfg(unix)]
    #[test]
    fn finds_sh_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-binary-anywhere").is_none());
    }
}
