//! How a failed command is shown, and its exit code, following Meltano 4.4.1's conventions.

use std::process::ExitCode;

use crate::printer::Printer;

/// Meltano's closing hint after an error.
const HELP_LINE: &str = "Need help fixing this problem? Visit https://melta.no/ for troubleshooting steps, or to join our friendly Slack community.";

/// A command failure, by the way Meltano reports it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Wrong invocation: usage line, `Error: …`, exit 2.
    #[error("{message}")]
    Usage {
        usage: String,
        help_hint: String,
        message: String,
    },
    /// A Meltano error logged at error level with the help line, exit 1.
    #[error("{0}")]
    Meltano(String),
    /// The project requires another Meltano version: a notice on stdout, exit 3.
    #[error("{0}")]
    Incompatible(String),
    /// A group (or `meltano` itself) called without a subcommand: its help on stderr, exit 2.
    #[error("{0}")]
    Help(String),
    /// A prompt answered with end of input: `Aborted!`, exit 1.
    #[error("Aborted!")]
    Aborted,
    /// A click exception: `Error: …` on stderr, exit 1.
    #[error("{0}")]
    Click(String),
    /// A failure already logged in full; only the exit code is left to give.
    #[error("exit code {0}")]
    Exit(u8),
}

impl CliError {
    /// A Meltano error from anything displayable, with its cause chain on one line.
    pub fn meltano(error: impl Into<anyhow::Error>) -> CliError {
        let error = error.into();
        let mut message = error.to_string();
        for cause in error.chain().skip(1) {
            let cause = cause.to_string();
            if !message.contains(&cause) {
                message.push_str(": ");
                message.push_str(&cause);
            }
        }
        CliError::Meltano(message)
    }

    /// Shows the error and returns the exit code Meltano uses for it.
    pub fn report(&self, printer: &Printer) -> ExitCode {
        match self {
            CliError::Usage {
                usage,
                help_hint,
                message,
            } => {
                printer.err(&format!("{usage}\n{help_hint}\n\nError: {message}"));
                ExitCode::from(2)
            }
            CliError::Meltano(message) => {
                printer.error(message);
                printer.info(HELP_LINE);
                ExitCode::from(1)
            }
            CliError::Incompatible(message) => {
                printer.out(message);
                ExitCode::from(3)
            }
            CliError::Help(text) => {
                printer.err(text.trim_end());
                ExitCode::from(2)
            }
            CliError::Aborted => {
                printer.err("Aborted!");
                ExitCode::from(1)
            }
            CliError::Click(message) => {
                printer.err(&format!("Error: {message}"));
                ExitCode::from(1)
            }
            CliError::Exit(code) => ExitCode::from(*code),
        }
    }
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
