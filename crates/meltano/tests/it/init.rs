//! `meltano init`.

use crate::common::TestDir;
use crate::snapshot;

const SCAFFOLD: [&str; 11] = [
    "meltano.yml",
    "README.md",
    "requirements.txt",
    "output/.gitignore",
    ".gitignore",
    "extract/.gitkeep",
    "load/.gitkeep",
    "transform/.gitkeep",
    "analyze/.gitkeep",
    "notebook/.gitkeep",
    "orchestrate/.gitkeep",
];

#[test]
fn init_creates_the_reference_layout() {
    let t = TestDir::new();
    let out = t.run(&["init", "proj", "--no-usage-stats"]);
    snapshot!("init", out, t.path());
    for file in SCAFFOLD {
        assert!(t.path().join("proj").join(file).is_file(), "{file} missing");
    }
    assert_eq!(t.read("proj/.gitignore"), "/venv\n/.meltano\n.env\n");
    assert_eq!(t.read("proj/output/.gitignore"), "*\n!.gitignore\n");
    for file in [
        ".meltano/.gitignore",
        ".meltano/CACHEDIR.TAG",
        ".meltano/analytics.json",
        ".meltano/meltano.db",
        ".meltano/run/meltano.yml.lock",
    ] {
        assert!(t.path().join("proj").join(file).is_file(), "{file} missing");
    }
    assert!(t.path().join("proj/.meltano/run/bin").is_symlink());

    let manifest = t.read("proj/meltano.yml");
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines[0], "default_environment: dev");
    assert!(lines[1].starts_with("project_id: "));
    assert_eq!(
        &lines[2..],
        [
            "environments:",
            "- name: dev",
            "- name: staging",
            "- name: prod",
            "send_anonymous_usage_stats: false"
        ]
    );

    let analytics: serde_json::Value =
        serde_json::from_str(&t.read("proj/.meltano/analytics.json")).unwrap();
    assert_eq!(
        analytics["project_id"].as_str(),
        Some(lines[1].trim_start_matches("project_id: "))
    );
    assert_eq!(analytics["send_anonymous_usage_stats"], false);

    // The new project is usable straight away.
    let list = t
        .meltano(&["environment", "list"])
        .current_dir(t.path().join("proj"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "dev\nstaging\nprod\n"
    );
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let t = TestDir::new();
    t.write("proj/meltano.yml", "# mine\nenvironments: []\n");
    snapshot!("init_exists", t.run(&["init", "proj"]), t.path());
    assert_eq!(t.read("proj/meltano.yml"), "# mine\nenvironments: []\n");

    t.write("proj/README.md", "keep me\n");
    let out = t.run(&["init", "proj", "--force"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("   |-- README.md (skipped)"));
    assert_eq!(t.read("proj/README.md"), "keep me\n");
    assert!(
        t.read("proj/meltano.yml")
            .starts_with("default_environment: dev\n")
    );
}

#[test]
fn init_asks_for_a_name_when_none_is_given() {
    let t = TestDir::new();
    let out = t.run_with_stdin(&["init"], "asked\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t.path().join("asked/meltano.yml").is_file());
    let aborted = t.run_with_stdin(&["init"], "");
    assert_eq!(aborted.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&aborted.stderr).contains("Aborted!"));
}

#[test]
fn init_with_usage_stats_enabled_omits_the_opt_out() {
    let t = TestDir::new();
    let out = t
        .meltano(&["init", "proj"])
        .env_remove("MELTANO_SEND_ANONYMOUS_USAGE_STATS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !t.read("proj/meltano.yml")
            .contains("send_anonymous_usage_stats")
    );
}
