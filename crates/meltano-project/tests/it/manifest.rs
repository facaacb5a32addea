//! The typed meltano.yml model: every schema key, include_paths merging, and error messages.

use std::fs;
use std::path::{Path, PathBuf};

use meltano_core::PluginType;
use meltano_project::manifest::{
    self, Command, EntryKey, Manifest, ManifestError, ScheduleTarget, SettingKind, Tasks,
    ValuePostProcessor, ValueProcessor,
};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/manifest")
        .join(name)
}

/// A temporary project with the given files (relative path, content).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, content).expect("write");
    }
    dir
}

/// The error of parsing `text` as a file called `meltano.yml`.
fn parse_err(text: &str) -> String {
    match manifest::parse_str(text, Path::new("meltano.yml")) {
        Ok(m) => panic!("expected an error, got {m:#?}"),
        Err(e) => e.to_string(),
    }
}

/// The error of loading a project, with its temporary root replaced by `[ROOT]`.
fn load_err(dir: &tempfile::TempDir) -> (ManifestError, String) {
    let err = manifest::load(dir.path()).expect_err("expected an error");
    let root = dir.path().to_str().expect("utf-8 temp path").to_string();
    let text = err.to_string().replace(&root, "[ROOT]");
    (err, text)
}

fn parse(text: &str) -> Manifest {
    manifest::parse_str(text, Path::new("meltano.yml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn kitchen_sink_reads_every_schema_key() {
    let loaded = manifest::load(&fixture("kitchen-sink")).unwrap_or_else(|e| panic!("{e}"));
    let m = &loaded.manifest;

    assert_eq!(m.version, Some(1));
    assert_eq!(m.requires_meltano.as_deref(), Some(">=4,<5"));
    assert_eq!(m.project_readonly, Some(false));
    assert_eq!(m.database_max_retries, Some(4));
    assert_eq!(m.python.as_deref(), Some("3.11"));
    assert_eq!(m.hub_url_auth, Some(json!("Bearer $HUB_TOKEN")));
    let state_backend = m.state_backend.as_ref().expect("state_backend");
    assert_eq!(
        state_backend
            .s3
            .as_ref()
            .and_then(|s| s.endpoint_url.as_deref()),
        Some("http://localhost:9000")
    );
    assert_eq!(m.env.get("PORT").map(String::as_str), Some("5432"));
    assert!(
        m.extras.is_empty(),
        "no unknown keys expected: {:?}",
        m.extras
    );

    let tap = &m.plugins_of(PluginType::Extractors)[0];
    assert_eq!(tap.name, "tap-kitchen");
    assert!(
        tap.extras.is_empty(),
        "every key of the kitchen sink is typed: {:?}",
        tap.extras
    );
    assert_eq!(tap.settings.len(), 14);
    let by_name = |n: &str| tap.settings.iter().find(|s| s.name == n).expect("setting");
    assert_eq!(by_name("start_date").kind, Some(SettingKind::DateIso8601));
    assert_eq!(
        by_name("start_date").value_post_processor,
        Some(ValuePostProcessor::ParseDate)
    );
    assert_eq!(
        by_name("nested").value_processor,
        Some(ValueProcessor::NestObject)
    );
    assert_eq!(by_name("ratio").value, Some(json!(0.5)));
    assert_eq!(by_name("mode").options.as_ref().map(Vec::len), Some(2));
    assert_eq!(tap.commands["about"], Command::Args("--about".into()));
    assert_eq!(tap.commands["describe"].args(), "--about --format json");
    let Command::Spec(spec) = &tap.commands["containerized"] else {
        panic!("spec form")
    };
    assert_eq!(
        spec.container_spec
            .as_ref()
            .map(|c| c.ports["5000"].as_str()),
        Some("5000")
    );
    assert_eq!(tap.requires.files[0].name, "files-kitchen");
    assert_eq!(tap.config["dotted.key"], json!(2));
    assert_eq!(tap.config["nested"], json!({"deep": {"value": 1}}));
    assert_eq!(tap.use_cached_catalog, Some(false));
    let mapper = &m.plugins_of(PluginType::Mappers)[0];
    assert_eq!(
        mapper.mappings.as_ref().map(|v| v[0].name.as_str()),
        Some("hash-emails")
    );

    assert_eq!(
        m.schedule("elt-every-two-hours").and_then(|s| s.target()),
        Some(ScheduleTarget::Elt {
            extractor: "tap-kitchen",
            loader: "target-kitchen",
            transform: "skip"
        })
    );
    let job = m.job("kitchen-job").expect("job");
    assert_eq!(
        job.tasks.block_sets(),
        vec![
            vec!["tap-kitchen", "hash-emails", "target-kitchen"],
            vec!["tap-kitchen-copy", "target-kitchen"]
        ]
    );
    assert_eq!(
        m.job("single-task-job").map(|j| &j.tasks),
        Some(&Tasks::One("tap-kitchen target-kitchen".into()))
    );
    let dev = m.environment("dev").expect("dev");
    let dev_tap = dev
        .plugin(PluginType::Extractors, "tap-kitchen")
        .expect("override");
    assert_eq!(dev_tap.extras["select"], json!(["orders.id"]));

    // The included file's job is merged and its origin recorded.
    assert!(m.job("included-job").is_some());
    let origin = loaded.job_origin("included-job").expect("origin");
    assert!(
        origin.ends_with("extra/jobs.meltano.yml"),
        "{}",
        origin.display()
    );
    assert_eq!(
        loaded.plugin_origin(PluginType::Extractors, "tap-kitchen"),
        Some(loaded.main_file.as_path())
    );

    insta::assert_snapshot!(
        "kitchen_sink",
        serde_json::to_string_pretty(m).expect("json")
    );
}

#[test]
fn accessors_follow_type_order_then_file_order() {
    let loaded = manifest::load(&fixture("kitchen-sink")).unwrap_or_else(|e| panic!("{e}"));
    let m = &loaded.manifest;
    let listed: Vec<String> = m
        .all_plugins()
        .map(|(t, p)| format!("{}:{}", t.singular(), p.name))
        .collect();
    assert_eq!(
        listed,
        [
            "extractor:tap-kitchen",
            "extractor:tap-kitchen-copy",
            "loader:target-kitchen",
            "transform:transform-kitchen",
            "orchestrator:orchestrator-kitchen",
            "transformer:transformer-kitchen",
            "file:files-kitchen",
            "utility:utility-kitchen",
            "mapper:mapper-kitchen",
        ]
    );
    assert_eq!(
        m.find_plugin("target-kitchen", None).map(|(t, _)| t),
        Some(PluginType::Loaders)
    );
    assert!(
        m.find_plugin("target-kitchen", Some(PluginType::Extractors))
            .is_none()
    );
    // Mappings are not plugins of the manifest.
    assert!(m.find_plugin("hash-emails", None).is_none());
    assert!(m.plugins_of(PluginType::Mappings).is_empty());
    assert_eq!(m.environment("prod").map(|e| e.name.as_str()), Some("prod"));
    assert!(m.environment("staging").is_none());
}

#[test]
fn unknown_keys_and_plugin_extras_are_kept_with_their_json_types() {
    let loaded = manifest::load(&fixture("extras")).unwrap_or_else(|e| panic!("{e}"));
    let m = &loaded.manifest;

    assert_eq!(
        m.extras["my_custom_top_level"],
        json!({"nested": [1, "two", 3.5, true, null]})
    );
    assert_eq!(m.extras["cli.log_level"], json!("debug"));
    // YAML 1.1 booleans: typed booleans accept them, free-form values keep them as strings.
    assert_eq!(m.send_anonymous_usage_stats, Some(false));
    assert_eq!(m.project_readonly, Some(false));
    assert_eq!(m.database_max_retries, Some(7));
    let cli = m.cli.as_ref().expect("cli");
    assert_eq!(cli.disable_version_check, Some(true));
    assert_eq!(cli.log_level.as_deref(), Some("warning"));
    // env values are strings, the way Python's str() prints them.
    let env: Vec<(&str, &str)> = m
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("FLAG", "True"),
            ("COUNT", "3"),
            ("RATIO", "1.0"),
            ("EMPTY", "")
        ]
    );

    let tap = &m.plugins_of(PluginType::Extractors)[0];
    assert_eq!(tap.hidden, Some(true));
    assert_eq!(
        serde_json::Value::Object(tap.extras.clone().into_iter().collect()),
        json!({
            "custom_flag": true,
            "custom_int": 42,
            "custom_float": 2.5,
            "custom_null": null,
            "custom_word": "yes",
            "custom_date": "2024-01-31",
            "custom_list": ["a", 1, false],
            "custom_map": {"1": "one", "2.5": "two-and-a-half", "false": "zero", "nested": {"x": [1, {"y": "z"}]}},
        })
    );
    // Config keeps dotted and nested forms side by side; numeric keys become strings.
    let config: Vec<&str> = tap.config.keys().map(String::as_str).collect();
    assert_eq!(config, ["200", "a.b", "a"]);
    let setting = &tap.settings[0];
    assert_eq!(setting.env_specific, Some(true));
    assert_eq!(
        setting.env_aliases.as_deref(),
        Some(&["OLD_SECRET".to_string()][..])
    );
    assert_eq!(setting.extras["custom_setting_key"], json!("kept"));

    let files = &m.plugins_of(PluginType::Files)[0];
    assert_eq!(
        files.update.as_ref().map(|u| u["README.md"].clone()),
        Some(json!(false))
    );
    assert_eq!(
        files.extras_as_values()["update"],
        json!({"transform/profile.yml": true, "README.md": false})
    );

    assert_eq!(m.schedules[0].extras["owner"], json!("data-team"));
    let dev = m.environment("dev").expect("dev");
    assert_eq!(dev.state_id_suffix.as_deref(), Some("${USER}"));
    assert_eq!(
        dev.config.plugins.extractors[0].extras["metadata"],
        json!({"*": {"replication-method": "FULL_TABLE"}})
    );
}

