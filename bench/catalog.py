#!/usr/bin/env python3
"""Large-catalog handling of `meltano` against the reference, side by side in one run.

Builds once, in a temp dir, a discovered Singer catalog of 2,000 streams x 50 properties (singer metadata
per stream and per property, every 10th property a nested object, pretty-printed as singer-sdk taps emit
it: the reference reads `--discover` output line by line with a 64 KiB line limit, so a compact one-line
catalog would break it) and a POSIX-sh tap `tap-big` that answers `--discover` with `exec cat`.

One project per binary, identical meltano.yml, two extractors with the same select/metadata rules:

  discover  `tap-big`:     no pip_url, bare `executable: tap-big` found via PATH (the tap's directory is
            put first on PATH). Both implementations skip installing it and never cache its catalog
            (the reference caches only plugins with a non-editable pip_url), so EVERY call runs discovery.
  cached    `tap-big-pkg`: pip_url = a local wheel (written here with zipfile, installing the same script
            as `tap-big`), installed untimed by each binary into its own project with its own `meltano
            install`. The warm-up call discovers and caches; timed calls read the cached catalog.

The tap logs every invocation, so the script checks that each timed `discover` call ran discovery exactly
once and each `cached` call not at all. Timed commands (stdout to /dev/null, default flags, so the
default auto-install check is included for both):

  select   meltano select TAP --list --all
  dump     meltano invoke --dump catalog TAP

Runs are interleaved (the order of the two binaries alternates per run). Each command is run under
/usr/bin/time (if present) for the peak RSS: ru_maxrss of the process tree = the largest single process,
i.e. the meltano process (the tap is `cat`). Finally one untimed call per command/mode/binary captures
stdout: `--list --all` outputs are compared line by line (plus counts per status), `--dump catalog`
outputs are compared byte for byte and, if different, as parsed JSON (the differing paths are printed).

    python3 bench/catalog.py --ours target/release/meltano \
        --reference /opt/refmeltano/bin/meltano --runs 5
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TIME_BIN = "/usr/bin/time"

RULES = """\
    select:
    - stream_1*.*
    - '!*.prop_03*'
    - stream_00*.id
    - stream_00*.prop_00*
    - stream_002*.prop_009.a
    - '!stream_19*.updated_at'
    metadata:
      stream_1*:
        replication-method: INCREMENTAL
        replication-key: updated_at
