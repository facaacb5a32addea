//! `meltano state …`: what the user sees for every subcommand (output, errors, prompts, exit
//! codes) and the rows left in the system database, on SQLite and on PostgreSQL.

use std::path::Path;
use std::process::Output;

use meltano_test::PgServer;
use sqlx::any::AnyPoolOptions;

use crate::common::{TestDir, filters, render};

/// A project with a default environment (ignored by `state`), two environments, and an
/// extractor with the `state` capability with a loader: the plugins of `dev:tap-x-to-target-y`.
const PROJECT: &str = "\
default_environment: dev
environments:
- name: dev
- name: staging
plugins:
  extractors:
  - name: tap-x
    namespace: tap_x
    executable: tap-x
    capabilities: [state, catalog]
  - name: tap-nostate
    namespace: tap_nostate
    executable: tap-nostate
  loaders:
  - name: target-y
    namespace: target_y
    executable: target-y
";

/// Snapshots a command's output with the common filters, and the UTC times of success messages.
macro_rules! state_snapshot {
    ($name:expr, $output:expr, $dir:expr) => {{
        let mut settings = insta::Settings::clone_current();
        for (pattern, replacement) in filters($dir) {
            settings.add_filter(&pattern, replacement);
        }
        settings.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0000", "[UTC]");
        settings.bind(|| insta::assert_snapshot!($name, render(&$output)));
    }};
}

fn project() -> TestDir {
    let t = TestDir::new();
    t.write("meltano.yml", PROJECT);
    t
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Rows of a one-text-column query, read without going through meltano.
fn query(url: &str, sql: &str) -> Vec<String> {
    block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap();
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        rows.into_iter().map(|(row,)| row).collect()
    })
}

fn sqlite_url(t: &TestDir) -> String {
    format!(
        "sqlite://{}",
        t.path().join(".meltano/meltano.db").display()
    )
}

/// `state_id|completed_state|partial_state|new or updated`, by state ID.
const STATE_ROWS: &str = "SELECT state_id || '|' || COALESCE(completed_state, 'NULL') || '|' || \
     COALESCE(partial_state, 'NULL') || '|' || \
     CASE WHEN updated_at IS NULL THEN 'new' ELSE 'updated' END FROM state ORDER BY state_id";

/// `job_name|state|payload|payload_flags|trigger|started = ended`, oldest first.
const RUN_ROWS: &str = "SELECT job_name || '|' || state || '|' || COALESCE(payload, 'NULL') || '|' || \
     payload_flags || '|' || COALESCE(\"trigger\", 'NULL') || '|' || \
     CASE WHEN started_at = ended_at AND last_heartbeat_at IS NULL THEN 'edit' ELSE '?' END \
     FROM runs ORDER BY id";

