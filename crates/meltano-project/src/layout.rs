//! The `.meltano/` system directory and where each kind of file lives in it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use meltano_core::PluginType;

/// Content of `.meltano/CACHEDIR.TAG`, so backup tools skip the directory.
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by Meltano.\n\
# For information about cache directory tags, see:\n\
#   https://bford.info/cachedir/";

/// The system directory (`.meltano` or `MELTANO_SYS_DIR_ROOT`).
#[derive(Debug, Clone)]
pub struct SysDir {
    root: PathBuf,
}

impl SysDir {
    /// The system directory of the project at `project_root`, or the override when set.
    pub fn new(project_root: &Path, override_dir: Option<&str>) -> SysDir {
        let root = match override_dir.filter(|d| !d.is_empty()) {
            Some(dir) => project_root.join(dir),
            None => project_root.join(".meltano"),
        };
        SysDir { root }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory with its `.gitignore` and `CACHEDIR.TAG` when they are missing.
    pub fn ensure(&self) -> io::Result<()> {
        fs::create_dir_all(self.run_dir())?;
        write_if_absent(&self.root.join(".gitignore"), "*\n")?;
        write_if_absent(&self.root.join("CACHEDIR.TAG"), CACHEDIR_TAG)
    }

    /// `.meltano/run`, where per-invocation files go.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The default SQLite system database.
    pub fn default_database(&self) -> PathBuf {
        self.root.join("meltano.db")
    }

    /// Where a plugin is installed: `.meltano/<type>/<dir name>`.
    pub fn plugin_dir(&self, plugin_type: PluginType, dir_name: &str) -> PathBuf {
        self.root.join(plugin_type.plural()).join(dir_name)
    }

    /// `.meltano/analytics.json`, which keeps the project and client ids.
    pub fn analytics_file(&self) -> PathBuf {
        self.root.join("analytics.json")
    }
}

/// The folder holding a plugin type's lock files: `<project>/plugins/<type>`.
pub fn lock_dir(project_root: &Path, plugin_type: PluginType) -> PathBuf {
    project_root.join("plugins").join(plugin_type.plural())
}

fn write_if_absent(path: &Path, contents: &str) -> io::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => io::Write::write_all(&mut f, contents.as_bytes()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
