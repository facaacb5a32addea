//! `meltano config`: where values come from, how they are shown, and where writes go.

use crate::common::TestDir;
use crate::snapshot;

fn project() -> TestDir {
    TestDir::from_fixture("config_set")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn list_shows_sections_sources_and_hidden_count() {
    let t = project();
    snapshot!(
        "config_list",
        t.run(&["config", "list", "tap-fake"]),
        t.path()
    );
    let out = t
        .meltano(&["config", "list", "tap-fake-2", "--all"])
        .env("TAP_FAKE_2_FLAG", "yes")
        .output()
        .unwrap();
    snapshot!("config_list_inherited_all", out, t.path());
    snapshot!(
        "config_list_extras",
        t.run(&["config", "list", "tap-fake", "--extras", "--all"]),
        t.path()
    );
    snapshot!(
        "config_list_filter",
        t.run(&["config", "list", "tap-fake", "--filter", "PA"]),
        t.path()
    );
    snapshot!(
        "config_list_filter_none",
        t.run(&["config", "list", "tap-fake", "--filter", "zzz"]),
        t.path()
    );
}

#[test]
fn print_gives_the_plugin_config_and_variables() {
    let t = project();
    snapshot!(
        "config_print",
        t.run(&["config", "print", "tap-fake"]),
        t.path()
    );
    snapshot!(
        "config_print_env",
        t.run(&["config", "print", "tap-fake", "--format", "env"]),
        t.path()
    );
    snapshot!(
        "config_print_extras",
        t.run(&["config", "print", "tap-fake-2", "--extras"]),
        t.path()
    );
}

#[test]
fn project_settings() {
    let t = project();
    snapshot!(
        "config_list_meltano",
        t.run(&["config", "list", "meltano"]),
        t.path()
    );
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&t.run(&["config", "print", "meltano"]))).unwrap();
    assert_eq!(printed["default_environment"], "dev");
    assert_eq!(printed["elt"]["buffer_size"], 104857600);
    assert_eq!(
        printed["database_uri"],
        format!("sqlite:///{}/.meltano/meltano.db", t.path().display())
    );
}

#[test]
fn precedence_environment_dotenv_meltano_yml() {
    let t = project();
    let username = |out: String| {
        out.lines()
            .find(|l| l.starts_with("username "))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(
        username(stdout(&t.run(&["config", "list", "tap-fake"])))
            .ends_with("current value: 'alice' (from `meltano.yml`)")
    );
    t.write(".env", "FAKENS_USERNAME=from-dotenv\n");
    assert!(
        username(stdout(&t.run(&["config", "list", "tap-fake"]))).ends_with(
            "current value: 'from-dotenv' (from the FAKENS_USERNAME variable in `.env`)"
        )
    );
    let out = t
        .meltano(&["config", "list", "tap-fake"])
        .env("TAP_FAKE_USERNAME", "from-env")
        .output()
        .unwrap();
    assert!(username(stdout(&out)).ends_with(
        "current value: 'from-env' (from the TAP_FAKE_USERNAME variable in the environment)"
    ));
    let conflict = t
        .meltano(&["config", "print", "tap-fake"])
        .env("TAP_FAKE_USERNAME", "a")
        .env("FAKENS_USERNAME", "b")
        .output()
        .unwrap();
    assert_eq!(conflict.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&conflict.stderr)
            .contains("Conflicting values for setting found in")
    );
}

#[test]
fn values_are_expanded_from_the_environment() {
    let t = project();
    t.write(".env", "DB_HOST=db.internal\n");
    let manifest = t.read("meltano.yml").replace(
        "username: alice   # the usual account",
        "username: ${DB_HOST}-$$literal",
    );
    t.write("meltano.yml", &manifest);
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&t.run(&["config", "print", "tap-fake"]))).unwrap();
    assert_eq!(printed["username"], "db.internal-$literal");
    let listed = stdout(&t.run(&["config", "list", "tap-fake"]));
    assert!(
        listed.contains(
            "current value: 'db.internal-$literal' (from `meltano.yml`: '${DB_HOST}-$$literal')"
        ),
        "{listed}"
    );
}