#[test]
fn include_paths_merge_and_record_origins() {
    let dir = project(&[
        (
            "meltano.yml",
            "include_paths:\n- sub/*.yml\n- sub/a.yml\n- meltano.yml\nplugins:\n  extractors:\n  - name: tap-main\nschedules:\n- {name: s-main, interval: '@daily', job: j-a}\n",
        ),
        (
            "sub/b.yml",
            "plugins:\n  extractors:\n  - name: tap-b\n  loaders:\n  - name: target-b\nenvironments:\n- name: prod\n",
        ),
        (
            "sub/a.yml",
            "# comment\nplugins:\n  extractors:\n  - name: tap-a\njobs:\n- name: j-a\n  tasks: tap-a target-b\n",
        ),
        ("sub/empty.yml", "# nothing here\n"),
    ]);
    let loaded = manifest::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let m = &loaded.manifest;
    let names: Vec<&str> = m
        .plugins_of(PluginType::Extractors)
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["tap-main", "tap-a", "tap-b"],
        "meltano.yml first, then matches sorted"
    );
    let rel = |p: &Path| {
        p.strip_prefix(dir.path())
            .expect("inside root")
            .to_string_lossy()
            .into_owned()
    };
    let included: Vec<String> = loaded.included_files.iter().map(|p| rel(p)).collect();
    assert_eq!(
        included,
        ["sub/a.yml", "sub/b.yml", "sub/empty.yml"],
        "deduplicated, meltano.yml skipped"
    );

    let origin = |key: EntryKey| loaded.origin(&key).map(rel);
    assert_eq!(
        origin(EntryKey::Plugin(PluginType::Extractors, "tap-main".into())).as_deref(),
        Some("meltano.yml")
    );
    assert_eq!(
        origin(EntryKey::Plugin(PluginType::Extractors, "tap-a".into())).as_deref(),
        Some("sub/a.yml")
    );
    assert_eq!(
        origin(EntryKey::Plugin(PluginType::Loaders, "target-b".into())).as_deref(),
        Some("sub/b.yml")
    );
    assert_eq!(
        loaded.environment_origin("prod").map(rel).as_deref(),
        Some("sub/b.yml")
    );
    assert_eq!(
        loaded.job_origin("j-a").map(rel).as_deref(),
        Some("sub/a.yml")
    );
    assert_eq!(
        loaded.schedule_origin("s-main").map(rel).as_deref(),
        Some("meltano.yml")
    );
    assert!(loaded.plugin_origin(PluginType::Loaders, "tap-a").is_none());
}

