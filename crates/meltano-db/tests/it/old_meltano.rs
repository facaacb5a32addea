//! Real system databases made by old Python Meltano releases, and the same databases upgraded by Meltano 4.4.1.
//!
//! For each release we `pip install` it into a scratch virtualenv, run a small project with it (settings stored
//! in the database, successful and failed runs with Singer state, `meltano state set/merge/clear`), keep the
//! resulting database, and let Meltano 4.4.1 upgrade a copy (any command that opens the database upgrades it;
//! we use `meltano state list`). Both are cached, with the virtualenvs, under
//! `$MELTANO_RS_TEST_CACHE` (default: `<temp dir>/meltano-rs-test-cache`), keyed by release, engine and (for
//! PostgreSQL, whose dumps we keep) server version, so a rerun only restores files.
//!
//! The first run installs six releases (30–75 s each without a pip cache) and drives each project on each
//! engine (30–70 s each): about ten minutes on two busy cores, against half a minute once cached. When a release
//! cannot be installed here — no Python old enough (2.0 to 2.7 need Python 3.9 or 3.10, looked up on `PATH` and
//! in pyenv), or no package index — [`prepare`] says why and the test passes without checking.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use meltano_db::Dialect;
use meltano_test::PgServer;

use crate::support::Fixture;

/// Bump to regenerate every cached database after changing the scenario.
const SCENARIO_VERSION: u32 = 1;

/// The Meltano release whose upgrade we must match.
pub const REFERENCE: Release = Release {
    version: "4.4.1",
    revision: "c0efb3c314eb",
    pythons: (10, 13),
};

/// A Meltano release on PyPI and the Python minor versions it installs with.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    pub version: &'static str,
    /// The alembic revision its databases are at.
    pub revision: &'static str,
    /// The oldest and newest Python 3 minor version to install it with (its dependencies' wheels included).
    pub pythons: (u32, u32),
}

/// An old database and the same database upgraded by Meltano 4.4.1, each a fresh copy the test may change.
pub struct Prepared {
    /// The database as the old release left it.
    pub old: Fixture,
    /// The same database after Meltano 4.4.1 upgraded it.
    pub reference: Fixture,
    /// What `meltano state list` of Meltano 4.4.1 printed on the upgraded database.
    pub reference_state_list: String,
}

/// Why a test cannot run here; printed, and the test passes without checking anything.
pub struct Skip(pub String);

impl Skip {
    /// Says why the test checks nothing here (see [`say`]).
    pub fn report(self) {
        say(&self.0);
    }
}

/// Writes a line straight to the terminal's stderr: the test harness only captures `print!`-style output, and
/// a skip or a minutes-long first run should be visible without `--nocapture`.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The old database of `release` on `dialect`, made (or taken from the cache) as the module docs describe.
pub fn prepare(release: Release, dialect: Dialect) -> Result<Prepared, Skip> {
    let old_meltano = venv(release)?;
    let reference = venv(REFERENCE)?;
    let server_version = match dialect {
        Dialect::Sqlite => String::new(),
        Dialect::Postgres => {
            let version = pg()
                .psql("postgres", "SHOW server_version_num")
                .expect("ask PostgreSQL its version");
            format!("-pg{}", version.trim())
        }
    };
    let engine = match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    };
    let entry = cache_root().join(format!(
        "db-v{SCENARIO_VERSION}-{}-{engine}{server_version}",
        release.version
    ));
    with_lock(&entry, || {
        if !entry.join("complete").exists() {
            generate(&entry, dialect, &old_meltano, &reference);
        }
    });
    let reference_state_list =
        fs::read_to_string(entry.join("reference-state-list.txt")).expect("read the cached list");
    let (old, reference) = match dialect {
        Dialect::Sqlite => (
            sqlite_copy(&entry.join("old.db")),
            sqlite_copy(&entry.join("reference.db")),
        ),
        Dialect::Postgres => (
            pg_restore(&entry.join("old.sql")),
            pg_restore(&entry.join("reference.sql")),
        ),
    };
    Ok(Prepared {
        old,
        reference,
        reference_state_list,
    })
}

/// Runs `meltano state list` of Meltano 4.4.1 on `fixture` and returns what it printed. On an old database that
/// is Meltano's own upgrade; on an upgraded one, proof that Python Meltano opens it as it is.
pub fn reference_state_list(fixture: &Fixture) -> Result<String, Skip> {
    let meltano = venv(REFERENCE)?;
    let project = tempfile::tempdir().unwrap();
    write_project(project.path());
    Ok(reference_list(&meltano, project.path(), &fixture.uri))
}

