//! Everything `meltano` prints goes through here: results to stdout, log lines to stderr.
//!
//! Log lines follow Meltano's console formats (`colored`, `uncolored`, `json`, `key-value`,
//! `plain`) so that people and log shippers reading them see what they saw before.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use meltano_cli::{LogFormat, LogLevel};
use meltano_core::env_vars;

use crate::log_config::{HandlerConfig, LineStyle, Target};

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
    /// The `LogLevel` in force (the root logger's), as its index (atomic so installs can log
    /// from worker threads).
    threshold: AtomicU8,
    local_time: bool,
    /// Where log lines go: the console by default, or a logging configuration's handlers.
    sinks: Vec<Sink>,
    /// A run's `elt.log`: every log line also goes here, uncoloured, whatever the level.
    run_log: Mutex<Option<File>>,
}

/// One destination of log lines, with its own level and style (a Python logging handler).
#[derive(Debug)]
struct Sink {
    level: Option<LogLevel>,
    style: LineStyle,
    colour: bool,
    target: SinkTarget,
}

#[derive(Debug)]
enum SinkTarget {
    Stderr,
    Stdout,
    File(Mutex<File>),
    Null,
}

impl Printer {
    /// A printer logging at `level` in `format` to stderr; colour only on a terminal unless forced.
    pub fn new(level: LogLevel, format: LogFormat) -> Printer {
        let console = Sink {
            level: None,
            style: LineStyle::Meltano(format),
            colour: format == LogFormat::Colored && colour_allowed(io::stderr().is_terminal()),
            target: SinkTarget::Stderr,
        };
        Printer {
            threshold: AtomicU8::new(level as u8),
            local_time: std::env::var_os(env_vars::NO_UTC).is_some(),
            sinks: vec![console],
            run_log: Mutex::new(None),
        }
    }

    /// A printer writing to the handlers of a logging configuration (files opened now).
    pub fn with_handlers(level: LogLevel, handlers: &[HandlerConfig]) -> io::Result<Printer> {
        let mut printer = Printer::new(level, LogFormat::Colored);
        printer.sinks = handlers
            .iter()
            .map(|handler| {
                let (target, terminal) = match &handler.target {
                    Target::Stderr => (SinkTarget::Stderr, io::stderr().is_terminal()),
                    Target::Stdout => (SinkTarget::Stdout, io::stdout().is_terminal()),
                    Target::File { path, append } => {
                        let file = std::fs::OpenOptions::new()
                            .create(true)
                            .append(*append)
                            .write(true)
                            .truncate(!*append)
                            .open(path)
                            .map_err(|e| {
                                io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                            })?;
                        (SinkTarget::File(Mutex::new(file)), false)
                    }
                    Target::Null => (SinkTarget::Null, false),
                };
                let colour = handler.style == LineStyle::Meltano(LogFormat::Colored)
                    && colour_allowed(terminal);
                Ok(Sink {
                    level: handler.level,
                    style: handler.style.clone(),
                    colour,
                    target,
                })
            })
            .collect::<io::Result<Vec<Sink>>>()?;
        Ok(printer)
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
        let timestamp = self.timestamp();
        for sink in &self.sinks {
            if sink.level.is_some_and(|handler| !passes(level, handler)) {
                continue;
            }
            let line = sink.format_line(&timestamp, level, name, event);
            let _ = match &sink.target {
                SinkTarget::Stderr => writeln!(io::stderr().lock(), "{line}"),
                SinkTarget::Stdout => writeln!(io::stdout().lock(), "{line}"),
                SinkTarget::File(file) => match file.lock() {
                    Ok(mut file) => writeln!(file, "{line}"),
                    Err(_) => Ok(()),
                },
                SinkTarget::Null => Ok(()),
            };
        }
    }

