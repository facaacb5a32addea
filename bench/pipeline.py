#!/usr/bin/env python3
"""Singer pipeline throughput: a bare `tap | target` shell pipe, our `meltano run` and the reference's
`meltano run`, side by side in one run.

One pre-generated Singer stream (a SCHEMA, --records RECORD messages of exactly --record-bytes bytes each
including the newline, a STATE every --state-every records and a final one) is replayed by `tap.sh`
(`exec cat data.jsonl`; every argument is ignored except `--discover`, which prints a one-stream catalog)
into `target.sh` (`wc -c > count.txt`, then prints the state line `{"done": true}`). Both are custom
plugins with `executable: ./tap.sh` / `./target.sh` and no pip_url, so nothing is installed; the tap has
only the `state` capability, so neither binary runs discovery. Everything lives in a temp dir under
--workdir (default /dev/shm, so disk write-back and the system DB's fsyncs stay out of the measurement).
Configurations:

  bare       sh -c './tap.sh --config tap.json | ./target.sh --config target.json'   (the OS limit)
  ours       ours `meltano run tap-fast target-fast`          (one project per binary, same meltano.yml)
  reference  the reference's `meltano run tap-fast target-fast`

Each measurement runs in a fresh `python3 -S -I` wrapper that fork+execs the command and reports the wall
time from fork to reap and `getrusage(RUSAGE_CHILDREN)`: ru_maxrss is the largest process of the tree,
i.e. meltano itself (the tap, target and sh are tiny); the fork copy of the wrapper puts a floor of a few
MB under it, shown by the bare pipe's row. One untimed warm-up per configuration (creates the system DB,
fills the page cache), then --runs interleaved rounds with the order rotated per round. Every run is
verified: exit code 0 and the target counted exactly the bytes of the data file; afterwards
`meltano state get dev:tap-fast-to-target-fast` must return the loader's state for each binary.

    python3 bench/pipeline.py --runs 3    # --ours defaults to target/release/meltano,
                                          # --reference to /opt/refmeltano/bin/meltano
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

STREAM = "bench"
STATE_ID = "dev:tap-fast-to-target-fast"

MELTANO_YML = """\
default_environment: dev
project_id: 0190c2f4-0000-7000-8000-000000000003
send_anonymous_usage_stats: false
environments:
- name: dev
plugins:
  extractors:
  - name: tap-fast
    namespace: tap_fast
    executable: ./tap.sh
    capabilities:
    - state
  loaders:
  - name: target-fast
    namespace: target_fast
    executable: ./target.sh
"""

TAP_SH = """\
#!/bin/sh
# tap-fast: replays a pre-generated Singer stream. --config/--catalog/--properties/--state are ignored.
for arg in "$@"; do
  [ "$arg" = --discover ] && exec cat '{catalog}'
