//! `meltano run` and `meltano el` with real Singer processes (small Python scripts in
//! tests/fixtures/pipeline): records, incremental state in the system database, run history,
//! run logs, and failures of every kind without losing a confirmed state.

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::any::AnyPoolOptions;

use crate::common::{TestDir, signal};
use crate::snapshot;

/// A copy of the pipeline fixture project.
fn project() -> TestDir {
    TestDir::from_fixture("pipeline")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Rows of `sql` (every column cast to text by the query) from the project's SQLite database.
fn query(dir: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    query_uri(&sqlite_uri(dir), sql).unwrap()
}

/// Like [`query`], but nothing (rather than a panic) while the database is not there yet.
fn try_query(dir: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    query_uri(&sqlite_uri(dir), sql).unwrap_or_default()
}

fn sqlite_uri(dir: &Path) -> String {
    format!("sqlite://{}", dir.join(".meltano/meltano.db").display())
}

fn query_uri(uri: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
    block_on(async {
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(uri)
            .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&pool)
            .await;
        pool.close().await;
        rows?
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<Option<String>, _>(i))
                    .collect()
            })
            .collect()
    })
}

/// The stored (complete) singer state of a state ID.
fn stored_state(dir: &Path, state_id: &str) -> Option<serde_json::Value> {
    let rows = try_query(
        dir,
        &format!("SELECT completed_state FROM state WHERE state_id = '{state_id}'"),
    );
    let text = rows.first()?.first()?.clone()?;
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value.get("singer_state").cloned()
}

fn bookmark(dir: &Path, state_id: &str) -> Option<i64> {
    stored_state(dir, state_id)?
        .pointer("/bookmarks/rows")
        .and_then(serde_json::Value::as_i64)
}

/// The ids written by the loader, in order.
fn loaded_ids(dir: &Path, file: &str) -> Vec<i64> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

