//! A pipeline's incremental state: the file the extractor starts from, and each state line the
//! loader confirms, persisted as it arrives.

use std::path::{Path, PathBuf};

use meltano_cli::StateStrategy;
use meltano_core::state::PayloadKind;
use meltano_db::{PayloadFlag, SystemDb};
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::pipeline::job::Job;

/// Where the extractor's state comes from.
pub enum StateSource<'a> {
    /// No job: the extractor runs without state.
    None,
    /// `--full-refresh`: stored state is ignored.
    FullRefresh,
    /// A file given by the `state` extra or `el --state`.
    File(PathBuf),
    /// The stored state of this state ID.
    Stored(&'a str),
}

/// Writes `<run dir>/state.json` for the extractor (when it has the `state` capability) and
/// returns its path, or None when it starts without state.
pub async fn prepare_state_file(
    ctx: &Context,
    db: &SystemDb,
    run_dir: &Path,
    supports_state: bool,
    source: StateSource<'_>,
) -> CliResult<Option<PathBuf>> {
    let path = run_dir.join("state.json");
    if !supports_state {
        return Ok(None);
    }
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(run_dir).map_err(CliError::meltano)?;
    match source {
        StateSource::None => Ok(None),
        StateSource::FullRefresh => {
            ctx.printer
                .info("Performing full refresh, ignoring state left behind by any previous runs.");
            Ok(None)
        }
        StateSource::File(file) => {
            std::fs::copy(&file, &path).map_err(|e| {
                CliError::Meltano(format!("Could not find state file {}: {e}", file.display()))
            })?;
            ctx.printer
                .info(&format!("Found state in {}", file.display()));
            Ok(Some(path))
        }
        StateSource::Stored(state_id) => {
            ctx.printer.info("Using systemdb state backend");
            ctx.printer.info("Reading state from Database");
            let record = db.read_state(state_id).await.map_err(CliError::meltano)?;
            let singer_state = record
                .map(|r| r.merged())
                .and_then(|merged| merged.get("singer_state").cloned());
            match singer_state {
                Some(state) => {
                    let text = meltano_core::pyjson::dumps_indent2(&state);
                    meltano_project::atomic::write_atomic_private(&path, text.as_bytes())
                        .map_err(CliError::meltano)?;
                    Ok(Some(path))
                }
                None => {
                    ctx.printer.warn("No state was found, complete import.");
                    Ok(None)
                }
            }
        }
    }
}

/// Persists the states a loader confirms, for one job.
pub struct StateWriter<'a> {
    pub db: &'a SystemDb,
    pub job: &'a Job,
    pub kind: PayloadKind,
}

impl StateWriter<'_> {
    /// How `--state-strategy` (and `--full-refresh`) decide between complete and partial.
    pub fn kind_for(strategy: StateStrategy, full_refresh: bool) -> PayloadKind {
        match strategy {
            StateStrategy::Overwrite => PayloadKind::Complete,
            StateStrategy::Merge => PayloadKind::Partial,
            StateStrategy::Auto if full_refresh => PayloadKind::Partial,
            StateStrategy::Auto => PayloadKind::Complete,
        }
    }

    /// Validates one line the loader wrote to stdout and persists it; invalid or empty states
    /// are logged and skipped. An error means the state could not be stored.
    pub async fn accept(&self, ctx: &Context, line: &[u8]) -> CliResult<()> {
        let state: Value = match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(_) => {
                ctx.printer
                    .warn("Received state is invalid, incremental state has not been updated");
                return Ok(());
            }
        };
        if state.as_object().is_some_and(Map::is_empty) {
            ctx.printer
                .warn("Received empty state, incremental state has not been updated");
            return Ok(());
        }
        let mut payload = Map::new();
        payload.insert("singer_state".to_string(), state);
        let payload = Value::Object(payload);
        self.db
            .write_state(&self.job.state_id, &payload, self.kind)
            .await
            .map_err(|e| {
                CliError::Meltano(format!(
                    "Could not store the state confirmed by the loader for '{}': {e}",
                    self.job.state_id
                ))
            })?;
        let flag = match self.kind {
            PayloadKind::Complete => PayloadFlag::State,
            PayloadKind::Partial => PayloadFlag::IncompleteState,
        };
        let text = meltano_core::settings::repr::py_json_dumps(&payload);
        self.db
            .set_run_payload(self.job.id, &text, flag)
            .await
            .map_err(CliError::meltano)?;
        let at = chrono::Utc::now();
        ctx.printer.info(&format!(
            "Incremental state has been updated at {}.",
            at.format("%Y-%m-%d %H:%M:%S%.6f+00:00")
        ));
        Ok(())
    }
}
