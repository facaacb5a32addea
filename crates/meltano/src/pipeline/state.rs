//! A pipeline's incremental state: the file the extractor starts from, and each state line the
//! loader confirms, persisted as it arrives.
//!
//! On the system database each state is written in its own transaction before the next line is
//! read. On a file or bucket backend the run holds the state ID's lock, so the record is kept in
//! memory and written by a background task ([`Flusher`]) that always writes the latest record:
//! states that arrive while a write is in flight are coalesced into the next one, so a slow store
//! never slows the pipeline, and the last confirmed state is written before the run ends.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meltano_cli::StateStrategy;
use meltano_core::state::{PayloadKind, StateRecord};
use meltano_db::{PayloadFlag, SystemDb};
use meltano_state::{StateStore, StoreError};
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
    /// The stored state of this state ID; its record when the caller already read it.
    Stored(&'a str, Option<&'a Option<StateRecord>>),
}

/// Writes `<run dir>/state.json` for the extractor (when it has the `state` capability) and
/// returns its path, or None when it starts without state.
pub async fn prepare_state_file(
    ctx: &Context,
    store: &dyn StateStore,
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
        StateSource::Stored(state_id, known) => {
            ctx.printer.info(&store.announcement());
            ctx.printer
                .info(&format!("Reading state from {}", store.label()));
            let record = match known {
                Some(record) => record.clone(),
                None => store
                    .get(state_id)
                    .await
                    .map_err(crate::state_backend::store_error)?,
            };
            if record.is_none() && store.writes_objects() {
                ctx.printer.info(&format!("No state found for {state_id}."));
            }
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
    store: Arc<dyn StateStore>,
    db: &'a SystemDb,
    job: &'a Job,
    kind: PayloadKind,
    /// Whether the backend's line was logged (Meltano logs it again at the first write).
    announced: Cell<bool>,
    /// Whether a failing store was reported (once per run).
    warned: Cell<bool>,
    /// For file and bucket backends: the record and the task writing it.
    flusher: Option<Flusher>,
}

impl<'a> StateWriter<'a> {
    /// A writer for `job`. For a file or bucket backend (whose lock the run holds) later writes
    /// go through a [`Flusher`] starting from `current`, the record read when the run started.
    pub fn new(
        store: Arc<dyn StateStore>,
        db: &'a SystemDb,
        job: &'a Job,
        kind: PayloadKind,
        current: Option<StateRecord>,
    ) -> CliResult<StateWriter<'a>> {
        let flusher = if store.writes_objects() {
            Some(Flusher::start(store.clone(), job.state_id.clone(), current))
        } else {
            None
        };
        Ok(StateWriter {
            store,
            db,
            job,
            kind,
            announced: Cell::new(false),
            warned: Cell::new(false),
            flusher,
        })
    }

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
        if !self.announced.replace(true) {
            ctx.printer.info(&self.store.announcement());
        }
        match &self.flusher {
            Some(flusher) => {
                ctx.printer
                    .info(&format!("Writing state to {}", self.store.label()));
                if let Some(error) = flusher.apply(&payload, self.kind)
                    && !self.warned.replace(true)
                {
                    ctx.printer.warn(&format!(
                        "Could not write the state of '{}' yet, retrying in the background: {error}",
                        self.job.state_id
                    ));
                }
            }
            None => self
                .store
                .update(&self.job.state_id, &payload, self.kind)
                .await
                .map_err(|e| {
                    CliError::Meltano(format!(
                        "Could not store the state confirmed by the loader for '{}': {e}",
                        self.job.state_id
                    ))
                })?,
        }
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

    /// Waits until the last confirmed state is stored; an error names the backend and state ID.
    /// A state the store would not take is kept in `pending_dir`, for the next run to write
    /// first ([`upload_pending`]).
    pub async fn finish(self, pending_dir: &Path) -> CliResult<()> {
        let Some(flusher) = self.flusher else {
            return Ok(());
        };
        let Err((e, record)) = flusher.finish().await else {
            return Ok(());
        };
        let mut message = format!(
            "Could not store the state confirmed by the loader for '{}': {e}",
            self.job.state_id
        );
        if let Some(record) = record {
            let path = pending_path(pending_dir, &self.job.state_id);
            let mut kept = Map::new();
            kept.insert("backend".into(), Value::from(self.store.display_uri()));
            kept.insert("state".into(), record.to_export());
            let text = meltano_core::settings::repr::py_json_dumps(&Value::Object(kept));
            let saved = std::fs::create_dir_all(pending_dir).and_then(|()| {
                meltano_project::atomic::write_atomic_private(&path, text.as_bytes())
            });
            match saved {
                Ok(()) => message.push_str(&format!(
                    ". It was kept in {} and the next run of this state ID in this project writes \
                     it first.",
                    path.display()
                )),
                Err(io) => message.push_str(&format!(
                    ". It could not be kept locally either ({}): {io}",
                    path.display()
                )),
            }
        }
        Err(CliError::Meltano(message))
    }
}

/// Where a state that could not be written is kept: one file per state ID.
fn pending_path(dir: &Path, state_id: &str) -> PathBuf {
    let name: String = state_id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    dir.join(format!("{name}.json"))
}

