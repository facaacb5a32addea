//! A real plugin from PyPI, installed with uv (about 10 s cold here, under 2 s with uv's cache warm).

use meltano_core::PluginType;
use meltano_venv::{install, needs_install};

use crate::support::{request, run_tool, uv_backend};

#[test]
fn installs_target_jsonl_from_pypi() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(dir.path(), "target-jsonl", "target-jsonl");
    req.plugin_type = PluginType::Loaders;

    install(&req, &uv_backend()).unwrap();

    let help = run_tool(&req.venv_dir, "target-jsonl", &["--help"]);
    assert!(help.contains("usage: target-jsonl"), "{help}");
    assert!(!needs_install(&req));
}
