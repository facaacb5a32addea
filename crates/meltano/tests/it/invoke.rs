//! `meltano invoke` and `meltano test` against small shell plugins.

use crate::common::TestDir;
use crate::snapshot;

const PROJECT: &str = "\
default_environment: dev
environments:
- name: dev
  env:
    FROM_ENVIRONMENT: dev-value
plugins:
  extractors:
  - name: tap-echo
    namespace: tap_echo
    executable: bin/echo-args
    settings:
    - name: token
      kind: password
    - name: start_date
    config:
      start_date: '2024-01-01'
  utilities:
  - name: tool
    namespace: tool
    executable: bin/echo-args
    env:
      TOOL_HOME: $MELTANO_PROJECT_ROOT/tool
    commands:
      hello: say hello
      greet:
        args: greet $GREETING
        description: Greets
      test-ok: exit0
      test-bad: fail
";

/// Prints its arguments, selected variables and (for taps) its config file; `fail` exits 3.
const SCRIPT: &str = r#"#!/bin/sh
echo "args: $*"
echo "env: TAP_ECHO_START_DATE=$TAP_ECHO_START_DATE MELTANO_EXTRACT_TOKEN=$MELTANO_EXTRACT_TOKEN TOOL_HOME=$TOOL_HOME FROM_ENVIRONMENT=$FROM_ENVIRONMENT"
if [ "$1" = "--config" ]; then
  echo "config: $(cat "$2")"
  ls -l "$2" | cut -c1-10
fi
echo "to stderr" >&2
case "$*" in *fail*) exit 3 ;; esac
exit 0
"#;

fn project() -> TestDir {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    t.write("bin/echo-args", SCRIPT);
    std::fs::set_permissions(
        t.path().join("bin/echo-args"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    t
}

#[test]
fn invoke_passes_config_env_and_arguments() {
    let t = project();
    let out = t
        .meltano(&["invoke", "tap-echo", "--discover", "--some_flag"])
        .env("TAP_ECHO_TOKEN", "s3cret")
        .output()
        .unwrap();
    snapshot!("invoke_tap", out, t.path());
    // The config file is gone afterwards.
    let left = std::fs::read_dir(t.path().join(".meltano/run/tap-echo"))
        .unwrap()
        .flatten();
    assert!(
        left.filter(|e| e.file_name().to_string_lossy().ends_with(".config.json"))
            .count()
            == 0
    );
}

#[test]
fn invoke_commands_and_exit_codes() {
    let t = project();
    let out = t
        .meltano(&["invoke", "tool:greet", "extra"])
        .env("GREETING", "world")
        .output()
        .unwrap();
    snapshot!("invoke_command", out, t.path());
    snapshot!(
        "invoke_command_unset_variable",
        t.run(&["invoke", "tool:greet"]),
        t.path()
    );
    snapshot!(
        "invoke_unknown_command",
        t.run(&["invoke", "tool:nope"]),
        t.path()
    );
    let failed = t.run(&["invoke", "tool", "fail"]);
    assert_eq!(failed.status.code(), Some(3));
    snapshot!(
        "invoke_list_commands",
        t.run(&["invoke", "--list-commands", "tool"]),
        t.path()
    );
}

#[test]
fn invoke_print_var_and_dump_config() {
    let t = project();
    let out = t.run(&[
        "invoke",
        "--print-var",
        "TAP_ECHO_START_DATE",
        "--print-var",
        "NOT_SET_ANYWHERE",
        "tap-echo",
        "--about",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("TAP_ECHO_START_DATE=2024-01-01\nNOT_SET_ANYWHERE=None\n"),
        "{stdout}"
    );
    let dump = t.run(&["invoke", "--dump", "config", "tap-echo"]);
    assert_eq!(
        String::from_utf8_lossy(&dump.stdout),
        "{\n  \"start_date\": \"2024-01-01\"\n}\n"
    );
    // Written as Python's json.dumps writes it: non-ASCII escaped.
    let dump = t
        .meltano(&["invoke", "--dump", "config", "tap-echo"])
        .env("TAP_ECHO_START_DATE", "déjà")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&dump.stdout),
        "{\n  \"start_date\": \"d\\u00e9j\\u00e0\"\n}\n"
    );
}

#[test]
fn invoke_of_a_missing_executable() {
    let t = project();
    std::fs::remove_file(t.path().join("bin/echo-args")).unwrap();
    snapshot!(
        "invoke_missing_executable",
        t.run(&["invoke", "tap-echo"]),
        t.path()
    );
}

#[test]
fn test_runs_test_commands() {
    let t = project();
    let out = t.run(&["test", "tool:test-ok"]);
    assert_eq!(out.status.code(), Some(0));
    // Separator lines span the terminal (`COLUMNS`), as in Meltano.
    let run = |args: &[&str]| t.meltano(args).env("COLUMNS", "80").output().unwrap();
    snapshot!("test_all", run(&["test", "--all"]), t.path());
    snapshot!("test_nothing", run(&["test"]), t.path());
    let narrow = t
        .meltano(&["test", "tool:test-ok"])
        .env("COLUMNS", "30")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&narrow.stdout).starts_with("\n======== tool:test-ok ========\n"),
        "{}",
        String::from_utf8_lossy(&narrow.stdout)
    );
}

