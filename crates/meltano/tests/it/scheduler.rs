//! `meltano schedule start` (the built-in scheduler, driven by a shifted clock rather than long
//! sleeps) and `meltano schedule export`.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestDir, signal};
use crate::snapshot;

const SCHEDULES: &str = "schedules:
- name: minutely
  interval: '* * * * *'
  job: daily
- name: nightly-elt
  interval: '@daily'
  extractor: tap-rows
  loader: target-file
  transform: skip
  env:
    TAP_ROWS_ROWS: '5'
- name: by-hand
  interval: '@manual'
  job: daily
";

fn project() -> TestDir {
    let t = TestDir::from_fixture("pipeline");
    let manifest = t.read("meltano.yml");
    t.write("meltano.yml", &format!("{manifest}{SCHEDULES}"));
    t
}

/// Starts the scheduler with its clock set two seconds before a minute boundary.
fn start(t: &TestDir, extra_env: &[(&str, &str)]) -> Child {
    let mut cmd = t.meltano_std(&["schedule", "start"]);
    cmd.env("TZ", "UTC")
        .env("MELTANO_SCHEDULER_CLOCK_START", "2026-01-01T00:00:58Z")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

fn runs_with_state(t: &TestDir, state: &str) -> usize {
    let db = t.path().join(".meltano/meltano.db");
    if !db.is_file() {
        return 0;
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             try:\n    print(c.execute('SELECT COUNT(*) FROM runs WHERE state = ?', (sys.argv[2],)).fetchone()[0])\n\
             except sqlite3.Error:\n    print(0)",
            db.to_str().unwrap(),
            state,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn due_schedules_run_at_their_time() {
    let t = project();
    let child = start(&t, &[]);
    wait_until("the minutely job to succeed", || {
        runs_with_state(&t, "SUCCESS") >= 1
    });
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("Scheduler started with 3 schedule(s), time zone UTC+00:00"),
        "{log}"
    );
    assert!(
        log.contains("Schedule 'minutely' (* * * * *) next runs at 2026-01-01T00:01:00+00:00"),
        "{log}"
    );
    assert!(
        log.contains("Schedule 'nightly-elt' (@daily) next runs at 2026-01-02T00:00:00+00:00"),
        "{log}"
    );
    assert!(
        log.contains("Schedule 'by-hand' (@manual) only runs with `meltano schedule run by-hand`")
    );
    assert!(
        log.contains("Starting schedule 'minutely' due at 2026-01-01T00:01:00+00:00"),
        "{log}"
    );
    assert!(
        log.contains("Schedule 'minutely' finished with exit code 0"),
        "{log}"
    );
    assert!(log.contains("Scheduler stopped"), "{log}");
    // The job ran: records loaded, state kept under the job's pipeline state ID.
    assert!(t.read("out.jsonl").contains("\"id\": 3"));
    let trigger = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute(\"SELECT DISTINCT \\\"trigger\\\" FROM runs\").fetchall())",
            t.path().join(".meltano/meltano.db").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&trigger.stdout).trim(),
        "[('schedule',)]"
    );
}

#[test]
fn sigterm_lets_the_running_pipeline_finish() {
    let t = project();
    // Slow enough to still be running when the scheduler is told to stop.
    let child = start(&t, &[("TAP_ROWS_ROWS", "30"), ("TAP_SLEEP", "0.1")]);
    wait_until("the job to start", || runs_with_state(&t, "RUNNING") >= 1);
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("Stopping: no new runs; waiting for 1 running schedule(s) to finish"),
        "{log}"
    );
    assert_eq!(runs_with_state(&t, "RUNNING"), 0);
    assert_eq!(runs_with_state(&t, "SUCCESS"), 1, "{log}");
    assert_eq!(t.read("out.jsonl").lines().count(), 30);
}

#[test]
fn a_bad_interval_stops_the_scheduler_before_it_starts() {
    let t = project();
    let manifest = t
        .read("meltano.yml")
        .replace("'* * * * *'", "'every minute'");
    t.write("meltano.yml", &manifest);
    let out = t.run(&["schedule", "start"]);
    snapshot!("schedule_start_bad_interval", out, t.path());
}

#[test]
fn schedules_export_as_crontab_and_kubernetes_cronjobs() {
    let t = project();
    let out = t.run(&["schedule", "export", "--format", "crontab"]);
    let binary = assert_cmd::cargo::cargo_bin("meltano");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&binary.display().to_string()), "[MELTANO]");
    settings.bind(|| snapshot!("schedule_export_crontab", out, t.path()));

    let out = t.run(&[
        "schedule",
        "export",
        "--format",
        "kubernetes",
        "--image",
        "registry.example/acme/meltano-project:1.2",
        "--secret",
        "meltano-env",
        "--namespace",
        "data",
        "--timezone",
        "Europe/Berlin",
    ]);
    snapshot!("schedule_export_kubernetes", out, t.path());
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}