    fn enabled(&self, level: Level) -> bool {
        passes(level, self.level())
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
}

impl Sink {
    fn format_line(&self, timestamp: &str, level: Level, name: &str, event: &str) -> String {
        let format = match &self.style {
            LineStyle::Meltano(format) => *format,
            LineStyle::Python(pattern) => return python_format(pattern, level, name, event),
        };
        match format {
            LogFormat::Plain => event.to_string(),
            LogFormat::Json => serde_json::json!({
                "event": event,
                "level": level.name(),
                "timestamp": timestamp,
                "name": name,
            })
            .to_string()
            .replace("\",\"", "\", \"")
            .replace("\":\"", "\": \""),
            LogFormat::KeyValue => format!(
                "timestamp={} level={} event={} logger='meltano' name={}",
                python_repr(timestamp),
                python_repr(level.name()),
                python_repr(event),
                python_repr(name)
            ),
            LogFormat::Colored | LogFormat::Uncolored => {
                let padded = format!("{:<9}", level.name());
                if self.colour {
                    format!(
                        "\x1b[2m{timestamp}\x1b[0m [{}\x1b[1m{padded}\x1b[0m] \x1b[34m{name:<12}\x1b[0m {event}",
                        level.colour()
                    )
                } else {
                    format!("{timestamp} [{padded}] {name:<12} {event}")
                }
            }
        }
    }
}

/// Whether a line at `level` passes a threshold of `threshold`.
fn passes(level: Level, threshold: LogLevel) -> bool {
    let threshold = match threshold {
        LogLevel::Debug => Level::Debug,
        LogLevel::Info => Level::Info,
        LogLevel::Warning => Level::Warning,
        LogLevel::Error | LogLevel::Critical => Level::Error,
        LogLevel::Disabled => return false,
    };
    level >= threshold
}

/// Colour unless `NO_COLOR`; on a terminal, or anywhere with `FORCE_COLOR`.
fn colour_allowed(terminal: bool) -> bool {
    let forced = std::env::var_os(env_vars::FORCE_COLOR).is_some();
    let disabled = std::env::var_os(env_vars::NO_COLOR).is_some();
    !disabled && (forced || terminal)
}

/// A Python logging format string (`%(asctime)s [%(levelname)-8s] %(message)s`) filled in for
/// one line. Attributes we have no value for (`funcName`, `lineno`, ...) come out empty or 0.
fn python_format(pattern: &str, level: Level, name: &str, event: &str) -> String {
    let now = chrono::Local::now();
    let mut out = String::with_capacity(pattern.len() + event.len());
    let mut rest = pattern;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push('%');
            rest = after;
            continue;
        }
        let Some(close) = rest.strip_prefix('(').and_then(|r| r.find(')')) else {
            out.push('%');
            continue;
        };
        let key = &rest[1..=close];
        let spec_start = close + 2;
        let spec_len = rest[spec_start..]
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(rest.len() - spec_start);
        let spec = &rest[spec_start..spec_start + spec_len];
        rest = rest.get(spec_start + spec_len + 1..).unwrap_or("");
        let value = match key {
            "message" => event.to_string(),
            "levelname" => level.name().to_uppercase(),
            "levelno" => match level {
                Level::Debug => "10",
                Level::Info => "20",
                Level::Warning => "30",
                Level::Error => "40",
            }
            .to_string(),
            "name" => name.to_string(),
            "asctime" => format!(
                "{},{:03}",
                now.format("%Y-%m-%d %H:%M:%S"),
                now.timestamp_subsec_millis()
            ),
            "created" => format!("{:.6}", now.timestamp_micros() as f64 / 1e6),
            "msecs" => now.timestamp_subsec_millis().to_string(),
            "process" => std::process::id().to_string(),
            "processName" => "MainProcess".to_string(),
            "threadName" => "MainThread".to_string(),
            "lineno" | "thread" => "0".to_string(),
            _ => String::new(),
        };
        let width: usize = spec
            .trim_start_matches('-')
            .split('.')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        if spec.starts_with('-') {
            out.push_str(&format!("{value:<width$}"));
        } else {
            out.push_str(&format!("{value:>width$}"));
        }
    }
    out.push_str(rest);
    out
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
    fn python_format_strings_are_filled_in() {
        let line = python_format(
            "[%(levelname)-8s|%(threadName)10s|%(name)s] %(message)s 100%%",
            Level::Info,
            "meltano",
            "hello",
        );
        assert_eq!(line, "[INFO    |MainThread|meltano] hello 100%");
    }

    #[test]
    fn repr_quotes_like_python() {
        assert_eq!(python_repr("plain"), "'plain'");
        assert_eq!(python_repr("it's"), "\"it's\"");
    }
}
