//! The JSON config file a Singer plugin reads: private to the user and gone after the run.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A config file under the plugin's run directory, mode 0600, removed when dropped.
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    /// Writes `config` as `<run_dir>/<role>.<uuid7>.config.json` (`role`: tap, target, mapper).
    pub fn write(run_dir: &Path, role: &str, config: &serde_json::Value) -> io::Result<ConfigFile> {
        fs::create_dir_all(run_dir)?;
        let path = run_dir.join(format!("{role}.{}.config.json", uuid::Uuid::now_v7()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        let file_guard = ConfigFile { path };
        let text = serde_json::to_string_pretty(config).map_err(io::Error::other)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        Ok(file_guard)
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_removed_after_use() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let file = ConfigFile::write(dir.path(), "tap", &serde_json::json!({"password": "x"}))
                .unwrap();
            assert_eq!(
                fs::metadata(file.path()).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert!(
                file.path()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("tap.")
            );
            file.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}
