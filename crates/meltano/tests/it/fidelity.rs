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
        "version: 1\nstate_backend:\n  uri: ftp://AKIAKEY:hunter2@bucket/prefix\n",
    );
    for args in [
        &["state", "list"][..],
        &["state", "set", "--force", "x", "{}"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(
                "No state backend found for scheme 'ftp', available backends are: systemdb, \
                 azure, file, gs, s3. Install the add-on that provides it."
            ),
            "{err}"
        );
        assert!(
            !err.contains("hunter2") && !err.contains("AKIAKEY"),
            "{err}"
        );
    }
    // A supported backend that cannot be reached names it, without its credentials.
    let out = t
        .meltano(&["state", "list"])
        .env(
            "MELTANO_STATE_BACKEND_URI",
            "s3://AKIAKEY:hunter2@bucket/prefix",
        )
        .env(
            "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL",
            "http://127.0.0.1:9",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("'s3://*****@bucket/prefix'") || err.contains("s3://*****@bucket/prefix:"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("AKIAKEY"),
        "{err}"
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

mod yaml_round_trip {
    use std::process::Command;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use crate::common::TestDir;

    /// Strings that YAML readers are known to turn into something else, and their pieces.
    const TRICKY: &[&str] = &[
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "n",
        "true",
        "False",
        "null",
        "~",
        "NULL",
        "=",
        "<<",
        "0",
        "0123",
        "09",
        "1_000",
        "1e3",
        "-1",
        "+1",
        ".5",
        "1.",
        "3.0",
        ".inf",
        "-.Inf",
        ".NaN",
        "0x1F",
        "0o17",
        "0b101",
        "12:30",
        "1:20:30",
        "2024-01-05",
        "2022-04-25T00:00:01Z",
        "2001-12-14 21:59:43.10 -5",
        "#",
        " #",
        ": ",
        ":",
        "-",
        "- ",
        "?",
        "'",
        "\"",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\t",
        "\n",
        " ",
        "\\",
        "---",
        "...",
        "é",
        "\u{2028}",
        "\u{85}",
        "\u{7f}",
        "$VAR",
    ];

    fn tricky_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(TRICKY).prop_map(str::to_string),
            "[a-zA-Z0-9_.:+-]{1,4}",
        ];
        prop_oneof![
            prop::sample::select(TRICKY).prop_map(str::to_string),
            prop::collection::vec(piece, 1..4).prop_map(|parts| parts.concat()),
            "\\PC{0,8}",
        ]
    }

    /// Reads `config:` of the first extractor in `meltano.yml` with PyYAML (YAML 1.1) as JSON.
    fn read_with_pyyaml(dir: &std::path::Path) -> serde_json::Value {
        let script = "import json, sys, yaml\n\
            doc = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))\n\
            print(json.dumps(doc['plugins']['extractors'][0]['config'], default=repr))";
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(dir.join("meltano.yml"))
            .output()
            .expect("python3 runs (PyYAML is installed by .ci/run)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("PyYAML's reading as JSON")
    }

    /// `config set` writes random strings; PyYAML and a YAML 1.2 reader read back each string.
    #[test]
    fn strings_written_by_config_set_read_back_as_the_same_strings() {
        let mut runner = TestRunner::new(Config {
            cases: 12,
            ..Config::default()
        });
        let strategy = prop::collection::vec(tricky_string(), 16);
        runner
            .run(&strategy, |values| {
                let t = TestDir::new();
                t.write(
                    "meltano.yml",
                    "version: 1\nplugins:\n  extractors:\n  - name: tap-foo\n    namespace: tap_foo\n",
                );
                for (i, value) in values.iter().enumerate() {
                    let name = format!("s{i}");
                    let out = t.run(&["config", "set", "tap-foo", &name, "--", value]);
                    prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
                let text = t.read("meltano.yml");
                let yaml11 = read_with_pyyaml(t.path());
                let yaml12: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML 1.2 reading");
                let yaml12 = &yaml12["plugins"]["extractors"][0]["config"];
                for (i, value) in values.iter().enumerate() {
                    let name = format!("s{i}");
                    let expected = serde_json::Value::String(value.clone());
                    prop_assert_eq!(&yaml11[&name], &expected, "PyYAML read back {:?} in\n{}", yaml11[&name], text);
                    prop_assert_eq!(&yaml12[&name], &expected, "YAML 1.2 read back {:?} in\n{}", yaml12[&name], text);
                }
                Ok(())
            })
            .unwrap();
    }
}

/// New lists go where Meltano 4.4.1 puts them, at their key's column like the rest of the file:
/// the output fixture is the file 4.4.1 wrote after the same commands.
#[test]
fn new_lists_follow_the_files_layout_and_meltanos_order() {
    let t = TestDir::from_fixture("list_layout");
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}", stderr(&out));
    };
    ok(t.run(&["config", "set", "tap-x", "tags", r#"["a", "b"]"#]));
    ok(t.run(&[
        "--environment",
        "dev",
        "config",
        "set",
        "util-x",
        "token_name",
        "foo",
    ]));
    ok(t.run_with_stdin(
        &[
            "add",
            "--plugin-type",
            "loader",
            "target-y",
            "--custom",
            "--no-install",
        ],
        "target_y\ntarget-y\ntarget-y\nabout\npath\n",
    ));
    ok(t.run(&[
        "job",
        "add",
        "daily",
        "--tasks",
        r#"["tap-x target-y", "util-x:foo"]"#,
    ]));
    ok(t.run(&[
        "schedule",
        "add",
        "nightly",
        "--job",
        "daily",
        "--interval",
        "@daily",
    ]));
    ok(t.run(&["config", "set", "tap-x", "tags", r#"["a", "b", "c"]"#]));
    t.assert_matches_fixture("list_layout");
}

/// Every handler of `logging.yaml` gets the lines its own level lets through, in its format.
#[test]
fn logging_config_handlers_each_get_their_lines() {
    let t = TestDir::new();
    t.write("meltano.yml", "version: 1\n");
    t.write(
        "logging.yaml",
        "version: 1\n\
         formatters:\n  plain:\n    (): meltano.core.logging.console_log_formatter\n    colors: False\n\
         \x20 json:\n    (): meltano.core.logging.json_formatter\n\
         \x20 default:\n    format: '[%(levelname)-7s] %(name)s: %(message)s'\n\
         handlers:\n\
         \x20 console:\n    class: logging.StreamHandler\n    level: INFO\n    formatter: plain\n    stream: ext://sys.stderr\n\
         \x20 jsonl_file:\n    class: logging.FileHandler\n    level: DEBUG\n    filename: test.log.jsonl\n    formatter: json\n\
         \x20 plain_file:\n    class: logging.FileHandler\n    level: DEBUG\n    filename: test.log\n    formatter: default\n\
         root:\n  level: DEBUG\n  handlers: [console, jsonl_file, plain_file]\n",
    );
    let out = t.run(&["plugin", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let console = stderr(&out);
    assert!(
        console.contains("[info     ] meltano      Using logging configuration from logging.yaml"),
        "{console}"
    );
    assert!(
        !console.contains("[debug"),
        "an INFO handler shows no debug lines:\n{console}"
    );

    let plain = t.read("test.log");
    assert!(
        plain.contains("[INFO   ] meltano: Using logging configuration from logging.yaml\n"),
        "{plain}"
    );
    assert!(
        plain.contains("[DEBUG  ] meltano: Activated project at "),
        "{plain}"
    );
    let jsonl = t.read("test.log.jsonl");
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["level"], "info");
    assert!(jsonl.contains("\"level\": \"debug\""), "{jsonl}");
}

/// Discovery runs with the state the tap will start from, as Meltano passes it.
#[test]
fn discovery_gets_the_state_when_there_is_one() {
    let t = TestDir::from_fixture("pipeline");
    let log = t.path().join("discover.log");
    for _ in 0..2 {
        let out = t
            .meltano(&["run", "--refresh-catalog", "tap-rows", "target-file"])
            .env("TAP_DISCOVER_LOG", &log)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls, "{}\n{\"bookmarks\": {\"rows\": 3}}\n");
}

const SHOP_TAP: &str = r#"#!/bin/sh
[ "$3" = "--discover" ] && cat "$MELTANO_PROJECT_ROOT/catalog.json"
"#;

/// An environment's `metadata:` and `schema:` add to the plugin's own rules, leaf by leaf.
#[test]
fn environment_metadata_and_schema_merge_with_the_plugins() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "default_environment: dev\n\
         environments:\n- name: dev\n  config:\n    plugins:\n      extractors:\n      - name: tap-shop\n\
         \x20       metadata:\n          orders:\n            is-pii: true\n\
         \x20       schema:\n          orders:\n            note:\n              type: string\n\
         plugins:\n  extractors:\n  - name: tap-shop\n    namespace: tap_shop\n    executable: bin/tap-shop\n\
         \x20   capabilities: [discover, catalog]\n\
         \x20   metadata:\n      orders:\n        replication-method: INCREMENTAL\n        replication-key: updated_at\n\
         \x20   schema:\n      orders:\n        id:\n          type: integer\n",
    );
    t.write(
        "catalog.json",
        r#"{"streams": [{"tap_stream_id": "orders", "stream": "orders", "schema": {"type": "object", "properties": {"id": {"type": "string"}}}, "metadata": [{"breadcrumb": [], "metadata": {}}]}]}"#,
    );
    t.write("bin/tap-shop", SHOP_TAP);
    std::fs::set_permissions(
        t.path().join("bin/tap-shop"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = t.run(&["invoke", "--dump", "catalog", "tap-shop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let catalog: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let orders = &catalog["streams"][0];
    let stream_metadata = &orders["metadata"][0]["metadata"];
    assert_eq!(stream_metadata["replication-key"], "updated_at");
    assert_eq!(stream_metadata["replication-method"], "INCREMENTAL");
    assert_eq!(stream_metadata["is-pii"], true);
    assert_eq!(orders["replication_key"], "updated_at");
    assert_eq!(orders["schema"]["properties"]["id"]["type"], "integer");
    assert_eq!(orders["schema"]["properties"]["note"]["type"], "string");

    // The leaves are listed on their own, as Meltano lists its flattened keys.
    let out = t.run(&[
        "--environment",
        "dev",
        "config",
        "list",
        "tap-shop",
        "--extras",
    ]);
    let listed = stdout(&out);
    assert!(
        listed.contains("_metadata.orders.is-pii [env: TAP_SHOP__METADATA_ORDERS_IS_PII] current value: True (from the active environment in `meltano.yml`)"),
        "{listed}"
    );
    assert!(
        listed.contains("_metadata.orders.replication-key [env: TAP_SHOP__METADATA_ORDERS_REPLICATION_KEY] current value: 'updated_at' (from `meltano.yml`)"),
        "{listed}"
    );
    // Without --extras they are listed under custom extras, as 4.4.1 lists them.
    let listed = stdout(&t.run(&["config", "list", "tap-shop"]));
    assert!(
        listed.starts_with("Custom extras, plugin-specific options handled by Meltano:\n_metadata.orders.replication-key [env: TAP_SHOP__METADATA_ORDERS_REPLICATION_KEY] current value: 'updated_at' (from `meltano.yml`)\n"),
        "{listed}"
    );
}

/// `add --custom` of a plugin the project has asks again and redefines it in place, as 4.4.1
/// does (its config stays); the expected file is the one 4.4.1 wrote for the same answers.
#[test]
fn add_custom_redefines_an_existing_plugin() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "version: 1\nplugins:\n  extractors:\n  - name: tap-x\n    namespace: tap_x\n    pip_url: tap-x-old\n    executable: tap-x\n    config:\n      a: 1\n",
    );
    let out = t.run_with_stdin(
        &["add", "--plugin-type", "extractor", "tap-x", "--custom"],
        "tap_y\nn\ntap-x2\ndiscover\nuser\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Updated extractor 'tap-x' in your project\n"));
    assert_eq!(
        t.read("meltano.yml"),
        "version: 1\nplugins:\n  extractors:\n  - name: tap-x\n    namespace: tap_y\n    executable: tap-x2\n    capabilities:\n    - discover\n    settings:\n    - name: user\n    config:\n      a: 1\n"
    );
}

#[test]
fn add_from_a_missing_reference_is_a_usage_error() {
    let t = TestDir::new();
    t.write("meltano.yml", "version: 1\n");
    let out = t.run(&[
        "add",
        "--from-ref",
        "missing.yml",
        "--plugin-type",
        "extractor",
        "tap-z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).ends_with(
        "Usage: meltano add [OPTIONS] PLUGIN...\nTry 'meltano add --help' for help.\n\nError: Invalid value for '--from-ref': [Errno 2] No such file or directory: 'missing.yml'\n"
    ), "{}", stderr(&out));
    assert_eq!(t.read("meltano.yml"), "version: 1\n");
}

/// Extra keys of a lock file (`select:`, `metadata:`, `ext_repo:`, `keywords:`) are the defaults of
/// the extras of those names, or extras of their own; the expected text is what 4.4.1 printed.
#[test]
fn definition_extras_are_extra_defaults() {
    let t = TestDir::from_fixture("definition_extras");
    let out = t.run(&["config", "print", "tap-demo", "--extras"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = std::fs::read_to_string(
        crate::common::fixture("definition_extras").join("print_extras_4.4.1.json"),
    )
    .unwrap();
    assert_eq!(stdout(&out), expected);

    let out = t.run(&["config", "list", "tap-demo"]);
    assert!(stdout(&out).ends_with(
        "\nTo learn more about extractor 'tap-demo' and its settings, visit https://hub.meltano.com/extractors/tap-demo--acme\n"
    ), "{}", stdout(&out));
}

/// A value whose variables are all unset is unset where it is written, as in 4.4.1: the
/// database's value does not show through.
#[test]
fn a_value_of_unset_variables_is_unset_at_its_layer() {
    let t = TestDir::new();
    t.write("meltano.yml", SETTINGS_PROJECT);
    let out = t.run(&["config", "set", "--store=db", "tap-foo", "flag", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = t.run(&["config", "list", "tap-foo"]);
    assert!(
        stdout(&out).contains(
            "flag [env: TAP_FOO_FLAG] current value: None (from `meltano.yml`: '$FLAG')\n"
        ),
        "{}",
        stdout(&out)
    );
}

/// `compile` lists the project's own setting definitions before the lock file's, and shows an
/// empty secret as it is, as 4.4.1's manifests do.
#[test]
fn compile_orders_settings_and_leaves_empty_secrets_alone() {
    let t = TestDir::from_fixture("definition_extras");
    t.write(
        "meltano.yml",
        "version: 1\nplugins:\n  extractors:\n  - name: tap-demo\n    variant: acme\n    pip_url: tap-demo\n    settings:\n    - name: own_setting\n    config:\n      api_key: ''\n",
    );
    let out = t.run(&["compile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value =
        serde_json::from_str(&t.read(".meltano/manifests/meltano-manifest.json")).unwrap();
    let plugin = &manifest["plugins"]["extractors"][0];
    let names: Vec<&str> = plugin["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"own_setting"), "{names:?}");
    assert!(names.contains(&"api_key"), "{names:?}");
    assert_eq!(plugin["env"]["TAP_DEMO_API_KEY"], "", "{}", plugin["env"]);
}

/// Extras may name the plugin's own settings by the variables it receives them as.
#[test]
fn extras_expand_the_plugins_own_settings() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "version: 1\nplugins:\n  extractors:\n  - name: tap-foo\n    namespace: tap_foo\n    executable: /bin/true\n    settings:\n    - name: schema_name\n    config:\n      schema_name: raw_foo\n    load_schema: $TAP_FOO_SCHEMA_NAME\n",
    );
    let out = t.run(&["config", "print", "tap-foo", "--extras"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\"_load_schema\": \"raw_foo\""),
        "{}",
        stdout(&out)
    );
}

/// The `env:` layers of Meltano's own `meltano-env-precedence` example, stacked: the top level,
/// the environment, the plugin, the environment's plugin override (which 4.4.1 gets right), and
/// a setting naming them (which 4.4.1 leaves as `${STACKED}5`, meltano#7034).
#[test]
fn env_layers_stack_in_order() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "env:\n  STACKED: ${STACKED}2\n\
         plugins:\n  utilities:\n  - name: example\n    namespace: example\n\
         \x20   settings:\n    - name: echo_text\n      env: ECHO_TEXT\n\
         \x20   config:\n      echo_text: ${STACKED}\n\
         \x20   commands:\n      echo-stacked:\n        executable: echo\n        args: \"Stacked: ${STACKED}\"\n\
         \x20     echo-config:\n        executable: echo\n        args: \"Config: ${ECHO_TEXT}\"\n\
         \x20   env:\n      STACKED: ${STACKED}4\n\
         environments:\n- name: prod\n  config:\n    plugins:\n      utilities:\n      - name: example\n\
         \x20       env:\n          STACKED: ${STACKED}5\n  env:\n    STACKED: ${STACKED}3\n",
    );
    let run = |args: &[&str]| {
        let out = t.meltano(args).env("STACKED", "1").output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(
        run(&[
            "--environment",
            "prod",
            "invoke",
            "--print-var",
            "STACKED",
            "example:echo-stacked"
        ]),
        "STACKED=12345\nStacked: 12345\n"
    );
    assert_eq!(
        run(&["--environment", "prod", "invoke", "example:echo-config"]),
        "Config: 12345\n"
    );
    assert_eq!(run(&["invoke", "example:echo-config"]), "Config: 124\n");
}
