#!/usr/bin/env python3
"""`meltano install` of three PyPI plugins, ours against the reference, side by side in one run, with NO `uv`
on PATH (dirs holding one are dropped from PATH, `UV` is unset).

Every run gets a fresh project directory holding the same meltano.yml (three custom plugins, so no Hub
access is needed; only PyPI). Modes:

  first  fresh project, EMPTY uv/pip caches (UV_CACHE_DIR, PIP_CACHE_DIR) and an empty XDG_CACHE_HOME per
         run: ours has no per-user uv yet, so it pip-installs its pinned uv first (a new user's first
         install ever); the reference runs the uv bundled in its own venv, as always;
  cold   fresh project and EMPTY uv/pip caches per run, but the per-user uv present (XDG_CACHE_HOME shared,
         primed): a new clone on a machine where meltano already ran once;
  warm   fresh project, one shared uv/pip cache and XDG_CACHE_HOME, all primed.
  fixed  like warm, but the three plugins are tiny local wheels and UV_OFFLINE=1: no network, so what is
         measured is each binary's fixed cost (start-up, finding uv, creating venvs, spawning uv).

The shared XDG_CACHE_HOME and caches are primed by one untimed install of each binary before the first
`cold` or `warm` run; the script checks that ours' per-user uv is not reinstalled afterwards.
Configurations: the reference with its default parallelism (cpu count) and with `-p 1`, ours with its
default and with `-p 1`. Within a run the configurations are interleaved (and the order rotated from
run to run) so network and machine noise hit all of them alike. Both binaries build venvs with the same
uv version: the reference's bundled `uv`, ours its pinned one (`uv = x.y.z` in each venv's pyvenv.cfg
is checked). After each run every exit code must be 0 and every plugin executable must exist in
`.meltano/<type>/<name>/venv/bin/`, else the script fails loudly.

    python3 bench/install.py --ours target/release/meltano \
        --reference /opt/refmeltano/bin/meltano --runs 3
"""
import argparse
import base64
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

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


def make_project(root: str, plugins: list = PLUGINS) -> None:
    os.makedirs(root)
    text = MELTANO_YML
    for kind in dict.fromkeys(p[0] for p in plugins):
        text += f"  {kind}:\n"
        for kind_, name, namespace, pip_url, executable in plugins:
            if kind_ == kind:
                text += (
                    f"  - name: {name}\n    namespace: {namespace}\n"
                    f"    pip_url: {pip_url}\n    executable: {executable}\n"
                )
    with open(os.path.join(root, "meltano.yml"), "w") as f:
        f.write(text)


def venv_uv_version(project: str, plugins: list = PLUGINS) -> set:
    """The `uv = x.y.z` lines of the plugin venvs' pyvenv.cfg: which uv built them."""
    found = set()
    for kind, name, *_ in plugins:
        cfg = os.path.join(project, ".meltano", kind, name, "venv", "pyvenv.cfg")
        with open(cfg) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "uv":
                    found.add(value.strip())
    return found


def run_install(binary: str, extra: list, project: str, env: dict, debug_log: bool = False,
                plugins: list = PLUGINS) -> tuple:
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
        for kind, name, _, _, executable in plugins
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


def local_plugins(out: str) -> list:
    """Three tiny pure-Python wheels written with zipfile (console script `<name>`), as custom extractors:
    installing them needs no network, so what is left is each binary's fixed cost."""
    plugins = []
    for name in ("tap-fixed-a", "tap-fixed-b", "tap-fixed-c"):
        module = name.replace("-", "_")
        dist = f"{module}-0.1.0"
        files = {
            f"{module}/__init__.py": f"def main():\n    print({name!r})\n",
            f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n",
            f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            f"{dist}.dist-info/entry_points.txt": f"[console_scripts]\n{name} = {module}:main\n",
        }
        record = []
        for path, text in files.items():
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(text.encode())}")
        files[f"{dist}.dist-info/RECORD"] = "\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n"
        os.makedirs(out, exist_ok=True)
        wheel = os.path.join(out, f"{dist}-py3-none-any.whl")
        with zipfile.ZipFile(wheel, "w") as z:
            for path, text in files.items():
                z.writestr(path, text)
        plugins.append(("extractors", name, module, wheel, name))
    return plugins


def path_without_uv(path: str) -> tuple:
    """PATH minus the directories holding a `uv` executable, and those directories."""
    kept, dropped = [], []
    for entry in path.split(os.pathsep):
        uv = os.path.join(entry or ".", "uv")
        (dropped if os.path.isfile(uv) and os.access(uv, os.X_OK) else kept).append(entry)
    return os.pathsep.join(kept), dropped


def shared_uv(xdg: str) -> list:
    """Ours' per-user uv binaries under XDG_CACHE_HOME (meltano-rs/uv/<version>/bin/uv)."""
    root = os.path.join(xdg, "meltano-rs", "uv")
    if not os.path.isdir(root):
        return []
    return sorted(
        path for version in os.listdir(root) if os.path.isfile(path := os.path.join(root, version, "bin", "uv"))
    )


