//! An extract-load pipeline as OS processes: extractor → mappers → loader, in one process group,
//! each stdout relayed into the next stdin ([`crate::relay`]).
//!
//! Everything the caller must act on arrives as a [`PipelineEvent`] through its sink, from the
//! threads that read the processes: stderr lines, each line the loader writes to stdout (its
//! state), and finally the outcome. The [`PipelineHandle`] stops the pipeline: gracefully (the
//! extractor is asked to stop, so the loader drains and confirms its last state) or at once.
//!
//! Completion follows Meltano: when the extractor ends, its output is drained and each next
//! stdin closed in turn; when the loader ends first, the processes upstream are killed and their
//! exit codes do not count; when a mapper ends first, the pipeline is stopped as failed.

use std::io::{self, BufRead, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::process::{PluginProcess, exit_code};
use crate::relay::{RelayEnd, RelayReport, relay};

/// One process of the pipeline.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The plugin's name, for logs.
    pub name: String,
    pub process: PluginProcess,
}

/// Something the caller must act on.
#[derive(Debug)]
pub enum PipelineEvent {
    /// A line the stage at this index wrote to stderr.
    Stderr { stage: usize, line: String },
    /// A line the last stage wrote to stdout: for a loader, a Singer state it has confirmed.
    Stdout(Vec<u8>),
    /// Every process has ended and every output was read.
    Finished(PipelineOutcome),
}

/// How the pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineOutcome {
    /// Each stage's exit code (128 + signal when killed); 0 for stages the pipeline killed
    /// because the loader or a mapper ended first.
    pub exit_codes: Vec<i32>,
    /// RECORD messages per stream that reached the loader.
    pub records: Vec<(String, u64)>,
    /// A mapper ended while the processes around it still ran.
    pub intermediate_failed: bool,
    /// The loader ended before its input did: what the extractor still had to send was never
    /// delivered (the loader's exit code may still be 0).
    pub loader_left_input: bool,
}

/// Stops a running pipeline.
#[derive(Debug, Clone)]
pub struct PipelineHandle {
    pids: Arc<Mutex<Vec<Option<Pid>>>>,
    group: Pid,
}

impl PipelineHandle {
    /// Asks the extractor to stop (SIGTERM); the rest of the pipeline drains and ends.
    pub fn stop_extractor(&self) {
        self.signal_stage(0, Signal::SIGTERM);
    }

    /// Sends SIGTERM to every process still running.
    pub fn terminate(&self) {
        let _ = killpg(self.group, Signal::SIGTERM);
    }

    /// Kills every process still running (SIGKILL).
    pub fn kill(&self) {
        let _ = killpg(self.group, Signal::SIGKILL);
    }

    fn signal_stage(&self, stage: usize, signal: Signal) {
        if let Ok(pids) = self.pids.lock()
            && let Some(Some(pid)) = pids.get(stage)
        {
            let _ = kill(*pid, signal);
        }
    }

    /// Kills the stages before `stage` (all of them: `usize::MAX`) that still run; returns
    /// which ones were killed.
    fn kill_upstream(&self, stage: usize) -> Vec<usize> {
        let Ok(pids) = self.pids.lock() else {
            return Vec::new();
        };
        let mut killed = Vec::new();
        for (index, pid) in pids.iter().enumerate().take(stage) {
            if let Some(pid) = pid {
                let _ = kill(*pid, Signal::SIGKILL);
                killed.push(index);
            }
        }
        killed
    }

    fn exited(&self, stage: usize) {
        if let Ok(mut pids) = self.pids.lock()
            && let Some(slot) = pids.get_mut(stage)
        {
            *slot = None;
        }
    }
}

/// What the supervisor hears from the worker threads.
enum Internal {
    Exited(usize, i32),
    Relayed(usize, RelayReport),
    LoaderStdoutDone,
}