/// Writes the state an earlier run of `state_id` could not write to this backend (kept in
/// `pending_dir`), before anything reads the state. Called holding the state ID's lock.
pub async fn upload_pending(
    ctx: &Context,
    store: &dyn StateStore,
    pending_dir: &Path,
    state_id: &str,
) -> CliResult<()> {
    let path = pending_path(pending_dir, state_id);
    let Ok(text) = std::fs::read(&path) else {
        return Ok(());
    };
    let kept: Value = serde_json::from_slice(&text)
        .map_err(|e| CliError::Meltano(format!("{} is not valid JSON: {e}", path.display())))?;
    if kept.get("backend").and_then(Value::as_str) != Some(store.display_uri().as_str()) {
        ctx.printer.warn(&format!(
            "{} holds a state kept for another state backend; leaving it alone.",
            path.display()
        ));
        return Ok(());
    }
    let record = kept
        .get("state")
        .map(|s| serde_json::to_vec(s).unwrap_or_default())
        .map(|bytes| meltano_state::decode_record(&bytes))
        .transpose()
        .map_err(|e| CliError::Meltano(format!("{}: {e}", path.display())))?
        .unwrap_or_default();
    store.put(state_id, &record).await.map_err(|e| {
        CliError::Meltano(format!(
            "Could not write the state an earlier run kept in {}: {e}",
            path.display()
        ))
    })?;
    std::fs::remove_file(&path).map_err(CliError::meltano)?;
    ctx.printer.info(&format!(
        "Wrote the state an earlier run could not store for '{state_id}' to {} (kept in {}).",
        store.display_uri(),
        path.display()
    ));
    Ok(())
}

/// The record of a run on a file or bucket backend, and the task that writes it.
struct Flusher {
    shared: Arc<Mutex<Pending>>,
    wake: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<Result<(), StoreError>>,
}

/// What the writing task shares with the pipeline.
struct Pending {
    record: Option<StateRecord>,
    /// Bumped by every accepted state; the task writes until it has written the latest.
    version: u64,
    /// No more states will come: write the latest and stop.
    closed: bool,
    /// The error of the last failed write (cleared by a successful one).
    error: Option<String>,
}

/// The least time between two writes during a run: states confirmed meanwhile are coalesced
/// into the next write (the last one is always written when the run ends), so a run confirming
/// thousands of states makes a few writes a second, not thousands.
const WRITE_GAP: Duration = Duration::from_millis(200);

/// Pauses between attempts to write a state the store refused or did not answer (the store's
/// client already retries each request a few times). While the run goes on, attempts go on at
/// the last pause; once it has ended, this many more are made before the run fails.
const WRITE_BACKOFF: [u64; 5] = [250, 500, 1_000, 2_000, 4_000];

impl Flusher {
    fn start(store: Arc<dyn StateStore>, state_id: String, record: Option<StateRecord>) -> Flusher {
        let shared = Arc::new(Mutex::new(Pending {
            record,
            version: 0,
            closed: false,
            error: None,
        }));
        let wake = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(write_loop(store, state_id, shared.clone(), wake.clone()));
        Flusher { shared, wake, task }
    }

    /// Applies a payload to the record and asks for it to be written; returns the error of the
    /// last write when the store has been failing since (the task keeps retrying).
    fn apply(&self, payload: &Value, kind: PayloadKind) -> Option<String> {
        let mut pending = lock(&self.shared);
        match &mut pending.record {
            Some(record) => record.apply(payload.clone(), kind),
            None => pending.record = Some(StateRecord::from_payload(payload.clone(), kind)),
        }
        pending.version += 1;
        let error = pending.error.clone();
        drop(pending);
        self.wake.notify_one();
        error
    }

    /// Waits for the last write; on failure, the error and the record that was not written.
    async fn finish(self) -> Result<(), (StoreError, Option<StateRecord>)> {
        lock(&self.shared).closed = true;
        self.wake.notify_one();
        let result = match self.task.await {
            Ok(result) => result,
            Err(e) => Err(StoreError::Config(format!("the state writer stopped: {e}"))),
        };
        result.map_err(|e| (e, lock(&self.shared).record.clone()))
    }
}

fn lock(shared: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes the latest record whenever it changed, until closed with nothing left to write.
async fn write_loop(
    store: Arc<dyn StateStore>,
    state_id: String,
    shared: Arc<Mutex<Pending>>,
    wake: Arc<tokio::sync::Notify>,
) -> Result<(), StoreError> {
    let mut written = 0u64;
    let mut failures = 0usize;
    loop {
        let (record, version, closed) = {
            let pending = lock(&shared);
            (pending.record.clone(), pending.version, pending.closed)
        };
        if version == written {
            if closed {
                return Ok(());
            }
            wake.notified().await;
            continue;
        }
        let Some(record) = record else {
            written = version;
            continue;
        };
        match store.put(&state_id, &record).await {
            Ok(()) => {
                written = version;
                failures = 0;
                lock(&shared).error = None;
                let next = tokio::time::Instant::now() + WRITE_GAP;
                while !lock(&shared).closed && tokio::time::Instant::now() < next {
                    tokio::select! {
                        _ = tokio::time::sleep_until(next) => {}
                        _ = wake.notified() => {}
                    }
                }
            }
            Err(e) if e.is_transient() && (!closed || failures < WRITE_BACKOFF.len()) => {
                lock(&shared).error = Some(e.to_string());
                let pause = WRITE_BACKOFF[failures.min(WRITE_BACKOFF.len() - 1)];
                failures += 1;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
