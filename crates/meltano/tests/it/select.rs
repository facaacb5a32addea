//! Discovery, catalog rules, `meltano select` and `invoke --dump catalog`, with a shell tap.

use crate::common::TestDir;
use crate::snapshot;

const PROJECT: &str = "\
plugins:
  extractors:
  - name: tap-shop
    namespace: tap_shop
    pip_url: tap-shop-not-on-pypi
    executable: bin/tap-shop
    capabilities: [discover, catalog]
    metadata:
      orders:
        replication-method: INCREMENTAL
        replication-key: updated_at
";

const CATALOG: &str = r#"{"streams": [
 {"tap_stream_id": "users", "stream": "users", "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "email": {"type": "string"}}},
  "metadata": [{"breadcrumb": [], "metadata": {"table-key-properties": ["id"]}}, {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}}]},
 {"tap_stream_id": "orders", "stream": "orders", "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "updated_at": {"type": "string"}}},
  "metadata": [{"breadcrumb": [], "metadata": {}}]}
]}"#;

/// Discovers from `catalog.json`; syncs by printing one record per selected stream of its catalog.
const TAP: &str = r#"#!/bin/sh
if [ "$3" = "--discover" ]; then
  echo "discovering" >&2
  cat "$MELTANO_PROJECT_ROOT/catalog.json"
  exit 0
fi
if [ "$3" = "--catalog" ]; then
  grep -q '"selected": true' "$4" && echo '{"type": "RECORD", "stream": "users", "record": {"id": 1}}'
  exit 0
fi
echo "unexpected arguments: $*" >&2
exit 2
"#;

