//! An activated project: its root, manifest, `.env` and system directory, read once per command.

use std::io;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use meltano_core::{MELTANO_VERSION, Version, VersionSpecifiers, env_vars};

use crate::dotenv::{self, DotenvError};
use crate::manifest::{self, LoadedManifest, ManifestError};
use crate::{PROJECT_FILE, SysDir};

/// Why a project could not be activated.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Dotenv(#[from] DotenvError),
    #[error("You're using {MELTANO_VERSION}, but this project requires {0}.")]
    Incompatible(String),
    #[error(
        "{PROJECT_FILE}: `requires_meltano: {0}` is not a valid version specifier (e.g. `>=4.0,<5`)"
    )]
    InvalidRequirement(String),
    #[error("could not create the system directory {path}: {source}")]
    SysDir { path: PathBuf, source: io::Error },
}

/// A write was refused because the project is deployed read-only.
#[derive(Debug, thiserror::Error)]
#[error(
    "The requested action could not be completed: This Meltano project is deployed as read-only"
)]
pub struct ReadOnlyError;

/// A project ready for a command: the files are read, the version requirement checked.
#[derive(Debug)]
pub struct Project {
    root: PathBuf,
    sys_dir: SysDir,
    manifest: LoadedManifest,
    dotenv: IndexMap<String, String>,
    dotenv_warnings: Vec<String>,
    dotenv_path: PathBuf,
}

impl Project {
    /// Reads the project at `root`, with `.env` (or `env_file`, relative to the root), checks
    /// `requires_meltano` and creates the system directory.
    pub fn activate(root: &Path, env_file: Option<&Path>) -> Result<Project, ActivationError> {
        let manifest = manifest::load(root)?;
        let env_path = root.join(env_file.unwrap_or(Path::new(".env")));
        let dotenv::DotenvFile {
            vars: dotenv,
            warnings: dotenv_warnings,
        } = dotenv::read_with_warnings(&env_path)?;
        let lookup = |name: &str| {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
        };
        let sys_dir = SysDir::new(root, lookup(env_vars::MELTANO_SYS_DIR_ROOT).as_deref());
        let project = Project {
            root: root.to_path_buf(),
            sys_dir,
            manifest,
            dotenv,
            dotenv_warnings,
            dotenv_path: env_path,
        };
        project.check_requirement()?;
        project
            .sys_dir
            .ensure()
            .map_err(|source| ActivationError::SysDir {
                path: project.sys_dir.root().to_path_buf(),
                source,
            })?;
        Ok(project)
    }

    /// The same project read again from disk, after a command changed its files.
    pub fn reload(&self) -> Result<Project, ActivationError> {
        let env_file = self
            .dotenv_path
            .strip_prefix(&self.root)
            .unwrap_or(&self.dotenv_path)
            .to_path_buf();
        Project::activate(&self.root, Some(&env_file))
    }

    fn check_requirement(&self) -> Result<(), ActivationError> {
        let Some(spec) = self.manifest.manifest.requires_meltano.as_deref() else {
            return Ok(());
        };
        let specifiers = VersionSpecifiers::parse(spec)
            .map_err(|_| ActivationError::InvalidRequirement(spec.to_string()))?;
        let ours = Version::parse(MELTANO_VERSION)
            .map_err(|_| ActivationError::InvalidRequirement(spec.to_string()))?;
        if specifiers.contains(&ours) {
            Ok(())
        } else {
            Err(ActivationError::Incompatible(spec.to_string()))
        }
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The main project file.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(PROJECT_FILE)
    }

    /// Opens a project file for editing, holding the project's edit lock until the editor is
    /// dropped so concurrent commands cannot overwrite each other's changes.
    pub fn edit(&self, path: &Path) -> Result<crate::ProjectFileMut, crate::edit::EditError> {
        crate::ProjectFileMut::open_locked(path, &crate::edit::ProjectFileLock::path(&self.sys_dir))
    }

    /// The system directory.
    pub fn sys_dir(&self) -> &SysDir {
        &self.sys_dir
    }

    /// The merged manifest with the origin of each entry.
    pub fn manifest(&self) -> &LoadedManifest {
        &self.manifest
    }

    /// The variables of `.env` (or `--env-file`).
    pub fn dotenv(&self) -> &IndexMap<String, String> {
        &self.dotenv
    }

    /// A warning per `.env` statement skipped as unparsable, for the CLI to log.
    pub fn dotenv_warnings(&self) -> &[String] {
        &self.dotenv_warnings
    }

    /// Where `.env` (or `--env-file`) lives; writes of the `dotenv` store go here.
    pub fn dotenv_path(&self) -> &Path {
        &self.dotenv_path
    }

    /// A variable from the process environment, else from `.env`.
    pub fn env_var(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }

    /// Whether the project is deployed read-only (`MELTANO_PROJECT_READONLY` or `project_readonly`).
    pub fn readonly(&self) -> bool {
        match self.env_var(env_vars::MELTANO_PROJECT_READONLY) {
            Some(value) => env_vars::truthy(&value),
            None => self.manifest.manifest.project_readonly.unwrap_or(false),
        }
    }

    /// Refuses when the project is read-only; call before any write to project files.
    pub fn ensure_writable(&self) -> Result<(), ReadOnlyError> {
        if self.readonly() {
            Err(ReadOnlyError)
        } else {
            Ok(())
        }
    }
}
