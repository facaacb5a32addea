#!/usr/bin/env python3
"""`meltano install` of three PyPI plugins, ours against the reference, side by side in one run.

Every run gets a fresh project directory holding the same meltano.yml (three custom plugins, so no Hub
access is needed; only PyPI). Modes:

  cold  fresh project and an EMPTY uv/pip cache (UV_CACHE_DIR, PIP_CACHE_DIR: a fresh temp dir per run),
        so every run downloads and unpacks everything;
  warm  fresh project, one shared uv/pip cache primed by an untimed install of each binary first.

Configurations: the reference with its default parallelism (cpu count) and with `-p 1`, ours with its
default and with `-p 1`. Within a run the configurations are interleaved (and the order rotated from
run to run) so network and machine noise hit all of them alike. Both binaries get the same `uv` version:
the reference always runs the uv bundled in its venv (the `uv` Python package), ours runs the first `uv`
on PATH, so a venv with that same uv version is created (once, `--uv-venv`) and put first on PATH.
After each run every exit code must be 0 and every plugin executable must exist in
`.meltano/<type>/<name>/venv/bin/`, else the script fails loudly.

    python3 bench/install.py --ours target/release/meltano \
        --reference /opt/refmeltano/bin/meltano --runs 3
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PLUGINS = [
    # (type dir, name, namespace, pip_url, executable)
    ("loaders", "target-jsonl", "target_jsonl", "target-jsonl", "target-jsonl"),
    ("loaders", "target-csv", "target_csv", "meltanolabs-target-csv", "target-csv"),
    ("mappers", "meltano-map-transform", "meltano_map_transform", "meltano-map-transform", "meltano-map-transform"),
]

MELTANO_YML = """\
default_environment: dev
project_id: 0190c2f4-0000-7000-8000-000000000001
send_anonymous_usage_stats: false
environments:
- name: dev
plugins:
"""


def make_project(root: str) -> None:
    os.makedirs(root)
    text = MELTANO_YML
    for kind in dict.fromkeys(p[0] for p in PLUGINS):
        text += f"  {kind}:\n"
        for kind_, name, namespace, pip_url, executable in PLUGINS:
            if kind_ == kind:
                text += (
                    f"  - name: {name}\n    namespace: {namespace}\n"
                    f"    pip_url: {pip_url}\n    executable: {executable}\n"
                )
    with open(os.path.join(root, "meltano.yml"), "w") as f:
        f.write(text)


def venv_uv_version(project: str) -> set:
    """The `uv = x.y.z` lines of the plugin venvs' pyvenv.cfg: which uv built them."""
    found = set()
    for kind, name, *_ in PLUGINS:
        cfg = os.path.join(project, ".meltano", kind, name, "venv", "pyvenv.cfg")
        with open(cfg) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "uv":
                    found.add(value.strip())
    return found


