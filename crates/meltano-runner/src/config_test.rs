//! `meltano config test`: does the plugin accept its configuration?
//!
//! An extractor passes when it emits a RECORD or BATCH message (it is stopped then); a loader
//! passes when it takes a small Singer stream and exits 0 without printing an error.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::thread;

use crate::process::PluginProcess;

/// The verdict, with what explains a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    Valid,
    /// The last thing the plugin said, or why nothing it said counts.
    Invalid(String),
}

const NO_RECORD: &str = "No RECORD or BATCH message received. Verify that at least one stream is selected using 'meltano select";

/// Runs the extractor until its first RECORD or BATCH message.
pub fn test_extractor(invocation: &PluginProcess, plugin_name: &str) -> io::Result<TestOutcome> {
    let mut child = spawn(invocation, Stdio::null())?;
    let stderr = drain_stderr(&mut child);
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let mut last_line = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if is_data_message(&line) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(TestOutcome::Valid);
        }
        if !line.trim().is_empty() {
            last_line = Some(line);
        }
    }
    let status = child.wait()?;
    let stderr_tail = stderr.join().unwrap_or_default();
    let detail = stderr_tail
        .last()
        .cloned()
        .or(last_line)
        .filter(|_| !status.success())
        .unwrap_or_else(|| format!("{NO_RECORD} {plugin_name} --list'."));
    Ok(TestOutcome::Invalid(detail))
}

/// Pipes a one-record stream into the loader and checks how it ends.
pub fn test_loader(invocation: &PluginProcess, activate_version: bool) -> io::Result<TestOutcome> {
    let mut child = spawn(invocation, Stdio::piped())?;
    let stderr = drain_stderr(&mut child);
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let stdout_lines = thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A loader that exits early closes the pipe; that is judged by its exit code below.
        let _ = stdin.write_all(test_stream(activate_version).as_bytes());
    }
    let status = child.wait()?;
    let mut output = stdout_lines.join().unwrap_or_default();
    output.extend(stderr.join().unwrap_or_default());
    let complaint = output.iter().find(|l| {
        let lower = l.to_lowercase();
        lower.contains("error") || lower.contains("exception")
    });
    Ok(match (status.success(), complaint) {
        (true, None) => TestOutcome::Valid,
        (_, Some(line)) => TestOutcome::Invalid(line.clone()),
        (false, None) => TestOutcome::Invalid(
            output
                .last()
                .cloned()
                .unwrap_or_else(|| format!("The loader exited with {status}")),
        ),
    })
}

/// The stream handed to loaders: a schema, one record and a state, for `meltano_test_stream`.
fn test_stream(activate_version: bool) -> String {
    let mut lines = vec![
        r#"{"type": "SCHEMA", "stream": "meltano_test_stream", "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}, "key_properties": ["id"]}"#,
        r#"{"type": "RECORD", "stream": "meltano_test_stream", "record": {"id": 1, "name": "meltano"}}"#,
    ];
    if activate_version {
        lines
            .push(r#"{"type": "ACTIVATE_VERSION", "stream": "meltano_test_stream", "version": 1}"#);
    }
    lines.push(r#"{"type": "STATE", "value": {"meltano_test": true}}"#);
    lines.join("\n") + "\n"
}

fn is_data_message(line: &str) -> bool {
    // Cheap pre-check before parsing: most lines of a tap are RECORDs.
    (line.contains("RECORD") || line.contains("BATCH"))
        && serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| {
                v.get("type")
                    .and_then(|t| t.as_str())
                    .map(|t| t == "RECORD" || t == "BATCH")
            })
            .unwrap_or(false)
}

fn spawn(invocation: &PluginProcess, stdin: Stdio) -> io::Result<Child> {
    invocation
        .command()
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not start {}: {e}", invocation.program.display()),
            )
        })
}

/// Keeps the last lines of the plugin's stderr without letting the pipe fill up.
fn drain_stderr(child: &mut Child) -> thread::JoinHandle<Vec<String>> {
    let stderr = child.stderr.take();
    thread::spawn(move || {
        let mut tail = VecDeque::with_capacity(20);
        if let Some(stderr) = stderr {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tail.len() == 20 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
        tail.into_iter().collect()
    })
}
