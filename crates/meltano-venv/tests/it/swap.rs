//! A failed or interrupted install never leaves the plugin without its previous working venv.

use meltano_venv::{
    Backend, FINGERPRINT_FILE, InstallError, InstallRequest, install, needs_install,
};

use crate::support::{request, run_tool, siblings, tiny_wheel, uv_backend, venv_backend};

/// A request whose pip_url cannot be installed.
fn broken(req: &InstallRequest) -> InstallRequest {
    let mut broken = req.clone();
    broken.pip_url = "/nonexistent/meltano-venv-test/tap-missing".to_string();
    broken
}

fn failed_reinstall_keeps_the_old_venv(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let mut good = request(dir.path(), "tap-tiny", &wheel);
    // Offline: pip skips upgrading itself when the index is disabled (uv ignores the variable).
    good.env = vec![("PIP_NO_INDEX".to_string(), "1".to_string())];
    install(&good, &backend).unwrap();
    let fingerprint_before = std::fs::read_to_string(good.venv_dir.join(FINGERPRINT_FILE)).unwrap();

    let err = install(&broken(&good), &backend).unwrap_err();

    let InstallError::CommandFailed {
        plugin,
        step,
        command,
        status,
        output,
    } = &err
    else {
        panic!("expected a command failure, got {err}");
    };
    assert_eq!(plugin, "extractor 'tap-tiny'");
    assert_eq!(*step, "installing packages");
    assert!(
        command.contains("/nonexistent/meltano-venv-test/tap-missing"),
        "{command}"
    );
    assert!(status.contains("exit status"), "{status}");
    assert!(output.contains("tap-missing"), "{output}");
    let message = err.to_string();
    assert!(
        message.contains("Failed to install extractor 'tap-tiny'"),
        "{message}"
    );
    assert!(message.contains(output.as_str()), "{message}");

    assert_eq!(
        run_tool(&good.venv_dir, "tap-tiny", &[]),
        "tap-tiny says hi\n"
    );
    assert_eq!(
        std::fs::read_to_string(good.venv_dir.join(FINGERPRINT_FILE)).unwrap(),
        fingerprint_before
    );
    assert!(!needs_install(&good));
    assert_eq!(siblings(&good.venv_dir), ["venv", "venv.lock"]);
}

#[test]
fn failed_reinstall_keeps_the_old_venv_with_uv() {
    failed_reinstall_keeps_the_old_venv(uv_backend());
}

#[test]
fn failed_reinstall_keeps_the_old_venv_with_pip() {
    failed_reinstall_keeps_the_old_venv(venv_backend());
}

#[test]
fn failed_first_install_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let req = broken(&request(dir.path(), "tap-tiny", ""));

    let err = install(&req, &uv_backend()).unwrap_err();

    assert!(
        err.output().is_some_and(|o| o.contains("tap-missing")),
        "{err}"
    );
    assert_eq!(siblings(&req.venv_dir), ["venv.lock"]);
    assert!(needs_install(&req));
}

#[test]
fn interrupted_install_is_recovered_from_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let good = request(dir.path(), "tap-tiny", &wheel);
    let backend = uv_backend();
    install(&good, &backend).unwrap();
    // What a process killed mid-build leaves: the old venv moved aside, a half-built one in its place.
    let backup = good.venv_dir.with_file_name("venv.old-4194303");
    std::fs::rename(&good.venv_dir, &backup).unwrap();
    std::fs::create_dir_all(good.venv_dir.join("bin")).unwrap();
    assert!(needs_install(&good));

    // Even a failing install first restores the backup, then rolls back to it.
    install(&broken(&good), &backend).unwrap_err();

    assert_eq!(
        run_tool(&good.venv_dir, "tap-tiny", &[]),
        "tap-tiny says hi\n"
    );
    assert!(!needs_install(&good));
    assert_eq!(siblings(&good.venv_dir), ["venv", "venv.lock"]);
}

#[test]
fn missing_interpreter_is_a_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let good = request(dir.path(), "tap-tiny", &wheel);
    let backend = uv_backend();
    install(&good, &backend).unwrap();

    let mut by_path = good.clone();
    by_path.python = Some("/nonexistent/bin/python3.99".to_string());
    let err = install(&by_path, &backend).unwrap_err();
    assert!(matches!(err, InstallError::PythonNotFound { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "Cannot install extractor 'tap-tiny': Python interpreter '/nonexistent/bin/python3.99' not found. \
         Check the `python` setting of the plugin or project, or `.python-version`"
    );

    let mut by_name = good.clone();
    by_name.python = Some("python9.99".to_string());
    let err = install(&by_name, &venv_backend()).unwrap_err();
    assert!(matches!(err, InstallError::PythonNotFound { .. }), "{err}");
    assert!(err.to_string().contains("'python9.99' not found"), "{err}");

    assert_eq!(
        run_tool(&good.venv_dir, "tap-tiny", &[]),
        "tap-tiny says hi\n"
    );
    assert!(!needs_install(&good));
}

#[test]
fn uv_reports_an_interpreter_it_cannot_find() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let mut req = request(dir.path(), "tap-tiny", &wheel);
    // A name uv must resolve itself; it is on no PATH and no uv download provides it.
    req.python = Some("python-does-not-exist".to_string());
    req.env = vec![("UV_PYTHON_DOWNLOADS".to_string(), "never".to_string())];

    let err = install(&req, &uv_backend()).unwrap_err();

    let InstallError::CommandFailed { step, output, .. } = &err else {
        panic!("expected a command failure, got {err}");
    };
    assert_eq!(*step, "creating the virtualenv");
    assert!(output.contains("python-does-not-exist"), "{output}");
    assert_eq!(siblings(&req.venv_dir), ["venv.lock"]);
}
