//! Choosing the tool that builds venvs: uv (from `UV`, `PATH`, or the per-user copy of [`crate::ensure_uv`])
//! or the standard library's `venv` module plus pip.

use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::error::InstallError;
use crate::shared_uv::{ensure_uv, user_cache_dir};

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

/// Resolves the `venv.backend` setting (`uv` or `virtualenv`), with the shared uv cached under
/// [`user_cache_dir`]. See [`find_backend_cached_in`] for the order uv is looked up in.
pub fn find_backend(setting: &str) -> Result<Backend, InstallError> {
    find_backend_cached_in(setting, user_cache_dir().as_deref())
}

/// Like [`find_backend`] with the shared uv cached under `cache_dir` (tests use a temp dir). uv is, in order:
/// the file the `UV` variable names (uv's own variable, which `uv run` sets for its children, so a meltano
/// started by uv uses that uv; Meltano has no setting for this); the first `uv` on `PATH`; the per-user copy
/// of the pinned release under `<cache_dir>/uv/`, installed now if missing ([`ensure_uv`]). A project's
/// `.meltano/uv` from earlier meltano-rs versions is ignored: its version was never pinned nor its wheel
/// verified, and reusing it would let a project's history decide which uv builds its venvs.
pub fn find_backend_cached_in(
    setting: &str,
    cache_dir: Option<&Path>,
) -> Result<Backend, InstallError> {
    match setting {
        "uv" => Ok(Backend::Uv {
            uv: find_uv(cache_dir)?,
        }),
        "virtualenv" => Ok(Backend::VirtualenvPip {
            python: default_python().ok_or(InstallError::NoPython {
                purpose: "to create virtualenvs with",
            })?,
        }),
        other => Err(InstallError::UnknownBackend(other.to_string())),
    }
}

fn find_uv(cache_dir: Option<&Path>) -> Result<PathBuf, InstallError> {
    if let Some(value) = env::var_os("UV").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(InstallError::UvUnusable {
                path,
                reason: "the UV environment variable names it, but it is not an executable file"
                    .to_string(),
            })
        };
    }
    if let Some(uv) = find_on_path("uv") {
        return Ok(uv);
    }
    let cache_dir = cache_dir.ok_or(InstallError::NoCacheDir)?;
    Ok(ensure_uv(cache_dir)?.uv)
}

/// The first executable file called `name` in a `PATH` directory.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(exe(name)))
        .find(|candidate| is_executable(candidate))
}

/// The interpreter used when nothing is configured: `python3` on `PATH`, else `python`, resolved once per
/// process to the binary it runs ([`resolve_executable`]). Meltano uses its own interpreter; we have none, so
/// we take the one a user typing `python3` would get.
pub(crate) fn default_python() -> Option<PathBuf> {
    static DEFAULT: OnceLock<Option<PathBuf>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let found = find_on_path("python3").or_else(|| find_on_path("python"))?;
            Some(resolve_executable(&found).unwrap_or(found))
        })
        .clone()
}

/// The interpreter binary `python` runs (its `sys.executable`), or `None` if it cannot tell. Why: pyenv and
/// asdf put shims on `PATH`, shell scripts that take about half a second to start, and uv starts the
/// interpreter it is given on every `uv venv` (its interpreter cache does not help with shims); resolved,
/// that cost is paid once per meltano process instead of once per venv. Runs in our working directory and
/// environment, as the venv commands do, so a shim picks the same version.
fn resolve_executable(python: &Path) -> Option<PathBuf> {
    let output = Command::new(python)
        .args([
            "-I",
            "-S",
            "-c",
            "import sys; sys.stdout.write(sys.executable)",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?);
    (output.status.success() && path.is_absolute() && path.is_file()).then_some(path)
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
        let err = find_backend_cached_in("conda", None).unwrap_err();
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

    #[test]
    fn default_python_is_the_binary_behind_python3() {
        let python = default_python().expect("python3 on PATH");
        assert!(
            python.is_absolute() && python.is_file(),
            "{}",
            python.display()
        );
        // It is its own sys.executable: no shim left in between.
        assert_eq!(resolve_executable(&python), Some(python));
    }

    #[cfg(unix)]
    #[test]
    fn finds_sh_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-binary-anywhere").is_none());
    }
}