fn ok(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn set_merge_get_and_the_rows_they_leave() {
    let t = project();
    state_snapshot!("state_list_empty", t.run(&["state", "list"]), t.path());
    state_snapshot!(
        "state_get_unknown",
        t.run(&["state", "get", "s1"]),
        t.path()
    );

    let set = [
        "state",
        "set",
        "s1",
        r#"{"singer_state": {"bookmarks": {"a": {"x": 1}}}}"#,
    ];
    state_snapshot!("state_set_eof", t.run(&set), t.path());
    state_snapshot!("state_set_no", t.run_with_stdin(&set, "n\n"), t.path());
    assert!(query(&sqlite_url(&t), STATE_ROWS).is_empty());
    state_snapshot!("state_set_yes", t.run_with_stdin(&set, "y\n"), t.path());

    let merge = [
        "state",
        "merge",
        "s1",
        r#"{"singer_state": {"bookmarks": {"b": {"y": 2}, "a": {"z": [1, "é"]}}}}"#,
    ];
    state_snapshot!("state_merge", t.run(&merge), t.path());
    state_snapshot!("state_get_json", t.run(&["state", "get", "s1"]), t.path());
    state_snapshot!(
        "state_get_pretty",
        t.run(&["state", "get", "s1", "--format", "PRETTY"]),
        t.path()
    );
    assert_eq!(
        query(&sqlite_url(&t), STATE_ROWS),
        [
            r#"s1|{"singer_state": {"bookmarks": {"a": {"x": 1}}}}|{"singer_state": {"bookmarks": {"b": {"y": 2}, "a": {"z": [1, "\u00e9"]}}}}|updated"#
        ]
    );
    assert_eq!(
        query(&sqlite_url(&t), RUN_ROWS),
        [
            r#"s1|STATE_EDIT|{"singer_state": {"bookmarks": {"a": {"x": 1}}}}|1|cli|edit"#,
            r#"s1|STATE_EDIT|{"singer_state": {"bookmarks": {"b": {"y": 2}, "a": {"z": [1, "\u00e9"]}}}}|2|cli|edit"#,
        ]
    );
    let run_ids = query(&sqlite_url(&t), "SELECT run_id FROM runs");
    assert!(
        run_ids.iter().all(|id| id.len() == 32 && !id.contains('-')),
        "{run_ids:?}"
    );

    // A merge from a file and from another state ID; `set` from a file replaces everything.
    t.write(
        "more.json",
        r#"{"singer_state": {"bookmarks": {"c": {"w": 3}}}}"#,
    );
    ok(&t.run(&["state", "merge", "s1", "--input-file", "more.json"]));
    ok(&t.run(&["state", "merge", "s2", "--from-state-id", "s1"]));
    assert_eq!(
        stdout(&t.run(&["state", "get", "s2"])),
        "{\"singer_state\":{\"bookmarks\":{\"a\":{\"x\":1,\"z\":[1,\"\\u00e9\"]},\"b\":{\"y\":2},\"c\":{\"w\":3}}}}\n"
    );
    ok(&t.run(&["state", "set", "s1", "--input-file", "more.json", "--force"]));
    assert_eq!(
        query(&sqlite_url(&t), STATE_ROWS)[0],
        r#"s1|{"singer_state": {"bookmarks": {"c": {"w": 3}}}}|{}|updated"#
    );
    // The trigger comes from MELTANO_JOB_TRIGGER.
    ok(&t
        .meltano(&["state", "set", "s3", r#"{"singer_state": {}}"#, "--force"])
        .env("MELTANO_JOB_TRIGGER", "api")
        .output()
        .unwrap());
    assert_eq!(
        query(&sqlite_url(&t), RUN_ROWS).last().unwrap(),
        r#"s3|STATE_EDIT|{"singer_state": {}}|1|api|edit"#
    );
    assert_eq!(
        query(&sqlite_url(&t), STATE_ROWS)[2],
        r#"s3|{"singer_state": {}}|{}|new"#
    );
}

#[test]
fn invalid_input_is_refused_like_meltano() {
    let t = project();
    let cases: &[(&str, &[&str])] = &[
        (
            "state_set_invalid_json",
            &["state", "set", "s", "{bad", "--force"],
        ),
        (
            "state_set_no_singer_state",
            &["state", "set", "s", r#"{"a": 1}"#, "--force"],
        ),
        ("state_set_no_source", &["state", "set", "s", "--force"]),
        (
            "state_set_two_sources",
            &[
                "state",
                "set",
                "s",
                "{}",
                "--input-file",
                "meltano.yml",
                "--force",
            ],
        ),
        (
            "state_set_not_iterable",
            &["state", "set", "s", "5", "--force"],
        ),
        (
            "state_set_list",
            &["state", "set", "s", r#"["singer_state"]"#, "--force"],
        ),
        (
            "state_set_missing_file",
            &["state", "set", "s", "--input-file", "nothere.json"],
        ),
        ("state_merge_no_source", &["state", "merge", "s"]),
        ("state_merge_invalid_json", &["state", "merge", "s", "[1,]"]),
        (
            "state_merge_from_nothing",
            &["state", "merge", "s", "--from-state-id", "zz"],
        ),
        (
            "state_copy_from_nothing",
            &["state", "copy", "zz", "s", "--force"],
        ),
        (
            "state_get_bad_format",
            &["state", "get", "s", "--format", "yaml"],
        ),
        ("state_get_missing_argument", &["state", "get"]),
        ("state_clear_neither", &["state", "clear", "--force"]),
        (
            "state_clear_both",
            &["state", "clear", "s", "--all", "--force"],
        ),
        ("state_unknown_subcommand", &["state", "mvoe"]),
    ];
    for (name, args) in cases {
        state_snapshot!(*name, t.run(args), t.path());
    }
    assert!(query(&sqlite_url(&t), STATE_ROWS).is_empty());
    assert!(query(&sqlite_url(&t), RUN_ROWS).is_empty());

    // Without validation anything that is an object (or null) is stored.
    state_snapshot!(
        "state_set_no_validate",
        t.run(&[
            "state",
            "set",
            "s",
            r#"{"a": 1}"#,
            "--force",
            "--no-validate"
        ]),
        t.path()
    );
    ok(&t.run(&["state", "set", "n", "null", "--force", "--no-validate"]));
    assert_eq!(
        query(&sqlite_url(&t), STATE_ROWS),
        ["n|NULL|{}|new", r#"s|{"a": 1}|{}|new"#]
    );
    assert_eq!(
        query(&sqlite_url(&t), RUN_ROWS),
        [
            r#"s|STATE_EDIT|{"a": 1}|1|cli|edit"#,
            "n|STATE_EDIT|NULL|1|cli|edit"
        ]
    );
    assert_eq!(stdout(&t.run(&["state", "get", "n"])), "null\n");
}

#[test]
fn list_copy_move_and_clear() {
    let t = project();
    for (id, state) in [
        ("dev:tap-x-to-target-y", r#"{"singer_state": {"a": 1}}"#),
        ("b_1", r#"{"singer_state": {}}"#),
        ("bx1", r#"{"singer_state": {}}"#),
    ] {
        ok(&t.run(&["state", "set", id, state, "--force"]));
    }
    ok(&t.run(&["state", "set", "empty", "{}", "--force", "--no-validate"]));
    state_snapshot!("state_list", t.run(&["state", "list"]), t.path());
    state_snapshot!(
        "state_list_pattern",
        t.run(&["state", "list", "--pattern", "b_*"]),
        t.path()
    );
    state_snapshot!(
        "state_list_pattern_none",
        t.run(&["state", "list", "--pattern", "zz*"]),
        t.path()
    );

    state_snapshot!(
        "state_copy",
        t.run(&["state", "copy", "dev:tap-x-to-target-y", "c", "--force"]),
        t.path()
    );
    state_snapshot!(
        "state_copy_eof",
        t.run(&["state", "copy", "dev:tap-x-to-target-y", "c"]),
        t.path()
    );
    state_snapshot!(
        "state_move",
        t.run(&["state", "move", "c", "m", "--force"]),
        t.path()
    );
    assert_eq!(stdout(&t.run(&["state", "get", "c"])), "{}\n");
    assert_eq!(
        stdout(&t.run(&["state", "get", "m"])),
        "{\"singer_state\":{\"a\":1}}\n"
    );

    state_snapshot!(
        "state_clear_one",
        t.run(&["state", "clear", "m", "--force"]),
        t.path()
    );
    state_snapshot!(
        "state_clear_eof",
        t.run(&["state", "clear", "bx1"]),
        t.path()
    );
    state_snapshot!(
        "state_clear_all",
        t.run_with_stdin(&["state", "clear", "--all"], "yes\n"),
        t.path()
    );
    assert!(query(&sqlite_url(&t), STATE_ROWS).is_empty());
    // copy, move (and set) each left their STATE_EDIT row; clear leaves none.
    assert_eq!(
        query(&sqlite_url(&t), "SELECT job_name FROM runs ORDER BY id"),
        ["dev:tap-x-to-target-y", "b_1", "bx1", "empty", "c", "m"]
    );
}

#[test]
fn state_ids_of_meltano_run_get_its_warnings() {
    let t = project();
    let id = "dev:tap-x-to-target-y";
    state_snapshot!("state_get_run_id", t.run(&["state", "get", id]), t.path());
    state_snapshot!(
        "state_get_run_id_other_environment",
        t.run(&[
            "--environment",
            "staging",
            "state",
            "get",
            "dev:tap-x-to-target-y:sfx"
        ]),
        t.path()
    );
    state_snapshot!(
        "state_get_run_id_unknown_environment",
        t.run(&["state", "get", "prod:tap-x-to-target-y"]),
        t.path()
    );
    state_snapshot!(
        "state_get_run_id_without_state_capability",
        t.run(&[
            "--environment",
            "dev",
            "state",
            "get",
            "dev:tap-nostate-to-target-y"
        ]),
        t.path()
    );
}

#[test]
fn export_and_import_round_trip() {
    let t = project();
    ok(&t.run(&[
        "state",
        "set",
        "a",
        r#"{"singer_state": {"x": 1}}"#,
        "--force",
    ]));
    ok(&t.run(&["state", "merge", "a", r#"{"singer_state": {"y": "ü"}}"#]));
    ok(&t.run(&[
        "state",
        "set",
        "b",
        r#"{"singer_state": {"z": 1.5}}"#,
        "--force",
    ]));
    let export = t.run(&["state", "export"]);
    state_snapshot!("state_export", export, t.path());
    let exported = stdout(&export);

    // Importing overwrites listed IDs verbatim, keeps the others, and writes no runs rows.
    let input = r#"{"b": {"completed": {"singer_state": {"n": 1}}}, "c": {"partial": {"q": 2}, "completed": {}}, "z": {}}"#;
    state_snapshot!(
        "state_import",
        t.run_with_stdin(&["state", "import"], input),
        t.path()
    );
    assert_eq!(
        query(&sqlite_url(&t), STATE_ROWS),
        [
            r#"a|{"singer_state": {"x": 1}}|{"singer_state": {"y": "\u00fc"}}|updated"#,
            r#"b|{"singer_state": {"n": 1}}|NULL|new"#,
            r#"c|{}|{"q": 2}|new"#,
            "z|NULL|NULL|new",
        ]
    );
    assert_eq!(query(&sqlite_url(&t), RUN_ROWS).len(), 3);
    assert_eq!(
        stdout(&t.run(&["state", "export"])),
        "{\"a\":{\"completed\":{\"singer_state\":{\"x\":1}},\"partial\":{\"singer_state\":{\"y\":\"\\u00fc\"}}},\
         \"b\":{\"completed\":{\"singer_state\":{\"n\":1}},\"partial\":null},\
         \"c\":{\"completed\":{},\"partial\":{\"q\":2}},\"z\":{\"completed\":null,\"partial\":null}}\n"
    );

    // The export of one project is the import of another, from a file.
    let other = project();
    other.write("export.json", &exported);
    ok(&other.run(&["state", "import", "export.json"]));
    assert_eq!(stdout(&other.run(&["state", "export"])), exported);

    for (name, input) in [
        ("state_import_not_object", "[1]"),
        ("state_import_invalid_json", "{bad"),
        ("state_import_empty_input", ""),
        ("state_import_bad_entry", r#"{"q": 5}"#),
        ("state_import_nothing", "{}"),
    ] {
        state_snapshot!(
            name,
            t.run_with_stdin(&["state", "import"], input),
            t.path()
        );
    }
    state_snapshot!(
        "state_import_missing_file",
        t.run(&["state", "import", "nothere.json"]),
        t.path()
    );
}

/// A stand-in editor: records what it was given, then writes `$NEWCONTENT` (if set) and exits
/// with `$EDEXIT`.
const EDITOR: &str = "#!/bin/sh\ncp \"$1\" \"$(dirname \"$0\")/given.json\"\n\
    if [ -n \"$NEWCONTENT\" ]; then printf '%s' \"$NEWCONTENT\" > \"$1\"; fi\nexit ${EDEXIT:-0}\n";

fn edit(t: &TestDir, id: &str, content: Option<&str>, exit: &str) -> Output {
    let editor = t.path().join("editor.sh");
    let mut cmd = t.meltano(&["state", "edit", id, "--force"]);
    cmd.env_remove("VISUAL")
        .env("EDITOR", &editor)
        .env("EDEXIT", exit);
    match content {
        Some(content) => cmd.env("NEWCONTENT", content),
        None => cmd.env_remove("NEWCONTENT"),
    };
    cmd.output().unwrap()
}

#[cfg(unix)]
#[test]
fn edit_runs_the_editor_on_pretty_json() {
    let t = project();
    t.write("editor.sh", EDITOR);
    make_executable(&t.path().join("editor.sh"));
    ok(&t.run(&[
        "state",
        "set",
        "a",
        r#"{"singer_state": {"x": {"y": 1}}}"#,
        "--force",
    ]));

    state_snapshot!("state_edit_unsaved", edit(&t, "a", None, "0"), t.path());
    assert_eq!(
        t.read("given.json"),
        "{\n  \"singer_state\": {\n    \"x\": {\n      \"y\": 1\n    }\n  }\n}\n"
    );
    state_snapshot!(
        "state_edit_blank",
        edit(&t, "a", Some("  \n"), "0"),
        t.path()
    );
    state_snapshot!(
        "state_edit_same",
        edit(&t, "a", Some(r#"{"singer_state": {"x": {"y": 1.0}}}"#), "0"),
        t.path()
    );
    state_snapshot!(
        "state_edit_changed",
        edit(&t, "a", Some(r#"{"singer_state": {"x": {"y": 2}}}"#), "0"),
        t.path()
    );
    state_snapshot!(
        "state_edit_no_singer_state",
        edit(&t, "a", Some(r#"{"x": 1}"#), "0"),
        t.path()
    );
    state_snapshot!(
        "state_edit_invalid_json",
        edit(&t, "a", Some("{x"), "0"),
        t.path()
    );
    state_snapshot!(
        "state_edit_editor_fails",
        edit(&t, "a", None, "3"),
        t.path()
    );
    state_snapshot!(
        "state_edit_new",
        edit(&t, "new", Some(r#"{"singer_state": {}}"#), "0"),
        t.path()
    );
    assert_eq!(t.read("given.json"), "{}\n");
    assert_eq!(
        query(&sqlite_url(&t), STATE_ROWS),
        [
            r#"a|{"singer_state": {"x": {"y": 2}}}|{}|updated"#,
            r#"new|{"singer_state": {}}|{}|new"#,
        ]
    );
    let edits = query(&sqlite_url(&t), RUN_ROWS);
    assert_eq!(edits.len(), 3, "{edits:?}");
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn outside_a_project() {
    let t = TestDir::new();
    state_snapshot!("state_not_in_project", t.run(&["state", "list"]), t.path());
}

#[test]
fn postgresql_through_database_uri() {
    let server = PgServer::shared().expect("PostgreSQL for tests");
    let db = server.fresh_database("state_cli").unwrap();
    let uri = server.uri(&db);
    let raw = uri.replacen("postgresql://", "postgres://", 1);
    let t = project();

    let set = t.run(&[
        "state",
        "set",
        "dev:tap-x-to-target-y",
        r#"{"singer_state": {"bookmarks": {"s": {"id": 1}}}}"#,
        "--force",
        "--database-uri",
        &uri,
    ]);
    state_snapshot!("state_set_postgres", set, t.path());
    // The group's --database-uri works too.
    ok(&t.run(&[
        "state",
        "--database-uri",
        &uri,
        "merge",
        "dev:tap-x-to-target-y",
        r#"{"singer_state": {"bookmarks": {"t": {"id": 2}}}}"#,
    ]));
    assert!(!t.path().join(".meltano/meltano.db").exists());
    assert_eq!(
        stdout(&t.run(&["state", "--database-uri", &uri, "list"])),
        "dev:tap-x-to-target-y\n"
    );
    assert_eq!(
        stdout(&t.run(&[
            "state",
            "get",
            "dev:tap-x-to-target-y",
            "--database-uri",
            &uri
        ])),
        "{\"singer_state\":{\"bookmarks\":{\"s\":{\"id\":1},\"t\":{\"id\":2}}}}\n"
    );
    assert_eq!(
        query(&raw, STATE_ROWS),
        [
            r#"dev:tap-x-to-target-y|{"singer_state": {"bookmarks": {"s": {"id": 1}}}}|{"singer_state": {"bookmarks": {"t": {"id": 2}}}}|updated"#
        ]
    );
    assert_eq!(
        query(&raw, RUN_ROWS),
        [
            r#"dev:tap-x-to-target-y|STATE_EDIT|{"singer_state": {"bookmarks": {"s": {"id": 1}}}}|1|cli|edit"#,
            r#"dev:tap-x-to-target-y|STATE_EDIT|{"singer_state": {"bookmarks": {"t": {"id": 2}}}}|2|cli|edit"#,
        ]
    );
    let run_ids = query(&raw, "SELECT run_id::text FROM runs");
    assert!(run_ids.iter().all(|id| id.len() == 36), "{run_ids:?}");

    // Export from PostgreSQL, import into the project's SQLite database.
    let exported = stdout(&t.run(&["state", "--database-uri", &uri, "export"]));
    t.write("export.json", &exported);
    ok(&t.run(&["state", "import", "export.json"]));
    assert_eq!(stdout(&t.run(&["state", "export"])), exported);
    ok(&t.run(&["state", "--database-uri", &uri, "clear", "--all", "--force"]));
    assert!(query(&raw, STATE_ROWS).is_empty());
}
