//! `meltano state list|get|set|merge|copy|move|clear|edit|export|import`: Singer state in the
//! project's state backend (the system database, files or a bucket), with Meltano 4.4.1's
//! messages, prompts and exit codes.
//!
//! Edits that Meltano routes through its state service (`set`, `merge`, `copy`, `move`, `edit`)
//! also add a `STATE_EDIT` row to `runs`. State IDs shaped like `meltano run`'s
//! (`env:tap-to-target`) get Meltano's warnings when the environment or plugins do not fit.

use std::cell::Cell;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use meltano_cli::{StateArgs, StateCommand, StateFormat};
use meltano_core::pyjson::dumps_indent2;
use meltano_core::settings::repr::py_repr;
use meltano_core::state::{
    self, PayloadError, PayloadKind, StateRecord, check_payload_type, dumps_compact, is_truthy,
    parse_state_id, py_equal, python_type_name, validate_payload,
};
use meltano_core::{PluginType, env_vars};
use meltano_db::SystemDb;
use meltano_project::Project;
use meltano_state::StateStore;
use serde_json::{Map, Value};

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::prompt;
use crate::usage::usage_error;

/// What every subcommand works with.
struct Session<'a> {
    ctx: &'a Context,
    project: &'a Project,
    /// Where `runs` rows of edits go.
    db: &'a SystemDb,
    /// Where the state is.
    store: &'a dyn StateStore,
    /// The `state_backend.*` settings it was opened with (for `--to-uri`).
    config: &'a meltano_state::BackendConfig,
    /// The environment activated by `--environment` or `MELTANO_ENVIRONMENT`.
    environment: Option<String>,
    /// Whether the backend's line ("Using systemdb state backend") was logged (Meltano logs it
    /// once, on first use).
    backend_announced: Cell<bool>,
}

/// Runs one `meltano state` subcommand.
pub fn run(ctx: &Context, args: StateArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["state"])?;
    let environment = ctx.environment(&project, EnvironmentPolicy::ExplicitOnly("state"))?;
    let uri = args
        .command
        .database_uri()
        .or(args.db.database_uri.as_deref())
        .map(str::to_string);
    block_on(async {
        let db = ctx.database(&project, uri.as_deref()).await?;
        let stores = crate::settings::SettingsStores {
            project: &project,
            environment: None,
            db: &db,
        };
        let opened = async {
            let settings = stores.resolve(crate::settings::Subject::Project).await?;
            let config = crate::state_backend::config(&settings);
            let store = crate::state_backend::open_config(&config, &db)?;
            Ok::<_, CliError>((config, store))
        }
        .await;
        let (config, store) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                db.close().await;
                return Err(e);
            }
        };
        let session = Session {
            ctx,
            project: &project,
            db: &db,
            store: store.as_ref(),
            config: &config,
            environment,
            backend_announced: Cell::new(false),
        };
        let result = session.run(args.command).await;
        db.close().await;
        result
    })?
}

