//! `meltano hub`, `meltano lock` and `meltano add` against a local server shaped like Meltano Hub.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::common::TestDir;
use crate::snapshot;

/// Serves a two-plugin Hub on a free port; returns its API root and the request log.
fn serve_hub() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let root = format!("http://{}/meltano/api/v1", listener.local_addr().unwrap());
    let base = format!("{root}/plugins");
    let log = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok() && header.trim() != "" {
                header.clear();
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            requests.lock().unwrap().push(path.clone());
            let body = match path.rsplit("/plugins/").next().unwrap_or("") {
                "extractors/index" => serde_json::json!({
                    "tap-demo": {"default_variant": "acme", "variants": {
                        "acme": {"ref": format!("{base}/extractors/tap-demo--acme")},
                        "other": {"ref": format!("{base}/extractors/tap-demo--other")}}}
                }),
                "extractors/tap-demo--acme" => serde_json::json!({
                    "name": "tap-demo", "namespace": "tap_demo", "variant": "acme", "pip_url": "tap-demo",
                    "repo": "https://example.com/tap-demo", "capabilities": ["discover"],
                    "settings": [{"name": "api_key", "kind": "password"}]
                }),
                "extractors/tap-demo--other" => serde_json::json!({
                    "name": "tap-demo", "namespace": "tap_demo", "variant": "other", "pip_url": "tap-demo-other"
                }),
                "loaders/index" => serde_json::json!({
                    "target-jsonl": {"default_variant": "inhouse", "variants": {
                        "inhouse": {"ref": format!("{base}/loaders/target-jsonl--inhouse")}}}
                }),
                "loaders/target-jsonl--inhouse" => serde_json::json!({
                    "name": "target-jsonl", "namespace": "target_jsonl", "variant": "inhouse",
                    "pip_url": "inhouse-target-jsonl", "settings": [{"name": "bucket"}]
                }),
                "utilities/index" => serde_json::json!({
                    "util-needs": {"default_variant": "v1", "variants": {"v1": {"ref": format!("{base}/utilities/util-needs--v1")}}}
                }),
                "utilities/util-needs--v1" => serde_json::json!({
                    "name": "util-needs", "namespace": "util_needs", "variant": "v1",
                    "requires": {"extractors": [{"name": "tap-demo", "variant": "acme"}]}
                }),
                p if p.ends_with("/index") => serde_json::json!({}),
                _ => serde_json::Value::Null,
            };
            let mut stream = stream;
            let (status, text) = if body.is_null() {
                ("404 Not Found", String::new())
            } else {
                ("200 OK", body.to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (root, log)
}

fn project(root: &str) -> TestDir {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        &format!("hub_api_root: {root}\nenvironments:\n- name: dev\n"),
    );
    t
}

#[test]
fn hub_ping_and_list() {
    let (root, _) = serve_hub();
    let t = project(&root);
    let ping = t.run(&["hub", "ping"]);
    assert_eq!(
        String::from_utf8_lossy(&ping.stdout),
        format!("Successfully connected to the Hub at '{root}'\n")
    );
    let out = t.run(&[
        "hub",
        "list",
        "--all",
        "--refresh",
        "--plugin-type",
        "extractor",
    ]);
    snapshot!("hub_list_all", out, t.path());
    let defaults = t.run(&["hub", "list", "--plugin-type", "extractor"]);
    snapshot!("hub_list_defaults", defaults, t.path());
    let search = t.run(&["hub", "list", "demo"]);
    snapshot!("hub_list_search", search, t.path());
    let json = t.run(&[
        "hub",
        "list",
        "--format",
        "json",
        "--plugin-type",
        "extractor",
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([{"type": "extractor", "name": "tap-demo", "variant": "acme", "default": true}])
    );
    let down = TestDir::new();
    down.write(
        "meltano.yml",
        "hub_api_root: http://127.0.0.1:9/meltano/api/v1\n",
    );
    assert_eq!(down.run(&["hub", "ping"]).status.code(), Some(1));
}

#[test]
fn add_from_the_hub_then_lock_offline() {
    let (root, log) = serve_hub();
    let t = project(&root);
    let out = t.run(&["add", "tap-demo", "--variant", "other", "--no-install"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        t.path()
            .join("plugins/extractors/tap-demo--other.lock")
            .is_file()
    );
    // With the lock file in place the Hub is never asked again, even when it is gone.
    let requests_before = log.lock().unwrap().len();
    let manifest = t
        .read("meltano.yml")
        .replace(&root, "http://127.0.0.1:9/meltano/api/v1");
    t.write("meltano.yml", &manifest);
    let listed = t.run(&["config", "list", "tap-demo"]);
    assert_eq!(
        listed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let locked = t.run(&["lock"]);
    assert_eq!(
        locked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    assert_eq!(log.lock().unwrap().len(), requests_before);
    // --update fetches again (and fails clearly when the Hub is unreachable).
    let update = t.run(&["lock", "--update"]);
    assert_eq!(update.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&update.stderr).contains("Could not connect to Meltano Hub"));
}

#[test]
fn re_adding_refreshes_the_lock_and_requirements_are_added() {
    let (root, _) = serve_hub();
    let t = project(&root);
    assert_eq!(
        t.run(&["add", "tap-demo", "--no-install"]).status.code(),
        Some(0)
    );
    let lock = t.path().join("plugins/extractors/tap-demo--acme.lock");
    std::fs::write(&lock, "{}").unwrap();
    let again = t.run(&["add", "tap-demo", "--no-install"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "Updated extractor 'tap-demo' in your project\nVariant:\tacme (default)\n\
         Repository:\thttps://example.com/tap-demo\n\n\n\
         To learn more about extractor 'tap-demo', visit https://example.com/tap-demo\n"
    );
    assert!(
        t.read("plugins/extractors/tap-demo--acme.lock")
            .contains("\"api_key\"")
    );
    assert_eq!(t.read("meltano.yml").matches("- name: tap-demo").count(), 1);

    let fresh = project(&root);
    let out = fresh.run(&["add", "util-needs", "--no-install"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Added required extractor 'tap-demo' to your project"),
        "{stdout}"
    );
    // Required plugins get their "To learn more" line after the plugins named.
    assert!(
        stdout.ends_with(
            "\n\nTo learn more about extractor 'tap-demo', visit https://example.com/tap-demo\n"
        ),
        "{stdout}"
    );
    let manifest = fresh.read("meltano.yml");
    assert!(
        manifest.contains("- name: tap-demo") && manifest.contains("- name: util-needs"),
        "{manifest}"
    );
}

#[test]
fn a_missing_lock_file_is_fetched_from_the_hub_on_first_use() {
    let (root, log) = serve_hub();
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        &format!(
            "hub_api_root: {root}\nplugins:\n  extractors:\n  - name: tap-demo\n    variant: acme\n"
        ),
    );
    let out = t.run(&["config", "list", "tap-demo", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TAP_DEMO_API_KEY"), "{stdout}");
    assert!(
        t.read("plugins/extractors/tap-demo--acme.lock")
            .contains("\"api_key\"")
    );
    // Once locked, the Hub is not asked again.
    let requests = log.lock().unwrap().len();
    assert_eq!(
        t.run(&["config", "list", "tap-demo"]).status.code(),
        Some(0)
    );
    assert_eq!(log.lock().unwrap().len(), requests);
}

#[test]
fn a_plugin_without_variant_reads_the_lock_of_its_default_variant() {
    let (root, log) = serve_hub();
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        &format!("hub_api_root: {root}\nplugins:\n  extractors:\n  - name: tap-demo\n"),
    );
    let out = t.run(&["config", "list", "tap-demo", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TAP_DEMO_API_KEY"), "{stdout}");
    let requests = log.lock().unwrap().len();
    assert!(requests > 0);
    assert_eq!(
        t.run(&["config", "list", "tap-demo"]).status.code(),
        Some(0)
    );
    assert_eq!(
        log.lock().unwrap().len(),
        requests,
        "locked: no new Hub request"
    );
}

#[test]
fn a_configured_hub_is_not_shadowed_by_the_built_in_index() {
    let (root, _) = serve_hub();
    let t = project(&root);
    let out = t.run(&["add", "target-jsonl", "--no-install"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = t.read("plugins/loaders/target-jsonl--inhouse.lock");
    assert!(lock.contains("inhouse-target-jsonl"), "{lock}");

    // Auto-lock uses it too.
    let auto = TestDir::new();
    auto.write(
        "meltano.yml",
        &format!(
            "hub_api_root: {root}\nplugins:\n  loaders:\n  - name: target-jsonl\n    variant: inhouse\n"
        ),
    );
    let listed = auto.run(&["config", "list", "target-jsonl", "--all"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("TARGET_JSONL_BUCKET"),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
}

#[test]
fn lock_reports_each_plugin() {
    let (root, _) = serve_hub();
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        &format!(
            "hub_api_root: {root}\nplugins:\n  extractors:\n  - name: tap-demo\n    variant: acme\n  - name: tap-child\n    inherit_from: tap-demo\n  - name: tap-custom\n    namespace: tap_custom\n"
        ),
    );
    let first = t.run(&["lock"]);
    let again = t.run(&["lock", "tap-demo", "tap-child"]);
    let none = t.run(&["lock", "tap-nothing"]);
    let mut manifest = t.read("meltano.yml");
    manifest.push_str("  loaders:\n  - name: target-unknown\n    variant: x\n");
    t.write("meltano.yml", &manifest);
    let unknown = t.run(&["lock", "--plugin-type", "loader"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains(
            "[error    ] meltano      Loader 'target-unknown' is not known to Meltano.\n"
        ),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    snapshot!("lock_first", first, t.path());
    snapshot!("lock_again", again, t.path());
    snapshot!("lock_none", none, t.path());
}

#[test]
fn add_from_the_hub_reports_like_meltano() {
    let (root, _) = serve_hub();
    let t = project(&root);
    let added = t.run(&["add", "tap-demo", "--no-install"]);
    snapshot!("add_from_hub", added, t.path());
    let switch = t.run(&["add", "tap-demo", "--variant", "other", "--no-install"]);
    snapshot!("add_other_variant_of_existing", switch, t.path());
    let child = t.run(&[
        "add",
        "tap-c",
        "--inherit-from",
        "tap-demo",
        "--variant",
        "other",
        "--no-install",
    ]);
    assert_eq!(child.status.code(), Some(0));
    let manifest = t.read("meltano.yml");
    assert!(
        manifest.contains(
            "  - name: tap-c\n    inherit_from: tap-demo\n    variant: other\n    pip_url: tap-demo-other\n"
        ),
        "{manifest}"
    );
}
