//! The Hub response cache: `<cache_dir>/hub/<sha256(url)>.json`, fresh for one hour.
//!
//! A cache that cannot be read or written only costs a request, so failures are ignored.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// How long a cached response is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(60 * 60);

/// The cache file of `url` under Meltano's user cache directory.
pub fn cache_path(cache_dir: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    cache_dir.join("hub").join(format!("{hex}.json"))
}

/// The cached body of a response, if it was written less than [`CACHE_TTL`] ago.
pub(crate) fn read_fresh(path: &Path) -> Option<Vec<u8>> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    if age > CACHE_TTL {
        return None;
    }
    std::fs::read(path).ok()
}

/// Stores a response body; a partial file is renamed into place so readers never see half of it.
pub(crate) fn write(path: &Path, body: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    if std::fs::write(&partial, body).is_ok() && std::fs::rename(&partial, path).is_err() {
        let _ = std::fs::remove_file(&partial);
    }
}

/// Meltano's user cache directory (`$XDG_CACHE_HOME/meltano`, else `~/.cache/meltano`;
/// `~/Library/Caches/meltano` on macOS), or `None` without a home directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        return Some(PathBuf::from(home).join("Library/Caches/meltano"));
    }
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = match xdg {
        Some(dir) => dir,
        None => {
            let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
            PathBuf::from(home).join(".cache")
        }
    };
    Some(base.join("meltano"))
}