#[test]
fn sigterm_reaches_the_plugin_and_the_config_file_is_removed() {
    use std::os::unix::fs::PermissionsExt;
    let t = project();
    t.write(
        "bin/sleeper",
        "#!/bin/sh\ntrap 'echo stopping >&2; exit 143' TERM\nsleep 30 &\nwait $!\n",
    );
    std::fs::set_permissions(
        t.path().join("bin/sleeper"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let manifest = t.read("meltano.yml").replace(
        "executable: bin/echo-args\n    settings:",
        "executable: bin/sleeper\n    settings:",
    );
    t.write("meltano.yml", &manifest);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("meltano"));
    cmd.args(["invoke", "tap-echo"])
        .current_dir(t.path())
        .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false");
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let run_dir = t.path().join(".meltano/run/tap-echo");
    let config_files = || {
        std::fs::read_dir(&run_dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".config.json"))
                    .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while config_files() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(config_files(), 1, "the plugin started");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(143));
    assert_eq!(config_files(), 0, "the secret config file is gone");
}

#[test]
fn utilities_run_project_scripts_with_python() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  utilities:\n  - name: scripts\n    namespace: scripts\n    executable: python3\n    commands:\n      hello: scripts/hello.py --name $WHO\n",
    );
    t.write(
        "scripts/hello.py",
        "import sys, os\nprint('hello', sys.argv[1:], os.environ['MELTANO_PROJECT_ROOT'] != '')\n",
    );
    let out = t
        .meltano(&["invoke", "scripts:hello"])
        .env("WHO", "meltano")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello ['--name', 'meltano'] True\n"
    );
}

#[test]
fn invoke_a_mapping_runs_its_mapper_with_the_mapping_config() {
    let t = project();
    let manifest = format!(
        "{PROJECT}  mappers:\n  - name: mp\n    namespace: mp\n    executable: bin/echo-args\n    settings:\n    - name: stream_maps\n      kind: object\n    mappings:\n    - name: hide-users\n      config:\n        stream_maps:\n          users: __NULL__\n"
    );
    t.write("meltano.yml", &manifest);
    let dump = t.run(&["invoke", "--dump", "config", "hide-users"]);
    assert_eq!(
        String::from_utf8_lossy(&dump.stdout),
        "{\n  \"stream_maps\": {\n    \"users\": \"__NULL__\"\n  }\n}\n",
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let out = t.run(&["invoke", "hide-users"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\"users\": \"__NULL__\""), "{stdout}");
    assert!(stdout.contains(".meltano/run/mp/"), "{stdout}");
    let plain = t.run(&["invoke", "mp"]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("config: {}"));
}
