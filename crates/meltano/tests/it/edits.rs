//! Commands that edit meltano.yml, checked against before/after fixture folders
//! (`tests/fixtures/<case>/{in,out}`): comments, blank lines, key order and quoting survive.

use crate::common::TestDir;
use crate::snapshot;

/// Runs `meltano` with the Hub pointed at a closed local port, so "not in the index" is the same
/// answer on every machine.
fn offline_hub(t: &TestDir, args: &[&str]) -> std::process::Output {
    t.meltano(args)
        .env("MELTANO_HUB_API_ROOT", "http://127.0.0.1:9/meltano/api/v1")
        .output()
        .unwrap()
}

fn run_case(case: &str, args: &[&str], stdin: Option<&str>) -> TestDir {
    let t = TestDir::from_fixture(case);
    let out = match stdin {
        Some(input) => t.run_with_stdin(args, input),
        None => t.run(args),
    };
    snapshot!(case, out, t.path());
    t.assert_matches_fixture(case);
    t
}

#[test]
fn add_custom_with_flags() {
    run_case(
        "add_custom_flags",
        &[
            "add",
            "tap-gitlab",
            "--no-install",
            "--custom",
            "--namespace",
            "tap_gitlab",
            "--pip-url",
            "git+https://example.com/acme/tap-gitlab.git",
            "--executable",
            "tap-gitlab",
            "--capabilities",
            "discover, catalog,state",
            "--settings",
            "projects,private_token:password,start_date:date_iso8601,max_pages:integer",
        ],
        None,
    );
}

#[test]
fn add_custom_with_prompts() {
    run_case(
        "add_custom_prompts",
        &["add", "target-csv", "--custom"],
        Some("\nn\ntarget-csv-local\nfile_naming_scheme,quoting:options\n"),
    );
}

#[test]
fn add_inheriting_plugin() {
    run_case(
        "add_inherit",
        &[
            "add",
            "tap-postgres-eu",
            "--inherit-from",
            "tap-postgres",
            "--no-install",
        ],
        None,
    );
}

#[test]
fn add_as() {
    run_case(
        "add_as",
        &[
            "add",
            "target-jsonl",
            "--as",
            "target-jsonl-debug",
            "--no-install",
        ],
        None,
    );
}

#[test]
fn add_from_ref() {
    run_case(
        "add_from_ref",
        &[
            "add",
            "tap-anything",
            "--from-ref",
            "definitions/tap-rest.yml",
            "--no-install",
        ],
        None,
    );
}

#[test]
fn remove_last_loader() {
    run_case("remove_loader", &["remove", "target-jsonl"], None);
}

#[test]
fn environment_add() {
    run_case("environment_add", &["environment", "add", "staging"], None);
}

#[test]
fn environment_remove() {
    run_case(
        "environment_remove",
        &["environment", "remove", "dev"],
        None,
    );
}

#[test]
fn add_to_a_project_without_plugins() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "# fresh\nproject_id: abc\nenvironments:\n- name: dev\n",
    );
    let out = t.run(&[
        "add",
        "tap-x",
        "--custom",
        "--namespace",
        "tap_x",
        "--pip-url",
        "n",
        "--executable",
        "tap-x",
        "--capabilities",
        "",
        "--settings",
        "",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        t.read("meltano.yml"),
        "# fresh\nproject_id: abc\nenvironments:\n- name: dev\nplugins:\n  extractors:\n  - name: tap-x\n    namespace: tap_x\n    executable: tap-x\n"
    );
}