#[test]
fn duplicate_across_files_names_both_files() {
    let dir = project(&[
        (
            "meltano.yml",
            "include_paths: ['*.meltano.yml']\nplugins:\n  extractors:\n  - name: tap-x\n",
        ),
        (
            "more.meltano.yml",
            "plugins:\n  extractors:\n  - name: tap-x\n",
        ),
    ]);
    let (err, text) = load_err(&dir);
    assert!(matches!(err, ManifestError::Duplicate { .. }));
    insta::assert_snapshot!("duplicate_plugin", text);

    let dir = project(&[
        ("meltano.yml", "include_paths: ['*.meltano.yml']\n"),
        (
            "a.meltano.yml",
            "jobs:\n- {name: nightly, tasks: tap target}\n",
        ),
        (
            "b.meltano.yml",
            "jobs:\n- {name: nightly, tasks: tap target}\n",
        ),
    ]);
    insta::assert_snapshot!("duplicate_job", load_err(&dir).1);
}

#[test]
fn duplicates_within_meltano_yml_are_tolerated_like_meltano() {
    let m =
        parse("plugins:\n  extractors:\n  - name: tap-x\n  - name: tap-x\n    variant: second\n");
    assert_eq!(
        m.find_plugin("tap-x", None)
            .and_then(|(_, p)| p.variant.as_deref()),
        None,
        "first wins"
    );
}