fn runs(dir: &Path) -> Vec<(String, String, String)> {
    query(
        dir,
        "SELECT job_name, state, COALESCE(payload, '') FROM runs ORDER BY id",
    )
    .into_iter()
    .map(|r| {
        (
            r[0].clone().unwrap_or_default(),
            r[1].clone().unwrap_or_default(),
            r[2].clone().unwrap_or_default(),
        )
    })
    .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const STATE_ID: &str = "dev:tap-rows-to-target-file";

#[test]
fn a_run_loads_records_and_the_next_run_resumes_from_its_state() {
    let t = project();
    let first = t.run(&["run", "tap-rows", "target-file"]);
    let log = stderr(&first);
    assert_eq!(first.status.code(), Some(0), "{log}");
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![1, 2, 3]);
    assert_eq!(bookmark(t.path(), STATE_ID), Some(3));
    assert!(log.contains("Running job with name 'dev:tap-rows-to-target-file' and run ID"));
    assert!(
        log.contains("No state was found, complete import."),
        "{log}"
    );
    assert!(log.contains("tap-rows     starting after id 0"), "{log}");
    assert!(
        log.contains("target-file  target-file: wrote 3 records"),
        "{log}"
    );
    assert!(log.contains("Loaded 3 records into stream 'rows'"), "{log}");
    assert!(log.contains("Incremental state has been updated at"));
    assert!(log.contains("Block run completed") && log.contains("Run completed"));

    // More rows at the source: the next run starts after the bookmark.
    let second = t
        .meltano(&["run", "tap-rows", "target-file"])
        .env("TAP_ROWS_ROWS", "5")
        .output()
        .unwrap();
    let log = stderr(&second);
    assert_eq!(second.status.code(), Some(0), "{log}");
    assert!(log.contains("tap-rows     starting after id 3"), "{log}");
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![1, 2, 3, 4, 5]);
    assert_eq!(bookmark(t.path(), STATE_ID), Some(5));

    let history = runs(t.path());
    assert_eq!(history.len(), 2);
    for (name, state, payload) in &history {
        assert_eq!(name, STATE_ID);
        assert_eq!(state, "SUCCESS");
        assert!(payload.contains("singer_state"), "{payload}");
    }
    // Each run's log holds Meltano's lines and the plugins' stderr.
    let logs = t
        .path()
        .join(".meltano/logs/elt/devtap-rows-to-target-file");
    let dirs: Vec<_> = std::fs::read_dir(&logs).unwrap().flatten().collect();
    assert_eq!(dirs.len(), 2);
    let text = std::fs::read_to_string(dirs[0].path().join("elt.log")).unwrap();
    assert!(text.contains("] tap-rows     starting after id"), "{text}");
    assert!(
        text.contains("] meltano      Block run completed"),
        "{text}"
    );
    // Config files with secrets are gone; the catalog stays.
    let run_dir = t.path().join(".meltano/run/tap-rows");
    let leftovers: Vec<String> = std::fs::read_dir(run_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".config.json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn full_refresh_ignores_state_and_environments_prefix_state_ids() {
    let t = project();
    assert_eq!(
        t.run(&["run", "tap-rows", "target-file"]).status.code(),
        Some(0)
    );
    let out = t.run(&["run", "--full-refresh", "tap-rows", "target-file"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("Performing full refresh, ignoring state left behind by any previous runs.")
    );
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![1, 2, 3, 1, 2, 3]);

    let out = t.run(&[
        "--environment",
        "prod",
        "run",
        "--state-id-suffix",
        "nightly",
        "tap-rows",
        "target-file",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(loaded_ids(t.path(), "prod.jsonl"), vec![1, 2, 3]);
    assert_eq!(
        bookmark(t.path(), "prod:tap-rows-to-target-file:nightly"),
        Some(3)
    );

    // Without state updates nothing is read or written.
    let out = t.run(&["run", "--no-state-update", "tap-rows", "target-file"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(loaded_ids(t.path(), "out.jsonl").len(), 9);
    assert_eq!(runs(t.path()).len(), 3);
}

#[test]
fn mappings_commands_and_jobs_run_in_order() {
    let t = project();
    let out = t.run(&["run", "tap-rows", "upper", "target-file", "util:hello"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let text = std::fs::read_to_string(t.path().join("out.jsonl")).unwrap();
    assert!(text.contains("\"ROW 1\""), "{text}");
    assert!(log.contains("util         hello out"), "{log}");
    assert!(log.contains("util         hello err"), "{log}");

    let out = t.run(&["run", "daily"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("util         hello out"));

    let out = t.run(&["run", "util:fail", "tap-rows", "target-file"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("`util fail` failed with exit code: 2"),
        "{log}"
    );
    // The failing block aborted the run: the pipeline after it never ran.
    assert_eq!(runs(t.path()).len(), 2);
}

#[test]
fn malformed_block_sets_are_refused() {
    let t = project();
    for (name, args) in [
        ("run_unknown_block", vec!["run", "tap-nope"]),
        ("run_loader_missing", vec!["run", "tap-rows"]),
        ("run_loader_first", vec!["run", "target-file", "tap-rows"]),
        (
            "run_mapper_by_plugin_name",
            vec!["run", "tap-rows", "mapper-upper", "target-file"],
        ),
        (
            "run_bad_run_id",
            vec!["run", "--run-id", "nope", "tap-rows", "target-file"],
        ),
        (
            "run_dry",
            vec!["run", "--dry-run", "daily", "tap-rows", "target-file"],
        ),
        (
            "run_no_environment",
            vec!["--no-environment", "run", "tap-rows", "target-file"],
        ),
    ] {
        let out = t.run(&args);
        snapshot!(name, out, t.path());
    }
    assert!(runs(t.path()).is_empty());
}

#[test]
fn a_failing_extractor_keeps_the_states_its_records_confirmed() {
    let t = project();
    let out = t
        .meltano(&["run", "tap-rows", "target-file"])
        .env("TAP_FAIL_AFTER", "2")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("[error    ] meltano      Extractor failed"),
        "{log}"
    );
    assert!(
        log.contains("Extractor 'tap-rows' exited with code 3. Its last lines on stderr:"),
        "{log}"
    );
    assert!(log.contains("    tap-rows: source went away"), "{log}");
    assert!(log.contains("The run log is at "), "{log}");
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![1, 2]);
    assert_eq!(bookmark(t.path(), STATE_ID), Some(2));
    let history = runs(t.path());
    assert_eq!(history[0].1, "FAIL");
    assert!(
        history[0].2.contains("\"error\": \"Extractor failed\""),
        "{:?}",
        history
    );
}

#[test]
fn a_failing_loader_fails_the_run_and_keeps_confirmed_states() {
    let t = project();
    let out = t
        .meltano(&["run", "tap-rows", "target-file"])
        .env("TARGET_FAIL_AFTER", "1")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Loader failed"), "{log}");
    assert!(
        log.contains("Loader 'target-file' exited with code 5."),
        "{log}"
    );
    assert_eq!(bookmark(t.path(), STATE_ID), Some(1));
    assert_eq!(runs(t.path())[0].1, "FAIL");
}

#[test]
fn a_loader_that_stops_reading_early_fails_the_run_and_keeps_the_bookmark() {
    let t = project();
    let out = t.run(&["run", "tap-rows", "target-file"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(bookmark(t.path(), STATE_ID), Some(3));

    // Meltano calls this a success; here it fails, says so, and the bookmark stays where it was.
    let out = t
        .meltano(&["run", "tap-rows", "target-file"])
        .env("TAP_ROWS_ROWS", "100000")
        .env("TARGET_STOP_AFTER", "2")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("Loader 'target-file' exited before reading all of the extractor's output"),
        "{log}"
    );
    // The extractor was ended: it did not produce its 100,000 rows.
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![1, 2, 3, 4, 5]);
    assert_eq!(bookmark(t.path(), STATE_ID), Some(3));
    assert_eq!(runs(t.path()).last().unwrap().1, "FAIL");
}

/// Starts `meltano run` in the background with a slow extractor.
fn slow_run(t: &TestDir, extra: &[&str]) -> Child {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend(["tap-rows", "target-file"]);
    t.meltano_std(&args)
        .env("TAP_ROWS_ROWS", "1000")
        .env("TAP_SLEEP", "0.05")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the loader has confirmed at least `n` states.
fn wait_for_bookmark(t: &TestDir, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while bookmark(t.path(), STATE_ID).unwrap_or(0) < n {
        assert!(Instant::now() < deadline, "no state confirmed in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_drains_the_pipeline_and_keeps_the_last_confirmed_state() {
    let t = project();
    let child = slow_run(&t, &[]);
    wait_for_bookmark(&t, 3);
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(143), "{log}");
    assert!(log.contains("The process was terminated"), "{log}");
    // Everything the loader wrote was confirmed, and the last confirmation was stored.
    let ids = loaded_ids(t.path(), "out.jsonl");
    assert_eq!(bookmark(t.path(), STATE_ID), ids.last().copied());
    let history = runs(t.path());
    assert_eq!(history[0].1, "FAIL");
    assert!(
        history[0].2.contains("The process was terminated"),
        "{history:?}"
    );
}

#[test]
fn a_timeout_stops_the_run_gracefully() {
    let t = project();
    let out = slow_run(&t, &["--timeout", "2"])
        .wait_with_output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Run timed out"), "{log}");
    // Stopped long before the end, with every loaded record's state confirmed.
    let ids = loaded_ids(t.path(), "out.jsonl");
    assert!(ids.len() < 1000, "{}", ids.len());
    assert_eq!(bookmark(t.path(), STATE_ID), ids.last().copied());
    assert_eq!(runs(t.path())[0].1, "FAIL");
}

#[test]
fn sigkill_loses_no_confirmed_state_and_the_dead_run_is_detected() {
    let t = project();
    let mut child = slow_run(&t, &[]);
    wait_for_bookmark(&t, 3);
    signal(&child, "KILL");
    let _ = child.wait();
    // Every stored bookmark was confirmed by the loader, so its records are in the file.
    let stored = bookmark(t.path(), STATE_ID).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let ids = loaded_ids(t.path(), "out.jsonl");
    assert!(ids.contains(&stored), "{stored} not in {ids:?}");
    assert_eq!(runs(t.path())[0].1, "RUNNING");

    // The killed run still holds the state ID while its heartbeat is fresh.
    let out = t.run(&["run", "tap-rows", "target-file"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "Another 'dev:tap-rows-to-target-file' pipeline is already running which started at"
        ),
        "{log}"
    );

    // Once its heartbeat is old it is marked dead, and the next run resumes from the state.
    query(
        t.path(),
        "UPDATE runs SET last_heartbeat_at = '2020-01-01 00:00:00.000000' WHERE state = 'RUNNING'",
    );
    let out = t
        .meltano(&["run", "tap-rows", "target-file"])
        .env("TAP_ROWS_ROWS", "20")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Marked stale run that started at"), "{log}");
    assert!(
        log.contains(&format!("starting after id {stored}")),
        "{log}"
    );
    let history = runs(t.path());
    assert_eq!(history[0].1, "DEAD");
    assert!(history[0].2.contains("No heartbeat recorded for 5 minutes"));
    let mut ids = loaded_ids(t.path(), "out.jsonl");
    ids.dedup();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
}

#[test]
fn force_runs_beside_a_live_run() {
    let t = project();
    let mut child = slow_run(&t, &[]);
    wait_for_bookmark(&t, 1);
    let out = t.run(&["run", "--force", "tap-rows", "target-file"]);
    signal(&child, "TERM");
    let _ = child.wait();
    let log = stderr(&out);
    assert!(
        log.contains("Force option is enabled, ignoring stale job check."),
        "{log}"
    );
}

#[test]
fn el_uses_its_state_id_or_an_ephemeral_one() {
    let t = project();
    let out = t.run(&["el", "tap-rows", "target-file", "--state-id", "nightly"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Running extract & load..."), "{log}");
    assert!(log.contains("Extract & load complete!"), "{log}");
    assert_eq!(bookmark(t.path(), "nightly"), Some(3));

    let out = t.run(&["el", "tap-rows", "target-file"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("No state ID provided. Using an ephemeral state ID '"),
        "{log}"
    );

    let out = t.run(&[
        "el",
        "tap-rows",
        "target-file",
        "--state-id",
        "nightly",
        "--dump",
        "state",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dumped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dumped, serde_json::json!({"bookmarks": {"rows": 3}}));

    let out = t.run(&["el", "tap-rows", "target-file", "--dump", "loader-config"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "{\n  \"path\": \"out.jsonl\"\n}"
    );

    let out = t
        .meltano(&["el", "tap-rows", "target-file", "--state-id", "failing"])
        .env("TAP_FAIL_AFTER", "0")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("ELT could not be completed: Extractor failed."),
        "{log}"
    );
}

#[test]
fn logs_list_and_show_read_the_run_history() {
    let t = project();
    assert_eq!(
        t.run(&["run", "tap-rows", "target-file"]).status.code(),
        Some(0)
    );
    let out = t.run(&["logs", "list", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["total"], 1);
    let run = &listed["runs"][0];
    assert_eq!(run["job_name"], STATE_ID);
    assert_eq!(run["state"], "SUCCESS");
    assert_eq!(run["trigger"], "cli");
    let log_id = run["log_id"].as_str().unwrap();

    let out = t.run(&["logs", "show", log_id, "--tail", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.starts_with(&format!(
            "Job: {STATE_ID}\nRun ID: {log_id}\nState: SUCCESS\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("Last 2 lines:\n----------------------------------------\n"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("Run completed"), "{text}");

    let out = t.run(&["logs", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✓ PASS"), "{text}");
    assert!(text.contains("Use 'meltano logs show <LOG_ID>' to view a specific log."));

    let out = t.run(&["logs", "show", "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No job found with log ID '00000000-0000-0000-0000-000000000000'")
    );

    let out = t.run(&["logs", "dir"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        t.path().join(".meltano/logs").display().to_string()
    );
}

#[test]
fn runs_keep_state_in_postgresql() {
    let pg = meltano_test::PgServer::shared().expect("PostgreSQL for tests");
    let db = pg.fresh_database("runs").unwrap();
    let uri = pg.uri(&db);
    let t = project();
    let out = t.run(&["run", "--database-uri", &uri, "tap-rows", "target-file"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = t
        .meltano(&["run", "--database-uri", &uri, "tap-rows", "target-file"])
        .env("TAP_ROWS_ROWS", "4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![1, 2, 3, 4]);
    let raw = uri.replacen("postgresql://", "postgres://", 1);
    let rows = query_uri(
        &raw,
        "SELECT CAST(completed_state AS TEXT) FROM state WHERE state_id = 'dev:tap-rows-to-target-file'",
    )
    .unwrap();
    assert!(
        rows[0][0].as_deref().unwrap().contains("\"rows\": 4"),
        "{rows:?}"
    );
    let rows = query_uri(&raw, "SELECT state FROM runs ORDER BY id").unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r[0].as_deref() == Some("SUCCESS")));
}

#[test]
fn a_256_mib_line_and_a_million_records_pass_in_constant_memory() {
    let t = project();
    t.write(
        "wide_tap.sh",
        "#!/bin/sh\nprintf '{\"type\": \"RECORD\", \"stream\": \"wide\", \"record\": {\"x\": \"'\nhead -c 268435456 /dev/zero | tr '\\0' 'x'\nprintf '\"}}\\n'\n",
    );
    t.write(
        "many_tap.sh",
        "#!/bin/sh\nyes '{\"type\":\"RECORD\",\"stream\":\"many\",\"record\":{\"id\":1,\"name\":\"a fairly ordinary record of about two hundred bytes, padded with words to look like real data from an API\"}}' | head -n 1000000\n",
    );
    t.write(
        "count_target.sh",
        "#!/bin/sh\necho \"{\\\"bytes\\\": $(wc -c)}\"\n",
    );
    for script in ["wide_tap.sh", "many_tap.sh", "count_target.sh"] {
        let path = t.path().join(script);
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
    }
    let manifest = t.read("meltano.yml").replace(
        "  mappers:\n",
        "  - name: tap-wide\n    namespace: tap_wide\n    executable: ./wide_tap.sh\n  - name: tap-many\n    namespace: tap_many\n    executable: ./many_tap.sh\n  mappers:\n",
    ).replace(
        "  transformers:\n",
        "  - name: target-count\n    namespace: target_count\n    executable: ./count_target.sh\n  transformers:\n",
    );
    t.write("meltano.yml", &manifest);
    for (tap, stream, records) in [("tap-wide", "wide", 1), ("tap-many", "many", 1_000_000)] {
        // Python reports the peak RSS of its waited-for children: meltano (the plugins are
        // tiny shell tools).
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import resource, subprocess, sys\n\
                 r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n\
                 sys.stderr.write(r.stderr)\n\
                 print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                assert_cmd::cargo::cargo_bin("meltano").to_str().unwrap(),
                "run",
                tap,
                "target-count",
            ])
            .current_dir(t.path())
            .env("HOME", t.path())
            .output()
            .unwrap();
        let log = stderr(&out);
        let report = String::from_utf8_lossy(&out.stdout);
        let mut fields = report.split_whitespace();
        assert_eq!(fields.next(), Some("0"), "{log}");
        let peak_kib: u64 = fields.next().unwrap().parse().unwrap();
        assert!(peak_kib < 30 * 1024, "{tap}: peak RSS {peak_kib} KiB");
        assert!(
            log.contains(&format!(
                "Loaded {records} record{} into stream '{stream}'",
                if records == 1 { "" } else { "s" }
            )),
            "{log}"
        );
    }
}

#[test]
fn a_failing_mapper_fails_the_run() {
    let t = project();
    let out = t
        .meltano(&["run", "tap-rows", "upper", "target-file"])
        .env("MAPPER_FAIL_AFTER", "3")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Mappers failed"), "{log}");
    assert!(log.contains("Mapper 'upper' exited with code 4."), "{log}");
    assert!(log.contains("    mapper-upper: bad expression"), "{log}");
    // SCHEMA, RECORD 1, STATE 1 passed the mapper: the loader confirmed that state.
    assert_eq!(bookmark(t.path(), STATE_ID), Some(1));
    assert_eq!(runs(t.path())[0].1, "FAIL");
}

#[test]
fn merge_strategy_keeps_the_bookmarks_of_other_streams() {
    let t = project();
    let out = t.run(&[
        "state",
        "set",
        "--force",
        STATE_ID,
        r#"{"singer_state": {"bookmarks": {"legacy": 7}}}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = t
        .meltano(&["run", "tap-rows", "target-file"])
        .env("MELTANO_RUN_STATE_STRATEGY", "merge")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = query(
        t.path(),
        &format!("SELECT completed_state, partial_state FROM state WHERE state_id = '{STATE_ID}'"),
    );
    let completed: serde_json::Value =
        serde_json::from_str(rows[0][0].as_deref().unwrap()).unwrap();
    let partial: serde_json::Value = serde_json::from_str(rows[0][1].as_deref().unwrap()).unwrap();
    assert_eq!(
        completed,
        serde_json::json!({"singer_state": {"bookmarks": {"legacy": 7}}})
    );
    assert_eq!(
        partial,
        serde_json::json!({"singer_state": {"bookmarks": {"rows": 3}}})
    );
    let out = t.run(&["state", "get", STATE_ID]);
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        merged,
        serde_json::json!({"singer_state": {"bookmarks": {"legacy": 7, "rows": 3}}})
    );
}

#[test]
fn plugin_lines_carry_the_plugin_name_in_json_logs() {
    let t = project();
    let out = t
        .meltano(&["--log-format", "json", "run", "tap-rows", "target-file"])
        .env("MELTANO_RUN_FULL_REFRESH", "true")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["name"] == "tap-rows"
        && l["event"] == "starting after id 0"
        && l["level"] == "info"));
    assert!(lines.iter().any(|l| l["event"]
        == "Performing full refresh, ignoring state left behind by any previous runs."));
}

#[test]
fn el_flags_select_catalog_state_and_transform() {
    let t = project();
    // --select/--exclude become select_filter rules over the streams of the catalog.
    let stream_selected = |args: &[&str]| {
        let mut all = vec!["el", "tap-rows", "target-file", "--dump", "catalog"];
        all.extend_from_slice(args);
        let out = t.run(&all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let catalog: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        catalog["streams"][0]["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["breadcrumb"] == serde_json::json!([]))
            .map(|m| m["metadata"]["selected"].clone())
    };
    assert_eq!(
        stream_selected(&["--select", "rows"]),
        Some(serde_json::json!(true))
    );
    assert_eq!(
        stream_selected(&["--exclude", "rows"]),
        Some(serde_json::json!(false))
    );

    // --catalog replaces discovery; --state replaces the stored state.
    t.write("my-catalog.json", r#"{"streams": []}"#);
    let out = t.run(&[
        "el",
        "tap-rows",
        "target-file",
        "--catalog",
        "my-catalog.json",
        "--dump",
        "catalog",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Using custom catalog in"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!({"streams": []})
    );
    t.write("my-state.json", r#"{"bookmarks": {"rows": 2}}"#);
    let out = t.run(&[
        "el",
        "tap-rows",
        "target-file",
        "--state-id",
        "s",
        "--state",
        "my-state.json",
    ]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Found state in"), "{log}");
    assert!(log.contains("starting after id 2"), "{log}");
    assert_eq!(loaded_ids(t.path(), "out.jsonl"), vec![3]);

    // elt --transform run: the transformer's `run` command after extract and load.
    let out = t.run(&[
        "elt",
        "tap-rows",
        "target-file",
        "--state-id",
        "s",
        "--transform",
        "run",
    ]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("The `elt` command is deprecated in favor of `el`"),
        "{log}"
    );
    assert!(log.contains("dbt-fake     transformed"), "{log}");

    // --dry names what would run.
    let out = t.run(&["el", "tap-rows", "target-file", "--dry"]);
    let log = stderr(&out);
    assert!(
        log.contains("\textractor: tap-rows at './tap_rows.py'"),
        "{log}"
    );
    assert_eq!(runs(t.path()).len(), 2);
}
