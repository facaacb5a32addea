//! `--log-config` / `cli.log_config`: the parts of a Python logging configuration that carry over.
//!
//! Meltano hands the file to Python's `logging.config.dictConfig`. We read what decides what a
//! user sees: the root level, the formatter of the root's first handler (Meltano's
//! `json_formatter`, `key_value_formatter`, `plain_formatter` or `console_log_formatter`), and a
//! `logging.FileHandler`'s file. Anything else in the file is ignored.

use std::path::{Path, PathBuf};

use meltano_cli::{LogFormat, LogLevel};
use serde_json::Value;

/// What a logging configuration file asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogConfig {
    pub path: PathBuf,
    pub level: Option<LogLevel>,
    pub format: Option<LogFormat>,
    pub file: Option<PathBuf>,
}

/// The configuration at `path` (relative to the working directory), trying `.yaml`↔`.yml` when
/// the file is missing, as Meltano does. `Ok(None)` when neither exists.
pub fn load(path: &Path) -> Result<Option<LogConfig>, String> {
    let Some(path) = existing(path) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let root = &config["root"];
    let level = root["level"].as_str().and_then(level_from_python);
    let handler = root["handlers"]
        .as_array()
        .and_then(|h| h.first())
        .and_then(Value::as_str)
        .map(|name| &config["handlers"][name]);
    let format = handler
        .and_then(|h| h["formatter"].as_str())
        .and_then(|name| format_from_factory(&config["formatters"][name]));
    let file = handler
        .filter(|h| {
            h["class"]
                .as_str()
                .is_some_and(|c| c.ends_with("FileHandler"))
        })
        .and_then(|h| h["filename"].as_str())
        .map(PathBuf::from);
    Ok(Some(LogConfig {
        path,
        level,
        format,
        file,
    }))
}

fn existing(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    let other = match path.extension().and_then(|e| e.to_str()) {
        Some("yaml") => path.with_extension("yml"),
        Some("yml") => path.with_extension("yaml"),
        _ => return None,
    };
    other.is_file().then_some(other)
}

fn level_from_python(level: &str) -> Option<LogLevel> {
    match level.to_ascii_uppercase().as_str() {
        "DEBUG" | "NOTSET" => Some(LogLevel::Debug),
        "INFO" => Some(LogLevel::Info),
        "WARNING" | "WARN" => Some(LogLevel::Warning),
        "ERROR" => Some(LogLevel::Error),
        "CRITICAL" | "FATAL" => Some(LogLevel::Critical),
        _ => None,
    }
}

fn format_from_factory(formatter: &Value) -> Option<LogFormat> {
    let factory = formatter["()"].as_str()?;
    let name = factory.rsplit(['.', ':']).next()?;
    match name {
        "json_formatter" => Some(LogFormat::Json),
        "key_value_formatter" => Some(LogFormat::KeyValue),
        "plain_formatter" => Some(LogFormat::Plain),
        "console_log_formatter" if formatter["colors"] == Value::Bool(false) => {
            Some(LogFormat::Uncolored)
        }
        "console_log_formatter" => Some(LogFormat::Colored),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_level_formatter_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logging.yaml");
        std::fs::write(
            &path,
            "version: 1\nformatters:\n  structured:\n    (): meltano.core.logging.json_formatter\n\
             handlers:\n  file:\n    class: logging.FileHandler\n    formatter: structured\n    filename: meltano.log\n\
             root:\n  level: WARNING\n  handlers: [file]\n",
        )
        .unwrap();
        let config = load(&dir.path().join("logging.yml")).unwrap().unwrap();
        assert_eq!(config.level, Some(LogLevel::Warning));
        assert_eq!(config.format, Some(LogFormat::Json));
        assert_eq!(config.file.as_deref(), Some(Path::new("meltano.log")));
        assert_eq!(load(&dir.path().join("missing.yaml")).unwrap(), None);
    }
}
