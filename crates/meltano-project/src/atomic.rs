//! Whole-file replacement that never leaves a half-written file behind.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to a temporary file beside `path`, syncs it, and renames it over `path`.
///
/// A crash leaves either the old file or the new one. The file keeps the mode of the file it
/// replaces (Meltano's own rewrite leaves 0600); new files get `new_mode`.
pub fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> io::Result<()> {
    replace(path, contents, existing_mode(path).unwrap_or(new_mode))
}

/// Like [`write_atomic`], but the file always ends up with `mode` (`.env` files hold secrets).
pub fn write_atomic_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace(path, contents, 0o600)
}

fn replace(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".meltano-write-")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    set_mode(tmp.path(), mode)?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = fs::File::open(dir) {
        // Make the rename itself durable; not every filesystem supports syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn existing_mode(_: &Path) -> Option<u32> {
    None
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}
