//! The `meltano` binary: parses the command line, sets up output, and runs one command.
//!
//! Commands (under [`commands`]) are thin: they turn arguments into calls on the library crates
//! and print the results through the [`printer::Printer`]. Exit codes follow Meltano 4.4.1.

mod commands;
mod context;
mod error;
mod printer;
mod prompt;
mod table;
mod usage;

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
    let log_level_given =
        cli.log_level.is_some() || std::env::var_os(env_vars::MELTANO_CLI_LOG_LEVEL).is_some();
    let printer = Printer::new(log_level(&cli), log_format(&cli));
    let Some(command) = cli.command else {
        return error::CliError::Help(Cli::command().render_help().to_string()).report(&printer);
    };
    if let Some(dir) = &cli.cwd
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let message = format!(
            "Invalid value for '--cwd': Directory '{}' does not exist ({e}).",
            dir.display()
        );
        return usage::usage_error(&[], message).report(&printer);
    }
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
    if let Some(config) = cli
        .log_config
        .clone()
        .or_else(|| std::env::var(env_vars::MELTANO_CLI_LOG_CONFIG).ok())
    {
        printer.debug(&format!(
            "Ignoring logging configuration {config}: Python logging dictConfig files are not supported"
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

fn log_level(cli: &Cli) -> LogLevel {
    use clap::ValueEnum;
    cli.log_level
        .or_else(|| {
            let value = std::env::var(env_vars::MELTANO_CLI_LOG_LEVEL).ok()?;
            LogLevel::from_str(&value, true).ok()
        })
        .unwrap_or(LogLevel::Info)
}

fn log_format(cli: &Cli) -> LogFormat {
    use clap::ValueEnum;
    cli.log_format
        .or_else(|| {
            let value = std::env::var(env_vars::MELTANO_CLI_LOG_FORMAT).ok()?;
            LogFormat::from_str(&value.replace('_', "-"), true).ok()
        })
        .unwrap_or(LogFormat::Colored)
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        other => other,
    }
}

/// Sets a variable for this process and its children.
fn set_env(name: &str, value: &str) {
    // SAFETY: called on the main thread before any other thread is started.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(name, value)
    };
}
