//! `meltano compile`: which manifests are written where, what they hold (resolved settings and
//! variables, redaction, environments laid over the project), their layout, and `--lint`.

use std::path::Path;

use crate::common::{TestDir, filters};
use crate::snapshot;

fn project() -> TestDir {
    TestDir::from_fixture("compile")
}

/// Snapshots the text of a written file, temporary paths filtered.
fn snapshot_file(name: &str, t: &TestDir, relative: &str) {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in filters(t.path()) {
        settings.add_filter(&pattern, replacement);
    }
    let text = t.read(relative);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The file names in a directory, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn manifest(t: &TestDir, relative: &str) -> serde_json::Value {
    serde_json::from_str(&t.read(relative)).expect("manifest is JSON")
}

#[test]
fn compiles_every_environment_with_secrets_redacted() {
    let t = project();
    snapshot!("compile_all", t.run(&["compile"]), t.path());
    assert_eq!(
        files_in(&t.path().join(".meltano/manifests")),
        [
            "meltano-manifest.dev.json",
            "meltano-manifest.json",
            "meltano-manifest.prod.json"
        ]
    );
    snapshot_file(
        "compile_manifest_no_environment",
        &t,
        ".meltano/manifests/meltano-manifest.json",
    );
    snapshot_file(
        "compile_manifest_dev",
        &t,
        ".meltano/manifests/meltano-manifest.dev.json",
    );
    // prod overrides nothing: it is the manifest without an environment.
    assert_eq!(
        t.read(".meltano/manifests/meltano-manifest.prod.json"),
        t.read(".meltano/manifests/meltano-manifest.json")
    );
    let text = t.read(".meltano/manifests/meltano-manifest.dev.json");
    for secret in ["topsecret", "sekret", "devkey"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let compiled = manifest(&t, ".meltano/manifests/meltano-manifest.dev.json");
    assert_eq!(
        compiled["plugins"]["utilities"][0]["env"]["TOOL_TOKEN"],
        "(redacted)"
    );
}

#[test]
fn unsafe_reveals_secrets_and_keeps_the_file_private() {
    let t = project();
    snapshot!(
        "compile_unsafe_no_environment",
        t.run(&[
            "--no-environment",
            "compile",
            "--unsafe",
            "--directory",
            "out",
            "--indent",
            "2"
        ]),
        t.path()
    );
    assert_eq!(files_in(&t.path().join("out")), ["meltano-manifest.json"]);
    assert!(!t.path().join(".meltano/manifests").exists());
    snapshot_file("compile_manifest_unsafe", &t, "out/meltano-manifest.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.path().join("out/meltano-manifest.json"))
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let compiled = manifest(&t, "out/meltano-manifest.json");
    assert_eq!(
        compiled["plugins"]["extractors"][0]["config"]["api_key"],
        "sekret"
    );
    assert_eq!(
        compiled["plugins"]["extractors"][0]["env"]["TAP_ACME_API_KEY"],
        "sekret"
    );
    assert_eq!(
        compiled["env"]["MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY"],
        "topsecret"
    );
}

#[test]
fn one_environment_on_one_line() {
    let t = project();
    snapshot!(
        "compile_one_environment",
        t.run(&["--environment", "dev", "compile", "--indent", "-1"]),
        t.path()
    );
    assert_eq!(
        files_in(&t.path().join(".meltano/manifests")),
        ["meltano-manifest.dev.json"]
    );
    let text = t.read(".meltano/manifests/meltano-manifest.dev.json");
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.starts_with("{\"annotations\": {\"tool\": {\"env\": \"dev\", \"note\": \"top\"}}, ")
    );
    // The same content as the indented manifest.
    let u = project();
    assert!(u.run(&["--environment", "dev", "compile"]).status.success());
    assert_eq!(
        manifest(&t, ".meltano/manifests/meltano-manifest.dev.json"),
        manifest(&u, ".meltano/manifests/meltano-manifest.dev.json")
    );

    // MELTANO_ENVIRONMENT chooses like --environment; `--indent 0` is one line too.
    let v = project();
    let out = v
        .meltano(&["compile", "--indent", "0"])
        .env("MELTANO_ENVIRONMENT", "prod")
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(
        files_in(&v.path().join(".meltano/manifests")),
        ["meltano-manifest.prod.json"]
    );
    assert_eq!(
        v.read(".meltano/manifests/meltano-manifest.prod.json")
            .lines()
            .count(),
        1
    );
}

#[test]
fn directories_are_relative_to_the_working_directory() {
    let t = project();
    let out = t
        .meltano(&["--no-environment", "compile", "--directory", "rel"])
        .current_dir(t.path().join("extra"))
        .output()
        .expect("runs");
    snapshot!("compile_directory_from_subdirectory", out, t.path());
    assert_eq!(
        files_in(&t.path().join("extra/rel")),
        ["meltano-manifest.json"]
    );
    // Without --directory, the project's .meltano/manifests wherever the command runs.
    let out = t
        .meltano(&["--no-environment", "compile"])
        .current_dir(t.path().join("extra"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(
        t.path()
            .join(".meltano/manifests/meltano-manifest.json")
            .exists()
    );
}

#[test]
fn unknown_environment_and_no_project_fail() {
    let t = project();
    snapshot!(
        "compile_unknown_environment",
        t.run(&["--environment", "nope", "compile"]),
        t.path()
    );
    assert!(!t.path().join(".meltano/manifests").exists());
    let empty = TestDir::new();
    snapshot!(
        "compile_outside_project",
        empty.run(&["compile"]),
        empty.path()
    );
}

#[test]
fn an_empty_project_has_every_plugin_type_and_no_jobs() {
    let t = TestDir::new();
    t.write("meltano.yml", "project_id: empty\n");
    snapshot!("compile_empty", t.run(&["compile"]), t.path());
    snapshot_file(
        "compile_manifest_empty",
        &t,
        ".meltano/manifests/meltano-manifest.json",
    );
}

#[test]
fn lint_reports_schema_problems_as_warnings() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        r#"project_id: lint
unknown_key: 1
database_max_retries: -1
venv:
  backend: pip
env:
  NUMBER: 1
environments:
- name: dev
  state_id_suffix: ok
  annotations:
    a: 1
plugins:
  extractors:
  - name: tap-x
    namespace: tap_x
    log_parser: other
    surprise: true
    capabilities: [catalog, teleport]
  utilities:
  - name: util
    namespace: util
    capabilities: [about]
  mappers:
  - name: mapper-x
    namespace: mapper_x
    mappings:
    - name: m
      config: {}
      extra: 1
schedules:
- name: s
  interval: every day
  job: j
- name: t
  interval: '@daily'
  extractor: tap-x
  loader: target-x
jobs:
- name: j
  tasks: [tap-x]
"#,
    );
    snapshot!(
        "compile_lint",
        t.run(&["--no-environment", "compile", "--lint"]),
        t.path()
    );
    // Without --lint (or with --no-lint last) nothing is checked.
    let out = t.run(&["--no-environment", "compile", "--lint", "--no-lint"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("validate"));
    // A clean project passes.
    let clean = project();
    let out = clean.run(&["compile", "--lint"]);
    assert!(out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Failed to validate project files"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
