//! Global behaviour: version, help, unknown commands, option spelling.

use crate::common::TestDir;
use crate::snapshot;

#[test]
fn version_prints_the_compatible_meltano_version() {
    let t = TestDir::new();
    let out = t.run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "meltano, version 4.4.1\n"
    );
}

#[test]
fn no_command_prints_help_to_stderr_and_exits_2() {
    let t = TestDir::new();
    let out = t.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "help belongs on stderr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Usage: meltano [OPTIONS] [COMMAND] [ARGS]..."),
        "{stderr}"
    );
    for option in [
        "--log-level",
        "--log-format",
        "--log-config",
        "--environment",
        "--no-environment",
        "--cwd",
        "--env-file",
    ] {
        assert!(stderr.contains(option), "help lacks {option}");
    }
}

#[test]
fn help_exits_0() {
    let t = TestDir::new();
    let out = t.run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    snapshot!("help", out, t.path());
}

#[test]
fn unknown_command_suggests_close_names() {
    let t = TestDir::new();
    snapshot!("unknown_command_suggestions", t.run(&["ad"]), t.path());
    snapshot!("unknown_command_no_suggestion", t.run(&["foo"]), t.path());
}

#[test]
fn invalid_choice_is_a_usage_error() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "default_environment: dev\nenvironments:\n- name: dev\n",
    );
    snapshot!(
        "invalid_choice",
        t.run(&["plugin", "list", "--format=yaml"]),
        t.path()
    );
}

#[test]
fn missing_argument_is_a_usage_error() {
    let t = TestDir::new();
    snapshot!("missing_argument", t.run(&["add"]), t.path());
}

#[test]
fn group_without_subcommand_prints_help_to_stderr_and_exits_2() {
    let t = TestDir::new();
    let out = t.run(&["environment"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "help belongs on stderr");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: meltano environment"));
}

#[test]
fn underscores_in_options_are_accepted() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    let out = t.run(&[
        "--log_level=debug",
        "--log_format",
        "key_value",
        "environment",
        "list",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("level='debug' event='Activated project at"),
        "{stderr}"
    );
}

#[test]
fn log_level_and_format_shape_the_log() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    snapshot!(
        "log_plain",
        t.run(&["--log-format", "plain", "remove", "nothing"]),
        t.path()
    );
    let quiet = t.run(&["--log-level", "warning", "remove", "nothing"]);
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(!stderr.contains("[info"), "{stderr}");
    assert!(
        stderr.contains("[warning  ] meltano      Could not find utility 'nothing'"),
        "{stderr}"
    );
    let silent = t.run(&["--log-level", "disabled", "remove", "nothing"]);
    assert!(silent.stderr.is_empty());
    let json = t.run(&["--log-format", "json", "remove", "nothing"]);
    for line in String::from_utf8_lossy(&json.stderr).lines() {
        let event: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        assert!(
            event["event"].is_string()
                && event["level"].is_string()
                && event["timestamp"].is_string()
        );
    }
}

#[test]
fn cwd_runs_as_if_started_there() {
    let t = TestDir::new();
    t.write(
        "proj/meltano.yml",
        "environments:\n- name: dev\n- name: prod\n",
    );
    let out = t.run(&["--cwd", "proj", "environment", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dev\nprod\n");
    snapshot!(
        "cwd_missing",
        t.run(&["--cwd", "nowhere", "environment", "list"]),
        t.path()
    );
}

#[test]
fn log_config_file_sets_level_format_and_destination() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    t.write(
        "logging.yml",
        "version: 1\nformatters:\n  structured:\n    (): meltano.core.logging.json_formatter\n\
         handlers:\n  file:\n    class: logging.FileHandler\n    formatter: structured\n    filename: meltano.log\n\
         root:\n  level: WARNING\n  handlers: [file]\n",
    );
    // `logging.yaml` in the working directory is the default; `.yml` is tried when it is missing.
    let out = t.run(&["remove", "nothing"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = t.read("meltano.log");
    assert!(!log.contains("\"level\": \"info\""), "{log}");
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["level"], "warning");

    // The flag names another file, whose root level decides even over --log-level: Meltano
    // hands the file to dictConfig verbatim (checked against 4.4.1).
    t.write("quiet.yaml", "version: 1\nroot:\n  level: ERROR\n");
    let out = t.run(&["--log-config", "quiet.yaml", "remove", "nothing"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = t.run(&[
        "--log-config",
        "quiet.yaml",
        "--log-level",
        "warning",
        "remove",
        "nothing",
    ]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("[warning  ]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
