//! The per-user uv: installed once with real pip from PyPI into a temp dir standing in for the user's cache,
//! reused by later projects, repaired when broken, installed once under concurrent first use. Each install
//! takes a few seconds (pip's own cache keeps the wheel after the first download).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use meltano_venv::{
    Backend, SharedUv, UV_VERSION, ensure_uv, find_backend_cached_in, install, needs_install,
};

use crate::support::{request, run_tool, tiny_wheel};

/// What identifies one installed copy of the binary: a reinstall writes a new file (new inode).
fn identity(uv: &Path) -> (u64, u64, std::time::SystemTime) {
    let meta = std::fs::metadata(uv).unwrap();
    (meta.dev(), meta.ino(), meta.modified().unwrap())
}

fn version_of(uv: &Path) -> String {
    let output = Command::new(uv).arg("--version").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The `uv = x.y.z` line uv writes into a venv's `pyvenv.cfg`.
fn built_by(venv: &Path) -> String {
    let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    cfg.lines()
        .find_map(|l| l.strip_prefix("uv = "))
        .unwrap_or_default()
        .to_string()
}

fn expected_path(cache: &Path) -> PathBuf {
    cache.join("uv").join(UV_VERSION).join("bin").join("uv")
}

#[test]
fn installed_once_then_reused_by_a_second_project() {
    let cache = tempfile::tempdir().unwrap();
    let projects = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(projects.path(), "tap-tiny");

    let first = ensure_uv(cache.path()).unwrap();
    assert_eq!(
        first,
        SharedUv {
            uv: expected_path(cache.path()),
            installed: true
        }
    );
    assert!(
        version_of(&first.uv).starts_with(&format!("uv {UV_VERSION} ")),
        "{}",
        version_of(&first.uv)
    );
    let entry = cache.path().join("uv").join(UV_VERSION);
    let requirements = std::fs::read_to_string(entry.join("requirements.txt")).unwrap();
    assert!(requirements.contains("--hash=sha256:"), "{requirements}");
    // No temp dirs or trash left next to it.
    assert_eq!(
        entries(&cache.path().join("uv")),
        [UV_VERSION.to_string(), format!("{UV_VERSION}.lock")]
    );
    let installed = identity(&first.uv);

    let backend = Backend::Uv {
        uv: first.uv.clone(),
    };
    let one = request(&projects.path().join("one"), "tap-tiny", &wheel);
    install(&one, &backend).unwrap();

    // The second project finds the same binary and does not install it again.
    let second = ensure_uv(cache.path()).unwrap();
    assert_eq!(
        second,
        SharedUv {
            uv: first.uv.clone(),
            installed: false
        }
    );
    assert_eq!(identity(&second.uv), installed);
    let two = request(&projects.path().join("two"), "tap-tiny", &wheel);
    install(&two, &Backend::Uv { uv: second.uv }).unwrap();

    for req in [&one, &two] {
        assert_eq!(
            run_tool(&req.venv_dir, "tap-tiny", &[]),
            "tap-tiny says hi\n"
        );
        assert!(!needs_install(req));
        assert_eq!(built_by(&req.venv_dir), UV_VERSION);
    }
}

#[test]
fn a_broken_entry_is_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let uv = ensure_uv(cache.path()).unwrap().uv;

    // Corrupted: the binary overwritten with garbage (a truncated download, a bad disk, a stray edit).
    std::fs::write(&uv, b"\x7fELF garbage").unwrap();
    let repaired = ensure_uv(cache.path()).unwrap();
    assert_eq!(
        repaired,
        SharedUv {
            uv: uv.clone(),
            installed: true
        }
    );
    assert!(version_of(&uv).starts_with(&format!("uv {UV_VERSION} ")));

    // Incomplete: the binary gone from an otherwise present entry.
    std::fs::remove_file(&uv).unwrap();
    let repaired = ensure_uv(cache.path()).unwrap();
    assert_eq!(
        repaired,
        SharedUv {
            uv: uv.clone(),
            installed: true
        }
    );
    assert!(version_of(&uv).starts_with(&format!("uv {UV_VERSION} ")));

    // Another version in the pinned version's place.
    std::fs::write(&uv, "#!/bin/sh\necho 'uv 0.0.1'\n").unwrap();
    let repaired = ensure_uv(cache.path()).unwrap();
    assert!(repaired.installed);
    assert!(version_of(&uv).starts_with(&format!("uv {UV_VERSION} ")));

    assert_eq!(
        entries(&cache.path().join("uv")),
        [UV_VERSION.to_string(), format!("{UV_VERSION}.lock")]
    );
}