#[test]
fn add_replaces_an_empty_flow_list() {
    let t = TestDir::new();
    t.write("meltano.yml", "plugins:\n  loaders: []   # none yet\n");
    let out = t.run(&[
        "add",
        "target-x",
        "--no-install",
        "--custom",
        "--namespace",
        "target_x",
        "--pip-url",
        "target-x",
        "--executable",
        "target-x",
        "--settings",
        "",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = t.read("meltano.yml");
    assert!(text.contains("# none yet"), "{text}");
    assert!(text.contains("- name: target-x"), "{text}");
}

#[test]
fn add_existing_plugin_changes_nothing() {
    let t = TestDir::from_fixture("add_inherit");
    let before = t.read("meltano.yml");
    let out = t.run(&["add", "tap-postgres", "--inherit-from", "target-jsonl"]);
    snapshot!("add_existing", out, t.path());
    assert_eq!(t.read("meltano.yml"), before);
}

#[test]
fn add_errors_change_nothing() {
    let t = TestDir::from_fixture("add_inherit");
    let before = t.read("meltano.yml");
    snapshot!(
        "add_unknown_parent",
        offline_hub(&t, &["add", "tap-x", "--inherit-from", "tap-nope"]),
        t.path()
    );
    snapshot!(
        "add_not_in_index",
        offline_hub(&t, &["add", "tap-x"]),
        t.path()
    );
    snapshot!(
        "add_custom_orchestrator",
        t.run(&[
            "add",
            "airflow",
            "--custom",
            "--plugin-type",
            "orchestrator"
        ]),
        t.path()
    );
    let aborted = t.run_with_stdin(&["add", "tap-y", "--custom"], "");
    assert_eq!(aborted.status.code(), Some(1));
    assert_eq!(t.read("meltano.yml"), before);
}

#[test]
fn writes_are_atomic_and_keep_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::from_fixture("environment_add");
    let path = t.path().join("meltano.yml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(t.run(&["environment", "add", "qa"]).status.code(), Some(0));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".meltano-write-")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn add_with_plugin_type_and_python() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  mappers:\n  - name: strip\n    namespace: strip\n",
    );
    let out = t.run(&[
        "add",
        "strip-eu",
        "--plugin-type",
        "mappers",
        "--inherit-from",
        "strip",
        "--python",
        "python3.11",
    ]);
    snapshot!("add_type_python", out, t.path());
    assert_eq!(
        t.read("meltano.yml"),
        "plugins:\n  mappers:\n  - name: strip\n    namespace: strip\n  - name: strip-eu\n    inherit_from: strip\n    python: python3.11\n"
    );
    // The type decides where the parent is looked for: no extractor `strip` in the project or the index.
    assert_eq!(
        t.run(&["add", "strip-2", "--inherit-from", "strip", "--no-install"])
            .status
            .code(),
        Some(1)
    );
    let invalid = t.run(&["add", "x", "--plugin-type", "widget"]);
    assert_eq!(invalid.status.code(), Some(2));
}

#[test]
fn add_from_the_built_in_index_writes_a_lock_file() {
    let t = TestDir::new();
    t.write("meltano.yml", "# my project\nenvironments:\n- name: dev\n");
    let out = t.run(&["add", "target-jsonl", "--no-install"]);
    snapshot!("add_from_index", out, t.path());
    assert_eq!(
        t.read("meltano.yml"),
        "# my project\nenvironments:\n- name: dev\nplugins:\n  loaders:\n  - name: target-jsonl\n    variant: andyh1203\n    pip_url: target-jsonl\n"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&t.read("plugins/loaders/target-jsonl--andyh1203.lock")).unwrap();
    assert_eq!(lock["plugin_type"], "loaders");
    assert_eq!(lock["namespace"], "target_jsonl");
    // The lock file's settings are the plugin's settings from now on.
    let listed =
        String::from_utf8_lossy(&t.run(&["config", "list", "target-jsonl", "--all"]).stdout)
            .into_owned();
    assert!(
        listed.contains("destination_path [env: TARGET_JSONL_DESTINATION_PATH]"),
        "{listed}"
    );

    // Inheriting from a variant of an index plugin locks that variant.
    let out = t.run(&[
        "add",
        "tap-pg-legacy",
        "--inherit-from",
        "tap-postgres",
        "--variant",
        "transferwise",
        "--no-install",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        t.path()
            .join("plugins/extractors/tap-postgres--transferwise.lock")
            .is_file()
    );
    let rows: serde_json::Value =
        serde_json::from_slice(&t.run(&["plugin", "list", "--format", "json"]).stdout).unwrap();
    let legacy = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "tap-pg-legacy")
        .unwrap();
    assert_eq!(
        (legacy["inherit_from"].as_str(), legacy["variant"].as_str()),
        (Some("tap-postgres"), Some("transferwise"))
    );

    let unknown = t.run(&[
        "add",
        "target-jsonl",
        "--variant",
        "nope",
        "--no-install",
        "--plugin-type",
        "loader",
    ]);
    // As Meltano: the variant asked for is looked up first (here on a Hub that cannot be
    // reached), and it is not known.
    assert_eq!(unknown.status.code(), Some(1));
}
