//! Finding the project a command runs in.

use std::path::{Path, PathBuf};

use crate::PROJECT_FILE;

/// The project root: `MELTANO_PROJECT_ROOT` when given (it must hold a meltano.yml), else the
/// first directory from `cwd` upwards that holds one.
pub fn find_project_root(cwd: &Path, project_root_env: Option<&str>) -> Option<PathBuf> {
    if let Some(root) = project_root_env.filter(|r| !r.is_empty()) {
        let root = cwd.join(root);
        return root.join(PROJECT_FILE).is_file().then_some(root);
    }
    cwd.ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_up_to_the_nearest_meltano_yml() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(find_project_root(&nested, None), None);
        std::fs::write(dir.path().join(PROJECT_FILE), "x: 1\n").unwrap();
        assert_eq!(
            find_project_root(&nested, None).as_deref(),
            Some(dir.path())
        );
    }

    #[test]
    fn project_root_variable_must_hold_meltano_yml() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        assert_eq!(find_project_root(Path::new("/"), Some(root)), None);
        std::fs::write(dir.path().join(PROJECT_FILE), "x: 1\n").unwrap();
        assert_eq!(
            find_project_root(Path::new("/"), Some(root)).as_deref(),
            Some(dir.path())
        );
    }
}
