//! `meltano install` with real virtualenvs and real packages from PyPI, then running them.

use crate::common::TestDir;

const PROJECT: &str = "\
default_environment: dev
environments:
- name: dev
plugins:
  loaders:
  - name: target-jsonl
    namespace: target_jsonl
    pip_url: target-jsonl
    executable: target-jsonl
    settings:
    - name: destination_path
    config:
      destination_path: out
  - name: target-jsonl-copy
    inherit_from: target-jsonl
  utilities:
  - name: broken
    namespace: broken
    pip_url: ./no-such-package-here
  - name: broken-child
    inherit_from: broken
  - name: local-only
    namespace: local_only
    executable: bin/local
";

const STREAM: &str = "\
{\"type\": \"SCHEMA\", \"stream\": \"users\", \"schema\": {\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"integer\"}}}, \"key_properties\": [\"id\"]}
{\"type\": \"RECORD\", \"stream\": \"users\", \"record\": {\"id\": 1}}
{\"type\": \"RECORD\", \"stream\": \"users\", \"record\": {\"id\": 2}}
{\"type\": \"STATE\", \"value\": {\"bookmarks\": {\"users\": 2}}}
";

#[test]
fn installs_target_jsonl_from_pypi_and_runs_it() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    std::fs::create_dir_all(t.path().join("out")).unwrap();
    let out = t.run(&["install", "--plugin-type", "loader"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Installing loader 'target-jsonl'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Installed loader 'target-jsonl'"),
        "{stderr}"
    );
    // The inheriting plugin shares its parent's virtualenv.
    assert!(
        t.path()
            .join(".meltano/loaders/target-jsonl/venv/bin/target-jsonl")
            .is_file()
    );
    assert!(!t.path().join(".meltano/loaders/target-jsonl-copy").exists());
    assert!(
        t.path()
            .join(".meltano/loaders/target-jsonl/venv/.meltano_plugin_fingerprint")
            .is_file()
    );

    let run = t.run_with_stdin(&["invoke", "target-jsonl-copy"], STREAM);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "{\"bookmarks\": {\"users\": 2}}"
    );
    let written = std::fs::read_dir(t.path().join("out"))
        .unwrap()
        .flatten()
        .next()
        .expect("a file in out/");
    let lines = std::fs::read_to_string(written.path()).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");

    // Nothing changed: the auto-install before invoke skips, and a second install reinstalls in place.
    let again = t.run_with_stdin(&["invoke", "target-jsonl"], STREAM);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("Installing"));
}

#[test]
fn a_failed_install_reports_the_output_and_exits_1() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    let out = t.run(&["install", "broken", "local-only"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Installation failed. Utility 'broken' could not be installed"),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-package-here"), "{stderr}");
    assert!(
        stderr.contains("Skipped installing utility 'local-only'. Plugin is not installable."),
        "{stderr}"
    );
    assert!(!t.path().join(".meltano/utilities/broken/venv").exists());
}

#[test]
fn install_for_one_schedule() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-a\n    namespace: a\n  - name: tap-b\n    namespace: b\n  loaders:\n  - name: target-a\n    namespace: ta\n\
         schedules:\n- name: daily-a\n  interval: '@daily'\n  extractor: tap-a\n  loader: target-a\n  transform: skip\n",
    );
    let out = t.run(&["install", "--schedule", "daily-a"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Skipped installing extractor 'tap-a'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Skipped installing loader 'target-a'"),
        "{stderr}"
    );
    assert!(!stderr.contains("tap-b"), "{stderr}");
    assert_eq!(
        t.run(&["install", "--schedule", "nope"]).status.code(),
        Some(1)
    );
}

#[test]
fn a_child_sharing_its_parents_virtualenv_is_skipped() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    let out = t.run(&["install", "--plugin-type", "utility"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("20"))
        .filter_map(|l| l.get(28..))
        .filter(|l| !l.contains("Installation failed") && !l.starts_with(' '))
        .collect();
    assert_eq!(
        lines[1..4],
        [
            "[info     ] meltano      Installing 3 plugins",
            "[info     ] meltano      Skipped installing utility 'broken-child'. Plugin 'broken-child' does not require installation: reusing parent virtualenv.",
            "[info     ] meltano      Skipped installing utility 'local-only'. Plugin is not installable.",
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains("[warning  ] meltano      Installed 0/3 plugins\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[warning  ] meltano      Skipped installing 2/3 plugins\n"),
        "{stderr}"
    );
}
