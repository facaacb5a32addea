//! Usage errors in click's words: which command the user was typing, and what went wrong.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Command, CommandFactory};
use meltano_cli::Cli;
use meltano_core::suggest::close_matches;

use crate::error::CliError;

/// The `Usage:` line and `Try '… --help'` hint for the command at `path` (e.g. `["plugin", "list"]`).
pub fn usage_error(path: &[&str], message: String) -> CliError {
    let usage = with_command(path, |cmd| cmd.render_usage().to_string());
    let display = std::iter::once("meltano")
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    CliError::Usage {
        usage,
        help_hint: format!("Try '{display} --help' for help."),
        message,
    }
}

/// Turns a clap error into what click would have printed, or the help/version text it asked for.
pub fn from_clap(error: clap::Error, args: &[String]) -> Result<String, CliError> {
    let path = command_path(args);
    let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let message = match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return Ok(error.render().to_string());
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            return Err(CliError::Help(help_of(&path_refs)));
        }
        ErrorKind::InvalidSubcommand => {
            let name = context(ContextKind::InvalidSubcommand);
            let candidates = subcommand_names(&path_refs);
            let suggestions = close_matches(&name, candidates.iter().map(String::as_str), 3, 0.5);
            let mut message = format!("No such command '{name}'.");
            if !suggestions.is_empty() {
                message.push_str("\n\nDid you mean one of these?");
                for s in suggestions {
                    message.push_str("\n    ");
                    message.push_str(s);
                }
            }
            message
        }
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg);
            if arg.starts_with('-') {
                let option = arg.split('=').next().unwrap_or(&arg);
                match error.get(ContextKind::SuggestedArg) {
                    Some(ContextValue::String(suggestion)) => {
                        let suggestion = suggestion.split_whitespace().next().unwrap_or(suggestion);
                        format!("No such option '{option}'. Did you mean '{suggestion}'?")
                    }
                    _ => format!("No such option '{option}'."),
                }
            } else {
                format!("Got unexpected extra argument ({arg})")
            }
        }
        ErrorKind::InvalidValue => {
            let arg = context(ContextKind::InvalidArg);
            let option = arg.split_whitespace().next().unwrap_or_default();
            let value = context(ContextKind::InvalidValue);
            let valid: Vec<String> = match error.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) => v.iter().map(|s| format!("'{s}'")).collect(),
                _ => Vec::new(),
            };
            if valid.is_empty() || value.is_empty() {
                format!("Option '{option}' requires an argument.")
            } else {
                format!(
                    "Invalid value for '{option}': '{value}' is not one of {}.",
                    valid.join(", ")
                )
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = context(ContextKind::InvalidArg);
            let name = missing
                .trim_matches(|c| c == '<' || c == '>')
                .replace(">...", "...")
                .replace('<', "");
            match name.strip_prefix("--") {
                // click names the first missing option, without its value.
                Some(option) => {
                    let option = option.split([' ', ',']).next().unwrap_or(option);
                    format!("Missing option '--{option}'.")
                }
                None => format!("Missing argument '{name}'."),
            }
        }
        _ => {
            let rendered = error.render().to_string();
            rendered
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(rendered.trim())
                .to_string()
        }
    };
    Err(usage_error(&path_refs, message))
}

/// The help text of the command at `path`, as a group without a subcommand prints it.
fn help_of(path: &[&str]) -> String {
    with_command(path, |cmd| cmd.render_help().to_string())
}

/// Calls `f` with the (built) command at `path`, or the deepest one that exists.
fn with_command<R>(path: &[&str], f: impl FnOnce(&mut Command) -> R) -> R {
    fn descend<R>(cmd: &mut Command, path: &[&str], f: impl FnOnce(&mut Command) -> R) -> R {
        if let Some((first, rest)) = path.split_first()
            && cmd.find_subcommand(first).is_some()
            && let Some(sub) = cmd.find_subcommand_mut(first)
        {
            return descend(sub, rest, f);
        }
        f(cmd)
    }
    let mut root = Cli::command();
    root.build();
    descend(&mut root, path, f)
}

/// The names of the visible subcommands of the command at `path`.
fn subcommand_names(path: &[&str]) -> Vec<String> {
    let root = Cli::command();
    let mut cmd = &root;
    for name in path {
        match cmd.find_subcommand(name) {
            Some(sub) => cmd = sub,
            None => break,
        }
    }
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The subcommands the user typed, found by walking the arguments through the command tree.
fn command_path(args: &[String]) -> Vec<String> {
    let root = Cli::command();
    let mut cmd: &Command = &root;
    let mut path = Vec::new();
    let mut tokens = args.iter().skip(1);
    while let Some(token) = tokens.next() {
        if token == "--" {
            break;
        }
        if let Some(long) = token.strip_prefix("--") {
            let takes_value = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .is_some_and(|a| a.get_action().takes_values());
            if takes_value && !long.contains('=') {
                tokens.next();
            }
            continue;
        }
        if token.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(token) {
            Some(sub) => {
                path.push(token.clone());
                cmd = sub;
            }
            None => break,
        }
    }
    path
}