fn pg() -> &'static PgServer {
    PgServer::shared().expect("PostgreSQL is required for these tests")
}

fn cache_root() -> PathBuf {
    std::env::var_os("MELTANO_RS_TEST_CACHE")
        .filter(|dir| !dir.is_empty())
        .map_or_else(
            || std::env::temp_dir().join("meltano-rs-test-cache"),
            PathBuf::from,
        )
}

/// Runs `f` holding an exclusive lock tied to `path` (`<path>.lock`), shared by threads and processes alike.
fn with_lock<T>(path: &Path, f: impl FnOnce() -> T) -> T {
    fs::create_dir_all(cache_root()).unwrap();
    let mut name = path.file_name().unwrap().to_owned();
    name.push(".lock");
    let lock = File::create(path.with_file_name(name)).unwrap();
    lock.lock().unwrap();
    let result = f();
    drop(lock);
    result
}

/// The `meltano` executable of `release`, installing it on first use. The outcome, a failure included, is
/// settled once per process, so the tests of both engines do not each wait for pip.
fn venv(release: Release) -> Result<PathBuf, Skip> {
    type Outcome = Arc<OnceLock<Result<PathBuf, String>>>;
    static OUTCOMES: OnceLock<Mutex<HashMap<&'static str, Outcome>>> = OnceLock::new();
    let outcome = Arc::clone(
        OUTCOMES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap()
            .entry(release.version)
            .or_default(),
    );
    outcome
        .get_or_init(|| {
            let dir = cache_root().join(format!("venv-meltano-{}", release.version));
            with_lock(&dir, || install(release, &dir))
        })
        .clone()
        .map_err(Skip)
}

fn install(release: Release, dir: &Path) -> Result<PathBuf, String> {
    let meltano = dir.join("bin").join("meltano");
    let marker = dir.join("meltano-rs-complete");
    if marker.exists() {
        return Ok(meltano);
    }
    let python = find_python(release.pythons).ok_or_else(|| {
        format!(
            "skipped: Meltano {} needs Python 3.{} to 3.{}, and none was found (looked for python3.N on PATH, \
             in $PYENV_ROOT/versions and ~/.pyenv/versions, and at python3)",
            release.version, release.pythons.0, release.pythons.1
        )
    })?;
    if dir.exists() {
        fs::remove_dir_all(dir)
            .map_err(|e| format!("remove a half-made {}: {e}", dir.display()))?;
    }
    let started = std::time::Instant::now();
    say(&format!(
        "installing meltano=={} with {} into {} (once; cached for later runs)",
        release.version,
        python.display(),
        dir.display()
    ));
    let output = Command::new(&python)
        .args(["-m", "venv"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "skipped: `{} -m venv` failed: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // The driver each release uses for `postgresql://`: psycopg2 for 2.x (a dependency there) and 4.x, psycopg 3
    // for 3.x (optional in both).
    let driver = if release.version.starts_with("3.") {
        "psycopg[binary]"
    } else {
        "psycopg2-binary"
    };
    let output = Command::new(dir.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "60",
            "--retries",
            "2",
        ])
        .arg(format!("meltano=={}", release.version))
        .arg(driver)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run pip: {e}"))?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(dir);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(4).collect();
        return Err(format!(
            "skipped: `pip install meltano=={}` failed here:\n{}",
            release.version,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    fs::write(&marker, "").map_err(|e| format!("write {}: {e}", marker.display()))?;
    say(&format!(
        "installed meltano=={} in {:.0?}",
        release.version,
        started.elapsed()
    ));
    Ok(meltano)
}

/// A Python 3 interpreter whose minor version is within `range`, newest first.
fn find_python((oldest, newest): (u32, u32)) -> Option<PathBuf> {
    let mut pyenv_roots: Vec<PathBuf> = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(home) = std::env::var_os("HOME") {
        pyenv_roots.push(Path::new(&home).join(".pyenv"));
    }
    for minor in (oldest..=newest).rev() {
        let name = format!("python3.{minor}");
        let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(&name))
            .find(|candidate| minor_version(candidate) == Some(minor));
        if on_path.is_some() {
            return on_path;
        }
        for root in &pyenv_roots {
            let Ok(entries) = fs::read_dir(root.join("versions")) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|v| v.starts_with(&format!("3.{minor}.")))
                })
                .map(|e| e.path().join("bin").join("python3"))
                .filter(|candidate| minor_version(candidate) == Some(minor))
                .collect();
            found.sort();
            if let Some(python) = found.pop() {
                return Some(python);
            }
        }
    }
    let python3 = PathBuf::from("python3");
    minor_version(&python3)
        .is_some_and(|minor| (oldest..=newest).contains(&minor))
        .then_some(python3)
}

