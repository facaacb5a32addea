//! The uv that builds venvs when none is on `PATH`: one pinned, hash-verified copy per user, installed once
//! from PyPI into the user's cache directory and shared by every project.
//!
//! Why per user: installing uv into each project's `.meltano/uv` made every fresh clone pay a venv + pip install
//! of uv (seconds) before its first plugin, which made `meltano install` slower than Meltano (whose own venv
//! bundles uv). Now only the first project of a user pays it.
//!
//! Layout: `<cache>/uv/<UV_VERSION>/` holds what `pip install --target` wrote (`bin/uv`, the `uv` Python package
//! and its dist-info) plus the `requirements.txt` with the hashes it was installed with.
//!
//! Trust: uv stays a PyPI package (pip and its index configuration, nothing downloaded from elsewhere). pip
//! installs it with `--require-hashes` against [`UV_WHEEL_SHA256`], so a wheel other than the pinned release's
//! is refused. Before every use `uv --version` must print [`UV_VERSION`], which catches an entry that was
//! truncated, overwritten or swapped for another version; such an entry is replaced.
//!
//! Atomicity: an entry is built in a sibling temp dir and renamed into place, so no process ever sees a half
//! installed uv. A lock file (`<version>.lock`) makes concurrent first uses install once; when the file system
//! cannot lock, the rename alone decides: the loser discards its copy and uses the winner's.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::backend::{default_python, remove_dir_if_exists};
use crate::error::InstallError;
use crate::lock::FileLock;
use crate::process::run_step;
use crate::request::venv_bin;

/// The uv release installed when none is on `PATH`: the one Meltano 4.4.1 bundles (`uv==0.13.10` in its
/// venv), so venvs come out the same as the reference's.
pub const UV_VERSION: &str = "0.13.10";

/// sha256 of every wheel of uv [`UV_VERSION`] on PyPI (Linux glibc/musl on all architectures, macOS, Windows),
/// from PyPI's simple index and checked with `pip download` + `pip hash` for x86_64 Linux. pip accepts the one
/// wheel it picks for this platform only if its hash is listed. The sdist is left out on purpose: building uv
/// needs a Rust toolchain and minutes.
pub const UV_WHEEL_SHA256: &[&str] = &[
    "c85a2ecb62d09d61904f5405b525fcc51f971d081f8508a881fa2f9bae7543a7", // linux_armv6l
    "19a76fd50a6a2bba38ee088d8336566856569be08196865f98132a08806581fc", // macosx_10_12_x86_64
    "2a9ff188b442419c7aadebc445fcc1f287b25f99af50fa6d563b90cc0047b7cf", // macosx_11_0_arm64
    "e89dd26ea831dde70639ba0a798fa04a4c7c0226fd2b241da86218bfa370e495", // manylinux2014/musllinux_1_1 aarch64
    "5bcf77c50760146ff7b41022ab7aeb1954d42dd47b89fad36b43a1a8a43da994", // manylinux2014/musllinux_1_1 armv7l
    "bf7174b00c88879d4a1019b51256bbdb2dd61c55c7dc896031e16d090e380ce6", // manylinux2014_armv7l
    "7fa025c4b0f33b9a5357252e1be058d94157e13bfb8ae45d7e27cfce3759c65d", // manylinux2014_i686
    "50bee2a59ea9422b493aabc0cde9288f58fbcf6e8d688c30c4ecd8309459cac1", // manylinux2014_ppc64le
    "e52a1af7f97b717572f9e2bd69e54eb253b2c88a705500e35811c21106c439d4", // manylinux2014_s390x
    "7cc9c41b43d583e34c781fd3446405b06e9c5fa2db468ce2a534d353db6429e5", // manylinux2014_x86_64
    "ee3bca6523ed93c3ae0d1a90c2733be307f5f7cc5287c746214e93a3bae0da13", // manylinux_2_28_aarch64
    "a52ee170c00d4de1d42026c4dbb00c5d7f327edcf2b2bddeecd0cfb169868ac7", // manylinux_2_31/musllinux_1_1 riscv64
    "a9636b4430a9b8a37ecc4d85111d1fd2560ef616edf5301b84f474073bf89e2f", // manylinux_2_31_riscv64
    "771a749b34477501092c9fe6d5e52f45cef944d875b0f2e2c989047a2ee647ab", // musllinux_1_1_i686
    "ee403b6bbcfda1bc7db269be5c40c1624df27b3b838d3f8a416648e00e2de5d4", // musllinux_1_1_x86_64
    "3bf1c1b13cac2533a342ca16b1c5f41347cd399404c9477a04ff79c5f7cb4dea", // win32
    "d87b9cf8165f2b3cc596e856b5bf794da9cfad6d1b110ca9d87eed42a15b3684", // win_amd64
    "8b0a15613aae9a3e1c134bb5ee706583af0addced7eb1add992f8b1b3e3a92a0", // win_arm64
];