#[test]
fn sensitive_values_are_redacted_unless_unsafe() {
    let t = project();
    let out = t
        .meltano(&["config", "list", "tap-fake"])
        .env("TAP_FAKE_PASSWORD", "hunter2")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(
            "password [env: TAP_FAKE_PASSWORD, FAKENS_PASSWORD] current value: (redacted)"
        ),
        "{text}"
    );
    assert!(!text.contains("hunter2"));
    let printed = stdout(
        &t.meltano(&["config", "print", "tap-fake"])
            .env("TAP_FAKE_PASSWORD", "hunter2")
            .output()
            .unwrap(),
    );
    assert!(!printed.contains("hunter2"), "{printed}");
    let revealed = stdout(
        &t.meltano(&["config", "--unsafe", "print", "tap-fake"])
            .env("TAP_FAKE_PASSWORD", "hunter2")
            .output()
            .unwrap(),
    );
    assert!(revealed.contains("hunter2"));
}

#[test]
fn set_writes_to_the_right_store() {
    let t = project();
    let run = |args: &[&str]| {
        let out = t.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Secrets go to .env, never meltano.yml.
    assert_eq!(
        run(&["config", "set", "tap-fake", "password", "s3cret"]),
        "Extractor 'tap-fake' setting 'password' was set in `.env`: (redacted)\n"
    );
    assert_eq!(
        run(&["config", "set", "tap-fake", "port", "99"]),
        "Extractor 'tap-fake' setting 'port' was set in `meltano.yml`: 99\n"
    );
    assert_eq!(
        run(&["config", "set", "tap-fake", "flag", "yes"]),
        "Extractor 'tap-fake' setting 'flag' was set in `meltano.yml`: True\n"
    );
    run(&["config", "set", "tap-fake", "nested", "value", "deeper"]);
    run(&["config", "set", "tap-fake", "_select", "[\"orders.*\"]"]);
    run(&["config", "set", "meltano", "elt.buffer_size", "5"]);
    // Environment-specific project settings go to .env.
    assert_eq!(
        run(&["config", "set", "meltano", "cli.log_level", "warning"]),
        "Meltano setting 'cli.log_level' was set in `.env`: 'warning'\n"
    );
    // An explicit environment takes plugin settings.
    run(&[
        "--environment",
        "dev",
        "config",
        "set",
        "tap-fake",
        "username",
        "devuser",
    ]);
    // The database store.
    let db = run(&[
        "config",
        "set",
        "--store=db",
        "tap-fake",
        "start_date",
        "2024-01-01",
    ]);
    assert_eq!(
        db,
        "Extractor 'tap-fake' setting 'start_date' was set in the system database: '2024-01-01'\n"
    );
    t.assert_matches_fixture("config_set");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(t.path().join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let listed = stdout(&t.run(&["config", "list", "tap-fake"]));
    assert!(listed.contains("start_date [env: TAP_FAKE_START_DATE, FAKENS_START_DATE] current value: '2024-01-01' (from the system database)"), "{listed}");
    let in_env = stdout(&t.run(&["--environment", "dev", "config", "list", "tap-fake"]));
    assert!(
        in_env.contains("current value: 'devuser' (from the active environment in `meltano.yml`)"),
        "{in_env}"
    );
}

#[test]
fn set_reports_a_value_still_overridden() {
    let t = project();
    let out = t
        .meltano(&["config", "set", "tap-fake", "username", "bob"])
        .env("TAP_FAKE_USERNAME", "env-wins")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "Extractor 'tap-fake' setting 'username' was set in `meltano.yml`: 'bob'\n\
         Current value is still: 'env-wins' (from the environment)\n"
    );
}

#[test]
fn set_rejects_bad_values_and_unknown_plugins() {
    let t = project();
    let before = t.read("meltano.yml");
    snapshot!(
        "config_set_bad_integer",
        t.run(&["config", "set", "tap-fake", "port", "many"]),
        t.path()
    );
    snapshot!(
        "config_set_unknown_plugin",
        t.run(&["config", "set", "tap-nope", "x", "1"]),
        t.path()
    );
    assert_eq!(t.read("meltano.yml"), before);
}

#[test]
fn unset_and_reset() {
    let t = project();
    t.run(&["config", "set", "tap-fake", "password", "s3cret"]);
    t.run(&["config", "set", "--store=db", "tap-fake", "port", "1"]);
    let out = stdout(&t.run(&["config", "unset", "tap-fake", "username"]));
    assert_eq!(
        out,
        "Extractor 'tap-fake' setting 'username' in `meltano.yml` was unset\n"
    );
    assert!(!t.read("meltano.yml").contains("alice"));
    assert!(t.read("meltano.yml").contains("# Settings test project"));

    let aborted = t.run_with_stdin(&["config", "reset", "tap-fake"], "n\n");
    assert_eq!(aborted.status.code(), Some(1));
    let out = stdout(&t.run(&["config", "reset", "tap-fake", "--yes"]));
    assert_eq!(
        out,
        "Extractor 'tap-fake' settings in the system database, `meltano.yml`, and `.env` were reset\n"
    );
    // Only this plugin's variables leave .env.
    assert_eq!(t.read(".env"), "# keep me\nOTHER=1\n");
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&t.run(&["config", "print", "tap-fake"]))).unwrap();
    assert_eq!(printed, serde_json::json!({"port": 5432}));
}

