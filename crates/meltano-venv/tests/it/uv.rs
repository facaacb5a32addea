//! The uv backend: fresh installs, fingerprints, in-place reinstalls and `clean`.

use meltano_venv::{FINGERPRINT_FILE, InstallKind, fingerprint, install, needs_install};

use crate::support::{request, run_tool, siblings, tiny_source, tiny_wheel, uv_backend};

#[test]
fn installs_a_console_script_and_writes_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let req = request(dir.path(), "tap-tiny", &wheel);
    assert!(needs_install(&req));

    let report = install(&req, &uv_backend()).unwrap();

    assert_eq!(report.kind, InstallKind::Fresh);
    assert!(report.output.contains("tap-tiny"), "{}", report.output);
    assert_eq!(
        run_tool(&req.venv_dir, "tap-tiny", &[]),
        "tap-tiny says hi\n"
    );
    let written = std::fs::read_to_string(req.venv_dir.join(FINGERPRINT_FILE)).unwrap();
    assert_eq!(written, fingerprint(&req));
    assert!(!needs_install(&req));
    assert_eq!(siblings(&req.venv_dir), ["venv", "venv.lock"]);

    let mut changed = req.clone();
    changed.pip_url = format!("{wheel} --no-deps");
    assert!(needs_install(&changed));
}

#[test]
fn configured_python_is_part_of_the_checked_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let mut req = request(dir.path(), "tap-tiny", &wheel);
    req.python = Some("python3".to_string());

    install(&req, &uv_backend()).unwrap();

    // Meltano's quirk 19 would reinstall on every run here; we do not.
    assert!(!needs_install(&req));
    let mut other = req.clone();
    other.python = None;
    assert!(needs_install(&other));
}

#[test]
fn reinstall_is_in_place_unless_clean() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let mut req = request(dir.path(), "tap-tiny", &wheel);
    let backend = uv_backend();
    install(&req, &backend).unwrap();
    let marker = req.venv_dir.join("marker");
    std::fs::write(&marker, "x").unwrap();

    let report = install(&req, &backend).unwrap();
    assert_eq!(report.kind, InstallKind::InPlace);
    assert!(marker.exists());

    req.clean = true;
    let report = install(&req, &backend).unwrap();
    assert_eq!(report.kind, InstallKind::Fresh);
    assert!(!marker.exists());
    assert_eq!(
        run_tool(&req.venv_dir, "tap-tiny", &[]),
        "tap-tiny says hi\n"
    );
    assert!(!needs_install(&req));
    assert_eq!(siblings(&req.venv_dir), ["venv", "venv.lock"]);
}

#[test]
fn changed_pip_url_rebuilds_the_venv() {
    let dir = tempfile::tempdir().unwrap();
    let first = tiny_wheel(dir.path(), "tap-one");
    let second = tiny_wheel(dir.path(), "tap-two");
    let backend = uv_backend();
    let mut req = request(dir.path(), "tap-x", &first);
    install(&req, &backend).unwrap();

    req.pip_url = second;
    assert!(needs_install(&req));
    let report = install(&req, &backend).unwrap();

    assert_eq!(report.kind, InstallKind::Fresh);
    assert_eq!(run_tool(&req.venv_dir, "tap-two", &[]), "tap-two says hi\n");
    // A fresh venv, not an upgrade of the old one.
    assert!(!meltano_venv::venv_bin(&req.venv_dir, "tap-one").exists());
}

#[test]
fn builds_a_local_source_tree_with_pyproject() {
    // Build isolation fetches setuptools from PyPI (or uv's cache) the first time.
    let dir = tempfile::tempdir().unwrap();
    let source = tiny_source(dir.path(), "tap-src");
    let req = request(dir.path(), "tap-src", source.to_str().unwrap());

    install(&req, &uv_backend()).unwrap();

    assert_eq!(run_tool(&req.venv_dir, "tap-src", &[]), "tap-src says hi\n");
}