#[test]
fn include_path_escaping_the_root_is_rejected() {
    let outer = project(&[
        ("outside.yml", "plugins: {}\n"),
        ("proj/meltano.yml", "include_paths:\n- ../outside.yml\n"),
    ]);
    let root = outer.path().join("proj");
    let err = manifest::load(&root).expect_err("outside root");
    let text = err
        .to_string()
        .replace(outer.path().to_str().expect("utf-8"), "[TMP]");
    assert!(matches!(err, ManifestError::IncludeOutsideRoot { .. }));
    insta::assert_snapshot!("include_outside_root", text);
}

#[cfg(unix)]
#[test]
fn include_path_symlink_out_of_the_root_is_rejected() {
    let outer = project(&[
        ("outside.yml", "plugins: {}\n"),
        ("proj/meltano.yml", "include_paths: ['*.yml']\n"),
    ]);
    std::os::unix::fs::symlink(
        outer.path().join("outside.yml"),
        outer.path().join("proj/link.yml"),
    )
    .expect("symlink");
    let err = manifest::load(&outer.path().join("proj")).expect_err("outside root");
    assert!(
        matches!(err, ManifestError::IncludeOutsideRoot { .. }),
        "{err}"
    );
}

#[test]
fn include_path_matching_a_directory_or_bad_pattern_is_rejected() {
    let dir = project(&[
        ("meltano.yml", "include_paths: ['conf*']\n"),
        ("conf.d/x.yml", "plugins: {}\n"),
    ]);
    let (err, text) = load_err(&dir);
    assert!(matches!(err, ManifestError::IncludeNotAFile { .. }));
    assert_eq!(
        text,
        "include_paths pattern `conf*` matches `[ROOT]/conf.d`, which is not a regular file"
    );

    let dir = project(&[("meltano.yml", "include_paths: ['/etc/*.yml']\n")]);
    assert_eq!(
        load_err(&dir).1,
        "invalid include_paths pattern `/etc/*.yml`: patterns must be relative to the project root"
    );
}

#[test]
fn included_file_may_only_hold_entries() {
    let dir = project(&[
        ("meltano.yml", "include_paths: ['extra.yml']\n"),
        ("extra.yml", "plugins: {}\ndefault_environment: prod\n"),
    ]);
    insta::assert_snapshot!("include_disallowed_key", load_err(&dir).1);
}

#[test]
fn empty_files_have_meltanos_message() {
    const MESSAGE: &str = "Your meltano.yml file is empty. Please update your meltano file with a valid configuration.";
    for text in [
        "",
        "\n\n",
        "# just a comment\n# and another\n",
        "---\n",
        "~\n",
        "null\n",
    ] {
        let err = manifest::parse_str(text, Path::new("meltano.yml")).expect_err(text);
        assert!(
            matches!(err, ManifestError::Empty { .. }),
            "{text:?}: {err}"
        );
        assert_eq!(err.to_string(), MESSAGE);
    }
    let dir = project(&[("meltano.yml", "# comment only\n")]);
    assert_eq!(load_err(&dir).1, MESSAGE);
}

#[test]
fn missing_meltano_yml_is_its_own_error() {
    let dir = project(&[]);
    let (err, text) = load_err(&dir);
    assert!(matches!(err, ManifestError::NotFound { .. }));
    assert_eq!(text, "[ROOT]/meltano.yml: file not found");
}

#[test]
fn invalid_yaml_points_at_file_line_and_column() {
    let cases = [
        (
            "unquoted colon",
            "plugins:\n  extractors:\n  - name: tap-x\n    description: a: b\n",
        ),
        ("tab indentation", "plugins:\n\textractors: []\n"),
        ("unclosed flow sequence", "plugins:\n  extractors: [\n"),
        ("duplicate key", "project_id: a\nproject_id: b\n"),
        ("two documents", "project_id: a\n---\nproject_id: b\n"),
        ("not a mapping", "- just\n- a list\n"),
    ];
    let rendered: Vec<String> = cases
        .iter()
        .map(|(name, text)| format!("## {name}\n{}\n", parse_err(text)))
        .collect();
    insta::assert_snapshot!("invalid_yaml", rendered.join("\n"));
}