/// Temp and trash dirs older than this are leftovers of killed installs; younger ones may belong to a
/// process installing without the lock (a file system that cannot lock).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The shared uv binary, and whether this call put it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedUv {
    /// `<cache_dir>/uv/<UV_VERSION>/bin/uv`.
    pub uv: PathBuf,
    /// `true` when this call installed it (first use, or a broken entry replaced); `false` when it was reused.
    pub installed: bool,
}

/// meltano-rs's user cache directory: `$XDG_CACHE_HOME/meltano-rs` (absolute values only, as the XDG spec
/// says), else `~/.cache/meltano-rs`; `~/Library/Caches/meltano-rs` on macOS, `%LOCALAPPDATA%\meltano-rs` on
/// Windows. `None` without a home directory. Not Meltano's own `meltano` cache dir: nothing in it is Meltano's.
pub fn user_cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = if cfg!(windows) {
        PathBuf::from(non_empty("LOCALAPPDATA")?)
    } else if cfg!(target_os = "macos") {
        PathBuf::from(non_empty("HOME")?).join("Library/Caches")
    } else {
        match non_empty("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
        {
            Some(dir) => dir,
            None => PathBuf::from(non_empty("HOME")?).join(".cache"),
        }
    };
    Some(base.join("meltano-rs"))
}

/// Returns the verified uv [`UV_VERSION`] under `<cache_dir>/uv/`, installing it first when it is missing or
/// broken. The usual case (present and verified) costs one `uv --version`, a few milliseconds.
pub fn ensure_uv(cache_dir: &Path) -> Result<SharedUv, InstallError> {
    let root = cache_dir.join("uv");
    let entry = root.join(UV_VERSION);
    let uv = venv_bin(&entry, "uv");
    if check_version(&uv).is_ok() {
        return Ok(SharedUv {
            uv,
            installed: false,
        });
    }

    fs::create_dir_all(&root).map_err(io_err("create", &root))?;
    // The lock only saves a second download; correctness comes from the rename, so installing goes ahead
    // without it where the file system cannot lock (some network file systems).
    let lock_path = root.join(format!("{UV_VERSION}.lock"));
    let _lock = FileLock::acquire(&lock_path).ok();
    // Whoever held the lock before us may have installed it meanwhile.
    if check_version(&uv).is_ok() {
        return Ok(SharedUv {
            uv,
            installed: false,
        });
    }
    remove_stale(&root);
    if entry.symlink_metadata().is_ok() {
        // Broken (it failed the check): move it out of the way in one rename, then delete it. If the delete
        // fails (a binary still running on Windows) a later install removes the trash.
        let trash = root.join(format!(".trash-{UV_VERSION}-{}", unique()));
        match fs::rename(&entry, &trash) {
            Ok(()) => {
                let _ = remove_dir_if_exists(&trash);
            }
            // Without the lock another process may have moved it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("move aside the broken", &entry)(e)),
        }
    }

    let staging = root.join(format!(".tmp-{UV_VERSION}-{}", unique()));
    let staged = pip_install(&staging).and_then(|()| {
        let staged_uv = venv_bin(&staging, "uv");
        check_version(&staged_uv).map_err(|reason| InstallError::UvUnusable {
            path: staged_uv,
            reason,
        })
    });
    if let Err(e) = staged {
        let _ = remove_dir_if_exists(&staging);
        return Err(e);
    }
    let installed = publish(&staging, &entry)?;
    Ok(SharedUv { uv, installed })
}