#[test]
fn concurrent_first_use_from_two_threads_installs_once() {
    let cache = tempfile::tempdir().unwrap();
    let [a, b] = std::thread::scope(|scope| {
        let a = scope.spawn(|| ensure_uv(cache.path()));
        let b = scope.spawn(|| ensure_uv(cache.path()));
        [a.join().unwrap().unwrap(), b.join().unwrap().unwrap()]
    });
    assert_eq!(a.uv, expected_path(cache.path()));
    assert_eq!(b.uv, a.uv);
    assert!(a.installed != b.installed, "{a:?} {b:?}");
    assert!(version_of(&a.uv).starts_with(&format!("uv {UV_VERSION} ")));
    assert_eq!(
        entries(&cache.path().join("uv")),
        [UV_VERSION.to_string(), format!("{UV_VERSION}.lock")]
    );
}

const CHILD_CACHE: &str = "MELTANO_VENV_TEST_CHILD_CACHE";
const CHILD_RESULT: &str = "MELTANO_VENV_TEST_CHILD_RESULT";

/// Not a test of its own: the body of the child processes of the next test (a no-op when run directly).
#[test]
#[ignore = "run as a child process by concurrent_first_use_from_two_processes_installs_once"]
fn child_ensure_uv() {
    let (Some(cache), Some(result)) = (
        std::env::var_os(CHILD_CACHE),
        std::env::var_os(CHILD_RESULT),
    ) else {
        return;
    };
    let shared = ensure_uv(Path::new(&cache)).unwrap();
    std::fs::write(
        result,
        format!("{} {}", shared.installed, shared.uv.display()),
    )
    .unwrap();
}

#[test]
fn concurrent_first_use_from_two_processes_installs_once() {
    let cache = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..2)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "shared_uv::child_ensure_uv",
                    "--ignored",
                    "--quiet",
                ])
                .env(CHILD_CACHE, cache.path())
                .env(CHILD_RESULT, results.path().join(i.to_string()))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Both were started before either is waited for, so they race for the first install.
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }

    let outcomes: Vec<String> = (0..2)
        .map(|i| std::fs::read_to_string(results.path().join(i.to_string())).unwrap())
        .collect();
    let uv = expected_path(cache.path());
    let mut sorted = outcomes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            format!("false {}", uv.display()),
            format!("true {}", uv.display())
        ],
        "exactly one process installs"
    );
    assert!(version_of(&uv).starts_with(&format!("uv {UV_VERSION} ")));
    assert_eq!(
        entries(&cache.path().join("uv")),
        [UV_VERSION.to_string(), format!("{UV_VERSION}.lock")]
    );
}

#[test]
fn a_python_without_pip_installs_uv_through_a_throwaway_venv() {
    // A python3 first on PATH that has no pip (as on Debian without python3-pip): a venv made without it.
    let dir = tempfile::tempdir().unwrap();
    let no_pip = dir.path().join("no-pip");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&no_pip)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let path = std::env::join_paths(
        std::iter::once(no_pip.join("bin"))
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let result = dir.path().join("result");

    // In a child process: the default interpreter is looked up on PATH once per process.
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "shared_uv::child_ensure_uv", "--ignored"])
        .env("PATH", path)
        .env(CHILD_CACHE, &cache)
        .env(CHILD_RESULT, &result)
        .output()
        .unwrap();

    assert!(output.status.success(), "{output:?}");
    let uv = expected_path(&cache);
    assert_eq!(
        std::fs::read_to_string(&result).unwrap(),
        format!("true {}", uv.display())
    );
    assert!(version_of(&uv).starts_with(&format!("uv {UV_VERSION} ")));
    // The throwaway venv is gone.
    assert_eq!(
        entries(&cache.join("uv")),
        [UV_VERSION.to_string(), format!("{UV_VERSION}.lock")]
    );
}

const CHILD_UV: &str = "MELTANO_VENV_TEST_CHILD_UV";

/// Not a test of its own: the body of the child processes of the next test (a no-op when run directly).
#[test]
#[ignore = "run as a child process by uv_variable_names_the_binary_to_use"]
fn child_find_backend() {
    let (Some(_), Some(result)) = (std::env::var_os(CHILD_UV), std::env::var_os(CHILD_RESULT))
    else {
        return;
    };
    // No cache dir: the variable must win before any install is considered.
    let outcome = match find_backend_cached_in("uv", None) {
        Ok(Backend::Uv { uv }) => format!("ok {}", uv.display()),
        Ok(other) => format!("unexpected {other:?}"),
        Err(e) => format!("err {e}"),
    };
    std::fs::write(result, outcome).unwrap();
}

#[test]
fn uv_variable_names_the_binary_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("my-uv");
    std::fs::write(&fake, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let not_executable = dir.path().join("plain-file");
    std::fs::write(&not_executable, "").unwrap();

    let run = |uv: &Path| {
        let result = dir.path().join("result");
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "shared_uv::child_find_backend", "--ignored"])
            .env("UV", uv)
            .env(CHILD_UV, "1")
            .env(CHILD_RESULT, &result)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        std::fs::read_to_string(result).unwrap()
    };

    assert_eq!(run(&fake), format!("ok {}", fake.display()));
    assert_eq!(
        run(&not_executable),
        format!(
            "err Cannot use uv at {}: the UV environment variable names it, but it is not an executable file",
            not_executable.display()
        )
    );
}