#[test]
fn wrong_types_name_the_key_path_and_what_was_found() {
    let cases = [
        ("plugins list", "plugins:\n  extractors: 5\n"),
        ("unknown plugin type", "plugins:\n  extractorz: []\n"),
        ("plugin entry", "plugins:\n  loaders:\n  - target-x\n"),
        ("missing name", "plugins:\n  loaders:\n  - variant: x\n"),
        (
            "settings as map",
            "plugins:\n  extractors:\n  - name: tap-x\n    settings:\n      api_key: {}\n",
        ),
        (
            "setting kind",
            "plugins:\n  extractors:\n  - name: tap-x\n    settings:\n    - {name: a, kind: strin}\n",
        ),
        (
            "select scalar",
            "plugins:\n  extractors:\n  - name: tap-x\n    select: users.*\n",
        ),
        (
            "config list",
            "plugins:\n  extractors:\n  - name: tap-x\n    config: [a]\n",
        ),
        ("env nested", "env:\n  A:\n    B: c\n"),
        ("boolean", "project_readonly: maybe\n"),
        ("boolean from env var", "project_readonly: $READONLY\n"),
        ("integer", "database_max_retries: many\n"),
        (
            "environment unknown key",
            "environments:\n- name: dev\n  colour: blue\n",
        ),
        ("job tasks", "jobs:\n- name: j\n  tasks: {a: b}\n"),
        (
            "schedule target",
            "schedules:\n- name: s\n  interval: '@daily'\n",
        ),
        ("null name", "jobs:\n- name:\n  tasks: a\n"),
        (
            "in an alias",
            "base: &base\n  - 1\nplugins:\n  extractors: *base\n",
        ),
        (
            "indentless list item",
            "plugins:\n  loaders:\n  - target-x\n",
        ),
        (
            "indentless list as config",
            "plugins:\n  extractors:\n  - name: x\n    config:\n    - a\n",
        ),
        (
            "after non-ASCII text",
            "project_id: \"écoute – ünïcode\"\nplugins:\n  utilities:\n  - name: ütil\n    label: \"日本語\"\n    settings: {a: 1}\n",
        ),
    ];
    let rendered: Vec<String> = cases
        .iter()
        .map(|(name, text)| format!("## {name}\n{}\n", parse_err(text)))
        .collect();
    insta::assert_snapshot!("wrong_types", rendered.join("\n"));
}

#[test]
fn errors_in_included_files_name_that_file() {
    let dir = project(&[
        ("meltano.yml", "include_paths: ['inc/*.yml']\n"),
        (
            "inc/bad.yml",
            "plugins:\n  extractors:\n  - name: tap-x\n    select: {}\n",
        ),
    ]);
    let (err, text) = load_err(&dir);
    let diagnostic = err.diagnostic().expect("diagnostic");
    assert_eq!((diagnostic.line, diagnostic.column), (4, 13));
    assert_eq!(
        diagnostic.key_path.as_deref(),
        Some("plugins.extractors[0].select")
    );
    insta::assert_snapshot!("error_in_included_file", text);
}

#[test]
fn null_sections_mean_empty() {
    let m = parse(
        "plugins:\n  extractors:\n  loaders:\nschedules:\njobs:\nenvironments:\nenv:\ninclude_paths:\n",
    );
    assert!(m.plugins.is_empty());
    assert!(
        m.schedules.is_empty()
            && m.jobs.is_empty()
            && m.environments.is_empty()
            && m.env.is_empty()
    );
    assert!(m.include_paths.is_empty());
}

#[test]
fn anchors_and_merge_keys_resolve() {
    let m = parse(
        "x-defaults: &defaults\n  pip_url: tap-x\n  config: {a: 1}\nplugins:\n  extractors:\n  - <<: *defaults\n    name: tap-a\n  - <<: *defaults\n    name: tap-b\n    config: {a: 2}\n",
    );
    let taps = m.plugins_of(PluginType::Extractors);
    assert_eq!(taps[0].pip_url.as_deref(), Some("tap-x"));
    assert_eq!(taps[0].config["a"], json!(1));
    assert_eq!(taps[1].config["a"], json!(2));
    assert_eq!(
        m.extras["x-defaults"],
        json!({"pip_url": "tap-x", "config": {"a": 1}})
    );
}
