//! Behaviour differences from Meltano 4.4.1 found by checking projects side by side, each pinned
//! by the test that showed it.

use crate::common::TestDir;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const SETTINGS_PROJECT: &str = "\
version: 1
default_environment: dev
environments:
- name: dev
  env:
    DB_HOST: envhost
plugins:
  extractors:
  - name: tap-foo
    namespace: tap_foo
    executable: /bin/true
    settings:
    - name: port
      kind: integer
    - name: flag
      kind: boolean
    - name: ratio
      kind: decimal
    - name: start_date
      kind: date_iso8601
    - name: iso_date
      kind: date_iso8601
    env:
      TAP_URL: postgres://$DB_HOST/db
    config:
      port: $DB_PORT
      flag: $FLAG
      ratio: $RATIO
      start_date: Jan 5 2024
      iso_date: '2024-01-05T00:00:01Z'
";

#[test]
fn expanded_values_are_cast_to_their_kind_and_dates_normalised() {
    let t = TestDir::new();
    t.write("meltano.yml", SETTINGS_PROJECT);
    let out = t
        .meltano(&["config", "print", "tap-foo"])
        .env("DB_PORT", "5432")
        .env("FLAG", "yes")
        .env("RATIO", "1.5")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let config: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        config,
        serde_json::json!({
            "port": 5432,
            "flag": true,
            "ratio": 1.5,
            "start_date": "2024-01-05T00:00:00",
            "iso_date": "2024-01-05T00:00:01Z",
        })
    );
}

#[test]
fn plugin_env_may_name_variables_of_the_active_environment() {
    let t = TestDir::new();
    t.write("meltano.yml", SETTINGS_PROJECT);
    let out = t.run(&["invoke", "--print-var", "TAP_URL", "tap-foo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "TAP_URL=postgres://envhost/db\n");
}

#[test]
fn flag_variables_accept_what_click_accepts() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "version: 1\ndefault_environment: dev\nenvironments:\n- name: dev\n",
    );
    for var in [
        "MELTANO_RUN_FULL_REFRESH",
        "MELTANO_RUN_REFRESH_CATALOG",
        "MELTANO_RUN_NO_STATE_UPDATE",
        "MELTANO_RUN_FORCE",
    ] {
        for value in [
            "1", "0", "TRUE", "false", "Yes", "no", "on", "OFF", "t", "n", "",
        ] {
            let out = t
                .meltano(&["run", "--dry-run"])
                .env(var, value)
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{var}={value}: {}",
                stderr(&out)
            );
        }
    }
    let out = t
        .meltano(&["el", "tap-x", "target-y"])
        .env("MELTANO_RUN_FULL_REFRESH", "1")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("Invalid value"), "{}", stderr(&out));

    let out = t
        .meltano(&["run", "--dry-run"])
        .env("MELTANO_RUN_FORCE", "maybe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).ends_with(
        "Error: Invalid value for '--force' / '-f' (env var: 'MELTANO_RUN_FORCE'): 'maybe' is not a \
         valid boolean. Recognized values: , 0, 1, f, false, n, no, off, on, t, true, y, yes\n"
    ), "{}", stderr(&out));
}

#[test]
fn an_unsupported_state_backend_is_an_error_not_a_fallback() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "version: 1\nstate_backend:\n  uri: s3://AKIAKEY:hunter2@bucket/prefix\n",
    );
    for args in [
        &["state", "list"][..],
        &["state", "set", "--force", "x", "{}"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("'s3://*****@bucket/prefix'"), "{err}");
        assert!(
            !err.contains("hunter2") && !err.contains("AKIAKEY"),
            "{err}"
        );
    }
    let out = t
        .meltano(&["state", "list"])
        .env("MELTANO_STATE_BACKEND_URI", "ftp://host/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No state backend found for scheme 'ftp'"),
        "{}",
        stderr(&out)
    );
    // Nothing reached the system database.
    let out = t
        .meltano(&["state", "list"])
        .env("MELTANO_STATE_BACKEND_URI", "systemdb")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn run_bin_links_this_executable_and_is_repaired_when_dangling() {
    let t = TestDir::new();
    t.write("meltano.yml", "version: 1\n");
    let link = t.path().join(".meltano/run/bin");
    assert!(t.run(&["plugin", "list"]).status.success());
    let exe = assert_cmd::cargo::cargo_bin("meltano");
    assert_eq!(std::fs::read_link(&link).unwrap(), exe);

    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(t.path().join("gone"), &link).unwrap();
    assert!(t.run(&["plugin", "list"]).status.success());
    assert_eq!(std::fs::read_link(&link).unwrap(), exe);

    // A link that leads somewhere (another meltano) is left alone.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/bin/true", &link).unwrap();
    assert!(t.run(&["plugin", "list"]).status.success());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::Path::new("/bin/true")
    );
}
