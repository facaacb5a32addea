//! Everything `meltano` prints goes through here: results to stdout, log lines to stderr.
//!
//! Log lines follow Meltano's console formats (`colored`, `uncolored`, `json`, `key-value`,
//! `plain`) so that people and log shippers reading them see what they saw before.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use meltano_cli::{LogFormat, LogLevel};
use meltano_core::env_vars;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Level::Debug => "\x1b[32m",
            Level::Info => "\x1b[32m",
            Level::Warning => "\x1b[33m",
            Level::Error => "\x1b[31m",
        }
    }
}

/// Where output goes and how log lines look.
#[derive(Debug)]
pub struct Printer {
    /// The `LogLevel` in force, as its index (atomic so installs can log from worker threads).
    threshold: AtomicU8,
    format: LogFormat,
    colour: bool,
    local_time: bool,
    /// Log lines go here instead of stderr when a logging configuration names a file.
    log_file: Option<Mutex<File>>,
    /// A run's `elt.log`: every log line also goes here, uncoloured, whatever the level.
    run_log: Mutex<Option<File>>,
}

impl Printer {
    /// A printer logging at `level` in `format`; colour only on a terminal unless forced.
    pub fn new(level: LogLevel, format: LogFormat) -> Printer {
        let forced = std::env::var_os(env_vars::FORCE_COLOR).is_some();
        let disabled = std::env::var_os(env_vars::NO_COLOR).is_some();
        let colour =
            format == LogFormat::Colored && !disabled && (forced || io::stderr().is_terminal());
        let local_time = std::env::var_os(env_vars::NO_UTC).is_some();
        Printer {
            threshold: AtomicU8::new(level as u8),
            format,
            colour,
            local_time,
            log_file: None,
            run_log: Mutex::new(None),
        }
    }

    /// Appends log lines to `path` instead of writing them to stderr (without colour).
    pub fn log_to_file(&mut self, path: &Path) -> io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.log_file = Some(Mutex::new(file));
        self.colour = false;
        Ok(())
    }

    /// The level in force.
    pub fn level(&self) -> LogLevel {
        const LEVELS: [LogLevel; 6] = [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
            LogLevel::Disabled,
        ];
        LEVELS
            .get(usize::from(self.threshold.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or(LogLevel::Info)
    }

    /// Changes the level once the project's own `cli.log_level` is known.
    pub fn set_level(&self, level: LogLevel) {
        self.threshold.store(level as u8, Ordering::Relaxed);
    }

    /// Writes a line of command output to stdout.
    pub fn out(&self, text: &str) {
        let mut stdout = io::stdout().lock();
        // A closed stdout (`meltano ... | head`) is not an error worth reporting.
        let _ = writeln!(stdout, "{text}");
    }

    /// Writes command output to stdout without a newline (prompts).
    pub fn out_raw(&self, text: &str) {
        let mut stdout = io::stdout().lock();
        let _ = write!(stdout, "{text}");
        let _ = stdout.flush();
    }

    /// Writes a line to stderr as is (usage errors, prompts' aborts).
    pub fn err(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{text}");
    }

    pub fn debug(&self, event: &str) {
        self.log(Level::Debug, event);
    }

    pub fn info(&self, event: &str) {
        self.log(Level::Info, event);
    }

    pub fn warn(&self, event: &str) {
        self.log(Level::Warning, event);
    }

    pub fn error(&self, event: &str) {
        self.log(Level::Error, event);
    }

    /// Writes one log event in the configured format, if its level passes the threshold.
    pub fn log(&self, level: Level, event: &str) {
        self.log_as(level, "meltano", event);
    }

    /// Copies every later log line into `file` (a run's `elt.log`) until [`Self::end_run_log`].
    pub fn start_run_log(&self, file: File) {
        if let Ok(mut slot) = self.run_log.lock() {
            *slot = Some(file);
        }
    }

    pub fn end_run_log(&self) {
        if let Ok(mut slot) = self.run_log.lock() {
            *slot = None;
        }
    }

    /// Writes one log event under `name` (a plugin's name for the lines it writes to stderr).
    pub fn log_as(&self, level: Level, name: &str, event: &str) {
        // The run log keeps info and above, and debug lines when the console shows them.
        if (level >= Level::Info || self.enabled(level))
            && let Ok(mut run_log) = self.run_log.lock()
            && let Some(file) = run_log.as_mut()
        {
            let line = format!(
                "{} [{:<9}] {name:<12} {event}",
                self.timestamp(),
                level.name()
            );
            let _ = writeln!(file, "{line}");
        }
        if !self.enabled(level) {
            return;
        }
        let line = self.format_line(level, name, event);
        match &self.log_file {
            Some(file) => {
                if let Ok(mut file) = file.lock() {
                    let _ = writeln!(file, "{line}");
                }
            }
            None => {
                let _ = writeln!(io::stderr().lock(), "{line}");
            }
        }
    }

    fn enabled(&self, level: Level) -> bool {
        let threshold = match self.level() {
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warning => Level::Warning,
            LogLevel::Error | LogLevel::Critical => Level::Error,
            LogLevel::Disabled => return false,
        };
        level >= threshold
    }

    fn timestamp(&self) -> String {
        if self.local_time {
            chrono::Local::now()
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string()
        } else {
            chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
        }
    }

    fn format_line(&self, level: Level, name: &str, event: &str) -> String {
        match self.format {
            LogFormat::Plain => event.to_string(),
            LogFormat::Json => serde_json::json!({
                "event": event,
                "level": level.name(),
                "timestamp": self.timestamp(),
                "name": name,
            })
            .to_string()
            .replace("\",\"", "\", \"")
            .replace("\":\"", "\": \""),
            LogFormat::KeyValue => format!(
                "timestamp={} level={} event={} logger='meltano' name={}",
                python_repr(&self.timestamp()),
                python_repr(level.name()),
                python_repr(event),
                python_repr(name)
            ),
            LogFormat::Colored | LogFormat::Uncolored => {
                let padded = format!("{:<9}", level.name());
                if self.colour {
                    format!(
                        "\x1b[2m{}\x1b[0m [{}\x1b[1m{padded}\x1b[0m] \x1b[34m{name:<12}\x1b[0m {event}",
                        self.timestamp(),
                        level.colour()
                    )
                } else {
                    format!("{} [{padded}] {name:<12} {event}", self.timestamp())
                }
            }
        }
    }
}

/// Quotes a string the way Python's `repr` does, as Meltano's key-value format shows values.
fn python_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_quotes_like_python() {
        assert_eq!(python_repr("plain"), "'plain'");
        assert_eq!(python_repr("it's"), "\"it's\"");
    }
}
