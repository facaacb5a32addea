//! The virtualenv backend: `python -m venv` + pip.

use meltano_venv::{InstallError, InstallKind, install, needs_install};

use crate::support::{request, run_tool, siblings, tiny_wheel, tiny_wheel_requiring, venv_backend};

#[test]
fn installs_a_console_script_with_pip() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let req = request(dir.path(), "tap-tiny", &wheel);

    let report = install(&req, &venv_backend()).unwrap();

    assert_eq!(report.kind, InstallKind::Fresh);
    assert!(report.output.contains("-m venv"), "{}", report.output);
    assert!(report.output.contains("--upgrade pip"), "{}", report.output);
    assert_eq!(
        run_tool(&req.venv_dir, "tap-tiny", &[]),
        "tap-tiny says hi\n"
    );
    assert!(!needs_install(&req));
    assert_eq!(siblings(&req.venv_dir), ["venv", "venv.lock"]);
}

#[test]
fn force_ignores_requires_python() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel_requiring(dir.path(), "tap-future", ">=9");
    let mut req = request(dir.path(), "tap-future", &wheel);
    // Offline and fast: no pip self-upgrade when the index is disabled.
    req.env = vec![("PIP_NO_INDEX".to_string(), "1".to_string())];
    let backend = venv_backend();

    let err = install(&req, &backend).unwrap_err();
    assert!(matches!(err, InstallError::CommandFailed { .. }), "{err}");
    assert!(
        err.to_string().contains("requires a different Python"),
        "{err}"
    );
    assert!(!req.venv_dir.exists());

    req.ignore_requires_python = true;
    let report = install(&req, &backend).unwrap();
    assert!(
        !report.output.contains("--upgrade pip"),
        "{}",
        report.output
    );
    assert_eq!(
        run_tool(&req.venv_dir, "tap-future", &[]),
        "tap-future says hi\n"
    );
}
