//! `meltano schedule add|list|set|remove|run`: outputs, errors, lossless edits of the file each
//! schedule came from (tests/fixtures/schedule_edits), the JSON Airflow DAG generators read, and
//! scheduled runs of the pipeline fixture (tests/fixtures/pipeline).

use std::path::Path;
use std::process::Output;

use sqlx::any::AnyPoolOptions;

use crate::common::TestDir;
use crate::job::{transcript, transcript_settings};

/// Snapshots the transcript of `commands` run in `t` under `name`.
fn snapshot_transcript(name: &str, t: &TestDir, commands: &[&[&str]]) {
    let text = transcript(t, commands);
    transcript_settings(t).bind(|| insta::assert_snapshot!(name, text));
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Rows of `sql` (every column read as text) from the project's SQLite database.
fn query(dir: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let uri = format!("sqlite://{}", dir.join(".meltano/meltano.db").display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Row;
            sqlx::any::install_default_drivers();
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&uri)
                .await
                .unwrap();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| row.try_get::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect()
        })
}

/// The schedules of Meltano's `schedule list --format json` reference output, and the job they run.
const LISTED: &str = "jobs:
- name: myjob
  tasks:
  - tap-fake tag-a target-fake
  - util:hello
schedules:
- name: daily-job
  interval: '@daily'
  job: myjob
- name: elt-sched
  interval: 0 */2 * * *
  extractor: tap-fake
  loader: target-fake
  transform: skip
- name: elt2
  interval: '@hourly'
  extractor: tap-fake
  loader: target-fake
  transform: run
";

#[test]
fn schedule_list_json_is_meltanos_field_for_field() {
    let t = TestDir::new();
    t.write("meltano.yml", LISTED);
    snapshot_transcript(
        "schedule_list_json",
        &t,
        &[&["schedule", "list", "--format", "json"]],
    );
}

#[test]
fn schedule_list_text_and_a_missing_job() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        &format!(
            "{LISTED}- name: only-transform
  interval: '@once'
  extractor: tap-fake
  loader: target-fake
  transform: only
  env:
    A: '1'
- name: one-string
  interval: 30 4 * * mon-fri
  job: single
- name: broken
  interval: '@manual'
  job: nope
- name: after-broken
  interval: '@daily'
  job: myjob
"
        )
        .replace(
            "jobs:\n",
            "jobs:\n- name: single\n  tasks: tap-fake target-fake\n",
        ),
    );
    snapshot_transcript(
        "schedule_list_text",
        &t,
        &[
            &["schedule", "list"],
            &["schedule", "list", "--format", "json"],
        ],
    );
    t.write(
        "meltano.yml",
        &t.read("meltano.yml")
            .replace("  job: nope\n", "  job: myjob\n"),
    );
    let out = t.run(&["schedule", "list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let elt = &listed["schedules"]["elt"][2];
    assert_eq!(elt["name"], "only-transform");
    assert_eq!(elt["interval"], "@once");
    assert_eq!(elt["cron_interval"], serde_json::Value::Null);
    assert_eq!(elt["env"], serde_json::json!({"A": "1"}));
    let job = &listed["schedules"]["job"][1];
    assert_eq!(job["cron_interval"], "30 4 * * mon-fri");
    assert_eq!(job["job"]["tasks"], "tap-fake target-fake");
    assert_eq!(
        listed["schedules"]["job"][2]["cron_interval"],
        serde_json::Value::Null
    );
}

#[test]
fn schedule_edits_go_to_the_file_each_schedule_came_from() {
    let t = TestDir::from_fixture("schedule_edits");
    snapshot_transcript(
        "schedule_edits",
        &t,
        &[
            // `add` is the default subcommand.
            &[
                "schedule",
                "nightly-run",
                "--job",
                "nightly",
                "--interval",
                "@daily",
            ],
            &[
                "schedule",
                "add",
                "rows",
                "--extractor",
                "tap-rows",
                "--loader",
                "target-file",
                "--transform",
                "run",
                "--interval",
                "*/15 * * * *",
            ],
            &[
                "schedule",
                "add",
                "rows-skip",
                "--interval",
                "0 */2 * * *",
                "--extractor",
                "tap-rows",
                "--loader",
                "target-file",
            ],
            &[
                "schedule",
                "set",
                "platform-daily",
                "--interval",
                "0 * * * *",
                "--job",
                "hourly",
            ],
            &["schedule", "set", "legacy", "--transform", "only"],
            &[
                "schedule",
                "set",
                "legacy",
                "--extractor",
                "tap-other",
                "--loader",
                "target-other",
                "--interval",
                "@monthly",
            ],
            &["schedule", "set", "old"],
            &["schedule", "remove", "old"],
            &["schedule", "list"],
        ],
    );
    t.assert_matches_fixture("schedule_edits");
}

#[test]
fn schedule_errors_leave_the_files_alone() {
    let t = TestDir::from_fixture("schedule_edits");
    let before = (
        t.read("meltano.yml"),
        t.read("orchestrate/platform.meltano.yml"),
    );
    snapshot_transcript(
        "schedule_errors",
        &t,
        &[
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "nightly",
                "--extractor",
                "tap-rows",
                "--interval",
                "@daily",
            ],
            &[
                "schedule",
                "add",
                "x",
                "--loader",
                "target-file",
                "--interval",
                "@daily",
            ],
            &[
                "schedule",
                "add",
                "x",
                "--extractor",
                "tap-rows",
                "--interval",
                "@daily",
            ],
            &["schedule", "add", "x", "--job", "nightly"],
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "nightly",
                "--interval",
                "@sometimes",
            ],
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "nightly",
                "--interval",
                "0 0 * * * *",
            ],
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "nightly",
                "--interval",
                "61 * * * *",
            ],
            &[
                "schedule",
                "add",
                "legacy",
                "--job",
                "nightly",
                "--interval",
                "@daily",
            ],
            &["schedule", "set", "nope", "--interval", "@daily"],
            &["schedule", "set", "old", "--interval", "nonsense"],
            &["schedule", "set", "old", "--transform", "run"],
            &["schedule", "set", "old", "--loader", "target-file"],
            &["schedule", "set", "legacy", "--job", "nightly"],
            &["schedule", "remove", "nope"],
            &["schedule", "run", "nope"],
            &[
                "schedule",
                "add",
                "x",
                "--job",
                "nightly",
                "--interval",
                "@daily",
                "--transform",
                "nope",
            ],
        ],
    );
    assert_eq!(
        (
            t.read("meltano.yml"),
            t.read("orchestrate/platform.meltano.yml")
        ),
        before
    );
}

