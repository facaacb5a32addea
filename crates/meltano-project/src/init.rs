//! The files of a new project, as `meltano init` lays them out.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::PROJECT_FILE;
use crate::atomic::write_atomic;

/// The scaffold files in the order `meltano init` lists them, with their contents.
const SCAFFOLD: [(&str, &str); 11] = [
    (PROJECT_FILE, ""),
    ("README.md", ""),
    ("requirements.txt", ""),
    ("output/.gitignore", "*\n!.gitignore\n"),
    (".gitignore", "/venv\n/.meltano\n.env\n"),
    ("extract/.gitkeep", ""),
    ("load/.gitkeep", ""),
    ("transform/.gitkeep", ""),
    ("analyze/.gitkeep", ""),
    ("notebook/.gitkeep", ""),
    ("orchestrate/.gitkeep", ""),
];

/// Why a project could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "A `meltano.yml` file already exists in the target directory. Use `--force` to overwrite it."
    )]
    AlreadyExists,
    #[error("Permission denied to create '{0}'.")]
    PermissionDenied(String),
    #[error("could not create {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// One scaffold file and whether it was written (false: it existed and was kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldFile {
    pub path: &'static str,
    pub created: bool,
}

/// The meltano.yml of a new project: three environments, `dev` by default.
pub fn manifest_template(project_id: &str, send_usage_stats: bool) -> String {
    let mut text = format!(
        "default_environment: dev\nproject_id: {project_id}\nenvironments:\n- name: dev\n- name: staging\n- name: prod\n"
    );
    if !send_usage_stats {
        text.push_str("send_anonymous_usage_stats: false\n");
    }
    text
}

/// Creates `dir` and the scaffold in it. meltano.yml is written from the template (refused when
/// it exists unless `force`); other files are kept when they exist.
pub fn create_project(
    dir: &Path,
    manifest: &str,
    force: bool,
) -> Result<Vec<ScaffoldFile>, InitError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| match source.kind() {
            io::ErrorKind::PermissionDenied => {
                InitError::PermissionDenied(path.display().to_string())
            }
            _ => InitError::Io { path, source },
        }
    };
    if dir.join(PROJECT_FILE).exists() && !force {
        return Err(InitError::AlreadyExists);
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut written = Vec::with_capacity(SCAFFOLD.len());
    for (relative, contents) in SCAFFOLD {
        let path = dir.join(relative);
        if relative == PROJECT_FILE {
            write_atomic(&path, manifest.as_bytes(), 0o644).map_err(io_err(&path))?;
            written.push(ScaffoldFile {
                path: relative,
                created: true,
            });
            continue;
        }
        if path.exists() {
            written.push(ScaffoldFile {
                path: relative,
                created: false,
            });
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::write(&path, contents).map_err(io_err(&path))?;
        written.push(ScaffoldFile {
            path: relative,
            created: true,
        });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        create_project(&project, "a: 1\n", false).unwrap();
        assert!(matches!(
            create_project(&project, "a: 2\n", false),
            Err(InitError::AlreadyExists)
        ));
        assert_eq!(
            fs::read_to_string(project.join(PROJECT_FILE)).unwrap(),
            "a: 1\n"
        );
        let again = create_project(&project, "a: 2\n", true).unwrap();
        assert_eq!(
            fs::read_to_string(project.join(PROJECT_FILE)).unwrap(),
            "a: 2\n"
        );
        assert!(
            again
                .iter()
                .filter(|f| f.path != PROJECT_FILE)
                .all(|f| !f.created)
        );
    }
}
