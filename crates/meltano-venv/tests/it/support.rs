//! Fixtures: tiny Python packages with a console script, shared backends, and helpers to run what was installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use meltano_core::PluginType;
use meltano_venv::{Backend, InstallRequest, find_backend_cached_in, venv_bin};

/// Writes a pure-Python wheel with Python's zipfile (no build backend, no network). The package `<name>`
/// has a console script `<name>` printing `<name> says hi`; `requires_python` sets `Requires-Python`.
const MAKE_WHEEL: &str = r#"
import base64, hashlib, os, sys, zipfile
name, out, requires = sys.argv[1], sys.argv[2], sys.argv[3]
mod = name.replace("-", "_")
dist = mod + "-0.1.0"
meta = "Metadata-Version: 2.1\nName: %s\nVersion: 0.1.0\n" % name
if requires:
    meta += "Requires-Python: %s\n" % requires
files = {
    mod + "/__init__.py": "def main():\n    print(%r)\n" % (name + " says hi"),
    dist + ".dist-info/METADATA": meta,
    dist + ".dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: meltano-venv-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    dist + ".dist-info/entry_points.txt": "[console_scripts]\n%s = %s:main\n" % (name, mod),
}
record = []
for path, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
record.append(dist + ".dist-info/RECORD,,")
files[dist + ".dist-info/RECORD"] = "\n".join(record) + "\n"
wheel = os.path.join(out, dist + "-py3-none-any.whl")
with zipfile.ZipFile(wheel, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
print(wheel, end="")
"#;

/// A wheel of the tiny package `name` in `dir`; its path is a valid `pip_url`.
pub fn tiny_wheel(dir: &Path, name: &str) -> String {
    tiny_wheel_requiring(dir, name, "")
}

/// Like [`tiny_wheel`] with a `Requires-Python` specifier.
pub fn tiny_wheel_requiring(dir: &Path, name: &str, requires_python: &str) -> String {
    let out = dir.join(format!("wheels-{name}"));
    std::fs::create_dir_all(&out).unwrap();
    let output = Command::new("python3")
        .args(["-c", MAKE_WHEEL, name])
        .arg(&out)
        .arg(requires_python)
        .output()
        .expect("python3 on PATH");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A source tree (`pyproject.toml` with the setuptools backend + module) of the tiny package `name`.
pub fn tiny_source(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(format!("src-{name}"));
    let module = name.replace('-', "_");
    std::fs::create_dir_all(root.join(&module)).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n\
             [project.scripts]\n{name} = \"{module}:main\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join(&module).join("__init__.py"),
        format!("def main():\n    print(\"{name} says hi\")\n"),
    )
    .unwrap();
    root
}

/// A cache dir shared by every test (and kept between runs), standing in for the user's, so the shared uv is
/// installed at most once.
pub fn shared_cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("meltano-venv-cache")
}

/// The uv backend: `UV` or uv on PATH, else the shared uv installed into [`shared_cache_dir`].
pub fn uv_backend() -> Backend {
    static UV: OnceLock<Backend> = OnceLock::new();
    UV.get_or_init(|| find_backend_cached_in("uv", Some(&shared_cache_dir())).expect("uv backend"))
        .clone()
}

/// The virtualenv backend with python3 from PATH.
pub fn venv_backend() -> Backend {
    find_backend_cached_in("virtualenv", None).expect("virtualenv backend")
}

/// An extractor request for `pip_url` into `<dir>/<name>/venv`.
pub fn request(dir: &Path, name: &str, pip_url: &str) -> InstallRequest {
    InstallRequest {
        plugin_type: PluginType::Extractors,
        name: name.to_string(),
        venv_dir: dir.join(name).join("venv"),
        pip_url: pip_url.to_string(),
        python: None,
        clean: false,
        ignore_requires_python: false,
        env: Vec::new(),
    }
}

/// Runs the console script `exe` of `venv` and returns its stdout; panics unless it succeeds.
pub fn run_tool(venv: &Path, exe: &str, args: &[&str]) -> String {
    let output = Command::new(venv_bin(venv, exe))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {exe} from {}: {e}", venv.display()));
    assert!(output.status.success(), "{exe} failed: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The names in the venv's parent directory, sorted: shows leftovers of builds and backups.
pub fn siblings(venv: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(venv.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
