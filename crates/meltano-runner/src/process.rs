//! Running a plugin attached to the terminal: stdin and stdout pass straight through, stderr is
//! read line by line so Meltano can log it, and the plugin's exit code is Meltano's.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A plugin process to start.
#[derive(Debug, Clone)]
pub struct PluginProcess {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Set on top of the inherited environment, in order (later entries win).
    pub env: Vec<(String, String)>,
    /// Removed from the inherited environment first.
    pub env_remove: Vec<String>,
    pub cwd: PathBuf,
}

impl PluginProcess {
    /// The command, not yet started.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).current_dir(&self.cwd);
        for name in &self.env_remove {
            command.env_remove(name);
        }
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Runs with stdin and stdout inherited; each stderr line goes to `on_stderr`. Returns the exit
    /// code (128 + signal number when the plugin was killed by a signal, as a shell reports it).
    pub fn run_attached(&self, mut on_stderr: impl FnMut(&str)) -> io::Result<i32> {
        let mut child = self
            .command()
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("could not start {}: {e}", self.program.display()),
                )
            })?;
        if let Some(stderr) = child.stderr.take() {
            for line in BufReader::new(stderr).lines() {
                match line {
                    Ok(line) => on_stderr(&line),
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                        on_stderr("<non-UTF-8 output>")
                    }
                    Err(_) => break,
                }
            }
        }
        let status = child.wait()?;
        Ok(exit_code(status))
    }
}

/// The shell's view of an exit status.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(1)
}
