//! Why a run stops early: SIGTERM, SIGINT or the `--timeout` deadline, as one awaitable source.

use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use tokio::sync::watch;

/// What stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Terminated,
    Interrupted,
    TimedOut,
}

impl Stop {
    /// The error stored with the run, as Meltano words it.
    pub fn reason(self) -> &'static str {
        match self {
            Stop::Terminated => "The process was terminated",
            Stop::Interrupted => "The process was interrupted",
            Stop::TimedOut => "Run timed out",
        }
    }

    /// What is logged when it happens.
    pub fn announcement(self) -> &'static str {
        match self {
            Stop::Terminated | Stop::Interrupted => {
                "Stopping: the extractor is asked to stop so the loader can save its last state"
            }
            Stop::TimedOut => "Run timed out: stopping the pipeline gracefully",
        }
    }

    /// Meltano's exit code: 143 for SIGTERM (as a shell reports it), 130 for SIGINT, 1 for a
    /// timeout.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Terminated => 143,
            Stop::Interrupted => 130,
            Stop::TimedOut => 1,
        }
    }
}

/// Signals and the deadline of one command; while it lives, SIGINT and SIGTERM no longer end the
/// process but are reported here.
pub struct Interrupts {
    signals: watch::Receiver<(u32, i32)>,
    seen: u32,
    deadline: Option<tokio::time::Instant>,
    /// The first reason to stop, once there was one.
    first: Option<Stop>,
    handle: signal_hook::iterator::Handle,
}

impl Interrupts {
    /// Starts listening; `timeout` counts from now.
    pub fn new(timeout: Option<Duration>) -> std::io::Result<Interrupts> {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let (tx, rx) = watch::channel((0_u32, 0_i32));
        std::thread::spawn(move || {
            for signal in signals.forever() {
                tx.send_modify(|(count, last)| {
                    *count += 1;
                    *last = signal;
                });
            }
        });
        Ok(Interrupts {
            signals: rx,
            seen: 0,
            deadline: timeout.map(|t| tokio::time::Instant::now() + t),
            first: None,
            handle,
        })
    }

    /// Waits for the next reason to stop. The deadline fires once.
    pub async fn next(&mut self) -> Stop {
        loop {
            let (count, last) = *self.signals.borrow();
            if count > self.seen {
                self.seen = count;
                let stop = if last == SIGINT {
                    Stop::Interrupted
                } else {
                    Stop::Terminated
                };
                self.first.get_or_insert(stop);
                return stop;
            }
            let deadline = self.deadline;
            tokio::select! {
                changed = self.signals.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => {
                    self.deadline = None;
                    self.first.get_or_insert(Stop::TimedOut);
                    return Stop::TimedOut;
                }
            }
        }
    }

    /// Whether the deadline has passed (checked between blocks).
    pub fn expired(&mut self) -> Option<Stop> {
        if let Some(deadline) = self.deadline
            && tokio::time::Instant::now() >= deadline
        {
            self.deadline = None;
            self.first.get_or_insert(Stop::TimedOut);
        }
        if *self.signals.borrow() != (0, 0) && self.first.is_none() {
            let (_, last) = *self.signals.borrow();
            self.first = Some(if last == SIGINT {
                Stop::Interrupted
            } else {
                Stop::Terminated
            });
        }
        self.first
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.handle.close();
    }
}