def identity(path: str) -> tuple:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_mtime_ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", help="default: target/release/meltano if it is current and has `install`, "
                                       "else target/debug/meltano")
    parser.add_argument("--reference", default="/opt/refmeltano/bin/meltano")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="first,cold,warm,fixed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (projects, caches)")
    opts = parser.parse_args()

    ours = pick_ours(opts.ours)
    reference = os.path.abspath(opts.reference)
    ref_uv = os.path.join(os.path.dirname(reference), "uv")
    ref_uv_version = subprocess.run([ref_uv, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]

    path, dropped = path_without_uv(os.environ.get("PATH", ""))
    if shutil.which("python3", path=path) is None:
        raise SystemExit(f"FAILED: no python3 left on PATH after dropping the dirs holding uv: {dropped}")
    base_env = {
        k: v for k, v in os.environ.items()
        if k != "UV" and not k.startswith(("UV_", "PIP_", "MELTANO_", "VIRTUAL_ENV", "XDG_CACHE_HOME"))
    }
    base_env.update(
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_CLI_DISABLE_VERSION_CHECK="1",
        PATH=path,
    )
    configs = {
        "ref default": (reference, []),
        "ref -p 1": (reference, ["-p", "1"]),
        "ours default": (ours, []),
        "ours -p 1": (ours, ["-p", "1"]),
    }
    print(f"ours:      {ours}")
    print(f"reference: {reference}")
    print(f"uv: not on PATH (dropped from PATH: {dropped or 'none'}); the reference runs its bundled {ref_uv} "
          f"({ref_uv_version}), ours its per-user uv under $XDG_CACHE_HOME/meltano-rs/uv; cpus={os.cpu_count()}")
    print(f"loadavg at start: {loadavg()}")

    work = tempfile.mkdtemp(prefix="meltano-bench-install-")
    shared = {
        "UV_CACHE_DIR": os.path.join(work, "warm-uv"),
        "PIP_CACHE_DIR": os.path.join(work, "warm-pip"),
        "XDG_CACHE_HOME": os.path.join(work, "xdg-shared"),
    }
    primed = None  # identity of ours' per-user uv once primed
    results = {}
    counter = 0
    try:
        for mode in opts.modes.split(","):
            if mode not in ("first", "cold", "warm", "fixed"):
                raise SystemExit(f"unknown mode {mode!r}")
            if mode != "first" and primed is None:
                # Prime the shared caches, ours' per-user uv (and the OS page cache) with one untimed install
                # per binary; the reference's logs at debug level, to show which uv it actually runs.
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
                uvs = shared_uv(shared["XDG_CACHE_HOME"])
                if len(uvs) != 1:
                    raise SystemExit(f"FAILED: expected ours' per-user uv after priming, found {uvs}")
                primed = (uvs[0], identity(uvs[0]))
                print(f"ours' per-user uv: {uvs[0]}")
            labels = list(configs)
            for run in range(opts.runs):
                order = labels[run % len(labels):] + labels[: run % len(labels)]
                for label in order:
                    counter += 1
                    project = os.path.join(work, f"p{counter}")
                    plugins = local_plugins(os.path.join(work, "wheels")) if mode == "fixed" else PLUGINS
                    make_project(project, plugins)
                    fresh = {
                        "UV_CACHE_DIR": os.path.join(work, f"uv-{counter}"),
                        "PIP_CACHE_DIR": os.path.join(work, f"pip-{counter}"),
                    }
                    if mode == "first":
                        env = dict(base_env, **fresh, XDG_CACHE_HOME=os.path.join(work, f"xdg-{counter}"))
                    elif mode == "cold":
                        env = dict(base_env, **fresh, XDG_CACHE_HOME=shared["XDG_CACHE_HOME"])
                    elif mode == "warm":
                        env = dict(base_env, **shared)
                    else:
                        env = dict(base_env, **shared, UV_OFFLINE="1")
                    binary, extra = configs[label]
                    elapsed, _ = run_install(binary, extra, project, env, plugins=plugins)
                    versions = venv_uv_version(project, plugins)
                    if versions != {ref_uv_version}:
                        raise SystemExit(f"FAILED: {label} built venvs with uv {versions}, expected {ref_uv_version}")
                    if label.startswith("ours"):
                        if mode == "first" and len(shared_uv(env["XDG_CACHE_HOME"])) != 1:
                            raise SystemExit(f"FAILED: {label} did not install its per-user uv in {env['XDG_CACHE_HOME']}")
                        if mode != "first" and identity(primed[0]) != primed[1]:
                            raise SystemExit(f"FAILED: {label} reinstalled the per-user uv {primed[0]}")
                    results.setdefault((mode, label), []).append(elapsed)
                    print(f"  {mode:<5} run {run + 1} {label:<13} {elapsed:6.2f} s", flush=True)
                    if not opts.keep:
                        shutil.rmtree(project, ignore_errors=True)
                        if mode in ("first", "cold"):
                            for key in ("UV_CACHE_DIR", "PIP_CACHE_DIR") + (("XDG_CACHE_HOME",) if mode == "first" else ()):
                                shutil.rmtree(env[key], ignore_errors=True)
    finally:
        if opts.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"loadavg at end: {loadavg()} (other CPU load on the machine skews all configurations)")
    print(f"\n{'mode':<5} {'config':<13} {'median s':>9} {'min s':>7} {'max s':>7}  (n={opts.runs})")
    for (mode, label), values in results.items():
        print(f"{mode:<5} {label:<13} {statistics.median(values):>9.2f} {min(values):>7.2f} {max(values):>7.2f}")
    print("\nratios reference/ours (of medians; >= 1.00x means ours is at least as fast):")
    for mode in dict.fromkeys(m for m, _ in results):
        med = {label: statistics.median(v) for (m, label), v in results.items() if m == mode}
        for ref_label, ours_label in (("ref default", "ours default"), ("ref -p 1", "ours -p 1"),
                                      ("ref default", "ours -p 1")):
            print(f"{mode:<5} {ref_label + ' / ' + ours_label:<28} {med[ref_label] / med[ours_label]:5.2f}x")


if __name__ == "__main__":
    main()
