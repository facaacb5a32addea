//! Pipelines of `sh` processes: completion rules, state lines, stopping, and large volumes.

use std::sync::mpsc;
use std::time::Duration;

use meltano_runner::PluginProcess;
use meltano_runner::pipeline::{PipelineEvent, PipelineHandle, PipelineOutcome, Stage, start};

fn sh(name: &str, script: &str) -> Stage {
    Stage {
        name: name.to_string(),
        process: PluginProcess {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: Vec::new(),
            env_remove: Vec::new(),
            cwd: std::env::temp_dir(),
        },
    }
}

/// What a finished pipeline produced.
struct Seen {
    outcome: PipelineOutcome,
    states: Vec<String>,
    stderr: Vec<(usize, String)>,
}

fn run(stages: Vec<Stage>, with: impl FnOnce(&PipelineHandle)) -> Seen {
    let (tx, rx) = mpsc::channel();
    let handle = start(stages, move |event| {
        let _ = tx.send(event);
    })
    .expect("pipeline starts");
    with(&handle);
    let mut states = Vec::new();
    let mut stderr = Vec::new();
    loop {
        match rx
            .recv_timeout(Duration::from_secs(60))
            .expect("pipeline finishes")
        {
            PipelineEvent::Stdout(line) => states.push(String::from_utf8(line).unwrap()),
            PipelineEvent::Stderr { stage, line } => stderr.push((stage, line)),
            PipelineEvent::Finished(outcome) => {
                return Seen {
                    outcome,
                    states,
                    stderr,
                };
            }
        }
    }
}

const TAP: &str = r#"echo '{"type": "SCHEMA", "stream": "users", "schema": {}}'
echo '{"type": "RECORD", "stream": "users", "record": {"id": 1}}'
echo '{"type": "RECORD", "stream": "users", "record": {"id": 2}}'
echo '{"type":"RECORD","stream":"orders","record":{"id":1}}'
echo '{"type": "STATE", "value": {"users": 2}}'
echo "tap done" >&2"#;

#[test]
fn relays_through_a_mapper_and_reports_states_and_counts() {
    let seen = run(
        vec![
            sh("tap", TAP),
            sh("mapper", "cat"),
            sh(
                "target",
                r#"n=0; while read -r line; do n=$((n+1)); done; echo "{\"lines\": $n}"; echo '{"final": true}'"#,
            ),
        ],
        |_| {},
    );
    assert_eq!(seen.outcome.exit_codes, vec![0, 0, 0]);
    assert!(!seen.outcome.intermediate_failed);
    assert_eq!(
        seen.outcome.records,
        vec![("users".to_string(), 2), ("orders".to_string(), 1)]
    );
    assert_eq!(seen.states, vec!["{\"lines\": 5}", "{\"final\": true}"]);
    assert_eq!(seen.stderr, vec![(0, "tap done".to_string())]);
}

#[test]
fn a_loader_ending_first_stops_the_extractor_without_failing_it() {
    let seen = run(
        vec![
            sh(
                "tap",
                r#"while :; do echo '{"type":"RECORD","stream":"s","record":{}}'; done"#,
            ),
            sh("target", r#"head -n 3 >/dev/null; echo '{"seen": 3}'"#),
        ],
        |_| {},
    );
    assert_eq!(seen.outcome.exit_codes, vec![0, 0]);
    assert_eq!(seen.states, vec!["{\"seen\": 3}"]);
}

#[test]
fn a_failing_loader_keeps_its_exit_code_and_confirmed_states() {
    let seen = run(
        vec![
            sh("tap", TAP),
            sh(
                "target",
                r#"read -r line; echo '{"partial": 1}'; echo boom >&2; exit 7"#,
            ),
        ],
        |_| {},
    );
    assert_eq!(seen.outcome.exit_codes, vec![0, 7]);
    assert_eq!(seen.states, vec!["{\"partial\": 1}"]);
    assert!(seen.stderr.contains(&(1, "boom".to_string())));
}

#[test]
fn a_mapper_ending_first_fails_the_pipeline() {
    let seen = run(
        vec![
            sh(
                "tap",
                r#"while :; do echo '{"type":"RECORD","stream":"s"}'; done"#,
            ),
            sh("mapper", "head -n 1 >/dev/null; exit 3"),
            sh("target", "cat >/dev/null"),
        ],
        |_| {},
    );
    assert!(seen.outcome.intermediate_failed);
    assert_eq!(seen.outcome.exit_codes[1], 3);
}

#[test]
fn stopping_the_extractor_lets_the_loader_drain_and_confirm() {
    let seen = run(
        vec![
            sh(
                "tap",
                r#"trap 'exit 143' TERM; echo ready >&2; while :; do echo '{"type":"RECORD","stream":"s"}'; sleep 0.01; done"#,
            ),
            sh(
                "target",
                r#"n=0; while read -r l; do n=$((n+1)); done; echo "{\"drained\": true}""#,
            ),
        ],
        |handle| {
            std::thread::sleep(Duration::from_millis(300));
            handle.stop_extractor();
        },
    );
    assert_eq!(seen.outcome.exit_codes, vec![143, 0]);
    assert_eq!(seen.states, vec!["{\"drained\": true}"]);
}

#[test]
fn a_missing_program_is_an_error_naming_the_stage() {
    let mut missing = sh("target-nope", "");
    missing.process.program = "/nonexistent/target".into();
    let err = start(vec![sh("tap", "echo x"), missing], |_| {}).unwrap_err();
    assert!(err.to_string().contains("target-nope"), "{err}");
}

#[test]
fn a_256_mib_line_and_ten_million_records_pass_unchanged() {
    // One line of 256 MiB (the reference fails above 50 MiB).
    let seen = run(
        vec![
            sh(
                "tap",
                r#"printf '{"type": "RECORD", "stream": "wide", "record": {"x": "'; head -c 268435456 /dev/zero | tr '\0' 'x'; printf '"}}\n'"#,
            ),
            sh("target", r#"echo "{\"bytes\": $(wc -c)}""#),
        ],
        |_| {},
    );
    assert_eq!(seen.outcome.exit_codes, vec![0, 0]);
    assert_eq!(seen.outcome.records, vec![("wide".to_string(), 1)]);
    let bytes =
        268_435_456 + r#"{"type": "RECORD", "stream": "wide", "record": {"x": ""}}"#.len() + 1;
    assert_eq!(seen.states, vec![format!("{{\"bytes\": {bytes}}}")]);

    // Ten million records.
    let seen = run(
        vec![
            sh(
                "tap",
                r#"yes '{"type":"RECORD","stream":"many","record":{"id":1}}' | head -n 10000000"#,
            ),
            sh("target", r#"echo "{\"lines\": $(wc -l)}""#),
        ],
        |_| {},
    );
    assert_eq!(seen.outcome.exit_codes, vec![0, 0]);
    assert_eq!(seen.outcome.records, vec![("many".to_string(), 10_000_000)]);
    assert_eq!(seen.states, vec!["{\"lines\": 10000000}"]);
}

#[test]
fn a_single_command_reports_its_stdout_lines() {
    let seen = run(vec![sh("dbt", "echo one; echo two >&2; exit 4")], |_| {});
    assert_eq!(seen.outcome.exit_codes, vec![4]);
    assert_eq!(seen.states, vec!["one"]);
    assert_eq!(seen.stderr, vec![(0, "two".to_string())]);
}
