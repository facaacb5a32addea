//! Python tools for tests (moto, Meltano itself) in virtualenvs cached under the target
//! directory, installed from PyPI on first use.
//!
//! The cache lives in `<target dir>/test-venvs/<name>` (found from the test binary's path, or
//! `MELTANO_TEST_VENVS`). An exclusive lock on `<name>.lock` lets parallel tests and test binaries
//! share one installation; a venv counts as installed only once its `.installed` marker is written,
//! so a half-installed one (an interrupted test) is installed again. Venvs are installed in place
//! (console scripts name their interpreter by absolute path, so a venv cannot be moved).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a tool could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum VenvError {
    /// No `python3` with `venv`, or PyPI unreachable: the message says which and how to fix it.
    #[error("{0}")]
    Unavailable(String),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

/// The directory of cached test venvs.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MELTANO_TEST_VENVS") {
        return PathBuf::from(dir);
    }
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent())
        .and_then(|profile| profile.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    target.join("test-venvs")
}

/// The Python of a venv named `name` holding `requirements`, installed if missing.
pub fn python_with(name: &str, requirements: &[&str]) -> Result<PathBuf, VenvError> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|source| VenvError::Io {
        context: format!("create {}", dir.display()),
        source,
    })?;
    let venv = dir.join(name);
    let python = venv.join("bin/python");
    let lock = std::fs::File::create(dir.join(format!("{name}.lock"))).map_err(|source| {
        VenvError::Io {
            context: "create the venv lock".to_string(),
            source,
        }
    })?;
    lock.lock().map_err(|source| VenvError::Io {
        context: "lock the venv cache".to_string(),
        source,
    })?;
    let marker = venv.join(".installed");
    if marker.exists() {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let system = find_python().ok_or_else(|| {
        VenvError::Unavailable(
            "python3 not found: install it (apt-get install python3 python3-venv)".to_string(),
        )
    })?;
    run(
        Command::new(&system).args(["-m", "venv"]).arg(&venv),
        "create a venv",
    )?;
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(requirements);
    run(&mut pip, &format!("pip install {}", requirements.join(" ")))?;
    std::fs::write(&marker, requirements.join("\n")).map_err(|source| VenvError::Io {
        context: format!("mark {} installed", venv.display()),
        source,
    })?;
    Ok(python)
}

/// The directory of an npm package `spec` installed into `<cache>/<name>` (its `node_modules/.bin`
/// holds the commands), installed if missing.
pub fn npm_package(name: &str, spec: &str) -> Result<PathBuf, VenvError> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|source| VenvError::Io {
        context: format!("create {}", dir.display()),
        source,
    })?;
    let prefix = dir.join(name);
    let lock = std::fs::File::create(dir.join(format!("{name}.lock"))).map_err(|source| {
        VenvError::Io {
            context: "create the npm lock".to_string(),
            source,
        }
    })?;
    lock.lock().map_err(|source| VenvError::Io {
        context: "lock the npm cache".to_string(),
        source,
    })?;
    let marker = prefix.join(".installed");
    if marker.exists() {
        return Ok(prefix);
    }
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(&prefix).map_err(|source| VenvError::Io {
        context: format!("create {}", prefix.display()),
        source,
    })?;
    let mut npm = Command::new("npm");
    npm.args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(spec);
    run(
        &mut npm,
        &format!("npm install {spec} (needs node and npm)"),
    )?;
    std::fs::write(&marker, spec).map_err(|source| VenvError::Io {
        context: format!("mark {} installed", prefix.display()),
        source,
    })?;
    Ok(prefix)
}

fn find_python() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|p| p.is_file())
}

fn run(command: &mut Command, what: &str) -> Result<(), VenvError> {
    let output = command.output().map_err(|source| VenvError::Io {
        context: what.to_string(),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(VenvError::Unavailable(format!(
        "could not {what} ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}
