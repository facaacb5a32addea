//! `meltano job add|list|set|remove`: outputs, errors, and lossless edits of the file each job
//! came from (tests/fixtures/job_edits).

use crate::common::{TestDir, filters, render};

/// Runs each command in turn and renders them all as one transcript.
pub fn transcript(t: &TestDir, commands: &[&[&str]]) -> String {
    commands
        .iter()
        .map(|args| {
            let line: Vec<String> = args.iter().map(|a| quoted(a)).collect();
            format!("$ meltano {}\n{}", line.join(" "), render(&t.run(args)))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An argument as a shell would need it.
fn quoted(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=:@./".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{arg}'")
    }
}

/// Settings that make a transcript of commands run in `t` stable.
pub fn transcript_settings(t: &TestDir) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in filters(t.path()) {
        settings.add_filter(&pattern, replacement);
    }
    settings
}

/// Snapshots the transcript of `commands` run in `t` under `name`.
fn snapshot_transcript(name: &str, t: &TestDir, commands: &[&[&str]]) {
    let text = transcript(t, commands);
    transcript_settings(t).bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn job_list_in_text_and_json() {
    let t = TestDir::from_fixture("job_edits");
    snapshot_transcript(
        "job_list",
        &t,
        &[
            &["job", "list"],
            &["job", "list", "--format", "json"],
            &["job", "list", "weekly"],
            &["job", "list", "nightly", "--format", "json"],
            &["job", "list", "nope"],
            &["job", "list", "nope", "--format", "json"],
            &["--environment", "prod", "job", "list", "platform"],
            &["--environment", "qa", "job", "list"],
        ],
    );
}

#[test]
fn job_edits_go_to_the_file_each_job_came_from() {
    let t = TestDir::from_fixture("job_edits");
    snapshot_transcript(
        "job_edits",
        &t,
        &[
            &[
                "job",
                "add",
                "backfill",
                "--tasks",
                r#"[["tap-rows target-file", "util:hello"], "util"]"#,
            ],
            &[
                "job",
                "add",
                "single",
                "--tasks",
                "tap-rows upper target-file",
            ],
            &["job", "set", "platform", "--tasks", "tap-rows target-file"],
            &["job", "set", "nope", "--tasks", "util:hello"],
            &["job", "remove", "obsolete"],
            &["job", "remove", "obsolete"],
            &["job", "list"],
        ],
    );
    t.assert_matches_fixture("job_edits");
}

#[test]
fn job_tasks_are_validated_like_run_blocks() {
    let t = TestDir::from_fixture("job_edits");
    let before = t.read("meltano.yml");
    snapshot_transcript(
        "job_invalid_tasks",
        &t,
        &[
            &["job", "add", "nightly", "--tasks", "util:hello"],
            &["job", "add", "x", "--tasks", "tap-rows nope target-file"],
            &["job", "add", "x", "--tasks", "tap-rows"],
            &["job", "add", "x", "--tasks", "target-file"],
            &[
                "job",
                "add",
                "x",
                "--tasks",
                "tap-rows mapper-upper target-file",
            ],
            &["job", "add", "x", "--tasks", "tap-rows  target-file"],
            &["job", "add", "x", "--tasks", "5"],
            &["job", "add", "x", "--tasks", ""],
            &["job", "add", "x", "--tasks", "[util, {a: b}]"],
            &["job", "add", "x", "--tasks", r#"[util, [util:hello, 2]]"#],
            &["job", "add", "x", "--tasks", r#"[[["util"]]]"#],
            &["job", "set", "nightly", "--tasks", "nope"],
            &["job", "add", "x"],
            &["job", "add", "--tasks", "util"],
        ],
    );
    assert_eq!(t.read("meltano.yml"), before, "no failed command writes");
}

#[test]
fn job_tasks_that_are_not_yaml_are_refused() {
    let t = TestDir::from_fixture("job_edits");
    let out = t.run(&["job", "add", "x", "--tasks", "[util"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Job 'x' has invalid tasks. Failed to parse yaml '[util': "),
        "{stderr}"
    );
}

#[test]
fn job_tasks_may_name_other_jobs() {
    let t = TestDir::from_fixture("job_edits");
    let out = t.run(&["job", "add", "all", "--tasks", "[nightly, platform]"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Added job all: ['nightly', 'platform']\n"
    );
}

#[test]
fn read_only_projects_refuse_job_edits() {
    let t = TestDir::from_fixture("job_edits");
    let before = t.read("meltano.yml");
    for args in [
        &["job", "add", "x", "--tasks", "util:hello"][..],
        &["job", "set", "nightly", "--tasks", "util:hello"],
        &["job", "remove", "nightly"],
    ] {
        let out = t
            .meltano(args)
            .env("MELTANO_PROJECT_READONLY", "true")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(
                "The requested action could not be completed: This Meltano project is deployed as read-only"
            ),
            "{args:?}"
        );
    }
    assert_eq!(t.read("meltano.yml"), before);
}

#[test]
fn job_outside_a_project_and_without_a_subcommand() {
    let t = TestDir::new();
    let out = t.run(&["job", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Error: `meltano job` must be run inside a Meltano project.")
    );
    let out = t.run(&["job"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "help belongs on stderr");
    let help = String::from_utf8_lossy(&out.stderr);
    assert!(
        help.starts_with("Usage: meltano job [OPTIONS] COMMAND [ARGS]..."),
        "{help}"
    );
    for command in ["add", "list", "remove", "set", "--database-uri"] {
        assert!(help.contains(command), "{help}");
    }
}