impl Session<'_> {
    async fn run(&self, command: StateCommand) -> CliResult<ExitCode> {
        match command {
            // As in Meltano, an empty pattern lists everything.
            StateCommand::List { pattern } => {
                self.list(pattern.as_deref().filter(|p| !p.is_empty()))
                    .await
            }
            StateCommand::Get {
                state_id, format, ..
            } => self.get(&state_id, format).await,
            StateCommand::Set {
                state_id,
                state,
                force,
                input_file,
                no_validate,
                ..
            } => {
                self.set(&state_id, state, input_file, no_validate, force)
                    .await
            }
            StateCommand::Merge {
                state_id,
                state,
                from_state_id,
                input_file,
                ..
            } => {
                self.merge(&state_id, state, input_file, from_state_id)
                    .await
            }
            StateCommand::Copy {
                src_state_id,
                dst_state_id,
                force,
                to_uri,
                ..
            } => {
                self.copy(&src_state_id, &dst_state_id, force, to_uri.as_deref())
                    .await
            }
            StateCommand::Move {
                src_state_id,
                dst_state_id,
                force,
                to_uri,
                ..
            } => {
                self.move_(&src_state_id, &dst_state_id, force, to_uri.as_deref())
                    .await
            }
            StateCommand::Clear {
                state_id,
                force,
                all,
                ..
            } => self.clear(state_id, all, force).await,
            StateCommand::Edit {
                state_id, force, ..
            } => self.edit(&state_id, force).await,
            StateCommand::Export => self.export().await,
            StateCommand::Import { input_file } => self.import(input_file.as_deref()).await,
        }
    }

    /// One ID per line: green when its state has `singer_state`, red when not, yellow when empty.
    async fn list(&self, pattern: Option<&str>) -> CliResult<ExitCode> {
        self.reading();
        let ids = self.store.state_ids(pattern).await.map_err(store_error)?;
        let mut lines = Vec::with_capacity(ids.len());
        for id in ids {
            let state = self.read_merged(&id).await?;
            let colour = if !is_truthy(&state) {
                "33"
            } else if validate_payload(&state).is_ok() {
                "32"
            } else {
                "31"
            };
            lines.push((id, colour));
        }
        if lines.is_empty() {
            self.ctx.printer.info("No state IDs found.");
        }
        let colour = std::io::stdout().is_terminal();
        for (id, code) in lines {
            if colour {
                self.ctx.printer.out(&format!("\x1b[{code}m{id}\x1b[0m"));
            } else {
                self.ctx.printer.out(&id);
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn get(&self, state_id: &str, format: StateFormat) -> CliResult<ExitCode> {
        self.check_state_id(state_id);
        let state = self.read_merged(state_id).await?;
        let text = match format {
            StateFormat::Json => dumps_compact(&state),
            StateFormat::Pretty => dumps_indent2(&state),
        };
        self.ctx.printer.out(&text);
        Ok(ExitCode::SUCCESS)
    }

    async fn set(
        &self,
        state_id: &str,
        state: Option<String>,
        input_file: Option<PathBuf>,
        no_validate: bool,
        force: bool,
    ) -> CliResult<ExitCode> {
        check_input_file(input_file.as_deref(), "set")?;
        if !self.confirm(
            force,
            "This will overwrite the state's current value. Continue?",
        )? {
            return Err(CliError::Exit(1));
        }
        let names = ["--input-file", "STATE"];
        // Without `--from-state-id` the one source is always text.
        let Source::Text(text) = one_source(state, input_file, None, &names)? else {
            return Err(CliError::Meltano(format!(
                "Must provide exactly one of: {}",
                names.join(",")
            )));
        };
        if no_validate {
            self.ctx
                .printer
                .warn("Skipping state validation. Invalid state may cause issues in future runs.");
        }
        self.check_state_id(state_id);
        let payload = state::loads(&text)
            .map_err(|e| CliError::Click(format!("Invalid JSON provided: {e}")))?;
        if !no_validate {
            validate_payload(&payload).map_err(|e| match e {
                PayloadError::MissingSingerState => CliError::Click(format!(
                    "Invalid state format: {e}. State must be valid JSON with a top-level \
                     'singer_state' key. Use --no-validate to bypass this check."
                )),
                other => CliError::meltano(other),
            })?;
        }
        self.add_state(state_id, payload, PayloadKind::Complete)
            .await?;
        self.ctx.printer.info(&format!(
            "State for {state_id} was successfully set at {}.",
            utc_now()
        ));
        Ok(ExitCode::SUCCESS)
    }

    async fn merge(
        &self,
        state_id: &str,
        state: Option<String>,
        input_file: Option<PathBuf>,
        from_state_id: Option<String>,
    ) -> CliResult<ExitCode> {
        check_input_file(input_file.as_deref(), "merge")?;
        self.check_state_id(state_id);
        let source = one_source(
            state,
            input_file,
            from_state_id,
            &["--input-file", "STATE", "--from-state-id"],
        )?;
        let payload = match source {
            Source::Text(text) => state::loads(&text).map_err(CliError::meltano)?,
            Source::StateId(src) => self.read_merged(&src).await?,
        };
        validate_payload(&payload).map_err(CliError::meltano)?;
        self.add_state(state_id, payload, PayloadKind::Partial)
            .await?;
        self.ctx.printer.info(&format!(
            "State for {state_id} was successfully merged at {}.",
            utc_now()
        ));
        Ok(ExitCode::SUCCESS)
    }

    async fn copy(
        &self,
        src: &str,
        dst: &str,
        force: bool,
        to_uri: Option<&str>,
    ) -> CliResult<ExitCode> {
        if !self.confirm(
            force,
            "This will overwrite state for the destination. Continue?",
        )? {
            return Err(CliError::Exit(1));
        }
        self.check_state_id(src);
        self.set_from(src, dst, to_uri).await?;
        self.ctx.printer.info(&format!(
            "State for {dst} was successfully copied from {src} at {}.",
            utc_now()
        ));
        Ok(ExitCode::SUCCESS)
    }

    async fn move_(
        &self,
        src: &str,
        dst: &str,
        force: bool,
        to_uri: Option<&str>,
    ) -> CliResult<ExitCode> {
        if !self.confirm(
            force,
            "This will clear the source state and overwrite destination state. Continue?",
        )? {
            return Err(CliError::Exit(1));
        }
        self.check_state_id(dst);
        self.set_from(src, dst, to_uri).await?;
        self.store.clear(src).await.map_err(store_error)?;
        self.ctx.printer.info(&format!(
            "State for {src} was successfully moved to {dst} at {}.",
            utc_now()
        ));
        Ok(ExitCode::SUCCESS)
    }

    async fn clear(&self, state_id: Option<String>, all: bool, force: bool) -> CliResult<ExitCode> {
        if !self.confirm(force, "This will clear state for the job(s). Continue?")? {
            return Err(CliError::Exit(1));
        }
        let state_id = state_id.filter(|id| !id.is_empty());
        if state_id.is_some() == all {
            return Err(usage_error(
                &["state", "clear"],
                "A state ID or the --all flag must be provided, but not both".to_string(),
            ));
        }
        if let Some(state_id) = state_id {
            self.check_state_id(&state_id);
            self.backend();
            self.store.clear(&state_id).await.map_err(store_error)?;
        } else {
            self.backend();
            let count = self.store.clear_all().await.map_err(store_error)?;
            self.ctx
                .printer
                .info(&format!("{count} state(s) were successfully cleared"));
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn edit(&self, state_id: &str, force: bool) -> CliResult<ExitCode> {
        if !self.confirm(
            force,
            "This will overwrite the state's current value. Continue?",
        )? {
            return Err(CliError::Exit(1));
        }
        self.check_state_id(state_id);
        let mut current = self.read_merged(state_id).await?;
        if !is_truthy(&current) {
            self.ctx.printer.info(&format!(
                "No state found for {state_id}. Creating new state."
            ));
            current = Value::Object(Map::new());
        }
        let initial = dumps_indent2(&current);
        let Some(edited) = edit_in_editor(&initial)?.filter(|text| !text.is_empty()) else {
            self.ctx.printer.info("Edit cancelled - no changes made");
            return Ok(ExitCode::SUCCESS);
        };
        let edited = edited.trim_matches(is_python_space);
        if edited.is_empty() {
            self.ctx
                .printer
                .info("Empty content provided - no changes made");
            return Ok(ExitCode::SUCCESS);
        }
        let payload = state::loads(edited).map_err(CliError::meltano)?;
        if py_equal(&payload, &current) {
            self.ctx.printer.info("No changes detected");
            return Ok(ExitCode::SUCCESS);
        }
        validate_payload(&payload).map_err(CliError::meltano)?;
        self.add_state(state_id, payload, PayloadKind::Complete)
            .await?;
        self.ctx.printer.info(&format!(
            "State for {state_id} was successfully updated at {}",
            utc_now()
        ));
        Ok(ExitCode::SUCCESS)
    }

    async fn export(&self) -> CliResult<ExitCode> {
        self.backend();
        self.ctx
            .printer
            .info(&format!("Exporting state from {}", self.store.label()));
        let states = self.store.get_all().await.map_err(store_error)?;
        let export: Map<String, Value> = states
            .into_iter()
            .map(|(id, record)| (id, record.to_export()))
            .collect();
        self.ctx.printer.out(&dumps_compact(&Value::Object(export)));
        Ok(ExitCode::SUCCESS)
    }

    async fn import(&self, input_file: Option<&Path>) -> CliResult<ExitCode> {
        let text = read_import_input(input_file)?;
        let data =
            state::loads(&text).map_err(|e| CliError::Click(format!("Invalid JSON: {e}")))?;
        let Value::Object(entries) = data else {
            return Err(usage_error(
                &["state", "import"],
                format!(
                    "Invalid value for 'INPUT_FILE': expected a JSON object, got {}",
                    python_type_name(&data)
                ),
            ));
        };
        self.backend();
        let mut records = Vec::with_capacity(entries.len());
        for (state_id, entry) in entries {
            let Value::Object(mut entry) = entry else {
                return Err(CliError::Meltano(format!(
                    "'{}' object has no attribute 'get'",
                    python_type_name(&entry)
                )));
            };
            let record = StateRecord {
                completed: entry.remove("completed").unwrap_or(Value::Null),
                partial: entry.remove("partial").unwrap_or(Value::Null),
            };
            records.push((state_id, record));
        }
        let count = self.store.put_all(&records).await.map_err(store_error)?;
        self.ctx
            .printer
            .info(&format!("Successfully imported {count} state(s)."));
        Ok(ExitCode::SUCCESS)
    }

    /// `set`'s path for `copy` and `move`: the merged state of `src` as the complete state of
    /// `dst`, in this backend or in the one `to_uri` names.
    async fn set_from(&self, src: &str, dst: &str, to_uri: Option<&str>) -> CliResult<()> {
        let payload = self.read_merged(src).await?;
        validate_payload(&payload).map_err(CliError::meltano)?;
        let Some(uri) = to_uri else {
            return self.add_state(dst, payload, PayloadKind::Complete).await;
        };
        let config = meltano_state::BackendConfig {
            uri: uri.to_string(),
            ..self.config.clone()
        };
        let target = crate::state_backend::open_config(&config, self.db)?;
        self.ctx.printer.info(&target.announcement());
        if target.writes_objects() {
            self.ctx
                .printer
                .info(&format!("Writing state to {}", target.label()));
        }
        target
            .update(dst, &payload, PayloadKind::Complete)
            .await
            .map_err(store_error)
    }

    /// Meltano's `add_state`: the `runs` row of the edit, then the state itself.
    async fn add_state(&self, state_id: &str, payload: Value, kind: PayloadKind) -> CliResult<()> {
        check_payload_type(&payload, "payload").map_err(CliError::meltano)?;
        let trigger = std::env::var(env_vars::MELTANO_JOB_TRIGGER).ok();
        self.db
            .record_state_edit(state_id, &payload, kind, trigger.as_deref())
            .await
            .map_err(CliError::meltano)?;
        self.ctx.printer.debug(&format!(
            "Added to state {state_id} state payload {}",
            py_repr(&payload)
        ));
        self.backend();
        if self.store.writes_objects() {
            self.ctx
                .printer
                .info(&format!("Writing state to {}", self.store.label()));
        }
        self.store
            .update(state_id, &payload, kind)
            .await
            .map_err(store_error)
    }

    /// The state a run would start from, `{}` when there is none.
    async fn read_merged(&self, state_id: &str) -> CliResult<Value> {
        self.reading();
        let record = self.store.get(state_id).await.map_err(store_error)?;
        if record.is_none() && self.store.writes_objects() {
            self.ctx
                .printer
                .info(&format!("No state found for {state_id}."));
        }
        Ok(record.map_or_else(|| Value::Object(Map::new()), |r| r.merged()))
    }

    fn backend(&self) {
        if !self.backend_announced.replace(true) {
            self.ctx.printer.info(&self.store.announcement());
        }
    }

    fn reading(&self) {
        self.backend();
        self.ctx
            .printer
            .info(&format!("Reading state from {}", self.store.label()));
    }

    /// Asks before a destructive change unless `--force`; `Ok(false)` when the answer is no.
    fn confirm(&self, force: bool, question: &str) -> CliResult<bool> {
        if force {
            return Ok(true);
        }
        prompt::confirm(&self.ctx.printer, question)
    }

    /// Meltano's warnings for a state ID made by `meltano run` whose environment is not the
    /// active one, or whose extractor and loader are not a pair of this project with state.
    fn check_state_id(&self, state_id: &str) {
        let Some(parts) = parse_state_id(state_id) else {
            return;
        };
        let printer = &self.ctx.printer;
        match &self.environment {
            None => printer.warn(&format!(
                "Running state operation for environment '{}' outside of an environment",
                parts.environment
            )),
            Some(active) if active != parts.environment => printer.warn(&format!(
                "Environment '{}' used in state operation does not match current environment '{active}'.",
                parts.environment
            )),
            Some(_) => {}
        }
        let manifest = &self.project.manifest().manifest;
        if manifest.environment(parts.environment).is_some() {
            printer.info(&format!("Environment '{}' is active", parts.environment));
            if self.pair_has_state(parts.extractor, parts.loader) {
                return;
            }
        }
        printer.warn("No plugins found for provided state_id.");
    }

    /// Whether `extractor` and `loader` name an extractor and a loader of the project, one of
    /// which has the `state` capability (what makes Meltano's block set stateful).
    fn pair_has_state(&self, extractor: &str, loader: &str) -> bool {
        let manifest = &self.project.manifest().manifest;
        let name = |block: &str| block.split(':').next().unwrap_or(block).to_string();
        let (Some((PluginType::Extractors, tap)), Some((PluginType::Loaders, target))) = (
            manifest.find_plugin(&name(extractor), None),
            manifest.find_plugin(&name(loader), None),
        ) else {
            return false;
        };
        [(PluginType::Extractors, tap), (PluginType::Loaders, target)]
            .into_iter()
            .any(|(plugin_type, entry)| {
                crate::settings::capabilities(self.project, plugin_type, entry)
                    .iter()
                    .any(|c| c == "state")
            })
    }
}

fn store_error(error: meltano_state::StoreError) -> CliError {
    crate::state_backend::store_error(error)
}

/// Where a `set` or `merge` payload comes from.
enum Source {
    Text(String),
    StateId(String),
}

/// Exactly one of the sources, as Meltano checks them (an empty string counts as none).
fn one_source(
    state: Option<String>,
    input_file: Option<PathBuf>,
    from_state_id: Option<String>,
    names: &[&str],
) -> CliResult<Source> {
    let state = state.filter(|s| !s.is_empty());
    let from_state_id = from_state_id.filter(|s| !s.is_empty());
    let given = usize::from(state.is_some())
        + usize::from(input_file.is_some())
        + usize::from(from_state_id.is_some());
    // Meltano xors the three, so all three at once also passes; the file then wins.
    if given % 2 == 0 {
        return Err(CliError::Meltano(format!(
            "Must provide exactly one of: {}",
            names.join(",")
        )));
    }
    if let Some(path) = input_file {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Meltano(format!("Could not read {}: {e}", path.display())))?;
        return Ok(Source::Text(text));
    }
    match (state, from_state_id) {
        (Some(state), _) => Ok(Source::Text(state)),
        (None, Some(id)) => Ok(Source::StateId(id)),
        (None, None) => Err(CliError::Meltano(format!(
            "Must provide exactly one of: {}",
            names.join(",")
        ))),
    }
}

/// click's `Path(exists=True)` check of `--input-file`.
fn check_input_file(path: Option<&Path>, subcommand: &str) -> CliResult<()> {
    match path {
        Some(path) if !path.exists() => Err(usage_error(
            &["state", subcommand],
            format!(
                "Invalid value for '--input-file': Path '{}' does not exist.",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// The text of `import`'s INPUT_FILE, stdin for none or `-`, with click's error for a bad file.
fn read_import_input(path: Option<&Path>) -> CliResult<String> {
    let mut text = String::new();
    match path.filter(|p| *p != Path::new("-")) {
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(CliError::meltano)?;
        }
        Some(path) => {
            let mut file = std::fs::File::open(path).map_err(|e| {
                usage_error(
                    &["state", "import"],
                    format!(
                        "Invalid value for '[INPUT_FILE]': '{}': {}",
                        path.display(),
                        strerror(&e)
                    ),
                )
            })?;
            file.read_to_string(&mut text).map_err(|e| {
                CliError::Meltano(format!("Could not read {}: {e}", path.display()))
            })?;
        }
    }
    Ok(text)
}

/// An OS error as C's `strerror` words it (Rust's text without the ` (os error N)` suffix).
fn strerror(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Whitespace Python's `str.strip()` removes.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Now, as Meltano stamps its success messages: `%Y-%m-%d %H:%M:%S%z` in UTC.
fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%z").to_string()
}

/// click's `edit`: writes `text` to a temporary `.json` file, runs the editor on it, and returns
/// the new content, or None when the editor did not save.
fn edit_in_editor(text: &str) -> CliResult<Option<String>> {
    let editor = find_editor();
    let path = temp_file_path();
    let result = run_editor(&editor, &path, text);
    let _ = std::fs::remove_file(&path);
    result
}

fn run_editor(editor: &str, path: &Path, text: &str) -> CliResult<Option<String>> {
    let mut contents = text.to_string();
    if !contents.is_empty() && !contents.ends_with('\n') {
        contents.push('\n');
    }
    let io_error =
        |e: std::io::Error| CliError::Meltano(format!("Could not edit {}: {e}", path.display()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error)?;
    std::io::Write::write_all(&mut &file, contents.as_bytes()).map_err(io_error)?;
    // Two seconds in the past, so an editor that saves within the same second is still seen.
    let stamp = file
        .metadata()
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now())
        - Duration::from_secs(2);
    file.set_modified(stamp).map_err(io_error)?;
    drop(file);
    let stamp = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(io_error)?;

    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"{}\"", path.display()))
        .status()
        .map_err(|e| CliError::Click(format!("{editor}: Editing failed: {e}")))?;
    if !status.success() {
        return Err(CliError::Click(format!("{editor}: Editing failed")));
    }
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(io_error)?;
    if modified == stamp {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(io_error)?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|e| CliError::Meltano(format!("The edited state is not UTF-8: {e}")))?;
    Ok(Some(text.replace("\r\n", "\n")))
}

/// `$VISUAL`, `$EDITOR`, else the first of `sensible-editor`, `vim`, `nano` on `PATH`, else `vi`.
fn find_editor() -> String {
    for name in ["VISUAL", "EDITOR"] {
        if let Ok(editor) = std::env::var(name)
            && !editor.is_empty()
        {
            return editor;
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for candidate in ["sensible-editor", "vim", "nano"] {
        if std::env::split_paths(&path).any(|dir| dir.join(candidate).is_file()) {
            return candidate.to_string();
        }
    }
    "vi".to_string()
}

/// `<tmp>/editor-XXXXXXXX.json`, a name no one else has.
fn temp_file_path() -> PathBuf {
    let token = uuid::Uuid::new_v4().simple().to_string();
    std::env::temp_dir().join(format!("editor-{}.json", &token[..8]))
}
