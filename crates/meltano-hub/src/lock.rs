//! Lock files: `plugins/<type>/<name>--<variant>.lock` (or `<name>.lock` without a variant), one
//! pinned definition each, so a locked project resolves plugins with no network.

use std::io::Write;
use std::path::{Path, PathBuf};

use meltano_core::PluginType;

use crate::definition::{DefinitionError, PluginDefinition};

/// A lock file that cannot be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The file could not be read.
    #[error("Could not read lock file {}: {source}", path.display())]
    Read {
        /// The lock file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("Lock file {} is not valid JSON: {source}", path.display())]
    Json {
        /// The lock file.
        path: PathBuf,
        /// Where and why parsing stopped.
        source: serde_json::Error,
    },
    /// The JSON is not a plugin definition.
    #[error("Lock file {} is not a plugin definition: {source}", path.display())]
    Definition {
        /// The lock file.
        path: PathBuf,
        /// What is wrong.
        source: DefinitionError,
    },
    /// The file could not be written.
    #[error("Could not write lock file {}: {source}", path.display())]
    Write {
        /// The lock file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

/// The lock file of a plugin variant: `<root>/plugins/<type>/<name>--<variant>.lock`, or
/// `<name>.lock` when `variant` is `None`. For an inherited plugin pass the `inherit_from` name.
pub fn lock_path(
    project_root: &Path,
    plugin_type: PluginType,
    name: &str,
    variant: Option<&str>,
) -> PathBuf {
    let file = match variant {
        Some(v) => format!("{name}--{v}.lock"),
        None => format!("{name}.lock"),
    };
    project_root
        .join("plugins")
        .join(plugin_type.plural())
        .join(file)
}

/// Writes `definition` as a lock file (creating `plugins/<type>/`), through a temporary file
/// renamed over `path` so a reader never sees half a file.
pub fn write_lock(path: &Path, definition: &PluginDefinition) -> Result<(), LockError> {
    let err = |source| LockError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".lock-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(definition.to_lock_json().as_bytes())
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    set_mode_0644(tmp.path()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Reads and parses a lock file; errors name the file and what is wrong with it.
pub fn read_lock(path: &Path) -> Result<PluginDefinition, LockError> {
    let text = std::fs::read_to_string(path).map_err(|source| LockError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| LockError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    PluginDefinition::from_value(value).map_err(|source| LockError::Definition {
        path: path.to_path_buf(),
        source,
    })
}

/// Lock files are ordinary project files (Meltano writes them with `open("w")`), not 0600 temp files.
#[cfg(unix)]
fn set_mode_0644(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_mode_0644(_: &Path) -> std::io::Result<()> {
    Ok(())
}
