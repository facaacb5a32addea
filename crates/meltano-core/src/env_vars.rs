//! Every environment variable Meltano reads or sets, in one place.
//!
//! Commands refer to these constants rather than spelling the names, so a search for a variable
//! finds every use, and the documentation of each lives beside its name.

/// Directory of the project; skips the search upward from the working directory. Also set for plugins.
pub const MELTANO_PROJECT_ROOT: &str = "MELTANO_PROJECT_ROOT";
/// Overrides the location of the `.meltano` system directory.
pub const MELTANO_SYS_DIR_ROOT: &str = "MELTANO_SYS_DIR_ROOT";
/// Truthy: the project is deployed read-only; commands refuse to write meltano.yml and `.env`.
pub const MELTANO_PROJECT_READONLY: &str = "MELTANO_PROJECT_READONLY";
/// The environment to activate (counts as an explicit choice).
pub const MELTANO_ENVIRONMENT: &str = "MELTANO_ENVIRONMENT";
/// The system database URI (SQLAlchemy form).
pub const MELTANO_DATABASE_URI: &str = "MELTANO_DATABASE_URI";
/// How many times to retry connecting to the system database.
pub const MELTANO_DATABASE_MAX_RETRIES: &str = "MELTANO_DATABASE_MAX_RETRIES";
/// Seconds between connection retries.
pub const MELTANO_DATABASE_RETRY_TIMEOUT: &str = "MELTANO_DATABASE_RETRY_TIMEOUT";
/// Console log level, overridden by `--log-level`.
pub const MELTANO_CLI_LOG_LEVEL: &str = "MELTANO_CLI_LOG_LEVEL";
/// Console log format, overridden by `--log-format`.
pub const MELTANO_CLI_LOG_FORMAT: &str = "MELTANO_CLI_LOG_FORMAT";
/// Path of a logging configuration file, overridden by `--log-config`.
pub const MELTANO_CLI_LOG_CONFIG: &str = "MELTANO_CLI_LOG_CONFIG";
/// Whether anonymous usage statistics may be sent (we never send any).
pub const MELTANO_SEND_ANONYMOUS_USAGE_STATS: &str = "MELTANO_SEND_ANONYMOUS_USAGE_STATS";
/// What started a run (`cli` unless a scheduler sets it); stored in `runs.trigger`.
pub const MELTANO_JOB_TRIGGER: &str = "MELTANO_JOB_TRIGGER";
/// Disables the user-level YAML style configuration.
pub const MELTANO_DISABLE_USER_YAML_CONFIG: &str = "MELTANO_DISABLE_USER_YAML_CONFIG";
/// Set: log timestamps in local time instead of UTC.
pub const NO_UTC: &str = "NO_UTC";
/// Set: no colour in console output.
pub const NO_COLOR: &str = "NO_COLOR";
/// Set: colour even when stderr is not a terminal.
pub const FORCE_COLOR: &str = "FORCE_COLOR";

/// Whether an environment value means "on", as Meltano's boolean settings read it.
pub fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "t" | "y"
    )
}

/// Truthy: a `$VAR` that is not set is an error instead of an empty string.
pub const MELTANO_FF_STRICT_ENV_VAR_MODE: &str = "MELTANO_FF_STRICT_ENV_VAR_MODE";