"""

COMMANDS = {
    "select": ["select", "{tap}", "--list", "--all"],
    "dump": ["invoke", "--dump", "catalog", "{tap}"],
}
MODES = {"discover": "tap-big", "cached": "tap-big-pkg"}


# --------------------------------------------------------------------------- fixtures

def property_schema(index: int) -> dict:
    if index % 10 == 9:
        return {
            "type": ["object", "null"],
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"type": ["integer", "null"]},
                "c": {"type": ["boolean", "null"]},
            },
        }
    kinds = (
        {"type": ["string", "null"]},
        {"type": ["integer", "null"]},
        {"type": ["number", "null"]},
        {"type": ["boolean", "null"]},
        {"type": ["string", "null"], "format": "date-time"},
    )
    return dict(kinds[index % len(kinds)])


def write_catalog(path: str, streams: int, properties: int) -> None:
    catalog = []
    for s in range(streams):
        name = f"stream_{s:04d}"
        props = {
            "id": {"type": ["integer"]},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
        }
        props.update((f"prop_{p:03d}", property_schema(p)) for p in range(properties - 2))
        metadata = [{
            "breadcrumb": [],
            "metadata": {
                "inclusion": "available",
                "selected-by-default": False,
                "table-key-properties": ["id"],
                "forced-replication-method": "INCREMENTAL",
                "valid-replication-keys": ["updated_at"],
            },
        }]
        metadata += [
            {
                "breadcrumb": ["properties", prop],
                "metadata": {"inclusion": "automatic" if prop in ("id", "updated_at") else "available"},
            }
            for prop in props
        ]
        catalog.append({
            "tap_stream_id": name,
            "stream": name,
            "schema": {"type": "object", "properties": props},
            "metadata": metadata,
        })
    with open(path, "w") as f:
        json.dump({"streams": catalog}, f, indent=2)


def tap_script(catalog: str) -> bytes:
    # Logs its arguments to $TAP_BIG_LOG (set by this script) so discovery calls can be counted.
    return (
        "#!/bin/sh\n"
        'if [ -n "$TAP_BIG_LOG" ]; then echo "$*" >> "$TAP_BIG_LOG"; fi\n'
        f"exec cat '{catalog}'\n"
    ).encode()


def write_wheel(outdir: str, script: bytes) -> str:
    """A pure wheel whose only content is the tap as a `scripts` entry, installable offline."""
    dist, version = "tap_big_pkg", "0.1.0"
    info = f"{dist}-{version}.dist-info"
    members = {
        f"{dist}/__init__.py": b"",
        f"{dist}-{version}.data/scripts/tap-big": script,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: tap-big-pkg\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench/catalog.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = os.path.join(outdir, f"{dist}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            entry = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            entry.external_attr = (0o100755 if "/scripts/" in name else 0o100644) << 16
            z.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return path


def make_project(root: str, wheel: str) -> None:
    os.makedirs(root)
    text = (
        "default_environment: dev\n"
        "project_id: 0190c2f4-0000-7000-8000-000000000003\n"
        "send_anonymous_usage_stats: false\n"
        "environments:\n- name: dev\n"
        "plugins:\n  extractors:\n"
        "  - name: tap-big\n    namespace: tap_big\n    executable: tap-big\n"
        "    capabilities: [discover, catalog]\n" + RULES +
        "  - name: tap-big-pkg\n    namespace: tap_big_pkg\n"
        f"    pip_url: {wheel}\n    executable: tap-big\n"
        "    capabilities: [discover, catalog]\n" + RULES
    )
    with open(os.path.join(root, "meltano.yml"), "w") as f:
        f.write(text)


# --------------------------------------------------------------------------- running

def run(binary: str, args: list, cwd: str, env: dict, work: str, stdout=subprocess.DEVNULL) -> tuple:
    """(wall seconds, peak RSS in MiB or None); fails loudly on a non-zero exit."""
    rss_file = os.path.join(work, "rss.txt")
    prefix = [TIME_BIN, "-f", "%M", "-o", rss_file] if os.access(TIME_BIN, os.X_OK) else []
    with open(os.path.join(work, "stderr.txt"), "wb") as err:
        start = time.perf_counter()
        proc = subprocess.run([*prefix, binary, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=stdout, stderr=err)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        with open(os.path.join(work, "stderr.txt"), errors="replace") as f:
            tail = f.read()[-3000:]
        raise SystemExit(f"{binary} {' '.join(args)} (in {cwd}) exited {proc.returncode}:\n{tail}")
    rss = None
    if prefix:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1]) / 1024
    return elapsed, rss


def discoveries(log: str) -> int:
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return sum("--discover" in line for line in f)


# --------------------------------------------------------------------------- output comparison

def list_counts(lines: list) -> dict:
    counts = {}
    for line in lines:
        if line.startswith("\t["):
            status = line[2:].split("]", 1)[0].strip()
            counts[status] = counts.get(status, 0) + 1
    return counts


def compare_lists(paths: dict) -> str:
    texts = {}
    for label, path in paths.items():
        with open(path) as f:
            texts[label] = f.read().splitlines()
    ours, ref = texts["ours"], texts["reference"]
    counts = list_counts(ref)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    if ours == ref:
        return f"identical ({len(ref)} lines: {summary})"
    only_ref = sorted(set(ref) - set(ours))
    only_ours = sorted(set(ours) - set(ref))
    out = [f"DIFFER: ours {len(ours)} lines {list_counts(ours)}, reference {len(ref)} lines {counts}"]
    if not only_ref and not only_ours:
        out.append("  same lines, different order")
    for line in only_ref[:5]:
        out.append(f"  only reference: {line.strip()}")
    for line in only_ours[:5]:
        out.append(f"  only ours:      {line.strip()}")
    return "\n".join(out)


def json_diffs(a, b, path="$", found=None, limit=10) -> list:
    found = [] if found is None else found
    if len(found) >= limit:
        return found
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a:
                found.append(f"{path}.{key}: only ours")
            elif key not in b:
                found.append(f"{path}.{key}: only reference")
            else:
                json_diffs(a[key], b[key], f"{path}.{key}", found, limit)
            if len(found) >= limit:
                break
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            found.append(f"{path}: {len(a)} items (ours) vs {len(b)} (reference)")
        for i, (x, y) in enumerate(zip(a, b)):
            json_diffs(x, y, f"{path}[{i}]", found, limit)
            if len(found) >= limit:
                break
    elif a != b or type(a) is not type(b):
        found.append(f"{path}: ours {json.dumps(a)[:80]} vs reference {json.dumps(b)[:80]}")
    return found


def compare_dumps(paths: dict) -> str:
    with open(paths["ours"], "rb") as f:
        ours_bytes = f.read()
    with open(paths["reference"], "rb") as f:
        ref_bytes = f.read()
    if ours_bytes == ref_bytes:
        return f"byte-identical ({len(ref_bytes)} bytes)"
    ours, ref = json.loads(ours_bytes), json.loads(ref_bytes)
    if ours == ref:
        return (f"same JSON after parsing, bytes differ (ours {len(ours_bytes)} bytes, "
                f"reference {len(ref_bytes)} bytes: formatting/key order)")
    diffs = json_diffs(ours, ref)
    return "DIFFERENT JSON:\n" + "\n".join(f"  {d}" for d in diffs)


# --------------------------------------------------------------------------- main

def default_ours() -> str:
    return os.path.join(os.path.dirname(HERE), "target", "release", "meltano")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", default=default_ours())
    parser.add_argument("--reference", default="/opt/refmeltano/bin/meltano")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--properties", type=int, default=50)
    parser.add_argument("--modes", default="discover,cached")
    parser.add_argument("--commands", default="select,dump")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (printed)")
    opts = parser.parse_args()

    binaries = {"ours": os.path.abspath(opts.ours), "reference": os.path.abspath(opts.reference)}
    modes = opts.modes.split(",")
    commands = opts.commands.split(",")
    work = tempfile.mkdtemp(prefix="meltano-bench-catalog-")
    try:
        print(f"load average {os.getloadavg()[0]:.2f}, cpus {os.cpu_count()}, work dir {work}")
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        catalog = os.path.join(work, "catalog.json")
        write_catalog(catalog, opts.streams, opts.properties)
        script = tap_script(catalog)
        with open(os.path.join(bindir, "tap-big"), "wb") as f:
            f.write(script)
        os.chmod(os.path.join(bindir, "tap-big"), 0o755)
        wheel = write_wheel(work, script)
        print(f"catalog: {opts.streams} streams x {opts.properties} properties, "
              f"{os.path.getsize(catalog) / 1e6:.1f} MB pretty-printed")

        env = dict(os.environ, MELTANO_CLI_DISABLE_VERSION_CHECK="1", MELTANO_SEND_ANONYMOUS_USAGE_STATS="false")
        for key in ("MELTANO_PROJECT_ROOT", "MELTANO_ENVIRONMENT"):
            env.pop(key, None)
        path = [bindir]
        if "cached" in modes and not shutil.which("uv", path=env.get("PATH", "")):
            # ours installs with the first `uv` on PATH; lend it the reference's bundled uv
            ref_uv = os.path.join(os.path.dirname(binaries["reference"]), "uv")
            uvdir = os.path.join(work, "uvbin")
            os.makedirs(uvdir)
            os.symlink(ref_uv, os.path.join(uvdir, "uv"))
            path.append(uvdir)
        env["PATH"] = os.pathsep.join([*path, env.get("PATH", "")])

        projects, logs = {}, {}
        for label, binary in binaries.items():
            projects[label] = os.path.join(work, label)
            logs[label] = os.path.join(work, f"{label}.tap.log")
            make_project(projects[label], wheel)
            if "cached" in modes:
                run(binary, ["install", "--plugin-type", "extractor", "tap-big-pkg"], projects[label], env, work)
                exe = os.path.join(projects[label], ".meltano", "extractors", "tap-big-pkg", "venv", "bin", "tap-big")
                if not os.access(exe, os.X_OK):
                    raise SystemExit(f"{label}: install did not create {exe}")

        results = {}
        print(f"{'command':<8} {'mode':<9} {'label':<10} {'median s':>9} {'min s':>7} {'max s':>7} "
              f"{'peak RSS MiB':>12} {'discoveries/run':>15}")
        for command in commands:
            for mode in modes:
                tap = MODES[mode]
                args = [a.format(tap=tap) for a in COMMANDS[command]]
                for label, binary in binaries.items():
                    for _ in range(opts.warmup):
                        run(binary, args, projects[label], dict(env, TAP_BIG_LOG=logs[label]), work)
                samples = {label: [] for label in binaries}
                rss = {label: [] for label in binaries}
                calls = {label: 0 for label in binaries}
                for i in range(opts.runs):
                    order = list(binaries) if i % 2 == 0 else list(reversed(list(binaries)))
                    for label in order:
                        before = discoveries(logs[label])
                        wall, peak = run(binaries[label], args, projects[label],
                                         dict(env, TAP_BIG_LOG=logs[label]), work)
                        calls[label] += discoveries(logs[label]) - before
                        samples[label].append(wall)
                        if peak is not None:
                            rss[label].append(peak)
                medians = {}
                for label, values in samples.items():
                    medians[label] = statistics.median(values)
                    peak = f"{statistics.median(rss[label]):.0f}" if rss[label] else "n/a"
                    per_run = calls[label] / opts.runs
                    print(f"{command:<8} {mode:<9} {label:<10} {medians[label]:>9.3f} {min(values):>7.3f} "
                          f"{max(values):>7.3f} {peak:>12} {per_run:>15g}")
                    expected = 1 if mode == "discover" else 0
                    if per_run != expected:
                        print(f"!! {label} {command} {mode}: expected {expected} discovery per run, got {per_run:g}")
                ratio = medians["reference"] / medians["ours"]
                print(f"{command:<8} {mode:<9} {'ratio':<10} {ratio:>8.1f}x  (reference/ours)")
                results[(command, mode)] = ratio

        print("output equivalence (one untimed call each, stdout captured):")
        for command in commands:
            for mode in modes:
                args = [a.format(tap=MODES[mode]) for a in COMMANDS[command]]
                paths = {}
                for label, binary in binaries.items():
                    paths[label] = os.path.join(work, f"{label}.{command}.{mode}.out")
                    with open(paths[label], "wb") as out:
                        run(binary, args, projects[label], env, work, stdout=out)
                verdict = compare_lists(paths) if command == "select" else compare_dumps(paths)
                print(f"  {command} {mode}: {verdict}")
    finally:
        if opts.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
