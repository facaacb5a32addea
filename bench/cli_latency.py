#!/usr/bin/env python3
"""CLI latency of `meltano` against the reference, side by side in one run.

Builds a project with 20 plugins, then times each command N times for every binary given,
interleaving the binaries so machine noise hits both alike. Prints median/min wall time in
milliseconds and the ratio reference/ours.

    python3 bench/cli_latency.py --ours target/release/meltano \
        --reference /path/to/venv/bin/meltano --runs 20
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

COMMANDS = {
    "version": ["--version"],
    "plugin-list": ["plugin", "list"],
    "plugin-list-json": ["plugin", "list", "--format", "json"],
    "environment-list": ["environment", "list"],
    "config-list": ["config", "list", "tap-bench-3"],
    "config-print": ["config", "print", "tap-bench-3"],
    "config-print-meltano": ["config", "print", "meltano"],
}


def make_project(root: str) -> None:
    lines = [
        "default_environment: dev",
        "project_id: 0190c2f4-0000-7000-8000-000000000000",
        "send_anonymous_usage_stats: false",
        "environments:",
        "- name: dev",
        "- name: prod",
        "plugins:",
    ]
    kinds = [("extractors", "tap"), ("loaders", "target"), ("utilities", "util")]
    per_kind = {"extractors": 10, "loaders": 6, "utilities": 4}
    for kind, prefix in kinds:
        lines.append(f"  {kind}:")
        for i in range(per_kind[kind]):
            lines += [
                f"  - name: {prefix}-bench-{i}",
                f"    namespace: {prefix}_bench_{i}",
                "    pip_url: n",
                f"    executable: {prefix}-bench-{i}",
                "    settings:",
                "    - name: api_key",
                "      kind: password",
                "    config:",
                f"      start_date: '2024-01-{i + 1:02d}'",
            ]
    with open(os.path.join(root, "meltano.yml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def time_once(binary: str, args: list, cwd: str, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run([binary, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{binary} {' '.join(args)} exited {proc.returncode}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", required=True)
    parser.add_argument("--reference")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    opts = parser.parse_args()

    binaries = {"ours": os.path.abspath(opts.ours)}
    if opts.reference:
        binaries["reference"] = os.path.abspath(opts.reference)
    env = dict(os.environ, MELTANO_CLI_DISABLE_VERSION_CHECK="1", MELTANO_SEND_ANONYMOUS_USAGE_STATS="false")
    work = tempfile.mkdtemp(prefix="meltano-bench-")
    try:
        projects = {}
        for label in binaries:
            projects[label] = os.path.join(work, label)
            os.makedirs(projects[label])
            make_project(projects[label])
        print(f"{'command':<18} {'label':<10} {'median ms':>10} {'min ms':>8}")
        for name, args in COMMANDS.items():
            samples = {label: [] for label in binaries}
            for _ in range(opts.warmup):
                for label, binary in binaries.items():
                    time_once(binary, args, projects[label], env)
            for _ in range(opts.runs):
                for label, binary in binaries.items():
                    samples[label].append(time_once(binary, args, projects[label], env))
            medians = {}
            for label, values in samples.items():
                medians[label] = statistics.median(values)
                print(f"{name:<18} {label:<10} {medians[label]:>10.2f} {min(values):>8.2f}")
            if "reference" in medians:
                print(f"{name:<18} {'ratio':<10} {medians['reference'] / medians['ours']:>9.0f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
