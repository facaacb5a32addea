//! An exclusive inter-process lock on a file, held until dropped, so two meltano processes never build the
//! same venv (or install uv) at the same time.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Holds an exclusive OS lock on a lock file; released when dropped (or when the process dies).
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Creates `path` if needed and blocks until the lock is ours. The file is never deleted: deleting lock
    /// files lets two processes lock different inodes.
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        file.lock()?;
        Ok(FileLock { _file: file })
    }
}
