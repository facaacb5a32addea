#!/usr/bin/env python3
"""`meltano run` saving 1,000 state messages: system database against an S3 bucket (moto) and files.

One project per backend with the same meltano.yml: a sh tap (`cat` of 1,000 RECORD + STATE pairs) and a
sh target that confirms every state at once (`sed -u`), so the run is dominated by storing states. The
S3 backend is a moto server started here on 127.0.0.1 (from `--moto-python`, a Python with
`moto[server]`; the tests cache one in target/test-venvs/moto). Rounds rotate the order; every run must
exit 0 and leave the last bookmark in its backend. Prints median/min seconds per backend and the ratio
to the system database (target for S3: <= 1.2).

    python3 bench/state_backend.py --runs 7     # --ours defaults to target/release/meltano
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

STATES = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_exe(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def make_project(root: str) -> None:
    os.makedirs(root)
    with open(os.path.join(root, "data.jsonl"), "w") as f:
        f.write(json.dumps({"type": "SCHEMA", "stream": "rows", "schema": {"type": "object"},
                            "key_properties": ["id"]}) + "\n")
        for i in range(1, STATES + 1):
            f.write(json.dumps({"type": "RECORD", "stream": "rows", "record": {"id": i}}) + "\n")
            f.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"rows": i}}}) + "\n")
    write_exe(os.path.join(root, "tap.sh"), "#!/bin/sh\nexec cat \"$(dirname \"$0\")/data.jsonl\"\n")
    write_exe(os.path.join(root, "target.sh"),
              "#!/bin/sh\nexec sed -u -n 's/^{\"type\": \"STATE\", \"value\": \\(.*\\)}$/\\1/p'\n")
    with open(os.path.join(root, "meltano.yml"), "w") as f:
        f.write("""default_environment: dev
project_id: 0190c2f4-0000-7000-8000-000000000001
send_anonymous_usage_stats: false
environments:
- name: dev
plugins:
  extractors:
  - name: tap-states
    namespace: tap_states
    executable: ./tap.sh
    capabilities: [state]
  loaders:
  - name: target-states
    namespace: target_states
    executable: ./target.sh
""")


def start_moto(python: str) -> tuple:
    port = free_port()
    proc = subprocess.Popen([python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                sys.exit("moto did not start")
            time.sleep(0.1)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/bench", method="PUT", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host, Signature=00"})
    urllib.request.urlopen(request).read()
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", default="target/release/meltano")
    parser.add_argument("--moto-python", default="target/test-venvs/moto/bin/python")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ours = os.path.abspath(args.ours)
    moto, port = start_moto(args.moto_python)
    work = tempfile.mkdtemp(prefix="bench-state-")
    backends = {
        "systemdb": {},
        "s3": {"MELTANO_STATE_BACKEND_URI": "s3://bench/state",
               "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": "testing",
               "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": "testing",
               "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"},
        "file": {"MELTANO_STATE_BACKEND_URI": f"file://{work}/file-state"},
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    base.update(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", MELTANO_CLI_DISABLE_VERSION_CHECK="1")
    times = {name: [] for name in backends}
    try:
        for name in backends:
            make_project(os.path.join(work, name))
        with open("/proc/loadavg") as f:
            print(f"load average before: {f.read().split()[0]}")
        for round_ in range(args.runs + 1):
            names = list(backends)
            names = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in names:
                root = os.path.join(work, name)
                env = dict(base, **backends[name])
                started = time.perf_counter()
                done = subprocess.run([ours, "run", "tap-states", "target-states"], cwd=root, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                elapsed = time.perf_counter() - started
                if done.returncode != 0:
                    sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
                got = subprocess.run([ours, "state", "get", "dev:tap-states-to-target-states"], cwd=root,
                                     env=env, capture_output=True, text=True).stdout.strip()
                if got != '{"singer_state":{"bookmarks":{"rows":%d}}}' % STATES:
                    sys.exit(f"{name}: last state not stored: {got!r}")
                if round_ > 0:  # the first round warms up (system DB created, page cache)
                    times[name].append(elapsed)
        base_median = statistics.median(times["systemdb"])
        print(f"{STATES} state messages per run, {args.runs} runs, seconds")
        print(f"{'backend':10} {'median':>8} {'min':>8} {'vs systemdb':>12}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:10} {median:8.3f} {min(values):8.3f} {median / base_median:11.2f}x")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
