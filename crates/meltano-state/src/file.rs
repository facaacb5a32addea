//! `file:///dir`: Meltano's layout on a local filesystem, `<dir>/<state_id>/state.json`.
//!
//! `state.json` is replaced atomically (written beside, synced, renamed), so a reader, ours or
//! Meltano's, sees the old or the new state, never half of one. The lock file is created
//! atomically with its content (written beside, then `link`ed into place, which like `O_EXCL`
//! fails when the lock exists); an expired one is moved aside by `rename` (atomic: one of two contenders wins) and
//! checked to be the very file found expired before a new one is created. A renewal replaces
//! the lock file by `rename` too, so Meltano never reads an empty lock.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use meltano_core::catalog::fnmatch::fnmatch;
use meltano_core::state::StateRecord;

use crate::StateStore;
use crate::config::{BackendConfig, ParsedUri, redact_uri};
use crate::error::StoreError;
use crate::lock::{
    LockAttempt, LockToken, Token, acquire_for_edit, is_fresh, lock_content, now_epoch, parse_lock,
};
use crate::record::{decode_record, encode_record};

const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = "lock";

/// State in a local directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
    uri: String,
    lock_timeout: Duration,
    lock_retry: Duration,
}

impl FileStore {
    /// The store of `file:///dir`; creates the directory, as Meltano does.
    pub fn new(config: &BackendConfig) -> Result<FileStore, StoreError> {
        let parsed = ParsedUri::parse(&config.uri);
        let store = FileStore {
            dir: PathBuf::from(parsed.path),
            uri: redact_uri(&config.uri),
            lock_timeout: config.lock_timeout,
            lock_retry: config.lock_retry,
        };
        if parsed.path.is_empty() {
            return Err(StoreError::Config(format!(
                "The state backend URI '{}' names no directory: use file:///absolute/path.",
                store.uri
            )));
        }
        std::fs::create_dir_all(&store.dir)
            .map_err(store.failed("create the state directory".to_string()))?;
        Ok(store)
    }

    fn state_dir(&self, state_id: &str) -> PathBuf {
        self.dir.join(state_id)
    }

    fn failed(&self, action: String) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |e| StoreError::Unavailable {
            action,
            backend: self.uri.clone(),
            message: e.to_string(),
        }
    }

    fn lock_path(&self, state_id: &str) -> PathBuf {
        self.state_dir(state_id).join(LOCK_FILE)
    }

    /// Creates the lock file if there is none; its inode on success. The file is written beside
    /// and hard-linked into place, which fails if the lock exists: nobody ever sees a lock
    /// without its time.
    fn create_lock(&self, path: &Path) -> std::io::Result<Option<Token>> {
        let tmp = path.with_file_name(format!(".lock.{}", uuid::Uuid::new_v4().simple()));
        let stamp = lock_content(now_epoch());
        let mut file = std::fs::File::create(&tmp)?;
        let written = file
            .write_all(stamp.as_bytes())
            .and_then(|()| file.metadata());
        drop(file);
        let linked = written.and_then(|meta| std::fs::hard_link(&tmp, path).map(|()| meta.ino()));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(inode) => Ok(Some(Token::File { inode, stamp })),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A fresh lock file written beside `path` and renamed over it.
    fn replace_lock(&self, path: &Path) -> std::io::Result<Token> {
        let tmp = path.with_file_name(format!(".lock.{}", uuid::Uuid::new_v4().simple()));
        let stamp = lock_content(now_epoch());
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(stamp.as_bytes())?;
        let inode = file.metadata()?.ino();
        drop(file);
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(Token::File { inode, stamp })
    }

    /// Whether the lock file at `path` is the one `token` proves we wrote.
    fn holds(&self, path: &Path, token: &LockToken) -> bool {
        let Token::File { inode, stamp } = &token.0 else {
            return false;
        };
        matches!(
            read_with_inode(path),
            Ok((text, found)) if found == *inode && text == stamp.as_bytes()
        )
    }

    fn try_lock_sync(&self, state_id: &str) -> std::io::Result<LockAttempt> {
        std::fs::create_dir_all(self.state_dir(state_id))?;
        let path = self.lock_path(state_id);
        for _ in 0..10 {
            if let Some(token) = self.create_lock(&path)? {
                return Ok(LockAttempt::Acquired(LockToken(token)));
            }
            let (text, inode) = match read_with_inode(&path) {
                Ok(found) => found,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            // Meltano writes its lock in place: an empty or partial one is as old as the file.
            let since = parse_lock(&text).or_else(|| modified_epoch(&path));
            if let Some(since) = since.filter(|s| is_fresh(*s, now_epoch(), self.lock_timeout)) {
                return Ok(LockAttempt::Held { since });
            }
            // Expired: move it aside, and make sure what moved is the file found expired.
            let aside = path.with_file_name(format!(".lock.{}", uuid::Uuid::new_v4().simple()));
            match std::fs::rename(&path, &aside) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            let moved = read_with_inode(&aside)?;
            if moved != (text, inode) {
                // Another process replaced it in between: put its lock back.
                let restored = std::fs::hard_link(&aside, &path);
                let _ = std::fs::remove_file(&aside);
                if let Err(e) = restored
                    && e.kind() != ErrorKind::AlreadyExists
                {
                    return Err(e);
                }
                continue;
            }
            std::fs::remove_file(&aside)?;
        }
        let (text, _) = read_with_inode(&path)?;
        Ok(LockAttempt::Held {
            since: parse_lock(&text).unwrap_or_else(now_epoch),
        })
    }
}

/// When `path` was last written, in epoch seconds.
fn modified_epoch(path: &Path) -> Option<f64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(since.as_secs_f64())
}