#[test]
fn values_stored_by_meltano_4_4_1_are_read() {
    let t = project();
    assert!(t.run(&["config", "list", "meltano"]).status.success());
    // `pickle.dumps('bob')` as Python 3.11 writes it, inserted as Meltano would.
    let db = t.path().join(".meltano/meltano.db");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect({db:?}); c.execute(\"INSERT INTO plugin_settings (name, namespace, value, enabled) VALUES ('username', 'extractors.tap-fake-2.default', ?, 1)\", (b'\\x80\\x05\\x95\\x07\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x8c\\x03bob\\x94.',)); c.commit()",
            db = db.display().to_string()
        ))
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let listed = stdout(&t.run(&["config", "list", "tap-fake-2"]));
    assert!(
        listed.contains(
            "username [env: TAP_FAKE_2_USERNAME] current value: 'bob' (from the system database)"
        ),
        "{listed}"
    );
}

#[test]
fn set_from_file_and_interactively() {
    let t = project();
    t.write("token.txt", "  from-a-file\n");
    let out = stdout(&t.run(&[
        "config",
        "set",
        "tap-fake",
        "username",
        "--from-file",
        "token.txt",
    ]));
    assert_eq!(
        out,
        "Extractor 'tap-fake' setting 'username' was set in `meltano.yml`: 'from-a-file'\n"
    );
    // Pick setting 4 (flag, in definition order) and give it a value.
    let out = t.run_with_stdin(&["config", "set", "tap-fake", "--interactive"], "4\non\n");
    let text = stdout(&out);
    assert!(
        text.contains("Extractor 'tap-fake' setting 'flag' was set in `meltano.yml`: True"),
        "{text}"
    );
    let printed: serde_json::Value =
        serde_json::from_str(&stdout(&t.run(&["config", "print", "tap-fake"]))).unwrap();
    assert_eq!(printed["flag"], true);
    assert_eq!(printed["username"], "from-a-file");
}

#[test]
fn store_names_and_unknown_settings() {
    let t = project();
    let out = t.run(&[
        "config",
        "set",
        "--store",
        "meltano-yml",
        "tap-fake",
        "brand_new",
        "hello",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown setting 'brand_new'"));
    assert!(t.read("meltano.yml").contains("brand_new: hello"));
    let bad = t.run(&["config", "set", "--store", "nowhere", "tap-fake", "x", "1"]);
    assert_eq!(bad.status.code(), Some(2));
    // A sensitive value never lands in meltano.yml, even through the environment.
    let out = t.run(&[
        "--environment",
        "prod",
        "config",
        "set",
        "tap-fake",
        "password",
        "p",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("was set in `.env`"));
    assert!(!t.read("meltano.yml").contains("password: p"));
}

#[test]
fn stream_maps_are_expanded_at_every_level() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  mappers:\n  - name: hide\n    namespace: hide\n    mappings:\n    - name: hide-emails\n      config:\n        stream_maps:\n          users:\n            email: $EMAIL_EXPR\n            __alias__: ${PREFIX}_users\n",
    );
    t.write(".env", "EMAIL_EXPR=md5(email)\nPREFIX=clean\n");
    let out = t.run(&["config", "print", "hide", "--extras"]);
    let extras: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        extras["_mappings"][0]["config"]["stream_maps"]["users"],
        serde_json::json!({"email": "md5(email)", "__alias__": "clean_users"})
    );
}