def run_install(binary: str, extra: list, project: str, env: dict, debug_log: bool = False) -> tuple:
    args = [binary, *(["--log-level=debug"] if debug_log else []), "install", *extra]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    output = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"FAILED: {' '.join(args)} in {project} exited {proc.returncode}")
    missing = [
        path
        for kind, name, _, _, executable in PLUGINS
        if not os.access(path := os.path.join(project, ".meltano", kind, name, "venv", "bin", executable), os.X_OK)
    ]
    if missing:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"FAILED: {' '.join(args)} exited 0 but these are missing: {missing}")
    return elapsed, output


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def has_install(binary: str) -> bool:
    proc = subprocess.run([binary, "install", "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.returncode == 0


def pick_ours(explicit: str) -> str:
    if explicit:
        return os.path.abspath(explicit)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    release = os.path.join(root, "target", "release", "meltano")
    debug = os.path.join(root, "target", "debug", "meltano")
    if os.path.exists(release) and has_install(release):
        if not os.path.exists(debug):
            return release
        built, debug_built = os.path.getmtime(release), os.path.getmtime(debug)
        # The release build counts as current if no source changed between it and the (newer) debug build.
        changed = [f for f in source_files(root) if built < os.path.getmtime(f) <= debug_built]
        if not changed:
            return release
        print(f"NOTE: sources changed after the release build, e.g. {changed[0]}")
    print(f"NOTE: {release} is missing, stale relative to the debug build, or lacks `install`: timing the DEBUG build")
    return debug


def source_files(root: str) -> list:
    files = [os.path.join(root, n) for n in ("Cargo.toml", "Cargo.lock") if os.path.exists(os.path.join(root, n))]
    crates = os.path.join(root, "crates")
    for dirpath, _, names in os.walk(crates):
        rel = os.path.relpath(dirpath, crates).split(os.sep)
        if len(rel) >= 2 and rel[1] == "src" or len(rel) == 1 and rel[0] != ".":
            files += [os.path.join(dirpath, n) for n in names if n.endswith((".rs", ".toml"))]
    return files


def ensure_uv_venv(venv: str, version: str) -> str:
    """A venv holding `uv==version`; returns its bin dir."""
    bin_dir = os.path.join(venv, "bin")
    uv = os.path.join(bin_dir, "uv")
    if os.path.exists(uv):
        have = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.split()
        if len(have) > 1 and have[1] == version:
            return bin_dir
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(bin_dir, "pip"), "install", "-q", f"uv=={version}"], check=True)
    return bin_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", help="default: target/release/meltano if it is current and has `install`, "
                                       "else target/debug/meltano")
    parser.add_argument("--reference", default="/opt/refmeltano/bin/meltano")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="cold,warm")
    parser.add_argument("--uv-venv", default="/tmp/benchuv", help="venv whose bin/ (with uv) goes first on PATH")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (projects, caches)")
    opts = parser.parse_args()

    ours = pick_ours(opts.ours)
    reference = os.path.abspath(opts.reference)
    ref_uv = os.path.join(os.path.dirname(reference), "uv")
    ref_uv_version = subprocess.run([ref_uv, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    uv_bin = ensure_uv_venv(opts.uv_venv, ref_uv_version)

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "MELTANO_", "VIRTUAL_ENV"))}
    base_env.update(
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_CLI_DISABLE_VERSION_CHECK="1",
        PATH=uv_bin + os.pathsep + os.environ.get("PATH", ""),
    )
    configs = {
        "ref default": (reference, []),
        "ref -p 1": (reference, ["-p", "1"]),
        "ours default": (ours, []),
        "ours -p 1": (ours, ["-p", "1"]),
    }
    print(f"ours:      {ours}")
    print(f"reference: {reference}")
    print(f"uv: reference runs its bundled {ref_uv}; ours runs {shutil.which('uv', path=base_env['PATH'])} "
          f"(both {ref_uv_version}); cpus={os.cpu_count()}")
    print(f"loadavg at start: {loadavg()}")

    work = tempfile.mkdtemp(prefix="meltano-bench-install-")
    results = {}
    counter = 0
    try:
        for mode in opts.modes.split(","):
            if mode not in ("cold", "warm"):
                raise SystemExit(f"unknown mode {mode!r}")
            shared = {"UV_CACHE_DIR": os.path.join(work, "warm-uv"), "PIP_CACHE_DIR": os.path.join(work, "warm-pip")}
            if mode == "warm":
                # Prime the shared cache (and the OS page cache) with one untimed install per binary; the
                # reference's one logs at debug level, to show which uv it actually runs.
                for label in ("ref default", "ours default"):
                    counter += 1
                    project = os.path.join(work, f"prime-{counter}")
                    make_project(project)
                    binary, extra = configs[label]
                    _, output = run_install(binary, extra, project, dict(base_env, **shared), debug_log=label.startswith("ref"))
                    for line in output.splitlines():
                        if "Using uv executable at" in line:
                            print(f"reference log: {line.split('meltano', 1)[-1].strip()}")
                            break
            labels = list(configs)
            for run in range(opts.runs):
                order = labels[run % len(labels):] + labels[: run % len(labels)]
                for label in order:
                    counter += 1
                    project = os.path.join(work, f"p{counter}")
                    make_project(project)
                    if mode == "cold":
                        env = dict(base_env, UV_CACHE_DIR=os.path.join(work, f"uv-{counter}"),
                                   PIP_CACHE_DIR=os.path.join(work, f"pip-{counter}"))
                    else:
                        env = dict(base_env, **shared)
                    binary, extra = configs[label]
                    elapsed, _ = run_install(binary, extra, project, env)
                    versions = venv_uv_version(project)
                    if versions != {ref_uv_version}:
                        raise SystemExit(f"FAILED: {label} built venvs with uv {versions}, expected {ref_uv_version}")
                    results.setdefault((mode, label), []).append(elapsed)
                    print(f"  {mode} run {run + 1} {label:<13} {elapsed:6.2f} s", flush=True)
                    if not opts.keep:
                        shutil.rmtree(project, ignore_errors=True)
                        if mode == "cold":
                            shutil.rmtree(env["UV_CACHE_DIR"], ignore_errors=True)
                            shutil.rmtree(env["PIP_CACHE_DIR"], ignore_errors=True)
    finally:
        if opts.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"loadavg at end: {loadavg()} (other CPU load on the machine skews all configurations)")
    print(f"\n{'mode':<5} {'config':<13} {'median s':>9} {'min s':>7} {'max s':>7}  (n={opts.runs})")
    for (mode, label), values in results.items():
        print(f"{mode:<5} {label:<13} {statistics.median(values):>9.2f} {min(values):>7.2f} {max(values):>7.2f}")
    print("\nratios reference/ours (of medians):")
    for mode in dict.fromkeys(m for m, _ in results):
        med = {label: statistics.median(v) for (m, label), v in results.items() if m == mode}
        for ref_label, ours_label in (("ref default", "ours default"), ("ref -p 1", "ours -p 1"),
                                      ("ref default", "ours -p 1")):
            print(f"{mode:<5} {ref_label + ' / ' + ours_label:<28} {med[ref_label] / med[ours_label]:5.2f}x")


if __name__ == "__main__":
    main()
