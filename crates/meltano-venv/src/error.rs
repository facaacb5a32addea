//! Everything that can go wrong while installing, each naming the plugin, the failed step and the output.

use std::io;
use std::path::PathBuf;

/// An installation failure; `Display` names the plugin, what failed (command and exit status) and ends with
/// the last lines of captured pip/uv output, ready for an error panel.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The `venv.backend` setting is neither `uv` nor `virtualenv`.
    #[error("Unknown venv backend '{0}': expected 'uv' or 'virtualenv'")]
    UnknownBackend(String),

    /// No `python3`/`python` on `PATH` to create venvs with (virtualenv backend) or to install uv with.
    #[error("No Python interpreter found on PATH (looked for python3 and python) {purpose}")]
    NoPython {
        /// What the interpreter was needed for.
        purpose: &'static str,
    },

    /// A uv binary (named by `UV`, or just installed into the user cache) cannot be used.
    #[error("Cannot use uv at {}: {reason}", path.display())]
    UvUnusable {
        /// The binary.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// uv is not on `PATH` and there is no user cache directory to install the shared copy into.
    #[error(
        "Cannot install uv: it is not on PATH and there is no user cache directory to install it into (set \
         XDG_CACHE_HOME or HOME), or set UV to the path of a uv binary"
    )]
    NoCacheDir,

    /// The plugin's configured interpreter does not exist.
    #[error(
        "Cannot install {plugin}: Python interpreter '{python}' not found. Check the `python` setting of the plugin or project, or `.python-version`"
    )]
    PythonNotFound {
        /// `extractor 'tap-x'`.
        plugin: String,
        /// The configured value.
        python: String,
    },

    /// The `pip_url` is empty or not valid shell-like syntax.
    #[error(
        "Cannot install {plugin}: pip_url {pip_url:?} cannot be split into arguments: {reason}"
    )]
    InvalidPipUrl {
        /// `extractor 'tap-x'`.
        plugin: String,
        /// The expanded `pip_url`.
        pip_url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A pip, uv or python command exited unsuccessfully.
    #[error(
        "Failed to install {plugin}: {step} failed: `{command}` exited with {status}\n{output}"
    )]
    CommandFailed {
        /// `extractor 'tap-x'` (or `uv` while installing uv itself).
        plugin: String,
        /// What the command was for (`creating the virtualenv`, `installing packages`, ...).
        step: &'static str,
        /// The command line, shell-quoted.
        command: String,
        /// How it exited (`exit status: 1`, `signal: 9 (SIGKILL)`).
        status: String,
        /// The last lines of its combined stdout and stderr.
        output: String,
    },

    /// A command could not be started at all (missing binary, permissions).
    #[error("Failed to install {plugin}: could not run `{command}`: {source}")]
    Spawn {
        /// `extractor 'tap-x'` (or `uv`).
        plugin: String,
        /// The command line, shell-quoted.
        command: String,
        /// The OS error.
        source: io::Error,
    },

    /// A filesystem operation on the venv or its lock failed.
    #[error("Failed to install {plugin}: could not {action} {}: {source}", path.display())]
    Io {
        /// `extractor 'tap-x'` (or `uv`).
        plugin: String,
        /// What was attempted (`create`, `rename`, `lock`, ...).
        action: &'static str,
        /// The path it was attempted on.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },

    /// A plugin sharing its venv with another one whose installation failed.
    #[error(
        "Cannot install {plugin}: it shares its virtualenv with {installed_by}, whose installation failed"
    )]
    SharedVenvFailed {
        /// `extractor 'tap-child'`.
        plugin: String,
        /// `extractor 'tap-parent'`.
        installed_by: String,
    },
}

impl InstallError {
    /// The captured pip/uv output, when the failure came from a command; for a separate output panel.
    pub fn output(&self) -> Option<&str> {
        match self {
            InstallError::CommandFailed { output, .. } => Some(output),
            _ => None,
        }
    }
}
