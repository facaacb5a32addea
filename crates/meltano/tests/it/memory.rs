//! meltano's own memory during a run does not grow with what the loader sends back.

use std::process::Stdio;

use crate::common::TestDir;

/// A loader that reads everything, then confirms `STATES` states of `SIZE` bytes each.
const BIG_STATES: &str = r#"#!/usr/bin/env python3
import json, os, sys
for line in sys.stdin:
    pass
for i in range(int(os.environ["STATES"])):
    sys.stdout.write(json.dumps({"bookmarks": {"rows": i, "pad": "x" * int(os.environ["SIZE"])}}) + "\n")
    sys.stdout.flush()
"#;

/// meltano's peak resident memory (VmHWM, KiB) over a run with `states` states of 5 MB.
fn peak_rss(states: usize) -> u64 {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::from_fixture("pipeline");
    t.write("big_states.py", BIG_STATES);
    std::fs::set_permissions(
        t.path().join("big_states.py"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let manifest = t.read("meltano.yml").replace(
        "  loaders:\n  - name: target-file\n    namespace",
        "  loaders:\n  - name: target-big\n    namespace: target_big\n    executable: ./big_states.py\n  - name: target-file\n    namespace",
    );
    t.write("meltano.yml", &manifest);
    let mut child = t
        .meltano_std(&["run", "tap-rows", "target-big"])
        .env("STATES", states.to_string())
        .env("SIZE", "5000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(hwm) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(hwm);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    let out = t.run(&["state", "get", "dev:tap-rows-to-target-big"]);
    let stored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        stored["singer_state"]["bookmarks"]["rows"],
        states - 1,
        "the last state is stored"
    );
    assert_eq!(
        stored["singer_state"]["bookmarks"]["pad"]
            .as_str()
            .unwrap()
            .len(),
        5_000_000
    );
    peak
}

/// Before the loader's lines waited for one another, every state not yet stored stayed in
/// memory: 40 states of 5 MB peaked at about 280 MB against 110 MB for 4. Sampling the high-water mark misses
/// a little of a short run's end, so the bound leaves room for that.
#[test]
fn forty_large_states_cost_no_more_than_four() {
    let four = peak_rss(4);
    let forty = peak_rss(40);
    assert!(
        forty * 2 <= four * 3,
        "peak RSS: 4 states {four} KiB, 40 states {forty} KiB"
    );
}
