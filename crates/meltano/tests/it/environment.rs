//! `meltano environment add|list|remove` outputs and errors.

use crate::common::TestDir;
use crate::snapshot;

#[test]
fn environment_commands() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    snapshot!(
        "environment_add_duplicate",
        t.run(&["environment", "add", "dev"]),
        t.path()
    );
    snapshot!(
        "environment_remove_unknown",
        t.run(&["environment", "remove", "qa"]),
        t.path()
    );
    assert_eq!(t.run(&["environment", "add", "qa"]).status.code(), Some(0));
    snapshot!(
        "environment_list",
        t.run(&["environment", "list"]),
        t.path()
    );
    assert_eq!(t.run(&["environment", "add", "a:b"]).status.code(), Some(1));
}

#[test]
fn environments_in_included_files_are_removed_there() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "include_paths:\n- ./envs/*.yml\nenvironments:\n- name: dev\n",
    );
    t.write(
        "envs/extra.yml",
        "# extra environments\nenvironments:\n- name: ci   # for CI\n- name: perf\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&t.run(&["environment", "list"]).stdout),
        "dev\nci\nperf\n"
    );
    let out = t.run(&["environment", "remove", "ci"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        t.read("envs/extra.yml"),
        "# extra environments\nenvironments:\n- name: perf\n"
    );
    assert_eq!(
        t.read("meltano.yml"),
        "include_paths:\n- ./envs/*.yml\nenvironments:\n- name: dev\n"
    );
}
