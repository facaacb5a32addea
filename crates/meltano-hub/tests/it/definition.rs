//! Definitions and lock files: parsing, normalisation, Meltano's byte-exact lock format.

use meltano_core::PluginType;
use meltano_hub::{LockError, PluginDefinition, lock_path, read_lock, write_lock};
use serde_json::{Value, json};

use crate::fake_hub::TAP_DEMO_ACME;

const DEMO_LOCK: &str = include_str!("fixtures/tap-demo--acme.lock");
const EDGE_HUB: &str = include_str!("fixtures/edge_hub_definition.json");
const EDGE_LOCK: &str = include_str!("fixtures/edge_expected.lock");

fn hub_definition(text: &str) -> PluginDefinition {
    let value: Value = serde_json::from_str(text).unwrap();
    let mut definition = PluginDefinition::from_value(value).unwrap();
    definition.plugin_type = Some(PluginType::Extractors);
    definition
}

#[test]
fn lock_file_is_byte_exact_with_the_hand_written_example() {
    let definition = hub_definition(TAP_DEMO_ACME);
    assert_eq!(definition.to_lock_json(), DEMO_LOCK);
}

/// Deprecated kinds, falsy values, verbatim `value`, command short forms, container specs,
/// requirements, extras with empty values, non-ASCII text and Python float spelling, as Meltano
/// 4.4.1 wrote them for this input.
#[test]
fn lock_file_edge_cases_match_meltano() {
    let definition = hub_definition(EDGE_HUB);
    assert_eq!(definition.to_lock_json(), EDGE_LOCK);
}

#[test]
fn lock_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for text in [TAP_DEMO_ACME, EDGE_HUB] {
        let definition = hub_definition(text);
        let path = lock_path(
            dir.path(),
            PluginType::Extractors,
            &definition.name,
            definition.variant.as_deref(),
        );
        write_lock(&path, &definition).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            definition.to_lock_json()
        );
        let read = read_lock(&path).unwrap();
        // Reading normalises once more, as Meltano does when it loads a lock file: a setting
        // left as `kind: password` + `sensitive: true` reads back as `kind: string`.
        let reread = read_lock(&path).unwrap();
        assert_eq!(read, reread);
        let s2 = read.setting("s2").map(|s| s["kind"].clone());
        if text == EDGE_HUB {
            assert_eq!(s2, Some(json!("string")));
        } else {
            assert_eq!(read.to_lock_json(), definition.to_lock_json());
        }
    }
    let read = read_lock(&dir.path().join("plugins/extractors/tap-demo--acme.lock")).unwrap();
    assert_eq!(read.plugin_type, Some(PluginType::Extractors));
    assert_eq!(read.pip_url.as_deref(), Some("tap-demo"));
    assert_eq!(
        read.extras.keys().collect::<Vec<_>>(),
        ["keywords", "maintenance_status", "domain_url", "quality"]
    );
}

#[cfg(unix)]
#[test]
fn lock_file_is_an_ordinary_project_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = lock_path(dir.path(), PluginType::Loaders, "target-x", None);
    write_lock(&path, &hub_definition(TAP_DEMO_ACME)).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["target-x.lock"]);
}

#[test]
fn lock_paths() {
    let root = std::path::Path::new("/p");
    assert_eq!(
        lock_path(root, PluginType::Extractors, "tap-x", Some("acme")),
        root.join("plugins/extractors/tap-x--acme.lock")
    );
    assert_eq!(
        lock_path(root, PluginType::Files, "files-x", None),
        root.join("plugins/files/files-x.lock")
    );
}

#[test]
fn deprecated_kinds_are_normalised() {
    let definition = PluginDefinition::from_value(json!({
        "name": "tap-k", "namespace": "tap_k", "variant": "v", "plugin_type": "extractor",
        "settings": [
            {"name": "a", "kind": "password", "sensitive": true},
            {"name": "b", "kind": "password"},
            {"name": "c", "kind": "oauth", "sensitive": true},
            {"name": "d", "kind": "hidden"},
            {"name": "e", "kind": "hidden", "hidden": true},
            {"name": "f", "kind": "password", "sensitive": false},
        ]
    }))
    .unwrap();
    let kinds: Vec<(String, Value, Option<&Value>, Option<&Value>)> = definition
        .settings
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["kind"].clone(),
                s.get("sensitive"),
                s.get("hidden"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("a".into(), json!("string"), Some(&json!(true)), None),
            ("b".into(), json!("password"), Some(&json!(true)), None),
            ("c".into(), json!("string"), Some(&json!(true)), None),
            ("d".into(), json!("hidden"), None, Some(&json!(true))),
            ("e".into(), json!("string"), None, Some(&json!(true))),
            ("f".into(), json!("password"), Some(&json!(true)), None),
        ]
    );
    insta::assert_snapshot!(definition.deprecated_kind_warnings().join("\n"));
}

#[test]
fn hidden_original_and_deprecated_stay_out_of_lock_files() {
    let definition = PluginDefinition::from_value(json!({
        "name": "tap-h", "namespace": "tap_h", "variant": "v", "plugin_type": "extractors",
        "hidden": true, "original": true, "deprecated": true, "label": "", "dialect": "x"
    }))
    .unwrap();
    assert_eq!(definition.original, Some(true));
    assert_eq!(definition.deprecated, Some(true));
    assert_eq!(
        definition.to_lock_json(),
        "{\n  \"plugin_type\": \"extractors\",\n  \"name\": \"tap-h\",\n  \"namespace\": \"tap_h\",\n  \"variant\": \"v\",\n  \"dialect\": \"x\"\n}\n"
    );
}

#[test]
fn label_defaults_to_the_name() {
    let definition =
        PluginDefinition::from_value(json!({"name": "t", "namespace": "t", "label": null}))
            .unwrap();
    assert_eq!(
        definition.to_lock_json(),
        "{\n  \"name\": \"t\",\n  \"namespace\": \"t\",\n  \"label\": \"t\"\n}\n"
    );
}

#[test]
fn bad_lock_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    std::fs::write(path("syntax.lock"), "{\"name\": ").unwrap();
    std::fs::write(path("nonamespace.lock"), "{\"name\": \"tap-x\"}").unwrap();
    std::fs::write(
        path("badsettings.lock"),
        "{\"name\": \"tap-x\", \"namespace\": \"tap_x\", \"settings\": [{\"kind\": \"string\"}]}",
    )
    .unwrap();
    std::fs::write(
        path("badtype.lock"),
        "{\"plugin_type\": \"widgets\", \"name\": \"tap-x\", \"namespace\": \"tap_x\"}",
    )
    .unwrap();
    std::fs::write(
        path("badcaps.lock"),
        "{\"name\": \"tap-x\", \"namespace\": \"tap_x\", \"capabilities\": \"state\"}",
    )
    .unwrap();
    std::fs::write(path("list.lock"), "[]").unwrap();
    let mut messages = Vec::new();
    for name in [
        "missing.lock",
        "syntax.lock",
        "nonamespace.lock",
        "badsettings.lock",
        "badtype.lock",
        "badcaps.lock",
        "list.lock",
    ] {
        let err: LockError = read_lock(&path(name)).unwrap_err();
        messages.push(err.to_string());
    }
    insta::assert_snapshot!(crate::scrub(dir.path(), &messages.join("\n")));
}
