//! The logging configuration files Meltano hands Singer plugins, so SDK and pipelinewise plugins
//! log plain messages to stderr at Meltano's level.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::replace::replace;

/// Writes `<role>.singer_sdk_logging.json` and `<role>.pipelinewise_logging.conf` into `run_dir`
/// and returns the variables that point plugins at them.
pub fn write_logging_files(
    run_dir: &Path,
    role: &str,
    level: &str,
) -> io::Result<Vec<(String, String)>> {
    fs::create_dir_all(run_dir)?;
    let level = level.to_uppercase();
    let sdk: PathBuf = run_dir.join(format!("{role}.singer_sdk_logging.json"));
    let sdk_config = serde_json::json!({
        "version": 1,
        "disable_existing_loggers": false,
        "formatters": {"singer_formatter": {"format": "%(message)s"}},
        "handlers": {"console": {
            "class": "logging.StreamHandler",
            "formatter": "singer_formatter",
            "stream": "ext://sys.stderr",
        }},
        "root": {"handlers": ["console"], "level": level},
    });
    // Other runs of the same plugin may be starting with these files: replaced, never rewritten.
    replace(
        &sdk,
        serde_json::to_string_pretty(&sdk_config)
            .map_err(io::Error::other)?
            .as_bytes(),
    )?;
    let pipelinewise = run_dir.join(format!("{role}.pipelinewise_logging.conf"));
    replace(
        &pipelinewise,
        format!(
            "[loggers]\nkeys=root\n\n[handlers]\nkeys=console\n\n[formatters]\nkeys=plain\n\n\
             [logger_root]\nlevel={level}\nhandlers=console\n\n\
             [handler_console]\nclass=StreamHandler\nlevel={level}\nformatter=plain\nargs=(sys.stderr,)\n\n\
             [formatter_plain]\nformat=%(message)s\n"
        )
        .as_bytes(),
    )?;
    Ok(vec![
        (
            "SINGER_SDK_LOG_CONFIG".to_string(),
            sdk.display().to_string(),
        ),
        (
            "LOGGING_CONF_FILE".to_string(),
            pipelinewise.display().to_string(),
        ),
    ])
}