fn read_with_inode(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    let mut file = std::fs::File::open(path)?;
    let inode = file.metadata()?.ino();
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut text)?;
    Ok((text, inode))
}

/// Python's `glob` on one path component: `fnmatch`, except that names starting with `.` match
/// only patterns starting with `.`.
fn glob_matches(name: &str, pattern: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    fnmatch(name, pattern)
}

#[async_trait::async_trait]
impl StateStore for FileStore {
    fn label(&self) -> &'static str {
        "Local Filesystem"
    }

    fn announcement(&self) -> String {
        "Using _LocalFilesystemStateStoreManager add-on state backend".to_string()
    }

    fn display_uri(&self) -> String {
        self.uri.clone()
    }

    fn writes_objects(&self) -> bool {
        true
    }

    fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    fn lock_retry(&self) -> Duration {
        self.lock_retry
    }

    async fn state_ids(&self, pattern: Option<&str>) -> Result<Vec<String>, StoreError> {
        let pattern = pattern.unwrap_or("*");
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.failed("list state IDs".to_string())(e)),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| glob_matches(name, pattern))
            .filter(|name| self.dir.join(name).join(STATE_FILE).is_file())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn get(&self, state_id: &str) -> Result<Option<StateRecord>, StoreError> {
        let path = self.state_dir(state_id).join(STATE_FILE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.failed(format!("read the state of '{state_id}'"))(e)),
        };
        decode_record(&text)
            .map(Some)
            .map_err(|message| StoreError::Corrupt {
                state_id: state_id.to_string(),
                backend: self.uri.clone(),
                location: path.display().to_string(),
                message,
            })
    }

    async fn put(&self, state_id: &str, record: &StateRecord) -> Result<(), StoreError> {
        let dir = self.state_dir(state_id);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(".state.json.{}", uuid::Uuid::new_v4().simple()));
            let mut file = std::fs::File::create(&tmp)?;
            let result = file
                .write_all(encode_record(record).as_bytes())
                .and_then(|()| file.sync_all())
                .and_then(|()| std::fs::rename(&tmp, dir.join(STATE_FILE)));
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        };
        write().map_err(self.failed(format!("write the state of '{state_id}'")))
    }

    async fn remove(&self, state_id: &str) -> Result<(), StoreError> {
        match std::fs::remove_file(self.state_dir(state_id).join(STATE_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed(format!("clear the state of '{state_id}'"))(e)),
        }
    }

    async fn clear(&self, state_id: &str) -> Result<(), StoreError> {
        let token = acquire_for_edit(self, state_id).await?;
        let result = self.remove(state_id).await;
        let released = self.unlock(state_id, token).await;
        // As Meltano, the state ID's directory goes too (when nothing else is in it).
        let _ = std::fs::remove_dir(self.state_dir(state_id));
        result.and(released)
    }

    async fn try_lock(&self, state_id: &str) -> Result<LockAttempt, StoreError> {
        self.try_lock_sync(state_id)
            .map_err(self.failed(format!("lock the state of '{state_id}'")))
    }

    async fn force_lock(&self, state_id: &str) -> Result<LockToken, StoreError> {
        let path = self.lock_path(state_id);
        self.replace_lock(&path)
            .map(LockToken)
            .map_err(self.failed(format!("lock the state of '{state_id}'")))
    }

    async fn renew_lock(&self, state_id: &str, token: &LockToken) -> Result<LockToken, StoreError> {
        let path = self.lock_path(state_id);
        if !self.holds(&path, token) {
            return Err(StoreError::LockLost {
                state_id: state_id.to_string(),
                backend: self.uri.clone(),
            });
        }
        self.replace_lock(&path)
            .map(LockToken)
            .map_err(self.failed(format!("renew the lock of '{state_id}'")))
    }

    async fn unlock(&self, state_id: &str, token: LockToken) -> Result<(), StoreError> {
        let path = self.lock_path(state_id);
        if !self.holds(&path, &token) {
            return Ok(());
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed(format!("unlock the state of '{state_id}'"))(e)),
        }
    }

    fn as_dyn(&self) -> &dyn StateStore {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meltano_core::state::PayloadKind;
    use serde_json::json;

    fn store(dir: &Path, timeout: u64) -> FileStore {
        FileStore::new(&BackendConfig {
            uri: format!("file://{}", dir.display()),
            lock_timeout: Duration::from_secs(timeout),
            lock_retry: Duration::from_millis(50),
            ..BackendConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn updates_follow_meltanos_layout_and_merge_rules() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 10);
        let id = "dev:tap-to-target";
        s.update(id, &json!({"singer_state": {"a": 1}}), PayloadKind::Partial)
            .await
            .unwrap();
        s.update(id, &json!({"singer_state": {"b": 2}}), PayloadKind::Partial)
            .await
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join(id).join("state.json")).unwrap();
        assert_eq!(
            text,
            r#"{"completed": {}, "partial": {"singer_state": {"a": 1, "b": 2}}}"#
        );
        s.update(
            id,
            &json!({"singer_state": {"c": 3}}),
            PayloadKind::Complete,
        )
        .await
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join(id).join("state.json")).unwrap();
        assert_eq!(
            text,
            r#"{"completed": {"singer_state": {"c": 3}}, "partial": {}}"#
        );
        assert!(!dir.path().join(id).join("lock").exists());
        assert_eq!(s.state_ids(None).await.unwrap(), vec![id.to_string()]);
        assert_eq!(
            s.state_ids(Some("prod:*")).await.unwrap(),
            Vec::<String>::new()
        );
        s.clear(id).await.unwrap();
        assert!(!dir.path().join(id).exists());
        assert_eq!(s.get(id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_fresh_lock_is_held_and_an_expired_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 1);
        let LockAttempt::Acquired(token) = s.try_lock("x").await.unwrap() else {
            panic!("first lock");
        };
        assert!(matches!(
            s.try_lock("x").await.unwrap(),
            LockAttempt::Held { .. }
        ));
        let renewed = s.renew_lock("x", &token).await.unwrap();
        assert_ne!(renewed, token);
        // A lock Meltano wrote 5 seconds ago has expired.
        std::fs::write(dir.path().join("x/lock"), lock_content(now_epoch() - 5.0)).unwrap();
        let LockAttempt::Acquired(other) = s.try_lock("x").await.unwrap() else {
            panic!("expired lock not taken over");
        };
        assert!(matches!(
            s.renew_lock("x", &renewed).await,
            Err(StoreError::LockLost { .. })
        ));
        s.unlock("x", renewed).await.unwrap();
        assert!(dir.path().join("x/lock").exists(), "not ours to delete");
        s.unlock("x", other).await.unwrap();
        assert!(!dir.path().join("x/lock").exists());
    }
}
