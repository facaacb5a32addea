//! State kept in files and buckets (`state_backend.uri`): Meltano's layout, `meltano run`
//! resuming from it, every `meltano state` subcommand, and locks that keep two runs of one
//! state ID apart across project copies. S3 is moto, started by the tests on 127.0.0.1 and
//! installed into a cached venv (see `meltano_test::venv`); a test that cannot install it says
//! so and returns.

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use meltano_test::S3Server;

use crate::common::{TestDir, signal};

const STATE_ID: &str = "dev:tap-rows-to-target-file";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The moto server of this test binary, or None (after saying why) when moto cannot be installed.
#[allow(clippy::print_stderr)] // a skipped test must say so in the test output
pub fn s3() -> Option<&'static S3Server> {
    static SERVER: OnceLock<Result<S3Server, String>> = OnceLock::new();
    match SERVER.get_or_init(|| S3Server::start().map_err(|e| e.to_string())) {
        Ok(server) => Some(server),
        Err(e) => {
            eprintln!("SKIPPED: the S3 emulator (moto) is not available: {e}");
            None
        }
    }
}

/// A fresh bucket on the shared server.
pub fn bucket(server: &S3Server) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "state-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    server.create_bucket(&name).expect("create bucket");
    name
}

/// A copy of the pipeline project whose state lives at `uri`.
pub struct Project {
    pub dir: TestDir,
    env: Vec<(String, String)>,
}

impl Project {
    pub fn new(uri: &str, env: &[(&str, &str)]) -> Project {
        let mut all = vec![("MELTANO_STATE_BACKEND_URI".to_string(), uri.to_string())];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Project {
            dir: TestDir::from_fixture("pipeline"),
            env: all,
        }
    }

