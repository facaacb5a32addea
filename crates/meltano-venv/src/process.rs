//! Running pip/uv/python with stdout and stderr captured together, in the order they were written.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::process::{Command, ExitStatus, Stdio};

use crate::error::InstallError;

/// How many trailing lines of output an error carries.
pub(crate) const ERROR_OUTPUT_LINES: usize = 50;

/// A finished command: how it exited and everything it wrote.
pub(crate) struct Captured {
    pub status: ExitStatus,
    pub output: String,
}

/// Runs `cmd` with stdin closed and stdout+stderr merged into one pipe, waiting for it to exit.
pub(crate) fn run_captured(mut cmd: Command) -> io::Result<Captured> {
    let (mut reader, writer) = io::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let mut child = cmd.spawn()?;
    // The Command holds our copies of the write end; drop it so the read ends when the child exits.
    drop(cmd);
    let mut bytes = Vec::new();
    let read = reader.read_to_end(&mut bytes);
    let status = child.wait()?;
    read?;
    Ok(Captured {
        status,
        output: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Runs one step of an install; a spawn failure or unsuccessful exit becomes an [`InstallError`]. The output
/// is appended to `log` either way.
pub(crate) fn run_step(
    cmd: Command,
    plugin: &str,
    step: &'static str,
    log: &mut String,
) -> Result<(), InstallError> {
    let command = display_command(&cmd);
    log.push_str("$ ");
    log.push_str(&command);
    log.push('\n');
    let captured = run_captured(cmd).map_err(|source| InstallError::Spawn {
        plugin: plugin.to_string(),
        command: command.clone(),
        source,
    })?;
    log.push_str(&captured.output);
    if !captured.output.is_empty() && !captured.output.ends_with('\n') {
        log.push('\n');
    }
    if captured.status.success() {
        Ok(())
    } else {
        Err(InstallError::CommandFailed {
            plugin: plugin.to_string(),
            step,
            command,
            status: captured.status.to_string(),
            output: tail(&captured.output, ERROR_OUTPUT_LINES),
        })
    }
}

/// The command line as a shell would need it typed, for messages.
pub(crate) fn display_command(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes one word the way Python's `shlex.quote` does (bare when it only has safe characters).
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let safe = |c: char| c.is_alphanumeric() || "@%+=:,./-_".contains(c);
    if word.is_empty() {
        "''".to_string()
    } else if word.chars().all(safe) {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}

/// The last `lines` lines of `output`, without a trailing newline.
pub(crate) fn tail(output: &str, lines: usize) -> String {
    let all: Vec<&str> = output.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a\n", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn quotes_like_python() {
        let mut cmd = Command::new("uv");
        cmd.args(["pip", "install", "a b", "x'y", "", "pkg>=1"]);
        assert_eq!(
            display_command(&cmd),
            r#"uv pip install 'a b' 'x'"'"'y' '' 'pkg>=1'"#
        );
    }

    #[cfg(unix)]
    #[test]
    fn captures_stdout_and_stderr_in_order() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; echo three; exit 3"]);
        let captured = run_captured(cmd).unwrap();
        assert_eq!(captured.output, "one\ntwo\nthree\n");
        assert_eq!(captured.status.code(), Some(3));
    }
}
