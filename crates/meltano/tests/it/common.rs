//! Running the built binary in a throwaway project, and snapshotting what it prints.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

/// A temporary directory to run `meltano` in, with its own HOME and no inherited MELTANO_* variables.
pub struct TestDir {
    pub dir: TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A directory holding a copy of `tests/fixtures/<case>/in`.
    pub fn from_fixture(case: &str) -> TestDir {
        let test = TestDir::new();
        copy_dir(&fixture(case).join("in"), test.path());
        test
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `meltano` with the given arguments, run in this directory.
    pub fn meltano(&self, args: &[&str]) -> Command {
        Command::from_std(self.meltano_std(args))
    }

    /// The same as a plain `std::process::Command`, for tests that start `meltano` in the
    /// background and signal it.
    pub fn meltano_std(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("meltano"));
        for (key, _) in std::env::vars() {
            if key.starts_with("MELTANO_") || key == "NO_COLOR" || key == "FORCE_COLOR" {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.path())
            .env("HOME", self.path())
            .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
            .args(args);
        cmd
    }

    /// Runs `meltano` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.meltano(args).output().expect("meltano runs")
    }

    /// Runs `meltano` feeding `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        self.meltano(args)
            .write_stdin(stdin)
            .output()
            .expect("meltano runs")
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative))
            .unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }

    /// Asserts that every file under `tests/fixtures/<case>/out` matches this directory's copy exactly.
    pub fn assert_matches_fixture(&self, case: &str) {
        let expected = fixture(case).join("out");
        for file in files_under(&expected) {
            let relative = file.strip_prefix(&expected).expect("under out");
            let actual = std::fs::read_to_string(self.path().join(relative))
                .unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
            let wanted = std::fs::read_to_string(&file).expect("fixture readable");
            similar_asserts(&wanted, &actual, &relative.display().to_string());
        }
    }
}

fn similar_asserts(expected: &str, actual: &str, name: &str) {
    if expected != actual {
        panic!(
            "{name} differs from the fixture.\n--- expected ---\n{expected}\n--- actual ---\n{actual}"
        );
    }
}

pub fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path))
        } else {
            out.push(path)
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("fixture dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Sends signal `name` (`TERM`, `KILL`) to a background process.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Exit code, stdout and stderr as one text.
pub fn render(output: &Output) -> String {
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Filters that make times, ids, versions and temporary paths stable in snapshots.
pub fn filters(dir: &Path) -> Vec<(String, &'static str)> {
    let mut filters = Vec::new();
    if let Ok(canonical) = std::fs::canonicalize(dir) {
        filters.push((regex_escape(&canonical.display().to_string()), "[TMP]"));
    }
    filters.push((regex_escape(&dir.display().to_string()), "[TMP]"));
    filters.push((
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z".to_string(),
        "[TIME]",
    ));
    filters.push((
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".to_string(),
        "[UUID]",
    ));
    filters.push((
        r"Meltano 4\.4\.1 \(meltano-rs [^)]*\), \w+ \(\w+\)".to_string(),
        "Meltano [VERSION]",
    ));
    filters
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Snapshots a command's output under `name`, with the stable-making filters for `dir`.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $output:expr, $dir:expr) => {{
        let mut settings = insta::Settings::clone_current();
        for (pattern, replacement) in $crate::common::filters($dir) {
            settings.add_filter(&pattern, replacement);
        }
        settings.bind(|| insta::assert_snapshot!($name, $crate::common::render(&$output)));
    }};
}
