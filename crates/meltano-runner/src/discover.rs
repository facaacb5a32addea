//! Catalog discovery: run a tap with `--discover`, its stdout going straight into the catalog file.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::process::{PluginProcess, exit_code};

/// Why discovery produced no catalog.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("Catalog discovery failed: command {command} returned {code} with stderr:\n {stderr}")]
    Failed {
        command: String,
        code: i32,
        stderr: String,
    },
    #[error("Invalid catalog: {0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Runs `process` (whose args already end with `--discover`), writing its stdout to `catalog`;
/// each stderr line goes to `on_stderr`. The file is removed again if the tap fails. The caller
/// parses the catalog anyway, so it checks that it is JSON (see [`DiscoveryError::Invalid`]).
pub fn discover(
    process: &PluginProcess,
    catalog: &Path,
    mut on_stderr: impl FnMut(&str),
) -> Result<(), DiscoveryError> {
    // Written beside the cached catalog and renamed over it once complete: another run may be
    // reading the cache meanwhile. (A fresh file also spares ext4's flush of a truncated one.)
    let temp = crate::replace::temp_beside(catalog);
    let out = File::create(&temp)?;
    let result = run_discovery(process, out, &mut on_stderr);
    match result {
        Ok(()) => std::fs::rename(&temp, catalog).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            e.into()
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            let _ = std::fs::remove_file(catalog);
            Err(e)
        }
    }
}

fn run_discovery(
    process: &PluginProcess,
    out: File,
    on_stderr: &mut impl FnMut(&str),
) -> Result<(), DiscoveryError> {
    let mut child = process
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not start {}: {e}", process.program.display()),
            )
        })?;
    let mut stderr_text = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            on_stderr(&line);
            stderr_text.push_str(&line);
            stderr_text.push('\n');
        }
    }
    let code = exit_code(child.wait()?);
    if code != 0 {
        let mut command = vec![process.program.display().to_string()];
        command.extend(
            process
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        return Err(DiscoveryError::Failed {
            command: format!("{command:?}"),
            code,
            stderr: stderr_text,
        });
    }
    Ok(())
}
