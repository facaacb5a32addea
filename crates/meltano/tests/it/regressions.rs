//! Bugs found in review, each pinned by the test that showed it.

use crate::common::TestDir;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PROJECT: &str = "\
environments:
- name: dev
plugins:
  extractors:
  - name: tap-foo
    namespace: tap_foo
    settings:
    - name: user
    - name: port
      kind: integer
    config:
      user: rootval
  - name: tap-foo--child
    inherit_from: tap-foo
";

#[test]
fn remove_refuses_names_that_leave_the_plugin_directory() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    t.write("keep.txt", "precious\n");
    for name in ["..", "../..", ".", "a/b"] {
        let out = t.run(&["remove", name]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("is not a valid plugin name"));
    }
    assert_eq!(t.read("keep.txt"), "precious\n");
    assert!(t.path().join(".meltano").is_dir());
    assert_eq!(
        t.run(&[
            "add",
            "../x",
            "--custom",
            "--namespace",
            "x",
            "--pip-url",
            "n",
            "--executable",
            "x"
        ])
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn inheritance_cycles_are_an_error_not_a_crash() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-a\n    inherit_from: tap-b\n  - name: tap-b\n    inherit_from: tap-a\n",
    );
    let out = t.run(&["config", "list", "tap-a"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot inherit from"), "{stderr}");
    assert_eq!(
        t.run(&["install", "tap-a"]).status.code(),
        Some(0),
        "no pip_url anywhere: nothing to install"
    );
}

#[test]
fn adding_the_same_name_twice_writes_it_once() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    ok(&t.run(&["add", "tap-x", "tap-x", "--inherit-from", "tap-foo"]));
    assert_eq!(t.read("meltano.yml").matches("- name: tap-x").count(), 1);
}

#[test]
fn meltano_yml_store_means_the_active_environment_for_plugins() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    let out = ok(&t.run(&[
        "--environment",
        "dev",
        "config",
        "set",
        "--store",
        "meltano_yml",
        "tap-foo",
        "user",
        "envval",
    ]));
    assert!(
        out.contains("was set in the active environment in `meltano.yml`"),
        "{out}"
    );
    let text = t.read("meltano.yml");
    assert!(
        text.contains("user: rootval") && text.contains("user: envval"),
        "{text}"
    );
    ok(&t.run(&[
        "--environment",
        "dev",
        "config",
        "unset",
        "--store",
        "meltano_yml",
        "tap-foo",
        "user",
    ]));
    let text = t.read("meltano.yml");
    assert!(
        text.contains("user: rootval") && !text.contains("user: envval"),
        "{text}"
    );
}

#[test]
fn a_bad_value_does_not_block_fixing_it() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    t.write(".env", "TAP_FOO_PORT=abc\n");
    let listed = t.run(&["config", "list", "tap-foo"]);
    assert_eq!(listed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&listed.stderr).contains("TAP_FOO_PORT"),
        "the error names the variable"
    );
    ok(&t.run(&["config", "unset", "tap-foo", "port"]));
    assert!(!t.read(".env").contains("TAP_FOO_PORT"));
    ok(&t.run(&["config", "list", "tap-foo"]));
}

#[test]
fn printed_variables_include_the_parents_prefixes() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    let out = ok(&t.run(&["config", "print", "tap-foo--child", "--format", "env"]));
    assert!(out.contains("TAP_FOO__CHILD_USER='rootval'"), "{out}");
    assert!(out.contains("TAP_FOO_USER='rootval'"), "{out}");
    assert!(out.contains("MELTANO_EXTRACT_USER='rootval'"), "{out}");
}

#[test]
fn escaped_dots_stay_one_key() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    ok(&t.run(&["config", "set", "tap-foo", "a\\.b", "x"]));
    assert!(
        t.read("meltano.yml").contains("a\\.b: x"),
        "{}",
        t.read("meltano.yml")
    );
    let printed: serde_json::Value =
        serde_json::from_str(&ok(&t.run(&["config", "print", "tap-foo"]))).unwrap();
    assert_eq!(printed["a.b"], "x");
}

#[test]
fn plugin_list_shows_the_inherited_pip_url() {
    let t = TestDir::new();
    t.write("meltano.yml", "plugins:\n  loaders:\n  - name: target-a\n    namespace: a\n    pip_url: target-a\n  - name: target-b\n    inherit_from: target-a\n");
    let rows: serde_json::Value =
        serde_json::from_str(&ok(&t.run(&["plugin", "list", "--format", "json"]))).unwrap();
    assert_eq!(rows[1]["pip_url"], "target-a");
}
