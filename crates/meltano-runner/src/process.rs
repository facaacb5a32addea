//! Running a plugin attached to the terminal: stdin and stdout pass straight through, stderr is
//! read line by line so Meltano can log it, and the plugin's exit code is Meltano's.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    ///
    /// While the plugin runs, Ctrl-C (which the terminal also sends to the plugin) does not stop
    /// Meltano, and SIGTERM is passed on to the plugin, so Meltano outlives it and cleans up
    /// after it (its config file holds secrets).
    pub fn run_attached(&self, mut on_stderr: impl FnMut(&str)) -> io::Result<i32> {
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])?;
        let signals_handle = signals.handle();
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
        let child_pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        let forwarder = std::thread::spawn(move || {
            for signal in signals.forever() {
                if signal == signal_hook::consts::SIGTERM {
                    let _ = nix::sys::signal::kill(child_pid, nix::sys::signal::Signal::SIGTERM);
                }
            }
        });
        // Lines arrive through a channel so that a grandchild still holding stderr open after the
        // plugin exits (a backgrounded `sleep`, say) cannot keep Meltano waiting.
        let (lines_tx, lines) = mpsc::channel::<String>();
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let line = match line {
                        Ok(line) => line,
                        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                            "<non-UTF-8 output>".to_string()
                        }
                        Err(_) => break,
                    };
                    if lines_tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let status = loop {
            match lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => on_stderr(&line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break child.wait(),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
        };
        // What the plugin wrote just before exiting is still in the pipe.
        let deadline = Instant::now() + Duration::from_millis(200);
        while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            on_stderr(&line);
        }
        signals_handle.close();
        let _ = forwarder.join();
        Ok(exit_code(status?))
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