done
exec cat '{data}'
"""

TARGET_SH = """\
#!/bin/sh
# target-fast: counts the bytes it receives, then confirms one state. Arguments are ignored.
wc -c > '{count}'
echo '{{"done": true}}'
"""

# Runs argv[2:] in a forked child with the wrapper's stdin/stdout/stderr and writes a JSON result to
# argv[1]. fork (not posix_spawn/vfork, which would charge the whole wrapper's RSS to the child) keeps
# the ru_maxrss floor at the few MB the child copies before exec.
WRAPPER = r"""
import json, os, resource, sys, time
result, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(result, "w") as f:
    json.dump({"wall": wall, "code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, f)
"""


def write_data(path: str, records: int, record_bytes: int, state_every: int) -> int:
    schema = {
        "type": "SCHEMA",
        "stream": STREAM,
        "key_properties": ["id"],
        "bookmark_properties": ["id"],
        "schema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": ["string", "null"]},
                "email": {"type": ["string", "null"]},
                "amount": {"type": ["number", "null"]},
                "active": {"type": ["boolean", "null"]},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "note": {"type": ["string", "null"]},
            },
        },
    }

    def state(n: int) -> str:
        value = {"bookmarks": {STREAM: {"replication_key": "id", "replication_key_value": n}}}
        return json.dumps({"type": "STATE", "value": value}) + "\n"

    with open(path, "w", buffering=1 << 20) as f:
        f.write(json.dumps(schema) + "\n")
        lines = []
        for i in range(1, records + 1):
            head = (
                f'{{"type": "RECORD", "stream": "{STREAM}", "record": {{"id": {i}, "name": "n{i}", '
                f'"email": "u{i}@ex.io", "amount": {i * 7919 % 100000 / 100}, '
                f'"active": {"true" if i % 2 == 0 else "false"}, '
                f'"created_at": "2024-01-01T00:00:00Z", "note": "'
            )
            tail = '"}}\n'
            lines.append(head + "x" * max(0, record_bytes - len(head) - len(tail)) + tail)
            if state_every and i % state_every == 0:
                lines.append(state(i))
            if len(lines) >= 10000:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))
        if not (state_every and records and records % state_every == 0):
            f.write(state(records))
    return os.path.getsize(path)


def write_catalog(path: str) -> None:
    properties = {"id": {"type": "integer"}, "note": {"type": ["string", "null"]}}
    catalog = {"streams": [{"tap_stream_id": STREAM, "stream": STREAM, "schema": {"type": "object",
               "properties": properties}, "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}]}
    with open(path, "w") as f:
        json.dump(catalog, f, indent=2)


def write_exe(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def make_project(root: str, data: str, catalog: str, count: str) -> None:
    os.makedirs(root)
    with open(os.path.join(root, "meltano.yml"), "w") as f:
        f.write(MELTANO_YML)
    write_exe(os.path.join(root, "tap.sh"), TAP_SH.format(data=data, catalog=catalog))
    write_exe(os.path.join(root, "target.sh"), TARGET_SH.format(count=count))
    for name in ("tap.json", "target.json"):
        with open(os.path.join(root, name), "w") as f:
            f.write("{}\n")


def measure(argv: list, cwd: str, env: dict, log: str, result: str) -> dict:
    """One run of argv in a fresh wrapper; stdout+stderr of the command go to `log`."""
    with open(log, "wb") as out:
        subprocess.run([sys.executable, "-S", "-I", "-c", WRAPPER, result, *argv], cwd=cwd, env=env,
                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=True)
    with open(result) as f:
        return json.load(f)


def tail(path: str, n: int = 30) -> str:
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--ours", default=os.path.join(root, "target", "release", "meltano"))
    parser.add_argument("--reference", default="/opt/refmeltano/bin/meltano")
    parser.add_argument("--no-reference", action="store_true", help="only the bare pipe and ours")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--record-bytes", type=int, default=200)
    parser.add_argument("--state-every", type=int, default=10_000)
    parser.add_argument("--workdir", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
                        help="where the temp dir (data, projects, system DBs) goes; default /dev/shm (tmpfs) if "
                             "writable, so disk I/O (page cache write-back, the system DB's fsyncs) stays out of "
                             "the measurement; pass e.g. /tmp to include the disk")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, projects, logs)")
    opts = parser.parse_args()

    ours = os.path.abspath(opts.ours)
    reference = os.path.abspath(opts.reference)
    for path in [ours] + ([] if opts.no_reference else [reference]):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"not an executable: {path}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "VIRTUAL_ENV"))}
    env.update(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", MELTANO_CLI_DISABLE_VERSION_CHECK="1", NO_COLOR="1")

    work = tempfile.mkdtemp(prefix="meltano-bench-pipeline-", dir=opts.workdir)
    try:
        data = os.path.join(work, "data.jsonl")
        catalog = os.path.join(work, "catalog.json")
        count = os.path.join(work, "count.txt")
        started = time.perf_counter()
        size = write_data(data, opts.records, opts.record_bytes, opts.state_every)
        write_catalog(catalog)
        print(f"data: {opts.records:,} RECORDs of {opts.record_bytes} B + STATE every {opts.state_every:,}: "
              f"{size:,} bytes ({time.perf_counter() - started:.1f} s to generate)")
        print(f"work dir:  {work}")
        print(f"ours:      {ours}")
        if not opts.no_reference:
            print(f"reference: {reference}")
        print(f"cpus={os.cpu_count()} loadavg at start: {loadavg()}", flush=True)

        configs = {}
        bare_dir = os.path.join(work, "bare")
        make_project(bare_dir, data, catalog, count)
        configs["bare pipe"] = (["/bin/sh", "-c", "./tap.sh --config tap.json | ./target.sh --config target.json"],
                                bare_dir)
        binaries = {"ours": ours} if opts.no_reference else {"ours": ours, "reference": reference}
        for label, binary in binaries.items():
            project = os.path.join(work, label)
            make_project(project, data, catalog, count)
            configs[label] = ([binary, "run", "tap-fast", "target-fast"], project)

        def run_one(label: str, timed: bool) -> dict:
            argv, cwd = configs[label]
            if os.path.exists(count):
                os.remove(count)
            log = os.path.join(work, f"{label.replace(' ', '-')}.log")
            result = measure(argv, cwd, env, log, os.path.join(work, "result.json"))
            received = None
            if os.path.exists(count):
                with open(count) as f:
                    received = int(f.read().split()[0])
            problem = None
            if result["code"] != 0:
                problem = f"exited {result['code']}"
            elif received != size:
                problem = f"the target received {received} bytes, the tap sent {size}"
            if problem:
                sys.stderr.write(tail(log))
                if label != "reference":
                    raise SystemExit(f"FAILED: {label}: {' '.join(argv)} in {cwd}: {problem}")
                print(f"!! reference run failed: {problem} (not counted)")
                return None
            if timed:
                print(f"  {label:<10} {result['wall']:7.3f} s  {result['maxrss_kb'] / 1024:6.1f} MB  "
                      f"cpu {result['cpu']:6.2f} s", flush=True)
            return result

        for _ in range(opts.warmup):
            for label in configs:
                run_one(label, timed=False)
        results = {label: [] for label in configs}
        labels = list(configs)
        for run in range(opts.runs):
            print(f"run {run + 1}/{opts.runs}")
            for label in labels[run % len(labels):] + labels[: run % len(labels)]:
                result = run_one(label, timed=True)
                if result:
                    results[label].append(result)

        for label in binaries:
            _, project = configs[label]
            proc = subprocess.run([binaries[label], "state", "get", STATE_ID], cwd=project, env=env,
                                  capture_output=True, text=True)
            ok = proc.returncode == 0 and '"done"' in proc.stdout
            print(f"state get {STATE_ID} ({label}): {proc.stdout.strip() or proc.stderr.strip()[-300:]}"
                  f"{'' if ok else '  <-- MISSING'}")
            if not ok and label == "ours":
                raise SystemExit("FAILED: ours did not persist the loader's state")
        print(f"loadavg at end: {loadavg()} (other CPU load on this 2-core machine skews all configurations)")
    finally:
        if opts.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    med = {label: statistics.median(r["wall"] for r in rs) for label, rs in results.items() if rs}
    print(f"\n{'config':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'MB/s':>8} {'records/s':>11} "
          f"{'peak RSS MB':>12} {'cpu s':>6}  (n={opts.runs}; MB = 10^6 bytes; RSS = max over runs)")
    for label, rs in results.items():
        if not rs:
            print(f"{label:<10} no successful run")
            continue
        walls = [r["wall"] for r in rs]
        rss = max(r["maxrss_kb"] for r in rs) / 1024
        cpu = statistics.median(r["cpu"] for r in rs)
        print(f"{label:<10} {med[label]:>9.3f} {min(walls):>7.3f} {max(walls):>7.3f} "
              f"{size / 1e6 / med[label]:>8.1f} {opts.records / med[label]:>11,.0f} {rss:>12.1f} {cpu:>6.2f}")
    print()
    if "ours" in med and "bare pipe" in med:
        ratio = med["bare pipe"] / med["ours"]
        print(f"ours / bare pipe throughput (bare s / ours s): {ratio:5.2f}   target >= 0.90  "
              f"{'ok' if ratio >= 0.9 else 'MISSED'}")
    if "ours" in med and "reference" in med:
        speedup = med["reference"] / med["ours"]
        print(f"ours / reference speedup (reference s / ours s): {speedup:5.1f}x  target >= 5x    "
              f"{'ok' if speedup >= 5 else 'MISSED'}")
    if results.get("ours"):
        rss = max(r["maxrss_kb"] for r in results["ours"]) / 1024
        print(f"ours peak RSS: {rss:.1f} MB                          target < 30 MB  {'ok' if rss < 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