fn minor_version(python: &Path) -> Option<u32> {
    let output = Command::new(python)
        .args([
            "-c",
            "import sys; print(sys.version_info[0] * 1000 + sys.version_info[1])",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let version: u32 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    (version / 1000 == 3).then_some(version % 1000)
}

/// A tap with one stream and a bookmark taken from `$TAP_FAKE_ID` (with a non-ASCII note, which Meltano keeps
/// as a `\u` escape).
const TAP: &str = r#"#!/bin/sh
echo '{"type": "SCHEMA", "stream": "s", "schema": {"properties": {"id": {"type": "integer"}}}, "key_properties": ["id"]}'
echo '{"type": "RECORD", "stream": "s", "record": {"id": 1}}'
echo "{\"type\": \"STATE\", \"value\": {\"bookmarks\": {\"s\": {\"id\": ${TAP_FAKE_ID:-1}, \"note\": \"caf\\u00e9\"}}}}"
"#;

/// A target that passes state on and, when `$TARGET_FAKE_FAIL` is set, fails after doing so.
const TARGET: &str = r#"#!/bin/sh
while IFS= read -r line; do
  case "$line" in *'"STATE"'*) echo "$line" | sed 's/.*"value": //; s/}$//';; esac
done
[ -z "$TARGET_FAKE_FAIL" ]
"#;

/// Writes `meltano.yml` (every release since 2.0 reads this one) and the plugin scripts into `dir`.
fn write_project(dir: &Path) {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for (name, script) in [("tap-fake", TAP), ("target-fake", TARGET)] {
        let path = bin.join(name);
        fs::write(&path, script).unwrap();
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        fs::set_permissions(&path, permissions).unwrap();
    }
    let yml = format!(
        "version: 1\n\
         default_environment: dev\n\
         project_id: 8f3ac6a0-0b6f-4a57-9d0e-5d5b3c1a2e11\n\
         send_anonymous_usage_stats: false\n\
         environments:\n\
         - name: dev\n\
         plugins:\n\
         \x20 extractors:\n\
         \x20 - name: tap-fake\n\
         \x20   namespace: tap_fake\n\
         \x20   executable: {bin}/tap-fake\n\
         \x20   capabilities: [state]\n\
         \x20   settings:\n\
         \x20   - name: password\n\
         \x20     kind: password\n\
         \x20 loaders:\n\
         \x20 - name: target-fake\n\
         \x20   namespace: target_fake\n\
         \x20   executable: {bin}/target-fake\n",
        bin = bin.display()
    );
    fs::write(dir.join("meltano.yml"), yml).unwrap();
}

fn meltano_command(meltano: &Path, project: &Path, uri: &str) -> Command {
    let mut command = Command::new(meltano);
    command
        .current_dir(project)
        .env("MELTANO_DATABASE_URI", uri)
        .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
        .env_remove("MELTANO_ENVIRONMENT")
        .env_remove("MELTANO_PROJECT_ROOT")
        .stdin(Stdio::null());
    command
}

fn checked(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "`{what}` failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Drives a project with `meltano` against the database at `uri`: what leaves rows in every table Meltano
/// keeps.
fn run_scenario(meltano: &Path, project: &Path, uri: &str) {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = meltano_command(meltano, project, uri)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (output.status.success(), output)
    };
    // `--store` is spelled `db` in Meltano 2.0 to 2.6 and 3.x, `DB` in between.
    let set_password = ["config", "tap-fake", "set", "password", "hunter2"];
    let (ok, lower) = run(&[&set_password[..], &["--store=db"]].concat(), &[]);
    if !ok {
        let (ok, upper) = run(&[&set_password[..], &["--store=DB"]].concat(), &[]);
        assert!(
            ok,
            "`meltano config tap-fake set password` failed with --store=db:\n{}\nand with --store=DB:\n{}",
            String::from_utf8_lossy(&lower.stderr),
            String::from_utf8_lossy(&upper.stderr)
        );
    }
    // (arguments, environment, whether it must succeed)
    type Step<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], bool);
    let steps: &[Step] = &[
        (
            &["run", "tap-fake", "target-fake"],
            &[("TAP_FAKE_ID", "1")],
            true,
        ),
        (
            &["run", "tap-fake", "target-fake"],
            &[("TAP_FAKE_ID", "2"), ("TARGET_FAKE_FAIL", "1")],
            false,
        ),
        (
            &[
                "state",
                "set",
                "--force",
                "dev:tap-x-to-target-y",
                r#"{"singer_state": {"bookmarks": {"x": 1}}}"#,
            ],
            &[],
            true,
        ),
        (
            &[
                "state",
                "merge",
                "dev:tap-x-to-target-y",
                r#"{"singer_state": {"bookmarks": {"y": 2, "w": {"deep": [1, 2]}}}}"#,
            ],
            &[],
            true,
        ),
        (
            &[
                "state",
                "merge",
                "dev:tap-x-to-target-y",
                r#"{"singer_state": {"bookmarks": {"z": 1.5e300, "w": {"deep2": "\u00e9"}}}}"#,
            ],
            &[],
            true,
        ),
        (
            &[
                "state",
                "merge",
                "dev:merged-only",
                r#"{"singer_state": {"m": 1.0}}"#,
            ],
            &[],
            true,
        ),
        (
            &[
                "state",
                "merge",
                "dev:cleared",
                r#"{"singer_state": {"c": 1}}"#,
            ],
            &[],
            true,
        ),
        (&["state", "clear", "--force", "dev:cleared"], &[], true),
    ];
    for (args, env, must_succeed) in steps {
        let (ok, output) = run(args, env);
        if *must_succeed {
            checked(&output, &format!("meltano {}", args.join(" ")));
        } else {
            assert!(!ok, "`meltano {}` should have failed", args.join(" "));
        }
    }
}

