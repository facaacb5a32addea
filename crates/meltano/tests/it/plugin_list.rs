//! `meltano plugin list`.

use crate::common::TestDir;
use crate::snapshot;

const PROJECT: &str = "\
default_environment: dev
environments:
- name: dev
plugins:
  extractors:
  - name: tap-fake
    namespace: tap_fake
  - name: tap-fake-2
    inherit_from: tap-fake
  - name: tap-hub
    variant: meltanolabs
    pip_url: meltanolabs-tap-hub
  loaders:
  - name: target-fake
    namespace: target_fake
    pip_url: target-fake
  utilities:
  - name: util
    namespace: util
  mappers:
  - name: mapper-fake
    namespace: mapper_fake
    mappings:
    - name: hide-secrets
      config: {}
  files:
  - name: files-docker
    namespace: files_docker
";

#[test]
fn plugin_list_text_and_json() {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    snapshot!("plugin_list_text", t.run(&["plugin", "list"]), t.path());
    snapshot!(
        "plugin_list_json",
        t.run(&["plugin", "list", "--format", "json"]),
        t.path()
    );
}

#[test]
fn plugin_list_of_an_empty_project() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments: []\n");
    snapshot!("plugin_list_empty", t.run(&["plugin", "list"]), t.path());
}

#[test]
fn plugin_list_includes_plugins_from_included_files() {
    let t = TestDir::new();
    t.write("meltano.yml", "include_paths: ['extra/*.yml']\nplugins:\n  extractors:\n  - name: tap-a\n    namespace: a\n");
    t.write(
        "extra/loaders.yml",
        "plugins:\n  loaders:\n  - name: target-b\n    namespace: b\n",
    );
    let out = t.run(&["plugin", "list", "--format=json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tap-a", "target-b"]);
}
