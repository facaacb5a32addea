//! Where a plugin's executable is: its virtualenv, a path in the project, or `PATH`.

use std::path::{Path, PathBuf};

/// The program to run for `executable`: a path (relative to the project root) when it names
/// one, else `bin/<executable>` of the plugin's virtualenv, else the first match on `PATH`.
pub fn find_executable(executable: &str, project_root: &Path, venv: &Path) -> Option<PathBuf> {
    if executable.contains('/') {
        let path = project_root.join(executable);
        return is_executable(&path).then_some(path);
    }
    let in_venv = venv.join("bin").join(executable);
    if is_executable(&in_venv) {
        return Some(in_venv);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(executable))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
