//! The `meltano` binary: parses the command line, sets up output, and runs one command.
//!
//! Commands (under [`commands`]) are thin: they turn arguments into calls on the library crates
//! and print the results through the [`printer::Printer`]. Exit codes follow Meltano 4.4.1.

mod catalog;
mod commands;
mod context;
mod definitions;
mod error;
mod installer;
mod invocation;
mod log_config;
mod pipeline;
mod printer;
mod prompt;
mod schedule_export;
mod scheduler;
mod settings;
mod state_backend;
mod table;
mod usage;

use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use meltano_cli::{Cli, LogFormat, LogLevel, normalize_args};
use meltano_core::{MELTANO_VERSION, env_vars};

use crate::context::{Context, Globals};
use crate::printer::Printer;

/// Runs `meltano` with the process arguments and returns its exit code.
pub fn main() -> ExitCode {
    let args = normalize_args(std::env::args());
    let early = Printer::new(LogLevel::Info, LogFormat::Uncolored);
    let cli = match Cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(error) => {
            return match usage::from_clap(error, &args) {
                Ok(text) => {
                    early.out(text.trim_end());
                    ExitCode::SUCCESS
                }
                Err(e) => e.report(&early),
            };
        }
    };
    if cli.version {
        early.out(&format!("meltano, version {MELTANO_VERSION}"));
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = &cli.cwd
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let message = format!(
            "Invalid value for '--cwd': Directory '{}' does not exist ({e}).",
            dir.display()
        );
        return usage::usage_error(&[], message).report(&early);
    }
    let config_path = cli
        .log_config
        .clone()
        .or_else(|| std::env::var(env_vars::MELTANO_CLI_LOG_CONFIG).ok())
        .unwrap_or_else(|| "logging.yaml".to_string());
    let log_config = match log_config::load(Path::new(&config_path)) {
        Ok(config) => config,
        Err(message) => return error::CliError::Meltano(message).report(&early),
    };
    // A logging configuration decides levels and destinations on its own, as dictConfig does.
    let level = match &log_config {
        Some(config) => config.level.or(log_level(&cli)),
        None => log_level(&cli),
    };
    let log_level_given = level.is_some();
    let printer = match &log_config {
        Some(config) if !config.handlers.is_empty() => {
            match Printer::with_handlers(level.unwrap_or(LogLevel::Warning), &config.handlers) {
                Ok(printer) => printer,
                Err(e) => {
                    return error::CliError::Meltano(format!("Could not open log file {e}"))
                        .report(&early);
                }
            }
        }
        _ => Printer::new(
            level.unwrap_or(LogLevel::Info),
            log_format(&cli).unwrap_or(LogFormat::Colored),
        ),
    };
    let Some(command) = cli.command else {
        return error::CliError::Help(Cli::command().render_help().to_string()).report(&printer);
    };
    // Plugins and runs inherit the trigger, as under Meltano.
    if std::env::var_os(env_vars::MELTANO_JOB_TRIGGER).is_none() {
        set_env(env_vars::MELTANO_JOB_TRIGGER, "cli");
    }
    printer.info(&format!(
        "Meltano {MELTANO_VERSION} (meltano-rs {}), {} ({})",
        env!("CARGO_PKG_VERSION"),
        os_name(),
        std::env::consts::ARCH
    ));
    if let Some(config) = &log_config {
        printer.info(&format!(
            "Using logging configuration from {}",
            config.path.display()
        ));
    }
    let context = Context {
        printer,
        globals: Globals {
            environment: cli.environment,
            no_environment: cli.no_environment,
            env_file: cli.env_file,
            log_level_given,
        },
    };
    match commands::run(&context, command) {
        Ok(code) => code,
        Err(e) => e.report(&context.printer),
    }
}

/// `--log-level`, else `MELTANO_CLI_LOG_LEVEL`.
fn log_level(cli: &Cli) -> Option<LogLevel> {
    use clap::ValueEnum;
    cli.log_level.or_else(|| {
        let value = std::env::var(env_vars::MELTANO_CLI_LOG_LEVEL).ok()?;
        LogLevel::from_str(&value, true).ok()
    })
}

/// `--log-format`, else `MELTANO_CLI_LOG_FORMAT`.
fn log_format(cli: &Cli) -> Option<LogFormat> {
    use clap::ValueEnum;
    cli.log_format.or_else(|| {
        let value = std::env::var(env_vars::MELTANO_CLI_LOG_FORMAT).ok()?;
        LogFormat::from_str(&value.replace('_', "-"), true).ok()
    })
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        other => other,
    }
}

/// Sets a variable for this process and its children; only before other threads start.
pub(crate) fn set_env(name: &str, value: &str) {
    // SAFETY: called on the main thread before any other thread is started.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(name, value)
    };
}
