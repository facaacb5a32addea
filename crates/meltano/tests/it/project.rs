//! Finding and activating the project: discovery, empty or invalid files, version requirements,
//! read-only deployments, the system directory, and environments.

use crate::common::TestDir;
use crate::snapshot;

#[test]
fn outside_a_project_commands_fail_with_usage_error() {
    let t = TestDir::new();
    snapshot!("not_in_project_add", t.run(&["add", "tap-x"]), t.path());
    snapshot!(
        "not_in_project_group",
        t.run(&["environment", "list"]),
        t.path()
    );
    snapshot!(
        "not_in_project_plugin_list",
        t.run(&["plugin", "list"]),
        t.path()
    );
}

#[test]
fn project_is_found_from_a_subdirectory() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    t.write("extract/deep/.keep", "");
    let out = t
        .meltano(&["environment", "list"])
        .current_dir(t.path().join("extract/deep"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dev\n");
}

#[test]
fn project_root_variable_wins_over_the_working_directory() {
    let t = TestDir::new();
    t.write("a/meltano.yml", "environments:\n- name: from-a\n");
    t.write("b/meltano.yml", "environments:\n- name: from-b\n");
    let out = t
        .meltano(&["environment", "list"])
        .current_dir(t.path().join("a"))
        .env("MELTANO_PROJECT_ROOT", t.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-b\n");
    let missing = t
        .meltano(&["environment", "list"])
        .env("MELTANO_PROJECT_ROOT", t.path().join("c"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn empty_meltano_yml_is_an_error() {
    let t = TestDir::new();
    t.write("meltano.yml", "# nothing here yet\n");
    snapshot!("empty_meltano_yml", t.run(&["plugin", "list"]), t.path());
}

#[test]
fn invalid_yaml_names_file_line_and_column() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "plugins:\n  extractors:\n  - name: tap-a\n    pip_url: [x\n",
    );
    let out = t.run(&["plugin", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("meltano.yml:"), "{stderr}");
    snapshot!("invalid_yaml", out, t.path());
}

#[test]
fn wrong_type_names_the_setting() {
    let t = TestDir::new();
    t.write("meltano.yml", "plugins:\n  extractors: 5\n");
    let out = t.run(&["plugin", "list"]);
    assert_eq!(out.status.code(), Some(1));
    snapshot!("wrong_type", out, t.path());
}

#[test]
fn unsatisfied_requires_meltano_exits_3() {
    let t = TestDir::new();
    t.write("meltano.yml", "requires_meltano: \">=5.0\"\n");
    snapshot!(
        "requires_meltano_unsatisfied",
        t.run(&["plugin", "list"]),
        t.path()
    );
    t.write(
        "meltano.yml",
        "requires_meltano: \">=4.0,<5\"\nenvironments: []\n",
    );
    assert_eq!(t.run(&["environment", "list"]).status.code(), Some(0));
}

#[test]
fn read_only_projects_refuse_writes() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    let before = t.read("meltano.yml");
    let out = t
        .meltano(&["environment", "add", "qa"])
        .env("MELTANO_PROJECT_READONLY", "true")
        .output()
        .unwrap();
    snapshot!("readonly_env_var", out, t.path());
    assert_eq!(t.read("meltano.yml"), before);

    t.write(
        "meltano.yml",
        "project_readonly: true\nenvironments:\n- name: dev\n",
    );
    let out = t.run(&[
        "add",
        "tap-x",
        "--custom",
        "--namespace",
        "x",
        "--pip-url",
        "n",
        "--executable",
        "x",
        "--capabilities",
        "",
        "--settings",
        "",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deployed as read-only"));

    t.write(".env", "MELTANO_PROJECT_READONLY=true\n");
    t.write("meltano.yml", "environments:\n- name: dev\n");
    assert_eq!(
        t.run(&["environment", "remove", "dev"]).status.code(),
        Some(1)
    );
    // Reading still works.
    assert_eq!(t.run(&["environment", "list"]).status.code(), Some(0));
}

#[test]
fn system_directory_is_created_and_can_be_moved() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    t.run(&["environment", "list"]);
    assert_eq!(t.read(".meltano/.gitignore"), "*\n");
    assert!(
        t.read(".meltano/CACHEDIR.TAG")
            .starts_with("Signature: 8a477f597d28d172789f06886806bc55")
    );

    let moved = TestDir::new();
    moved.write("meltano.yml", "environments:\n- name: dev\n");
    moved
        .meltano(&["remove", "nothing"])
        .env("MELTANO_SYS_DIR_ROOT", "state-dir")
        .output()
        .unwrap();
    assert!(moved.path().join("state-dir/meltano.db").is_file());
    assert!(!moved.path().join(".meltano").exists());
}

#[test]
fn environment_selection() {
    let t = TestDir::new();
    t.write(
        "meltano.yml",
        "default_environment: dev\nenvironments:\n- name: dev\n- name: prod\n",
    );
    let stderr = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr(t.run(&["plugin", "list"])).contains("Environment 'dev' is active"));
    assert!(
        stderr(t.run(&["--environment", "prod", "plugin", "list"]))
            .contains("Environment 'prod' is active")
    );
    let by_var = t
        .meltano(&["plugin", "list"])
        .env("MELTANO_ENVIRONMENT", "prod")
        .output()
        .unwrap();
    assert!(stderr(by_var).contains("Environment 'prod' is active"));
    t.write(".env", "MELTANO_ENVIRONMENT=prod\n");
    assert!(stderr(t.run(&["plugin", "list"])).contains("Environment 'prod' is active"));
    t.write("other.env", "MELTANO_ENVIRONMENT=dev\n");
    assert!(
        stderr(t.run(&["--env-file", "other.env", "plugin", "list"]))
            .contains("Environment 'dev' is active")
    );
    assert!(
        stderr(t.run(&["--no-environment", "plugin", "list"]))
            .contains("No Meltano environment was selected")
    );
    snapshot!(
        "unknown_environment",
        t.run(&["--environment", "nope", "plugin", "list"]),
        t.path()
    );
}

#[test]
fn no_environment_is_announced_only_when_asked_for() {
    let t = TestDir::new();
    t.write("meltano.yml", "environments:\n- name: dev\n");
    let stderr = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let announced = "No Meltano environment was selected";
    // No default: Meltano runs without an environment and says nothing of it.
    assert!(!stderr(t.run(&["plugin", "list"])).contains(announced));
    assert!(!stderr(t.run(&["--environment=", "plugin", "list"])).contains(announced));
    assert!(stderr(t.run(&["--no-environment", "plugin", "list"])).contains(announced));
    assert!(stderr(t.run(&["--environment", "null", "plugin", "list"])).contains(announced));
    assert!(
        stderr(t.run(&["--environment", "null", "config", "list", "meltano"])).contains(announced)
    );
    let by_var = t
        .meltano(&["plugin", "list"])
        .env("MELTANO_ENVIRONMENT", "NULL")
        .output()
        .unwrap();
    assert!(stderr(by_var).contains(announced));
    // An empty name falls back to the default; a default named `null` is looked up as a name.
    t.write(
        "meltano.yml",
        "default_environment: dev\nenvironments:\n- name: dev\n",
    );
    assert!(
        stderr(t.run(&["--environment=", "plugin", "list"]))
            .contains("Environment 'dev' is active")
    );
    t.write(
        "meltano.yml",
        "default_environment: 'null'\nenvironments:\n- name: dev\n",
    );
    let out = t.run(&["plugin", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(out).contains("Environment 'null' was not found."));
}
