//! Runs started at the same moment, as a scheduler and a person start them: real processes,
//! each race repeated, since a race that passes once proves little.

use std::process::{Child, Stdio};

use crate::common::TestDir;

/// Starts `count` `meltano run tap-rows target-file` together (each run lasts about a second)
/// and returns (successes, refusals), after checking every refusal is Meltano's message.
fn race(t: &TestDir, count: usize, extra_args: &[&str]) -> (usize, usize) {
    let mut args = vec!["run"];
    args.extend_from_slice(extra_args);
    args.extend(["tap-rows", "target-file"]);
    let children: Vec<Child> = (0..count)
        .map(|_| {
            t.meltano_std(&args)
                .env("TAP_SLEEP", "0.3")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("meltano starts")
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for child in children {
        let out = child.wait_with_output().expect("meltano ends");
        let log = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => ok += 1,
            Some(1) if log.contains("Another 'dev:tap-rows-to-target-file' pipeline is already running which started at") => {
                refused += 1
            }
            other => panic!("unexpected exit {other:?}:\n{log}"),
        }
        assert!(!log.contains("database is locked"), "{log}");
    }
    (ok, refused)
}

fn assert_exactly_one_runs(t: &TestDir, extra_args: &[&str], rounds: usize) {
    for round in 0..rounds {
        let (ok, refused) = race(t, 10, extra_args);
        assert_eq!((ok, refused), (1, 9), "round {round}");
    }
}

#[test]
fn of_ten_runs_of_one_state_id_exactly_one_runs_on_sqlite() {
    let t = TestDir::from_fixture("pipeline");
    assert_exactly_one_runs(&t, &[], 20);
    // Every run ended: none is left RUNNING to block the next one.
    let out = t.run(&["run", "tap-rows", "target-file"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn of_ten_runs_of_one_state_id_exactly_one_runs_on_postgresql() {
    let server = meltano_test::PgServer::shared().expect("PostgreSQL for tests");
    let db = server.fresh_database("claim").expect("a database");
    let uri = server.uri(&db);
    let t = TestDir::from_fixture("pipeline");
    assert_exactly_one_runs(&t, &["--database-uri", &uri], 20);
}

#[test]
fn force_still_overrides_the_claim() {
    let t = TestDir::from_fixture("pipeline");
    let first = t
        .meltano_std(&["run", "tap-rows", "target-file"])
        .env("TAP_SLEEP", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meltano starts");
    // Wait until the first run's tap is going (its catalog and state files are in place).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let refused = t.run(&["run", "tap-rows", "target-file"]);
    assert_eq!(refused.status.code(), Some(1));
    let forced = t.run(&["run", "--force", "tap-rows", "target-file"]);
    let log = String::from_utf8_lossy(&forced.stderr);
    assert!(forced.status.success(), "{log}");
    assert!(
        log.contains("Force option is enabled, ignoring stale job check."),
        "{log}"
    );
    let first = first.wait_with_output().expect("meltano ends");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
}

/// Starts one `meltano` per argument list at once and asserts that every one succeeds.
fn all_succeed(t: &TestDir, runs: Vec<Vec<String>>) {
    let children: Vec<Child> = runs
        .iter()
        .map(|args| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            t.meltano_std(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("meltano starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("meltano ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Twenty `config set` of different settings at once keep all twenty (the edit lock).
#[test]
fn concurrent_config_set_keeps_every_setting() {
    let t = TestDir::from_fixture("pipeline");
    let runs = (0..20)
        .map(|i| {
            args(&[
                "config",
                "set",
                "tap-rows",
                &format!("key_{i}"),
                &format!("v{i}"),
            ])
        })
        .collect();
    all_succeed(&t, runs);
    let text = t.read("meltano.yml");
    for i in 0..20 {
        assert!(
            text.contains(&format!("key_{i}: v{i}\n")),
            "key_{i} lost:\n{text}"
        );
    }
}

/// Runs of different state IDs share the extractor's cached catalog but nothing that one of
/// them could tear or remove under another: each starts from its own state file.
#[test]
fn ten_runs_of_different_state_ids_sharing_an_extractor_all_succeed() {
    let t = TestDir::from_fixture("pipeline");
    for round in 0..20 {
        // From the second round on, every state ID has a stored bookmark to start from.
        let runs = (0..10)
            .map(|i| {
                let suffix = format!("s{i}");
                args(&[
                    "run",
                    "--state-id-suffix",
                    &suffix,
                    "tap-rows",
                    "target-file",
                ])
            })
            .collect();
        all_succeed(&t, runs);
        assert!(
            !t.path().join(".meltano/run/tap-rows/state.json").exists(),
            "round {round}: no state file is shared"
        );
    }
    let out = t.run(&["state", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().count(), 10, "{listed}");
    // Each run's own directory is gone with it.
    let leftovers: Vec<_> = std::fs::read_dir(t.path().join(".meltano/run/tap-rows"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