/// Starts the stages (an extractor, mappers and a loader; or a single command) joined by pipes.
/// Events go to `sink` from worker threads; the last one is [`PipelineEvent::Finished`].
pub fn start(
    stages: Vec<Stage>,
    sink: impl Fn(PipelineEvent) + Send + Sync + 'static,
) -> io::Result<PipelineHandle> {
    if stages.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a pipeline needs at least one process",
        ));
    }
    let sink = Arc::new(sink);
    let last = stages.len() - 1;
    let mut children: Vec<Child> = Vec::with_capacity(stages.len());
    let mut group: Option<Pid> = None;
    for (index, stage) in stages.iter().enumerate() {
        let mut command = stage.process.command();
        command
            .stdin(if index == 0 {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        {
            use std::os::unix::process::CommandExt;
            command.process_group(group.map_or(0, Pid::as_raw));
        }
        match command.spawn() {
            Ok(child) => {
                group.get_or_insert(pid_of(&child));
                children.push(child);
            }
            Err(e) => {
                for child in &mut children {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "could not start {} ({}): {e}",
                        stage.name,
                        stage.process.program.display()
                    ),
                ));
            }
        }
    }
    let group = group.unwrap_or_else(|| Pid::from_raw(0));
    let handle = PipelineHandle {
        pids: Arc::new(Mutex::new(
            children.iter().map(|c| Some(pid_of(c))).collect(),
        )),
        group,
    };
    let (internal_tx, internal) = mpsc::channel::<Internal>();

    // Relays: stage i's stdout into stage i+1's stdin; only the hop into the loader counts.
    let mut stdouts: Vec<Option<ChildStdout>> =
        children.iter_mut().map(|c| c.stdout.take()).collect();
    let mut stdins: Vec<Option<ChildStdin>> = children.iter_mut().map(|c| c.stdin.take()).collect();
    for pipe in stdouts.iter().flatten() {
        widen_pipe(pipe);
    }
    for pipe in stdins.iter().flatten() {
        widen_pipe(pipe);
    }
    for hop in 0..last {
        let (Some(from), Some(mut to)) = (stdouts[hop].take(), stdins[hop + 1].take()) else {
            continue;
        };
        let tx = internal_tx.clone();
        let count = hop + 1 == last;
        thread::spawn(move || {
            let report = relay(from, &mut to, count);
            // Reported before the consumer's stdin closes, so the supervisor always learns
            // that a consumer's input ended before it learns that the consumer exited.
            let _ = tx.send(Internal::Relayed(hop, report));
            drop(to);
        });
    }

    // The last stage's stdout, line by line (a loader's confirmed states).
    if let Some(stdout) = stdouts[last].take() {
        let sink = Arc::clone(&sink);
        let tx = internal_tx.clone();
        thread::spawn(move || {
            for_each_line(stdout, |line| {
                let end = line
                    .iter()
                    .rposition(|b| *b != b'\n' && *b != b'\r')
                    .map_or(0, |i| i + 1);
                let line = &line[..end];
                if !line.is_empty() {
                    sink(PipelineEvent::Stdout(line.to_vec()));
                }
            });
            let _ = tx.send(Internal::LoaderStdoutDone);
        });
    }

    // Stderr of every stage, line by line; ended when the stage and its children close it.
    let (stderr_done_tx, stderr_done) = mpsc::channel::<()>();
    let mut stderr_readers = 0;
    for (index, child) in children.iter_mut().enumerate() {
        if let Some(stderr) = child.stderr.take() {
            let sink = Arc::clone(&sink);
            let done = stderr_done_tx.clone();
            stderr_readers += 1;
            thread::spawn(move || {
                for_each_line(stderr, |line| {
                    let text = String::from_utf8_lossy(line);
                    sink(PipelineEvent::Stderr {
                        stage: index,
                        line: text.trim_end_matches(['\n', '\r']).to_string(),
                    });
                });
                let _ = done.send(());
            });
        }
    }

    // One waiter per process.
    for (index, mut child) in children.into_iter().enumerate() {
        let tx = internal_tx.clone();
        thread::spawn(move || {
            let code = child.wait().map(exit_code).unwrap_or(1);
            let _ = tx.send(Internal::Exited(index, code));
        });
    }
    drop(internal_tx);

    let supervisor_handle = handle.clone();
    thread::spawn(move || {
        let outcome = supervise(&supervisor_handle, last, &internal);
        // What the plugins wrote just before exiting is still being read; a grandchild that
        // keeps stderr open must not hold the run forever.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        for _ in 0..stderr_readers {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if stderr_done.recv_timeout(left).is_err() {
                break;
            }
        }
        sink(PipelineEvent::Finished(outcome));
    });
    Ok(handle)
}

/// Waits for every process, relay and the loader's stdout, applying the completion rules.
fn supervise(
    handle: &PipelineHandle,
    last: usize,
    internal: &mpsc::Receiver<Internal>,
) -> PipelineOutcome {
    let stages = last + 1;
    let mut exit_codes: Vec<Option<i32>> = vec![None; stages];
    let mut killed_by_us = vec![false; stages];
    let mut records = Vec::new();
    let mut intermediate_failed = false;
    let mut loader_left_input = false;
    let mut loader_stdout_open = true;
    let mut relays_open = last;
    // Whether stage i's input reached its end (index 0, the extractor, reads nothing).
    let mut input_ended = vec![false; stages];
    input_ended[0] = true;
    while exit_codes.iter().any(Option::is_none) || loader_stdout_open || relays_open > 0 {
        let timeout = if exit_codes.iter().all(Option::is_some) {
            // Every process is gone: only descendants can hold the pipes open now.
            Some(Duration::from_secs(2))
        } else {
            None
        };
        let message = match timeout {
            Some(t) => match internal.recv_timeout(t) {
                Ok(message) => message,
                Err(_) => break,
            },
            None => match internal.recv() {
                Ok(message) => message,
                Err(_) => break,
            },
        };
        match message {
            Internal::Exited(index, code) => {
                handle.exited(index);
                exit_codes[index] = Some(code);
                // A consumer whose input had not ended exited before its producers.
                let early = !input_ended[index] && exit_codes[..index].iter().any(Option::is_none);
                if early {
                    // The loader ending first decides alone; a mapper ending first fails the
                    // pipeline. Either way what runs upstream is stopped and not blamed, while
                    // what runs downstream reads to the end of its input, so the loader still
                    // confirms the states it was given.
                    intermediate_failed |= index < last;
                    loader_left_input |= index == last;
                    for stage in handle.kill_upstream(index) {
                        killed_by_us[stage] = true;
                    }
                }
            }
            Internal::Relayed(hop, report) => {
                relays_open -= 1;
                input_ended[hop + 1] = report.end == RelayEnd::Eof;
                if hop + 1 == last {
                    records = report.records;
                }
            }
            Internal::LoaderStdoutDone => loader_stdout_open = false,
        }
    }
    PipelineOutcome {
        exit_codes: exit_codes
            .iter()
            .zip(&killed_by_us)
            .map(|(code, killed)| if *killed { 0 } else { code.unwrap_or(1) })
            .collect(),
        records,
        intermediate_failed,
        loader_left_input,
    }
}

/// Calls `f` with each line `reader` gives (its newline included), until the end or an error.
fn for_each_line(reader: impl std::io::Read, mut f: impl FnMut(&[u8])) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => f(&line),
        }
    }
}

/// Raises a pipe's buffer to 1 MiB (the unprivileged maximum), so each side does fewer, larger
/// reads and writes; a refusal only costs speed.
fn widen_pipe(pipe: &impl std::os::fd::AsFd) {
    let _ = nix::fcntl::fcntl(pipe.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
}

fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}