    pub fn s3(server: &S3Server, bucket: &str) -> Project {
        Project::new(
            &format!("s3://{bucket}/state"),
            &[
                ("MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID", "testing"),
                ("MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY", "testing"),
                ("MELTANO_STATE_BACKEND_S3_ENDPOINT_URL", &server.endpoint()),
            ],
        )
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.dir.meltano_std(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        cmd.stdin(Stdio::null()).output().expect("meltano runs")
    }

    pub fn loaded_ids(&self) -> Vec<i64> {
        std::fs::read_to_string(self.dir.path().join("out.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    }
}

fn ok(out: &Output) -> String {
    let log = stderr(out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    log
}

#[test]
fn a_file_backend_keeps_meltanos_layout_and_runs_resume_from_it() {
    let state = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", state.path().display());
    let p = Project::new(&uri, &[]);
    let log = ok(&p.run(&["run", "tap-rows", "target-file"]));
    for line in [
        "Using _LocalFilesystemStateStoreManager add-on state backend",
        "Reading state from Local Filesystem",
        "No state found for dev:tap-rows-to-target-file.",
        "Writing state to Local Filesystem",
    ] {
        assert!(log.contains(line), "{line}\n{log}");
    }
    let file = state.path().join(STATE_ID).join("state.json");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        r#"{"completed": {"singer_state": {"bookmarks": {"rows": 3}}}, "partial": {}}"#
    );
    assert!(!state.path().join(STATE_ID).join("lock").exists());
    let log = ok(&p.run_env(
        &["run", "tap-rows", "target-file"],
        &[("TAP_ROWS_ROWS", "5")],
    ));
    assert!(log.contains("tap-rows     starting after id 3"), "{log}");
    assert_eq!(p.loaded_ids(), vec![1, 2, 3, 4, 5]);
    // The system database holds the runs, not the state.
    let out = p.run_env(
        &["state", "list"],
        &[("MELTANO_STATE_BACKEND_URI", "systemdb")],
    );
    ok(&out);
    assert_eq!(stdout(&out), "");
}

#[test]
fn an_s3_backend_keeps_meltanos_layout_and_runs_resume_from_it() {
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    let p = Project::s3(server, &bucket);
    let log = ok(&p.run(&["run", "tap-rows", "target-file"]));
    for line in [
        "Using S3StateStoreManager add-on state backend",
        "Reading state from AWS S3",
        "No state found for dev:tap-rows-to-target-file.",
        "Writing state to AWS S3",
    ] {
        assert!(log.contains(line), "{line}\n{log}");
    }
    let key = format!("state/{STATE_ID}/state.json");
    assert_eq!(
        server.get_object(&bucket, &key).unwrap().as_deref(),
        Some(r#"{"completed": {"singer_state": {"bookmarks": {"rows": 3}}}, "partial": {}}"#)
    );
    assert_eq!(
        server
            .get_object(&bucket, &format!("state/{STATE_ID}/lock"))
            .unwrap(),
        None
    );
    let log = ok(&p.run_env(
        &["run", "tap-rows", "target-file"],
        &[("TAP_ROWS_ROWS", "5")],
    ));
    assert!(log.contains("tap-rows     starting after id 3"), "{log}");
    assert_eq!(p.loaded_ids(), vec![1, 2, 3, 4, 5]);
    // A merge strategy leaves partial state beside the complete one, as Meltano does.
    ok(&p.run_env(
        &[
            "run",
            "--state-strategy",
            "merge",
            "tap-rows",
            "target-file",
        ],
        &[("TAP_ROWS_ROWS", "6")],
    ));
    assert_eq!(
        server.get_object(&bucket, &key).unwrap().as_deref(),
        Some(
            r#"{"completed": {"singer_state": {"bookmarks": {"rows": 5}}}, "partial": {"singer_state": {"bookmarks": {"rows": 6}}}}"#
        )
    );
    let out = p.run(&["state", "get", STATE_ID]);
    ok(&out);
    assert_eq!(
        stdout(&out),
        "{\"singer_state\":{\"bookmarks\":{\"rows\":6}}}\n"
    );
}

/// Every `meltano state` subcommand against one backend.
fn state_subcommands(p: &Project, read_raw: &dyn Fn(&str) -> Option<String>) {
    let id = "dev:tap-rows-to-target-file";
    ok(&p.run(&[
        "state",
        "set",
        "--force",
        id,
        r#"{"singer_state": {"a": 1, "u": "é"}}"#,
    ]));
    ok(&p.run(&["state", "merge", id, r#"{"singer_state": {"b": 2}}"#]));
    assert_eq!(
        read_raw(id).as_deref(),
        Some(
            r#"{"completed": {"singer_state": {"a": 1, "u": "\u00e9"}}, "partial": {"singer_state": {"b": 2}}}"#
        )
    );
    let out = p.run(&["state", "get", id]);
    ok(&out);
    assert_eq!(
        stdout(&out),
        "{\"singer_state\":{\"a\":1,\"u\":\"\\u00e9\",\"b\":2}}\n"
    );
    ok(&p.run(&["state", "copy", "--force", id, "prod:x-to-y"]));
    ok(&p.run(&["state", "move", "--force", "prod:x-to-y", "prod:moved"]));
    assert_eq!(read_raw("prod:x-to-y"), None);
    assert_eq!(
        read_raw("prod:moved").as_deref(),
        Some(r#"{"completed": {"singer_state": {"a": 1, "u": "\u00e9", "b": 2}}, "partial": {}}"#)
    );
    let out = p.run(&["state", "list"]);
    ok(&out);
    assert_eq!(stdout(&out), format!("{id}\nprod:moved\n"));
    let out = p.run(&["state", "list", "--pattern", "prod:*"]);
    assert_eq!(stdout(&out), "prod:moved\n");
    let out = p.run(&["state", "export"]);
    ok(&out);
    let export = stdout(&out);
    assert!(
        export.contains("\"prod:moved\":{\"completed\":"),
        "{export}"
    );
    ok(&p.run(&["state", "clear", "--force", "--all"]));
    assert_eq!(stdout(&p.run(&["state", "list"])), "");
    let out = p.run_with_stdin(&["state", "import"], &export);
    assert!(
        stderr(&out).contains("Successfully imported 2 state(s)."),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&p.run(&["state", "list"])),
        format!("{id}\nprod:moved\n")
    );
    ok(&p.run(&["state", "clear", "--force", id]));
    assert_eq!(read_raw(id), None);
    let out = p.run(&["state", "get", id]);
    assert_eq!(stdout(&out), "{}\n");
    assert!(stderr(&out).contains(&format!("No state found for {id}.")));
}

impl Project {
    fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

#[test]
fn every_state_subcommand_works_on_a_file_backend() {
    let state = tempfile::tempdir().unwrap();
    let p = Project::new(&format!("file://{}", state.path().display()), &[]);
    let root = state.path().to_path_buf();
    state_subcommands(&p, &|id| {
        std::fs::read_to_string(root.join(id).join("state.json")).ok()
    });
}

#[test]
fn every_state_subcommand_works_on_an_s3_backend() {
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    let p = Project::s3(server, &bucket);
    state_subcommands(&p, &|id| {
        server
            .get_object(&bucket, &format!("state/{id}/state.json"))
            .unwrap()
    });
}

/// Starts `meltano run` in each project at the same moment; returns their outputs.
fn race(projects: &[&Project], env: &[(&str, &str)]) -> Vec<Output> {
    let barrier = std::sync::Barrier::new(projects.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = projects
            .iter()
            .map(|p| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut cmd = p.command(&["run", "tap-rows", "target-file"]);
                    cmd.envs(env.iter().copied()).stdin(Stdio::null());
                    barrier.wait();
                    cmd.output().expect("meltano runs")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Exactly one of two runs racing for one state ID runs; the other refuses, naming the lock.
fn assert_one_winner(outputs: &[Output], round: usize) {
    let winners = outputs.iter().filter(|o| o.status.success()).count();
    let logs: Vec<String> = outputs.iter().map(stderr).collect();
    assert_eq!(winners, 1, "round {round}: {logs:#?}");
    let loser = logs
        .iter()
        .zip(outputs)
        .find(|(_, o)| !o.status.success())
        .map(|(l, _)| l.clone())
        .unwrap_or_default();
    assert!(
        loser.contains(&format!("The state ID '{STATE_ID}' is locked in")),
        "round {round}: {loser}"
    );
    assert!(loser.contains("'--force'"), "{loser}");
}

/// Makes a run take long enough (0.3 s of extraction) that the loser always tries while the
/// winner holds the lock; without it one run could end before the other starts.
const OVERLAP: &[(&str, &str)] = &[("TAP_SLEEP", "0.1")];

/// How many times each race is run (`MELTANO_TEST_LOCK_ROUNDS`, 50 by default).
fn rounds() -> usize {
    std::env::var("MELTANO_TEST_LOCK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

#[test]
#[allow(clippy::print_stderr)] // the time the races took, for the record
fn two_project_copies_sharing_a_bucket_never_run_one_state_id_twice() {
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    let a = Project::s3(server, &bucket);
    let b = Project::s3(server, &bucket);
    let started = Instant::now();
    for round in 0..rounds() {
        let outputs = race(&[&a, &b], OVERLAP);
        assert_one_winner(&outputs, round);
    }
    eprintln!("{} S3 lock races in {:?}", rounds(), started.elapsed());
    // Both copies loaded in turn without ever overlapping: every row once per winning run.
    let total = a.loaded_ids().len() + b.loaded_ids().len();
    assert_eq!(total, 3, "only the first winner had rows to load");
}

#[test]
fn two_project_copies_sharing_a_directory_never_run_one_state_id_twice() {
    let state = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", state.path().display());
    let a = Project::new(&uri, &[]);
    let b = Project::new(&uri, &[]);
    for round in 0..rounds() {
        let outputs = race(&[&a, &b], OVERLAP);
        assert_one_winner(&outputs, round);
    }
}

#[test]
fn a_killed_holder_blocks_the_next_run_only_until_its_lock_expires() {
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    let env = [("MELTANO_STATE_BACKEND_LOCK_TIMEOUT_SECONDS", "3")];
    let p = Project::s3(server, &bucket);
    // Another machine: its own system database, so only the bucket's lock can stop it.
    let other = Project::s3(server, &bucket);
    let mut holder = p.command(&["run", "tap-rows", "target-file"]);
    holder
        .envs(env)
        .env("TAP_SLEEP", "0.5")
        .env("TAP_ROWS_ROWS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut holder = holder.spawn().unwrap();
    let lock = format!("state/{STATE_ID}/lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get_object(&bucket, &lock).unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run never took its lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Renewed while it runs: still refused after the timeout has passed once.
    std::thread::sleep(Duration::from_secs(4));
    let out = other.run_env(&["run", "tap-rows", "target-file"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is locked in s3://"),
        "{}",
        stderr(&out)
    );

    signal(&holder, "KILL");
    let killed_at = Instant::now();
    let _ = holder.wait();
    // Its plugins go on in their own process group until their input ends; irrelevant here.
    let out = other.run_env(&["run", "tap-rows", "target-file"], &env);
    assert_eq!(
        out.status.code(),
        Some(1),
        "refused while the dead lock is fresh"
    );
    std::thread::sleep(
        Duration::from_secs(3).saturating_sub(killed_at.elapsed()) + Duration::from_millis(300),
    );
    let log = ok(&other.run_env(&["run", "tap-rows", "target-file"], &env));
    // It resumes from the last state the killed run stored.
    assert!(!log.contains("starting after id 0"), "{log}");
}

/// Meltano 4.4.1 itself (`meltano[s3]`), or None (after saying why) when it cannot be installed.
#[allow(clippy::print_stderr)] // a skipped test must say so in the test output
fn python_meltano() -> Option<std::path::PathBuf> {
    static BIN: OnceLock<Result<std::path::PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        meltano_test::venv::python_with("meltano-4.4.1", &["meltano[s3]==4.4.1"])
            .map(|python| python.with_file_name("meltano"))
            .map_err(|e| e.to_string())
    });
    match found {
        Ok(bin) => Some(bin.clone()),
        Err(e) => {
            eprintln!("SKIPPED: Meltano 4.4.1 could not be installed from PyPI: {e}");
            None
        }
    }
}

impl Project {
    /// Runs Python Meltano 4.4.1 in this project, with the same backend settings.
    fn run_python(&self, bin: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(bin);
        for (key, _) in std::env::vars() {
            if key.starts_with("MELTANO_") {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("Python meltano runs")
    }
}

/// Two copies of the project, one run by Meltano 4.4.1 and one by us, sharing one backend:
/// each resumes from the bookmark the other stored, and each reads what the other wrote.
fn resumes_across_tools(python: &std::path::Path, theirs: &Project, ours: &Project) {
    let run = ["run", "tap-rows", "target-file"];
    let out = theirs.run_python(python, &run, &[]);
    assert!(out.status.success(), "Meltano 4.4.1: {}", stderr(&out));
    let log = ok(&ours.run_env(&run, &[("TAP_ROWS_ROWS", "5")]));
    assert!(log.contains("tap-rows     starting after id 3"), "{log}");
    assert_eq!(ours.loaded_ids(), vec![4, 5]);

    let out = theirs.run_python(python, &run, &[("TAP_ROWS_ROWS", "7")]);
    let log = stderr(&out);
    assert!(out.status.success(), "Meltano 4.4.1: {log}");
    assert!(log.contains("starting after id 5"), "Meltano 4.4.1: {log}");
    assert_eq!(theirs.loaded_ids(), vec![1, 2, 3, 6, 7]);

    // `state` edits by either tool are read by the other.
    ok(&ours.run(&[
        "state",
        "merge",
        STATE_ID,
        r#"{"singer_state": {"ours": "é"}}"#,
    ]));
    let out = theirs.run_python(python, &["state", "get", STATE_ID], &[]);
    assert_eq!(
        stdout(&out),
        "{\"singer_state\":{\"bookmarks\":{\"rows\":7},\"ours\":\"\\u00e9\"}}\n",
        "{}",
        stderr(&out)
    );
    let out = theirs.run_python(
        python,
        &[
            "state",
            "set",
            "--force",
            "other:id",
            r#"{"singer_state": {"theirs": 1}}"#,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ours.run(&["state", "list"]);
    assert_eq!(stdout(&out), format!("{STATE_ID}\nother:id\n"));
    let out = ours.run(&["state", "get", "other:id"]);
    assert_eq!(stdout(&out), "{\"singer_state\":{\"theirs\":1}}\n");
}

#[test]
fn meltano_4_4_1_and_we_share_a_state_directory() {
    let Some(python) = python_meltano() else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", state.path().display());
    resumes_across_tools(&python, &Project::new(&uri, &[]), &Project::new(&uri, &[]));
}

#[test]
fn meltano_4_4_1_and_we_share_a_bucket() {
    let Some(python) = python_meltano() else {
        return;
    };
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    resumes_across_tools(
        &python,
        &Project::s3(server, &bucket),
        &Project::s3(server, &bucket),
    );
}

/// A project whose S3 endpoint is a [`FaultProxy`] in front of the shared moto.
fn behind_proxy(server: &S3Server) -> (Project, meltano_test::FaultProxy, String) {
    let bucket = bucket(server);
    let proxy = meltano_test::FaultProxy::start(server.port()).expect("proxy starts");
    let p = Project::new(
        &format!("s3://{bucket}/state"),
        &[
            ("MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID", "testing"),
            ("MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY", "hunter2"),
            ("MELTANO_STATE_BACKEND_S3_ENDPOINT_URL", &proxy.endpoint()),
        ],
    );
    (p, proxy, bucket)
}

#[test]
fn a_store_that_fails_at_the_start_stops_the_run_naming_backend_and_state_id() {
    use meltano_test::Fault;
    let Some(server) = s3() else { return };
    let (p, proxy, bucket) = behind_proxy(server);
    for (fault, words) in [
        (Fault::Drop, "Could not lock the state of"),
        (Fault::ServerError, "Could not lock the state of"),
        (Fault::Forbidden, "refused to lock the state of"),
    ] {
        proxy.set(fault);
        let out = p.run(&["run", "tap-rows", "target-file"]);
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{fault:?}: {log}");
        assert!(log.contains(words), "{fault:?}: {log}");
        assert!(log.contains(&format!("'{STATE_ID}'")), "{log}");
        assert!(log.contains(&format!("s3://{bucket}/state")), "{log}");
        assert!(!log.contains("hunter2"), "{log}");
        assert!(!log.contains("starting after"), "nothing ran: {log}");
    }
    proxy.set(Fault::None);
    ok(&p.run(&["run", "tap-rows", "target-file"]));
}

/// Waits until the state object of the pipeline holds the bookmark `rows`.
fn wait_for_bookmark(server: &S3Server, bucket: &str, rows: i64) {
    let key = format!("state/{STATE_ID}/state.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = server.get_object(bucket, &key).unwrap().unwrap_or_default();
        if text.contains(&format!("\"rows\": {rows}}}")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bookmark {rows} never stored: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn states_confirmed_while_the_store_is_down_are_written_when_it_answers_again() {
    use meltano_test::Fault;
    let Some(server) = s3() else { return };
    let (p, proxy, bucket) = behind_proxy(server);
    let mut run = p.command(&["run", "tap-rows", "target-file"]);
    run.env("TAP_SLEEP", "0.2")
        .env("TAP_ROWS_ROWS", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let run = run.spawn().unwrap();
    wait_for_bookmark(server, &bucket, 1);
    proxy.set(Fault::ServerError);
    std::thread::sleep(Duration::from_millis(1200));
    proxy.set(Fault::Drop);
    std::thread::sleep(Duration::from_millis(600));
    proxy.set(Fault::None);
    let out = run.wait_with_output().unwrap();
    let log = ok(&out);
    assert!(
        log.contains(&format!(
            "Could not write the state of '{STATE_ID}' yet, retrying"
        )),
        "{log}"
    );
    assert!(!log.contains("hunter2"), "{log}");
    wait_for_bookmark(server, &bucket, 10);
}

#[test]
fn a_state_the_store_refuses_at_the_end_is_kept_and_written_by_the_next_run() {
    use meltano_test::Fault;
    let Some(server) = s3() else { return };
    let (p, proxy, bucket) = behind_proxy(server);
    let mut run = p.command(&["run", "tap-rows", "target-file"]);
    run.env("TAP_SLEEP", "0.3")
        .env("TAP_ROWS_ROWS", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let run = run.spawn().unwrap();
    wait_for_bookmark(server, &bucket, 1);
    proxy.set(Fault::ServerError);
    let out = run.wait_with_output().unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "Could not store the state confirmed by the loader for '{STATE_ID}'"
        )),
        "{log}"
    );
    assert!(log.contains(&format!("s3://{bucket}/state")), "{log}");
    assert!(
        log.contains("the next run of this state ID in this project writes it first"),
        "{log}"
    );
    assert!(!log.contains("hunter2"), "{log}");
    let kept = p.dir.path().join(".meltano/run/pending-state");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1);

    // The store answers again: the next run writes the kept state first and resumes from it.
    proxy.set(Fault::None);
    let log = ok(&p.run_env(
        &["run", "tap-rows", "target-file"],
        &[("TAP_ROWS_ROWS", "6")],
    ));
    assert!(
        log.contains("Wrote the state an earlier run could not store"),
        "{log}"
    );
    assert!(log.contains("tap-rows     starting after id 4"), "{log}");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 0);
    wait_for_bookmark(server, &bucket, 6);
}

#[test]
fn s3_credentials_come_from_the_uri_the_environment_or_the_shared_file_and_stay_secret() {
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    let endpoint = server.endpoint();
    // In the URI.
    let p = Project::new(
        &format!("s3://AKIAURI:uri-secret@{bucket}/state"),
        &[("MELTANO_STATE_BACKEND_S3_ENDPOINT_URL", &endpoint)],
    );
    let log = ok(&p.run(&[
        "state",
        "set",
        "--force",
        "a",
        r#"{"singer_state": {"n": 1}}"#,
    ]));
    assert!(log.contains("Writing state to AWS S3"), "{log}");
    assert!(
        !log.contains("uri-secret") && !log.contains("AKIAURI"),
        "{log}"
    );
    // The AWS environment, endpoint included.
    let p = Project::new(&format!("s3://{bucket}/state"), &[]);
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAENV"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    let out = p.run_env(&["state", "get", "a"], &env);
    ok(&out);
    assert_eq!(stdout(&out), "{\"singer_state\":{\"n\":1}}\n");
    // The shared credentials file, profile from AWS_PROFILE.
    let file = p.dir.path().join("aws-credentials");
    std::fs::write(
        &file,
        "[default]\naws_access_key_id = nope\n[ci]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", file.as_str()),
        ("AWS_PROFILE", "ci"),
        ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
    ];
    let out = p.run_env(&["state", "list"], &env);
    ok(&out);
    assert_eq!(stdout(&out), "a\n");
    // One half of a key pair is Meltano's error.
    let out = p.run_env(
        &["state", "list"],
        &[("MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID", "AKIAHALF")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("AWS access key ID configured, but no AWS secret access key."),
        "{}",
        stderr(&out)
    );
}

/// The Azurite server of this test binary, or None (after saying why) when it cannot be installed.
#[allow(clippy::print_stderr)] // a skipped test must say so in the test output
fn azurite() -> Option<&'static meltano_test::AzuriteServer> {
    static SERVER: OnceLock<Result<meltano_test::AzuriteServer, String>> = OnceLock::new();
    match SERVER.get_or_init(|| meltano_test::AzuriteServer::start().map_err(|e| e.to_string())) {
        Ok(server) => Some(server),
        Err(e) => {
            eprintln!("SKIPPED: the Azure emulator (Azurite) is not available: {e}");
            None
        }
    }
}

/// A fresh container on the shared Azurite and a project keeping its state there.
fn azure_project(server: &meltano_test::AzuriteServer) -> (Project, String) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let container = format!(
        "state-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    server
        .create_container(&container)
        .expect("create container");
    let p = Project::new(
        &format!("azure://{container}/state"),
        &[(
            "MELTANO_STATE_BACKEND_AZURE_CONNECTION_STRING",
            &server.connection_string(),
        )],
    );
    (p, container)
}

#[test]
fn an_azure_backend_keeps_meltanos_layout_and_every_state_subcommand_works() {
    let Some(server) = azurite() else { return };
    let (p, container) = azure_project(server);
    let log = ok(&p.run(&["run", "tap-rows", "target-file"]));
    for line in [
        "Using AZStorageStateStoreManager add-on state backend",
        "Reading state from Azure Blob Storage",
        "Writing state to Azure Blob Storage",
    ] {
        assert!(log.contains(line), "{line}\n{log}");
    }
    assert!(!log.contains(server.account_key()), "{log}");
    assert_eq!(
        server
            .get_blob(&container, &format!("state/{STATE_ID}/state.json"))
            .unwrap()
            .as_deref(),
        Some(r#"{"completed": {"singer_state": {"bookmarks": {"rows": 3}}}, "partial": {}}"#)
    );
    let log = ok(&p.run_env(
        &["run", "tap-rows", "target-file"],
        &[("TAP_ROWS_ROWS", "5")],
    ));
    assert!(log.contains("tap-rows     starting after id 3"), "{log}");
    ok(&p.run(&["state", "clear", "--force", "--all"]));
    state_subcommands(&p, &|id| {
        server
            .get_blob(&container, &format!("state/{id}/state.json"))
            .unwrap()
    });
}

#[test]
fn two_project_copies_sharing_an_azure_container_never_run_one_state_id_twice() {
    let Some(server) = azurite() else { return };
    let (a, container) = azure_project(server);
    let b = Project::new(
        &format!("azure://{container}/state"),
        &[(
            "MELTANO_STATE_BACKEND_AZURE_CONNECTION_STRING",
            &server.connection_string(),
        )],
    );
    for round in 0..rounds().min(20) {
        let outputs = race(&[&a, &b], OVERLAP);
        assert_one_winner(&outputs, round);
    }
}

#[test]
fn state_copy_and_move_can_take_state_from_one_backend_to_another() {
    let Some(server) = s3() else { return };
    let bucket = bucket(server);
    // The project keeps its state in the system database; the team moves it into a bucket.
    let p = Project::new(
        "systemdb",
        &[
            ("MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID", "testing"),
            ("MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY", "testing"),
            ("MELTANO_STATE_BACKEND_S3_ENDPOINT_URL", &server.endpoint()),
        ],
    );
    ok(&p.run(&["run", "tap-rows", "target-file"]));
    let to = format!("s3://{bucket}/state");
    ok(&p.run(&[
        "state", "copy", "--force", "--to-uri", &to, STATE_ID, STATE_ID,
    ]));
    assert_eq!(
        server
            .get_object(&bucket, &format!("state/{STATE_ID}/state.json"))
            .unwrap()
            .as_deref(),
        Some(r#"{"completed": {"singer_state": {"bookmarks": {"rows": 3}}}, "partial": {}}"#)
    );
    ok(&p.run(&[
        "state",
        "move",
        "--force",
        "--to-uri",
        &to,
        STATE_ID,
        "prod:moved",
    ]));
    assert_eq!(
        stdout(&p.run(&["state", "list"])),
        "",
        "moved out of the database"
    );
    // Switched to the bucket, the project's next run resumes from the copied bookmark.
    let log = ok(&p.run_env(
        &["run", "tap-rows", "target-file"],
        &[("MELTANO_STATE_BACKEND_URI", &to), ("TAP_ROWS_ROWS", "4")],
    ));
    assert!(log.contains("tap-rows     starting after id 3"), "{log}");
    let out = p.run_env(&["state", "list"], &[("MELTANO_STATE_BACKEND_URI", &to)]);
    assert_eq!(stdout(&out), format!("{STATE_ID}\nprod:moved\n"));
}