#[test]
fn read_only_projects_refuse_schedule_edits() {
    let t = TestDir::from_fixture("schedule_edits");
    let before = t.read("meltano.yml");
    for args in [
        &[
            "schedule",
            "add",
            "x",
            "--job",
            "nightly",
            "--interval",
            "@daily",
        ][..],
        &["schedule", "set", "old", "--interval", "@daily"],
        &["schedule", "remove", "old"],
    ] {
        let out = t
            .meltano(args)
            .env("MELTANO_PROJECT_READONLY", "true")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(
                "The requested action could not be completed: This Meltano project is deployed as read-only"
            ),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(t.read("meltano.yml"), before);
}

#[test]
fn schedule_outside_a_project_and_without_a_subcommand() {
    let t = TestDir::new();
    for args in [
        &["schedule", "list"][..],
        &["schedule", "daily", "--job", "j", "--interval", "@daily"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out)
                .contains("Error: `meltano schedule` must be run inside a Meltano project."),
            "{}",
            stderr(&out)
        );
    }
    let out = t.run(&["schedule"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "help belongs on stderr");
    let help = stderr(&out);
    assert!(
        help.starts_with("Usage: meltano schedule [OPTIONS] COMMAND [ARGS]..."),
        "{help}"
    );
    for command in ["add", "list", "remove", "run", "set", "--database-uri"] {
        assert!(help.contains(command), "{help}");
    }
}

#[test]
fn schedule_list_fails_stale_runs_first() {
    let t = TestDir::new();
    t.write("meltano.yml", LISTED);
    assert_eq!(t.run(&["schedule", "list"]).status.code(), Some(0));
    // A run whose process died an hour ago, without a word.
    let sql = "INSERT INTO runs (job_name, state, started_at, last_heartbeat_at, payload, payload_flags, run_id, \"trigger\") \
               VALUES ('dev:tap-to-target', 'RUNNING', '2020-01-01 00:00:00.000000', '2020-01-01 00:00:01.000000', '{}', 0, \
               '0190f0f0f0f07000800000000000000a', 'cli')";
    query(t.path(), sql);
    let out = t.run(&["schedule", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains("Marked stale run that started at 2020-01-01 00:00:00")
            && log.contains("as failed: No heartbeat recorded for 5 minutes."),
        "{log}"
    );
    let states = query(t.path(), "SELECT state FROM runs");
    assert_eq!(states, vec![vec![Some("DEAD".to_string())]]);
}

/// The pipeline fixture with a failing job, and job and ELT schedules of its plugins.
fn scheduled_pipeline() -> TestDir {
    let t = TestDir::from_fixture("pipeline");
    let manifest = t.read("meltano.yml");
    assert!(manifest.ends_with("  - util:hello\n"), "jobs come last");
    t.write(
        "meltano.yml",
        &format!(
            "{manifest}- name: failing
  tasks:
  - util:fail
schedules:
- name: nightly
  interval: '@daily'
  job: daily
- name: rows-elt
  interval: 0 */2 * * *
  env:
    TAP_ROWS_ROWS: '4'
  extractor: tap-rows
  loader: target-file
  transform: skip
- name: broken
  interval: '@once'
  job: failing
"
        ),
    );
    t
}

fn loaded_lines(t: &TestDir, file: &str) -> usize {
    std::fs::read_to_string(t.path().join(file))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn schedule_run_runs_a_job_schedule() {
    let t = scheduled_pipeline();
    let out = t.run(&["schedule", "run", "nightly"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("The default environment 'dev' will be ignored for `meltano schedule`."));
    // The child applies the default environment itself, as `meltano run` does.
    assert!(log.contains("Environment 'dev' is active"), "{log}");
    assert!(
        log.contains("Running job with name 'dev:tap-rows-to-target-file'"),
        "{log}"
    );
    assert!(log.contains("util         hello err"), "{log}");
    assert_eq!(loaded_lines(&t, "out.jsonl"), 3);
    let runs = query(t.path(), "SELECT job_name, state FROM runs");
    assert_eq!(
        runs,
        vec![vec![
            Some("dev:tap-rows-to-target-file".to_string()),
            Some("SUCCESS".to_string())
        ]]
    );

    // Options after the name go to `meltano run`; an explicit environment is handed on.
    let out = t.run(&[
        "--environment",
        "prod",
        "schedule",
        "run",
        "nightly",
        "--full-refresh",
    ]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("Running job with name 'prod:tap-rows-to-target-file'"),
        "{log}"
    );
    assert!(log.contains("Performing full refresh"), "{log}");
    assert_eq!(loaded_lines(&t, "prod.jsonl"), 3);
}

#[test]
fn schedule_run_passes_the_exit_code_on() {
    let t = scheduled_pipeline();
    let out = t.run(&["schedule", "run", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("util         failing"),
        "{}",
        stderr(&out)
    );

    let out = t.run(&["schedule", "run", "nightly", "--no-such-option"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Error: No such option '--no-such-option'."),
        "{}",
        stderr(&out)
    );
    // Even `--help` belongs to the child.
    let out = t.run(&["schedule", "run", "nightly", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("Usage: meltano run [OPTIONS] [BLOCKS]..."),
        "{}",
        stdout(&out)
    );
}

#[test]
fn schedule_run_runs_an_elt_schedule_under_its_own_state_id() {
    let t = scheduled_pipeline();
    let out = t.run(&["schedule", "run", "rows-elt"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("The `elt` command is deprecated in favor of `el`"),
        "{log}"
    );
    assert!(log.contains("Running job with name 'rows-elt'"), "{log}");
    // The schedule's `env` reaches the extractor.
    assert_eq!(loaded_lines(&t, "out.jsonl"), 4);
    let state = query(
        t.path(),
        "SELECT completed_state FROM state WHERE state_id = 'rows-elt'",
    );
    let state: serde_json::Value = serde_json::from_str(state[0][0].as_deref().unwrap()).unwrap();
    assert_eq!(state["singer_state"]["bookmarks"]["rows"], 4);

    // Its last successful run is listed for the scheduler.
    let ended = query(
        t.path(),
        "SELECT CAST(ended_at AS TEXT) FROM runs WHERE job_name = 'rows-elt' AND state = 'SUCCESS'",
    );
    let ended = ended[0][0].clone().unwrap();
    let out = t.run(&["schedule", "list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let elt = &listed["schedules"]["elt"][0];
    let expected = format!("{}+00:00", ended.replace(' ', "T"));
    let expected = expected.replace(".000000+", "+");
    assert_eq!(elt["last_successful_run_ended_at"], expected.as_str());
    assert_eq!(
        elt["elt_args"],
        serde_json::json!([
            "tap-rows",
            "target-file",
            "--transform=skip",
            "--state-id=rows-elt"
        ])
    );
    assert_eq!(elt["env"], serde_json::json!({"TAP_ROWS_ROWS": "4"}));
    assert_eq!(
        listed["schedules"]["job"][0]["job"]["tasks"],
        serde_json::json!(["tap-rows target-file", "util:hello"])
    );

    // Options after the name come after the schedule's own arguments.
    let out = t.run(&["schedule", "run", "rows-elt", "--full-refresh"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("Performing full refresh, ignoring state left behind by any previous runs."),
        "{}",
        stderr(&out)
    );
    assert_eq!(loaded_lines(&t, "out.jsonl"), 8);
}

#[test]
fn schedule_run_hands_global_options_on() {
    let t = scheduled_pipeline();
    t.write("rows.env", "TAP_ROWS_ROWS=2\n");
    let out = t.run(&[
        "--log-level",
        "debug",
        "--env-file",
        "rows.env",
        "schedule",
        "run",
        "nightly",
    ]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("Running schedule 'nightly': meltano --env-file rows.env run daily"),
        "{log}"
    );
    // The child logs at debug level too, and reads the same dotenv file.
    assert!(log.contains("Run duration"), "{log}");
    assert_eq!(loaded_lines(&t, "out.jsonl"), 2);
}
