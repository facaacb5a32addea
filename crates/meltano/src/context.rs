//! What every command shares: the printer, the global options, and project activation.

use std::path::PathBuf;

use clap::ValueEnum;
use meltano_cli::LogLevel;
use meltano_core::env_vars;
use meltano_db::{DbConfig, SystemDb};
use meltano_project::project::ActivationError;
use meltano_project::{Project, find_project_root};

use crate::error::{CliError, CliResult};
use crate::printer::Printer;
use crate::usage::usage_error;

/// The global options that shape how a command finds and reads its project.
#[derive(Debug, Default, Clone)]
pub struct Globals {
    pub environment: Option<String>,
    pub no_environment: bool,
    pub env_file: Option<PathBuf>,
    /// Whether `--log-level` or `MELTANO_CLI_LOG_LEVEL` chose the level (else the project may).
    pub log_level_given: bool,
}

/// Whether a command activates an environment, per Meltano's per-command policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentPolicy {
    /// The explicit environment or `default_environment`.
    DefaultUsed,
    /// Only an explicit choice (`--environment`, `MELTANO_ENVIRONMENT`); the default is ignored
    /// with a notice naming the command.
    ExplicitOnly(&'static str),
}

/// The printer and options handed to every command.
pub struct Context {
    pub printer: Printer,
    pub globals: Globals,
}

impl Context {
    /// The project the command runs in, or the usage error Meltano gives outside one.
    ///
    /// `path` is the command as the error should name it (`["plugin", "list"]`).
    pub fn project(&self, path: &[&str]) -> CliResult<Project> {
        let cwd = std::env::current_dir().map_err(CliError::meltano)?;
        let root_env = std::env::var(env_vars::MELTANO_PROJECT_ROOT).ok();
        let Some(root) = find_project_root(&cwd, root_env.as_deref()) else {
            let display = std::iter::once("meltano")
                .chain(path.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(usage_error(
                path,
                format!(
                    "`{display}` must be run inside a Meltano project.\nUse `meltano init <project_directory>` to create one."
                ),
            ));
        };
        let project = Project::activate(&root, self.globals.env_file.as_deref()).map_err(|e| match e {
            ActivationError::Incompatible(_) => CliError::Incompatible(format!(
                "{e}\nFor more details, visit https://docs.meltano.com/guide/installation#upgrading-meltano-version"
            )),
            other => CliError::meltano(other),
        })?;
        if !self.globals.log_level_given {
            let level = project
                .env_var(env_vars::MELTANO_CLI_LOG_LEVEL)
                .or_else(|| {
                    project
                        .manifest()
                        .manifest
                        .cli
                        .as_ref()
                        .and_then(|c| c.log_level.clone())
                });
            if let Some(level) = level.and_then(|l| LogLevel::from_str(&l, true).ok()) {
                self.printer.set_level(level);
            }
        }
        if let Err(e) = link_executable(project.sys_dir()) {
            self.printer
                .debug(&format!("Could not link .meltano/run/bin: {e}"));
        }
        for warning in project.dotenv_warnings() {
            self.printer.warn(warning);
        }
        self.printer.debug(&format!(
            "Activated project at {}",
            project.root().display()
        ));
        Ok(project)
    }

    /// The active environment's name under `policy`, checked to exist in the project.
    pub fn environment(
        &self,
        project: &Project,
        policy: EnvironmentPolicy,
    ) -> CliResult<Option<String>> {
        if self.globals.no_environment {
            self.printer.info("No Meltano environment was selected");
            return Ok(None);
        }
        // An empty name counts as none given; `null` (any case) given explicitly means none.
        let explicit = self
            .globals
            .environment
            .clone()
            .or_else(|| project.env_var(env_vars::MELTANO_ENVIRONMENT))
            .filter(|n| !n.is_empty());
        if explicit
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case("null"))
        {
            self.printer.info("No Meltano environment was selected");
            return Ok(None);
        }
        let default = project
            .manifest()
            .manifest
            .default_environment
            .clone()
            .filter(|d| !d.is_empty());
        let name = match policy {
            EnvironmentPolicy::DefaultUsed => explicit.or(default),
            EnvironmentPolicy::ExplicitOnly(command) => {
                if explicit.is_none()
                    && let Some(default) = default
                {
                    self.printer.info(&format!(
                        "The default environment '{default}' will be ignored for `meltano {command}`. \
                         To configure a specific environment, please use the option `--environment=<environment name>`."
                    ));
                }
                explicit
            }
        };
        // Without a name Meltano runs silently with no environment; a default named `null` is
        // looked up like any other name.
        let Some(name) = name else {
            return Ok(None);
        };
        if project.manifest().manifest.environment(&name).is_none() {
            return Err(CliError::Meltano(format!(
                "Environment '{name}' was not found."
            )));
        }
        self.printer
            .info(&format!("Environment '{name}' is active"));
        Ok(Some(name))
    }

    /// Opens (and migrates) the system database: `--database-uri`, else `MELTANO_DATABASE_URI`,
    /// else `database_uri` in meltano.yml, else `.meltano/meltano.db`.
    pub async fn database(&self, project: &Project, cli_uri: Option<&str>) -> CliResult<SystemDb> {
        let manifest = &project.manifest().manifest;
        let uri = cli_uri
            .map(str::to_string)
            .or_else(|| project.env_var(env_vars::MELTANO_DATABASE_URI))
            .or_else(|| manifest.database_uri.clone())
            .unwrap_or_else(|| {
                format!(
                    "sqlite:///{}",
                    project.sys_dir().default_database().display()
                )
            });
        let max_retries = project
            .env_var(env_vars::MELTANO_DATABASE_MAX_RETRIES)
            .and_then(|v| v.parse().ok())
            .or(manifest
                .database_max_retries
                .and_then(|n| u32::try_from(n).ok()))
            .unwrap_or(3);
        let retry_seconds = project
            .env_var(env_vars::MELTANO_DATABASE_RETRY_TIMEOUT)
            .and_then(|v| v.parse().ok())
            .or(manifest
                .database_retry_timeout
                .and_then(|n| u64::try_from(n).ok()))
            .unwrap_or(5);
        let config = DbConfig {
            uri,
            max_retries,
            retry_timeout: std::time::Duration::from_secs(retry_seconds),
        };
        SystemDb::open_with(&config, |attempt| {
            self.printer.warn(&format!(
                "DB connection failed. Will retry after {}s. Attempt {}/{}",
                retry_seconds, attempt.attempt, attempt.max_retries
            ));
        })
        .await
        .map_err(CliError::meltano)
    }
}

/// Points `.meltano/run/bin` at this executable unless it already leads to one: Airflow's DAG
/// generator and `meltano` utilities find the project's `meltano` there. A link left dangling
/// (the binary it named was moved or removed) is replaced.
pub fn link_executable(sys_dir: &meltano_project::SysDir) -> std::io::Result<()> {
    let link = sys_dir.run_dir().join("bin");
    if link.exists() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        std::fs::create_dir_all(sys_dir.run_dir())?;
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link)?;
        }
        std::os::unix::fs::symlink(std::env::current_exe()?, &link)?;
    }
    Ok(())
}

/// Runs a future on a runtime made for this one command; most commands never need one.
pub fn block_on<F: std::future::Future>(future: F) -> CliResult<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::meltano)?;
    Ok(runtime.block_on(future))
}
