//! `install_all`: shared venvs installed once, bounded parallelism, events and result order.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use meltano_venv::{InstallEvent, InstallKind, SkipReason, install_all, needs_install};

use crate::support::{request, run_tool, tiny_wheel, uv_backend};

#[test]
fn plugins_sharing_a_venv_are_installed_once() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = tiny_wheel(dir.path(), "tap-tiny");
    let parent = request(dir.path(), "tap-tiny", &wheel);
    let mut child = parent.clone();
    child.name = "tap-tiny--child".to_string();
    let events = Mutex::new(Vec::new());

    let results = install_all(vec![parent.clone(), child], &uv_backend(), 4, |e| {
        events.lock().unwrap().push(e)
    });

    let events = events.into_inner().unwrap();
    let started = events
        .iter()
        .filter(|e| matches!(e, InstallEvent::Started { .. }))
        .count();
    assert_eq!(started, 1, "{events:?}");
    assert!(events.contains(&InstallEvent::Skipped {
        index: 1,
        plugin_type: parent.plugin_type,
        name: "tap-tiny--child".to_string(),
        reason: SkipReason::SharedVenv {
            installed_by: "tap-tiny".to_string(),
            ok: true,
        },
    }));
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].0.name, "tap-tiny");
    assert_eq!(results[0].1.as_ref().unwrap().kind, InstallKind::Fresh);
    assert_eq!(results[1].0.name, "tap-tiny--child");
    assert_eq!(
        results[1].1.as_ref().unwrap().kind,
        InstallKind::Shared {
            installed_by: "tap-tiny".to_string()
        }
    );
    assert!(!needs_install(&parent));
}

#[test]
fn installs_in_parallel_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["tap-a", "tap-b", "tap-c"];
    let reqs: Vec<_> = names
        .iter()
        .map(|name| request(dir.path(), name, &tiny_wheel(dir.path(), name)))
        .collect();
    let active = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);

    let results = install_all(reqs, &uv_backend(), 2, |e| match e {
        InstallEvent::Started { .. } => {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
        }
        InstallEvent::Finished { ok, .. } => {
            assert!(ok);
            active.fetch_sub(1, Ordering::SeqCst);
            finished.fetch_add(1, Ordering::SeqCst);
        }
        InstallEvent::Skipped { .. } => panic!("nothing to skip"),
    });

    assert!(peak.load(Ordering::SeqCst) <= 2);
    assert_eq!(finished.load(Ordering::SeqCst), 3);
    for ((req, result), name) in results.iter().zip(names) {
        assert_eq!(req.name, name);
        let report = result.as_ref().unwrap();
        assert_eq!(
            run_tool(&report.venv_dir, name, &[]),
            format!("{name} says hi\n")
        );
    }
}

#[test]
fn a_failed_shared_install_fails_its_followers() {
    let dir = tempfile::tempdir().unwrap();
    let parent = request(
        dir.path(),
        "tap-gone",
        "/nonexistent/meltano-venv-test/tap-gone",
    );
    let mut child = parent.clone();
    child.name = "tap-gone--child".to_string();

    let results = install_all(vec![parent, child], &uv_backend(), 0, |_| {});

    assert!(results[0].1.is_err());
    let err = results[1].1.as_ref().unwrap_err().to_string();
    assert_eq!(
        err,
        "Cannot install extractor 'tap-gone--child': it shares its virtualenv with extractor 'tap-gone', \
         whose installation failed"
    );
}