/// Makes the old database and its upgraded copy in the cache entry `entry` (see the module docs).
fn generate(entry: &Path, dialect: Dialect, old_meltano: &Path, reference: &Path) {
    let started = std::time::Instant::now();
    if entry.exists() {
        fs::remove_dir_all(entry).unwrap();
    }
    let project = entry.join("project");
    fs::create_dir_all(&project).unwrap();
    write_project(&project);
    let list = match dialect {
        Dialect::Sqlite => {
            let old = entry.join("old.db");
            run_scenario(old_meltano, &project, &sqlite_uri(&old));
            let upgraded = entry.join("reference.db");
            copy_sqlite(&old, &upgraded);
            reference_list(reference, &project, &sqlite_uri(&upgraded))
        }
        Dialect::Postgres => {
            let server = pg();
            let old = server.fresh_database("old").unwrap();
            run_scenario(old_meltano, &project, &server.uri(&old));
            fs::write(entry.join("old.sql"), server.dump(&old, &[]).unwrap()).unwrap();
            let upgraded = server.fresh_database("reference").unwrap();
            server.psql_file(&upgraded, &entry.join("old.sql")).unwrap();
            let list = reference_list(reference, &project, &server.uri(&upgraded));
            fs::write(
                entry.join("reference.sql"),
                server.dump(&upgraded, &[]).unwrap(),
            )
            .unwrap();
            list
        }
    };
    fs::write(entry.join("reference-state-list.txt"), list).unwrap();
    fs::write(entry.join("complete"), "").unwrap();
    say(&format!(
        "made the databases of {} in {:.0?} (once; cached for later runs)",
        entry.display(),
        started.elapsed()
    ));
}

fn reference_list(reference: &Path, project: &Path, uri: &str) -> String {
    let output = meltano_command(reference, project, uri)
        .args(["state", "list"])
        .output()
        .unwrap();
    checked(&output, "meltano 4.4.1 state list");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn sqlite_uri(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

/// Copies a SQLite database with its write-ahead log, if one was left.
fn copy_sqlite(from: &Path, to: &Path) {
    fs::copy(from, to).unwrap();
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", from.display()));
        if side.exists() {
            fs::copy(&side, format!("{}{suffix}", to.display())).unwrap();
        }
    }
}

fn sqlite_copy(cached: &Path) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meltano.db");
    copy_sqlite(cached, &path);
    Fixture::sqlite_at(path, dir)
}

fn pg_restore(dump: &Path) -> Fixture {
    let fixture = Fixture::postgres();
    pg().psql_file(fixture.pg_database(), dump).unwrap();
    fixture
}
