//! Installing uv itself into the system dir, once, even when two callers race.

use meltano_venv::ensure_uv;

#[test]
fn concurrent_callers_install_uv_once() {
    // Downloads the `uv` wheel from PyPI (pip's cache makes reruns quick).
    let sys_dir = tempfile::tempdir().unwrap();
    let [first, second] = std::thread::scope(|scope| {
        let a = scope.spawn(|| ensure_uv(sys_dir.path()));
        let b = scope.spawn(|| ensure_uv(sys_dir.path()));
        [a.join().unwrap(), b.join().unwrap()]
    });
    let uv = first.unwrap();
    assert_eq!(second.unwrap(), uv);
    assert!(uv.starts_with(sys_dir.path().join("uv")));

    let version = std::process::Command::new(&uv)
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("uv "));
    // A later call finds it without reinstalling.
    let modified = std::fs::metadata(&uv).unwrap().modified().unwrap();
    assert_eq!(ensure_uv(sys_dir.path()).unwrap(), uv);
    assert_eq!(
        std::fs::metadata(&uv).unwrap().modified().unwrap(),
        modified
    );
}