fn project() -> TestDir {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    t.write("catalog.json", CATALOG);
    t.write("bin/tap-shop", TAP);
    std::fs::set_permissions(
        t.path().join("bin/tap-shop"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    t
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
fn select_patterns_are_added_listed_and_removed() {
    let t = project();
    stdout(&t.run(&["select", "tap-shop", "users", "id"]));
    stdout(&t.run(&["select", "tap-shop", "users", "email", "--exclude"]));
    stdout(&t.run(&["select", "tap-shop", "orders"]));
    assert!(
        t.read("meltano.yml").contains("select:"),
        "{}",
        t.read("meltano.yml")
    );
    snapshot!(
        "select_list_all",
        t.meltano(&["select", "tap-shop", "--list", "--all", "--no-install"])
            .output()
            .unwrap(),
        t.path()
    );
    snapshot!(
        "select_json",
        t.meltano(&["select", "tap-shop", "--json", "--no-install"])
            .output()
            .unwrap(),
        t.path()
    );
    stdout(&t.run(&["select", "tap-shop", "orders", "--rm"]));
    let missing = t.run(&["select", "tap-shop", "nothing", "--rm"]);
    assert_eq!(missing.status.code(), Some(1));
    stdout(&t.run(&["select", "tap-shop", "--clear"]));
    assert!(!t.read("meltano.yml").contains("select:"));
}

#[test]
fn dump_catalog_applies_rules_and_caches_discovery() {
    let t = project();
    let out = t
        .meltano(&["invoke", "--dump", "catalog", "tap-shop", "--no-install"])
        .output()
        .unwrap();
    let catalog: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let orders = &catalog["streams"][1];
    assert_eq!(orders["replication_method"], "INCREMENTAL");
    assert_eq!(orders["metadata"][0]["metadata"]["selected"], true);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Running catalog discovery"));
    assert!(
        t.path()
            .join(".meltano/run/tap-shop/tap.properties.cache_key")
            .is_file()
    );
    // Unchanged config: the cached catalog is used.
    let again = t
        .meltano(&["invoke", "--dump", "catalog", "tap-shop", "--no-install"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&again.stderr).contains("Running catalog discovery"));
    let refreshed = t
        .meltano(&[
            "invoke",
            "--dump",
            "catalog",
            "--refresh-catalog",
            "tap-shop",
            "--no-install",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&refreshed.stderr).contains("Running catalog discovery"));
}

#[test]
fn taps_run_with_their_catalog() {
    let t = project();
    let out = t.meltano(&["invoke", "tap-shop", "--no-install"]).output();
    // `--no-install` belongs to invoke before the plugin name; after it, it is the tap's argument.
    assert!(out.is_ok());
    let run = t
        .meltano(&["invoke", "--no-install", "tap-shop"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&run),
        "{\"type\": \"RECORD\", \"stream\": \"users\", \"record\": {\"id\": 1}}\n"
    );
    let test = t
        .meltano(&["config", "test", "--no-install", "tap-shop"])
        .output()
        .unwrap();
    assert_eq!(stdout(&test), "Plugin configuration is valid\n");
    let failing = t
        .meltano(&["invoke", "--no-install", "tap-shop"])
        .env("BROKEN", "1")
        .output()
        .unwrap();
    assert_eq!(failing.status.code(), Some(0));
    t.write("catalog.json", "not json");
    let bad = t
        .meltano(&[
            "invoke",
            "--dump",
            "catalog",
            "--refresh-catalog",
            "--no-install",
            "tap-shop",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Invalid catalog"));
}

#[test]
fn select_in_an_environment_writes_the_environments_entry() {
    let t = project();
    let manifest = format!("{}environments:\n- name: dev\n", t.read("meltano.yml"));
    t.write("meltano.yml", &manifest);
    stdout(&t.run(&["--environment", "dev", "select", "tap-shop", "orders"]));
    let text = t.read("meltano.yml");
    assert!(text.contains("- name: dev\n  config:\n    plugins:\n      extractors:\n      - name: tap-shop\n        select:\n"), "{text}");
    let listed = stdout(
        &t.meltano(&[
            "--environment",
            "dev",
            "select",
            "tap-shop",
            "--json",
            "--no-install",
        ])
        .output()
        .unwrap(),
    );
    let json: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(json["enabled_patterns"], serde_json::json!(["orders.*"]));
}

#[test]
fn select_in_an_environment_starts_from_the_environments_own_list() {
    let t = project();
    stdout(&t.run(&["select", "tap-shop", "customers"]));
    let manifest = format!("{}environments:\n- name: dev\n", t.read("meltano.yml"));
    t.write("meltano.yml", &manifest);
    stdout(&t.run(&["--environment", "dev", "select", "tap-shop", "orders"]));
    let text = t.read("meltano.yml");
    assert!(
        text.contains("      - name: tap-shop\n        select:\n        - orders.*\n"),
        "{text}"
    );
    assert_eq!(text.matches("customers.*").count(), 1, "{text}");
    stdout(&t.run(&[
        "--environment",
        "dev",
        "select",
        "tap-shop",
        "orders",
        "--rm",
    ]));
    let text = t.read("meltano.yml");
    assert!(!text.contains("orders.*"), "{text}");
    assert!(text.contains("customers.*"), "{text}");
}

#[test]
fn select_edits_keep_the_comments_and_quoting_of_other_patterns() {
    let t = project();
    let manifest = t.read("meltano.yml").replace(
        "    metadata:\n",
        "    select:\n    - users.*      # everything about users\n    - \"orders.id\"  # only the key\n    metadata:\n",
    );
    t.write("meltano.yml", &manifest);
    stdout(&t.run(&["select", "tap-shop", "orders", "updated_at"]));
    let text = t.read("meltano.yml");
    assert!(
        text.contains("    select:\n    - users.*      # everything about users\n    - \"orders.id\"  # only the key\n"),
        "{text}"
    );
    assert!(text.contains("orders.updated_at"), "{text}");
    stdout(&t.run(&["select", "tap-shop", "orders", "updated_at", "--rm"]));
    let after = t.read("meltano.yml");
    assert_eq!(
        after, manifest,
        "removing the added pattern restores the file"
    );
}

#[test]
fn rules_naming_what_the_catalog_lacks_are_reported() {
    let t = project();
    stdout(&t.run(&["select", "tap-shop", "nostream"]));
    stdout(&t.run(&["select", "tap-shop", "users", "nickname"]));
    let out = t.run(&["select", "tap-shop", "--list", "--no-install"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("[warning  ] meltano      Stream `nostream` was not found in the catalog"),
        "{log}"
    );
    assert!(
        log.contains("Property `nickname` was not found in the schema of stream `users`"),
        "{log}"
    );
}
