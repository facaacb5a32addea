//! What to install where, and the fingerprint that says whether a venv already holds it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use meltano_core::PluginType;
use sha2::{Digest, Sha256};

use crate::error::InstallError;
use crate::split::split_pip_url;

/// The file inside a venv holding the fingerprint of what was installed; same name and content as Meltano's.
pub const FINGERPRINT_FILE: &str = ".meltano_plugin_fingerprint";

/// One plugin to install into one virtualenv; the caller resolves everything (paths, `$VAR`s, interpreter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRequest {
    /// The plugin's type, used in messages (`extractor 'tap-x'`).
    pub plugin_type: PluginType,
    /// The plugin's name, used in messages and progress events.
    pub name: String,
    /// `.meltano/<type>/<plugin_dir_name>/venv`; requests with the same directory are installed once.
    pub venv_dir: PathBuf,
    /// The `pip_url`, already `$VAR`-expanded; split here like Python's `shlex.split`.
    pub pip_url: String,
    /// The interpreter (path, command name or version such as `3.12`); `None` = the default interpreter.
    pub python: Option<String>,
    /// `--clean`: always build a fresh venv instead of installing into a healthy one.
    pub clean: bool,
    /// `--force`: pass `--ignore-requires-python` to pip (uv has no equivalent, as in Meltano).
    pub ignore_requires_python: bool,
    /// Variables added to the inherited environment of every pip/uv process (`.env` values etc.).
    pub env: Vec<(String, String)>,
}

impl InstallRequest {
    /// How messages name the plugin: `extractor 'tap-x'`.
    pub fn describe(&self) -> String {
        format!("{} '{}'", self.plugin_type.descriptor(), self.name)
    }

    /// The `pip install` arguments of `pip_url`; an unbalanced quote or an empty `pip_url` is an error.
    pub fn pip_args(&self) -> Result<Vec<String>, InstallError> {
        match split_pip_url(&self.pip_url) {
            Ok(args) if !args.is_empty() => Ok(args),
            Ok(_) => Err(InstallError::InvalidPipUrl {
                plugin: self.describe(),
                pip_url: self.pip_url.clone(),
                reason: "it is empty".to_string(),
            }),
            Err(e) => Err(InstallError::InvalidPipUrl {
                plugin: self.describe(),
                pip_url: self.pip_url.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// The fingerprint written after a successful install: sha256 hex of the sorted, deduplicated pip arguments
/// joined by spaces, plus `python:<python>` when an interpreter is configured (Meltano's formula).
pub fn fingerprint(req: &InstallRequest) -> String {
    // An unsplittable pip_url cannot be installed; fall back to whitespace so the function stays total.
    let args = split_pip_url(&req.pip_url)
        .unwrap_or_else(|_| req.pip_url.split_whitespace().map(str::to_string).collect());
    fingerprint_of(&args, req.python.as_deref())
}

pub(crate) fn fingerprint_of(args: &[String], python: Option<&str>) -> String {
    let mut components: Vec<String> = args
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(python) = python.filter(|p| !p.is_empty()) {
        components.push(format!("python:{python}"));
    }
    let digest = Sha256::digest(components.join(" ").as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Whether auto-install must (re)install: the venv has no `bin/python`, or its fingerprint file is missing or
/// differs. The interpreter is part of both the written and the checked fingerprint (unlike Meltano's quirk 19).
pub fn needs_install(req: &InstallRequest) -> bool {
    !venv_is_complete(&req.venv_dir)
        || read_fingerprint(&req.venv_dir).as_deref() != Some(fingerprint(req).as_str())
}

/// Where a venv keeps `executable` (`bin/` on Unix, `Scripts\*.exe` on Windows); plugins run from here.
pub fn venv_bin(venv_dir: &Path, executable: &str) -> PathBuf {
    if cfg!(windows) {
        let mut path = venv_dir.join("Scripts").join(executable);
        if path.extension().is_none() {
            path.set_extension("exe");
        }
        path
    } else {
        venv_dir.join("bin").join(executable)
    }
}

/// A venv counts as complete once it has an interpreter and a fingerprint: the fingerprint is written last.
pub(crate) fn venv_is_complete(venv_dir: &Path) -> bool {
    venv_bin(venv_dir, "python").is_file() && venv_dir.join(FINGERPRINT_FILE).is_file()
}

fn read_fingerprint(venv_dir: &Path) -> Option<String> {
    fs::read_to_string(venv_dir.join(FINGERPRINT_FILE))
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pip_url: &str, python: Option<&str>) -> InstallRequest {
        InstallRequest {
            plugin_type: PluginType::Extractors,
            name: "tap-x".into(),
            venv_dir: PathBuf::from("/nonexistent/venv"),
            pip_url: pip_url.into(),
            python: python.map(str::to_string),
            clean: false,
            ignore_requires_python: false,
            env: Vec::new(),
        }
    }

    #[test]
    fn matches_meltano_for_a_single_argument() {
        // Written by Meltano 4.4.1 for `pip_url: /tmp/vref/pkg` (sha256 of the string itself).
        assert_eq!(
            fingerprint(&req("/tmp/vref/pkg", None)),
            "ee6b3fe7b86085110c3c930e570e474d5ae86e08d99abbb430f1bb99f1793bf9"
        );
    }

    #[test]
    fn sorts_and_deduplicates_arguments() {
        assert_eq!(
            fingerprint(&req("b a b", None)),
            fingerprint_of(&["a".into(), "b".into()], None)
        );
        assert_eq!(
            fingerprint_of(&["a".into(), "b".into()], None),
            format!("{:x}", Sha256::digest(b"a b"))
        );
    }

    #[test]
    fn includes_the_configured_python() {
        assert_eq!(
            fingerprint(&req("a", Some("3.12"))),
            format!("{:x}", Sha256::digest(b"a python:3.12"))
        );
        assert_ne!(
            fingerprint(&req("a", Some("3.12"))),
            fingerprint(&req("a", None))
        );
    }

    #[test]
    fn missing_venv_needs_install() {
        assert!(needs_install(&req("a", None)));
    }

    #[test]
    fn venv_bin_is_under_bin() {
        if cfg!(unix) {
            assert_eq!(
                venv_bin(Path::new("/p/venv"), "tap-x"),
                PathBuf::from("/p/venv/bin/tap-x")
            );
        }
    }

    #[test]
    fn empty_or_unbalanced_pip_url_is_an_error() {
        let err = req("  ", None).pip_args().unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let err = req("'pkg", None).pip_args().unwrap_err().to_string();
        assert!(err.contains("No closing quotation"), "{err}");
    }
}
