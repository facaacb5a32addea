//! `meltano config test` against real processes: small shell plugins that check their config.

use crate::common::TestDir;
use crate::snapshot;

const PROJECT: &str = "\
plugins:
  extractors:
  - name: tap-check
    namespace: tap_check
    executable: bin/tap-check
    settings:
    - name: token
      kind: password
  loaders:
  - name: target-check
    namespace: target_check
    executable: bin/target-check
    settings:
    - name: path
  utilities:
  - name: util
    namespace: util
";

/// Emits a record only when the config file and the injected variable both hold the right token.
const TAP: &str = r#"#!/bin/sh
config="$2"
if grep -q '"token": "good"' "$config" && [ "$MELTANO_EXTRACT_TOKEN" = good ]; then
  echo '{"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": []}'
  echo '{"type": "RECORD", "stream": "s", "record": {"id": 1}}'
  exec sleep 30
fi
echo "authentication failed: bad token" >&2
exit 1
"#;

/// Accepts the stream when configured with `path: ok`.
const TARGET: &str = r#"#!/bin/sh
cat > received.jsonl
grep -q '"path": "ok"' "$2" && exit 0
echo "Error: cannot write to the destination" >&2
exit 1
"#;

fn project() -> TestDir {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    for (name, script) in [("bin/tap-check", TAP), ("bin/target-check", TARGET)] {
        t.write(name, script);
        std::fs::set_permissions(t.path().join(name), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    t
}

fn config_files_left(t: &TestDir, plugin: &str) -> usize {
    std::fs::read_dir(t.path().join(".meltano/run").join(plugin))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".config.json"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn extractor_passes_when_it_emits_a_record() {
    let t = project();
    let out = t
        .meltano(&["config", "test", "tap-check"])
        .env("TAP_CHECK_TOKEN", "good")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Plugin configuration is valid\n"
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(config_files_left(&t, "tap-check"), 0);
}

#[test]
fn extractor_fails_with_its_last_words() {
    let t = project();
    t.write(".env", "TAP_CHECK_TOKEN=bad\n");
    snapshot!(
        "config_test_extractor_invalid",
        t.run(&["config", "test", "tap-check"]),
        t.path()
    );
    assert_eq!(config_files_left(&t, "tap-check"), 0);
}

#[test]
fn loader_receives_a_test_stream() {
    let t = project();
    let out = t
        .meltano(&["config", "test", "target-check"])
        .env("TARGET_CHECK_PATH", "ok")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = t.read("received.jsonl");
    assert!(
        received
            .lines()
            .next()
            .unwrap()
            .contains("\"type\": \"SCHEMA\"")
    );
    assert!(received.contains("meltano_test_stream"));
    snapshot!(
        "config_test_loader_invalid",
        t.run(&["config", "test", "target-check"]),
        t.path()
    );
}

#[test]
fn other_plugins_and_missing_executables() {
    let t = project();
    snapshot!(
        "config_test_utility",
        t.run(&["config", "test", "util"]),
        t.path()
    );
    snapshot!(
        "config_test_meltano",
        t.run(&["config", "test", "meltano"]),
        t.path()
    );
    std::fs::remove_file(t.path().join("bin/tap-check")).unwrap();
    snapshot!(
        "config_test_missing_executable",
        t.run(&["config", "test", "tap-check"]),
        t.path()
    );
}