/// A project with hidden settings, non-ASCII values, `$VAR`s an heir inherits, and a mapper.
fn output_project() -> TestDir {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        r#"project_id: 2f1c9e8a-0000-4000-8000-000000000002
plugins:
  extractors:
  - name: tap-x
    namespace: tap_x
    executable: tap-x
    settings:
    - name: visible
    - name: hid_kind
      kind: hidden
      value: hk
    - name: hid_flag
      hidden: true
    - name: hid_set
      hidden: true
    - name: host
    - name: pw
      kind: password
    - name: ratio
      kind: decimal
    config:
      hid_set: configured
      uni: "héllo ✓"
      host: $MYHOST
      pw: $MYPW
      ratio: 0.5
  - name: tap-y
    inherit_from: tap-x
  mappers:
  - name: map-x
    namespace: map_x
    executable: map-x
    mappings:
    - name: m1
      config:
        a: "é"
"#,
    );
    t.write(".env", "MYHOST=h.example\nMYPW=secret\n");
    t
}

#[test]
fn hidden_settings_are_listed_like_any_other() {
    let t = output_project();
    snapshot!(
        "config_list_hidden",
        t.run(&["config", "list", "tap-x"]),
        t.path()
    );
    snapshot!(
        "config_list_hidden_all",
        t.run(&["config", "list", "tap-x", "--all"]),
        t.path()
    );
}

#[test]
fn inherited_values_show_what_the_parent_wrote() {
    let t = output_project();
    snapshot!(
        "config_list_inherited_unexpanded",
        t.run(&["config", "list", "tap-y"]),
        t.path()
    );
    snapshot!(
        "config_list_inherited_unexpanded_unsafe",
        t.run(&["config", "--unsafe", "list", "tap-y"]),
        t.path()
    );
}

#[test]
fn print_writes_json_and_variables_as_python_does() {
    let t = output_project();
    snapshot!(
        "config_print_non_ascii",
        t.run(&["config", "print", "tap-x"]),
        t.path()
    );
    snapshot!(
        "config_print_env_blank_line",
        t.run(&["config", "print", "tap-x", "--format", "env"]),
        t.path()
    );
    snapshot!(
        "config_print_mapper_extras",
        t.run(&["config", "print", "map-x", "--extras"]),
        t.path()
    );
    snapshot!(
        "config_print_mapper_extras_env",
        t.run(&["config", "print", "map-x", "--extras", "--format", "env"]),
        t.path()
    );
    snapshot!(
        "config_list_mapper_extras",
        t.run(&["config", "list", "map-x", "--extras", "--all"]),
        t.path()
    );
}

#[test]
fn custom_extras_are_listed_with_the_settings() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-x\n    namespace: tap_x\n    foo: bar\n    config:\n      a: 1\n",
    );
    snapshot!(
        "config_list_custom_extras",
        t.run(&["config", "list", "tap-x"]),
        t.path()
    );
    // With only defaults to show, the extras come without an `Optional:` header.
    snapshot!(
        "config_list_extras_only_optional",
        t.run(&["config", "list", "tap-x", "--extras", "--all"]),
        t.path()
    );
    snapshot!(
        "config_list_filter_quoted",
        t.run(&["config", "list", "tap-x", "--filter", "it's"]),
        t.path()
    );
}

#[test]
fn a_mapping_is_configured_as_its_mapper_with_the_mapping_config() {
    let t = output_project();
    snapshot!(
        "config_list_mapping",
        t.run(&["config", "list", "m1"]),
        t.path()
    );
    snapshot!(
        "config_print_mapping",
        t.run(&["config", "print", "m1"]),
        t.path()
    );
    snapshot!(
        "config_print_mapping_extras",
        t.run(&["config", "print", "m1", "--extras"]),
        t.path()
    );
    snapshot!(
        "config_list_mapping_extras",
        t.run(&["config", "list", "m1", "--extras", "--all"]),
        t.path()
    );
}

#[test]
fn project_print_and_empty_extras_list() {
    let t = project();
    // Meltano nests every unset project setting as `{}`.
    snapshot!(
        "config_print_meltano",
        t.run(&["config", "print", "meltano"]),
        t.path()
    );
    // Nothing to list still leaves the blank line before the docs link.
    snapshot!(
        "config_list_meltano_extras",
        t.run(&["config", "list", "meltano", "--extras"]),
        t.path()
    );
}
