//! Replacing a file that another run may be reading at the same moment (a cached catalog, a
//! logging configuration): the new contents are written beside it under a unique name and
//! renamed over it, so a reader sees the old file or the new one, never half of either.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A unique path in `path`'s directory to write the replacement of `path` to.
pub fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()))
}

/// Replaces `path` with `contents` in one rename.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let temp = temp_beside(path);
    fs::write(&temp, contents)?;
    fs::rename(&temp, path).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_never_see_a_partial_file() {
        let dir = std::env::temp_dir().join(format!("replace-{}", uuid::Uuid::now_v7().simple()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("catalog.json");
        let big = |c: u8| vec![c; 1 << 20];
        replace(&path, &big(b'a')).unwrap();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..50 {
                    replace(&path, &big(if i % 2 == 0 { b'b' } else { b'a' })).unwrap();
                }
            });
            for _ in 0..200 {
                let read = fs::read(&path).unwrap();
                assert_eq!(read.len(), 1 << 20);
                assert!(read.iter().all(|b| *b == read[0]));
            }
        });
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
