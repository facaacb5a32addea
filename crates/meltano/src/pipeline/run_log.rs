//! Where a job's log goes: `<logs dir>/elt/<sanitized state ID>/<run ID>/elt.log`, the logs dir
//! being `.meltano/logs` (or `$MELTANO_LOGS_DIR`).

use std::fs::File;
use std::path::{Path, PathBuf};

use meltano_project::Project;
use uuid::Uuid;

use crate::error::{CliError, CliResult};

/// The variable that moves the logs directory.
pub const LOGS_DIR_VAR: &str = "MELTANO_LOGS_DIR";

/// The root of all run logs.
pub fn logs_dir(project: &Project) -> PathBuf {
    match project.env_var(LOGS_DIR_VAR).filter(|d| !d.is_empty()) {
        Some(dir) => project.root().join(dir),
        None => project.sys_dir().root().join("logs"),
    }
}

/// A state ID as a directory name, as Meltano sanitizes it: path separators become spaces,
/// whitespace runs `_`, characters outside `[A-Za-z0-9_.-]` are dropped, and leading or trailing
/// `.` and `_` are stripped (`dev:tap-x-to-target-y` → `devtap-x-to-target-y`).
pub fn sanitize(state_id: &str) -> String {
    let spaced: String = state_id
        .chars()
        .map(|c| if c == '/' || c == '\\' { ' ' } else { c })
        .collect();
    let joined = spaced.split_whitespace().collect::<Vec<_>>().join("_");
    let kept: String = joined
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    kept.trim_matches(|c| c == '.' || c == '_').to_string()
}

/// The log file of one run.
pub fn path(project: &Project, state_id: &str, run_id: &Uuid) -> PathBuf {
    logs_dir(project)
        .join("elt")
        .join(sanitize(state_id))
        .join(run_id.to_string())
        .join("elt.log")
}

/// Creates the run's log file.
pub fn open(project: &Project, state_id: &str, run_id: &Uuid) -> CliResult<File> {
    let path = path(project, state_id, run_id);
    create(&path).map_err(|e| {
        CliError::Meltano(format!(
            "Could not create the run log {}: {e}",
            path.display()
        ))
    })
}

fn create(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    File::create(path)
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn sanitizes_like_meltano() {
        assert_eq!(sanitize("dev:tap-x-to-target-y"), "devtap-x-to-target-y");
        assert_eq!(sanitize("a/b c\td"), "a_b_c_d");
        assert_eq!(sanitize("._x.y_."), "x.y");
    }
}