/// Renames the verified `staging` dir to `entry`: `Ok(true)` when ours is now in place, `Ok(false)` when
/// another process's verified copy got there first (possible only without the lock; ours is discarded).
fn publish(staging: &Path, entry: &Path) -> Result<bool, InstallError> {
    match fs::rename(staging, entry) {
        Ok(()) => Ok(true),
        Err(_) if check_version(&venv_bin(entry, "uv")).is_ok() => {
            let _ = remove_dir_if_exists(staging);
            Ok(false)
        }
        Err(e) => {
            let _ = remove_dir_if_exists(staging);
            Err(io_err("rename into place", entry)(e))
        }
    }
}

/// `Ok` when `uv --version` runs and prints `uv <UV_VERSION>` (optionally followed by ` (<target>)`);
/// otherwise why not.
pub(crate) fn check_version(uv: &Path) -> Result<(), String> {
    let output = Command::new(uv)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{} --version` could not run: {e}", uv.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut words = stdout.split_whitespace();
    if output.status.success() && words.next() == Some("uv") && words.next() == Some(UV_VERSION) {
        Ok(())
    } else {
        Err(format!(
            "`{} --version` printed {:?} ({}), expected \"uv {UV_VERSION}\"",
            uv.display(),
            stdout.trim(),
            output.status
        ))
    }
}

/// The requirements file pip installs from: the pin and every accepted wheel hash.
fn requirements() -> String {
    let mut text = format!("uv=={UV_VERSION}");
    for hash in UV_WHEEL_SHA256 {
        text.push_str(" \\\n    --hash=sha256:");
        text.push_str(hash);
    }
    text.push('\n');
    text
}

/// Installs the pinned uv into `staging` with `python3 -m pip install --target`: no venv to create (the
/// binary needs none), hash-checked, wheels only. A Python without pip (Debian without `python3-pip`) gets a
/// throwaway venv, whose ensurepip brings one.
fn pip_install(staging: &Path) -> Result<(), InstallError> {
    fs::create_dir_all(staging).map_err(io_err("create", staging))?;
    let req = staging.join("requirements.txt");
    fs::write(&req, requirements()).map_err(io_err("write", &req))?;
    let python = default_python().ok_or(InstallError::NoPython {
        purpose: "to install uv with",
    })?;
    let mut log = String::new();
    match run_step(pip_command(&python, staging), WHO, STEP, &mut log) {
        Err(InstallError::CommandFailed { output, .. })
            if output.contains("No module named pip") =>
        {
            let mut venv = staging.as_os_str().to_owned();
            venv.push("-venv");
            let venv = PathBuf::from(venv);
            let mut create = Command::new(&python);
            create.arg("-m").arg("venv").arg(&venv);
            let result = run_step(create, WHO, "creating a virtualenv to run pip in", &mut log)
                .and_then(|()| {
                    let pip = pip_command(venv_bin(&venv, "python").as_os_str(), staging);
                    run_step(pip, WHO, STEP, &mut log)
                });
            let _ = remove_dir_if_exists(&venv);
            result
        }
        other => other,
    }
}

const WHO: &str = "uv";
const STEP: &str = "installing uv from PyPI";

fn pip_command(python: impl AsRef<OsStr>, staging: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--require-hashes",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
    ])
    .arg(staging)
    .arg("-r")
    .arg(staging.join("requirements.txt"));
    // User configuration that would contradict `--target` or refuse to run outside a venv; as variables so
    // that older pips, which lack some of these options, ignore them instead of failing.
    cmd.env("PIP_USER", "0")
        .env("PIP_REQUIRE_VIRTUALENV", "0")
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .env_remove("PIP_PREFIX")
        .env_remove("PIP_ROOT")
        .env_remove("PIP_TARGET");
    cmd
}

/// Best effort: deletes `.tmp-*` and `.trash-*` leftovers in `root` older than [`STALE_AFTER`].
fn remove_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".tmp-") || name.starts_with(".trash-")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = remove_dir_if_exists(&entry.path());
        }
    }
}

/// A name suffix no other install (process or thread) uses at the same time.
fn unique() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io {
        plugin: WHO.to_string(),
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_pin_the_version_and_every_hash() {
        let text = requirements();
        assert!(
            text.starts_with(&format!("uv=={UV_VERSION} \\\n")),
            "{text}"
        );
        assert_eq!(
            text.matches("--hash=sha256:").count(),
            UV_WHEEL_SHA256.len()
        );
        for hash in UV_WHEEL_SHA256 {
            assert_eq!(hash.len(), 64);
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }

    #[cfg(unix)]
    fn fake_uv(dir: &Path, version_line: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let uv = bin.join("uv");
        fs::write(&uv, format!("#!/bin/sh\necho '{version_line}'\n")).unwrap();
        fs::set_permissions(&uv, fs::Permissions::from_mode(0o755)).unwrap();
        uv
    }

    #[cfg(unix)]
    #[test]
    fn version_check_wants_exactly_the_pin() {
        let dir = tempfile::tempdir().unwrap();
        let good = fake_uv(
            &dir.path().join("good"),
            &format!("uv {UV_VERSION} (x86_64)"),
        );
        assert_eq!(check_version(&good), Ok(()));
        let bare = fake_uv(&dir.path().join("bare"), &format!("uv {UV_VERSION}"));
        assert_eq!(check_version(&bare), Ok(()));
        let other = fake_uv(&dir.path().join("other"), &format!("uv {UV_VERSION}.1"));
        let err = check_version(&other).unwrap_err();
        assert!(err.contains("expected \"uv "), "{err}");
        let missing = dir.path().join("missing/bin/uv");
        assert!(
            check_version(&missing)
                .unwrap_err()
                .contains("could not run")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_present_entry_is_reused_without_pip() {
        // A fake uv in place: ensure_uv must not try to install anything (no python, no network involved).
        let cache = tempfile::tempdir().unwrap();
        let entry = cache.path().join("uv").join(UV_VERSION);
        let uv = fake_uv(&entry, &format!("uv {UV_VERSION}"));
        assert_eq!(
            ensure_uv(cache.path()).unwrap(),
            SharedUv {
                uv,
                installed: false
            }
        );
    }

    #[cfg(unix)]
    #[test]
    fn publishing_loses_gracefully_to_a_good_copy_only() {
        let root = tempfile::tempdir().unwrap();
        let entry = root.path().join(UV_VERSION);
        let good = format!("uv {UV_VERSION}");

        let first = root.path().join(".tmp-a");
        fake_uv(&first, &good);
        assert!(publish(&first, &entry).unwrap());
        assert!(!first.exists());

        // Another process's copy is already in place and good: ours is dropped, theirs kept.
        let second = root.path().join(".tmp-b");
        let ours = fake_uv(&second, &good);
        fs::write(second.join("marker"), "").unwrap();
        assert!(!publish(&second, &entry).unwrap());
        assert!(!ours.exists());
        assert!(!entry.join("marker").exists());

        // What is in place is not good: an error, and nothing of ours left behind.
        fake_uv(&entry, "uv 0.0.1");
        let third = root.path().join(".tmp-c");
        fake_uv(&third, &good);
        let err = publish(&third, &entry).unwrap_err().to_string();
        assert!(err.contains("rename into place"), "{err}");
        assert!(!third.exists());
    }

    #[test]
    fn stale_leftovers_go_young_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let young = root.path().join(".tmp-x-1-0");
        fs::create_dir_all(&young).unwrap();
        let old = root.path().join(".trash-x-1-1");
        fs::create_dir_all(&old).unwrap();
        let long_ago = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        fs::File::open(&old)
            .and_then(|f| f.set_modified(long_ago))
            .unwrap();
        let kept = root.path().join("0.0.1");
        fs::create_dir_all(&kept).unwrap();
        fs::File::open(&kept)
            .and_then(|f| f.set_modified(long_ago))
            .unwrap();

        remove_stale(root.path());

        assert!(young.exists());
        assert!(!old.exists());
        assert!(kept.exists());
    }
}
