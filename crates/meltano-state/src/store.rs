//! The [`StateStore`] trait every backend implements, and [`open`], which picks a backend by the
//! scheme of `state_backend.uri`.

use std::sync::Arc;
use std::time::Duration;

use meltano_core::state::{PayloadKind, StateRecord};
use serde_json::Value;

use crate::config::{BackendConfig, ParsedUri};
use crate::error::StoreError;
use crate::lock::{LockAttempt, LockToken, acquire_for_edit};
use crate::{FileStore, ObjectStateStore};

/// Where the state of every state ID is kept. Reads and raw writes ([`StateStore::put`]) take
/// no lock; [`StateStore::update`] and [`StateStore::clear`] take the state ID's lock around
/// their work, as Meltano does.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// Meltano's label for the backend: `Database`, `Local Filesystem`, `AWS S3`, …
    fn label(&self) -> &'static str;

    /// The line Meltano logs when it opens this backend (`Using systemdb state backend`).
    fn announcement(&self) -> String;

    /// The URI, credentials removed, for messages.
    fn display_uri(&self) -> String;

    /// Whether each write replaces a whole object (file, bucket): such writes are logged as
    /// `Writing state to <label>`, and a pipeline may coalesce them.
    fn writes_objects(&self) -> bool;

    /// `state_backend.lock_timeout_seconds`.
    fn lock_timeout(&self) -> Duration;

    /// `state_backend.lock_retry_seconds`.
    fn lock_retry(&self) -> Duration;

    /// The state IDs, all or those matching a glob-style `pattern`.
    async fn state_ids(&self, pattern: Option<&str>) -> Result<Vec<String>, StoreError>;

    /// The record of `state_id`, if it has one.
    async fn get(&self, state_id: &str) -> Result<Option<StateRecord>, StoreError>;

    /// Writes `record` as the whole state of `state_id`, taking no lock.
    async fn put(&self, state_id: &str, record: &StateRecord) -> Result<(), StoreError>;

    /// Deletes the state of `state_id`, taking no lock.
    async fn remove(&self, state_id: &str) -> Result<(), StoreError>;

    /// One attempt at the lock of `state_id`.
    async fn try_lock(&self, state_id: &str) -> Result<LockAttempt, StoreError>;

    /// Takes the lock of `state_id` whoever holds it (`--force`).
    async fn force_lock(&self, state_id: &str) -> Result<LockToken, StoreError>;

    /// Renews a lock we hold; [`StoreError::LockLost`] when another process took it over.
    async fn renew_lock(&self, state_id: &str, token: &LockToken) -> Result<LockToken, StoreError>;

    /// Releases a lock we hold (a lock taken over meanwhile is left alone).
    async fn unlock(&self, state_id: &str, token: LockToken) -> Result<(), StoreError>;

    /// Every record, for `meltano state export`.
    async fn get_all(&self) -> Result<Vec<(String, StateRecord)>, StoreError> {
        let mut all = Vec::new();
        for state_id in self.state_ids(None).await? {
            if let Some(record) = self.get(&state_id).await? {
                all.push((state_id, record));
            }
        }
        Ok(all)
    }

    /// Replaces the records of these IDs (`meltano state import`); returns how many.
    async fn put_all(&self, records: &[(String, StateRecord)]) -> Result<u64, StoreError> {
        for (state_id, record) in records {
            self.put(state_id, record).await?;
        }
        Ok(records.len() as u64)
    }

    /// Writes one payload into the record of `state_id` under its lock, as Meltano's `update`:
    /// see [`StateRecord::apply`].
    async fn update(
        &self,
        state_id: &str,
        payload: &Value,
        kind: PayloadKind,
    ) -> Result<(), StoreError> {
        let token = acquire_for_edit(self.as_dyn(), state_id).await?;
        let result = async {
            let record = match self.get(state_id).await? {
                Some(mut record) => {
                    record.apply(payload.clone(), kind);
                    record
                }
                None => StateRecord::from_payload(payload.clone(), kind),
            };
            self.put(state_id, &record).await
        }
        .await;
        let released = self.unlock(state_id, token).await;
        result.and(released)
    }

    /// Deletes the state of `state_id` under its lock.
    async fn clear(&self, state_id: &str) -> Result<(), StoreError> {
        let token = acquire_for_edit(self.as_dyn(), state_id).await?;
        let result = self.remove(state_id).await;
        let released = self.unlock(state_id, token).await;
        result.and(released)
    }

    /// Deletes every state; returns how many there were.
    async fn clear_all(&self) -> Result<u64, StoreError> {
        let ids = self.state_ids(None).await?;
        for state_id in &ids {
            self.clear(state_id).await?;
        }
        Ok(ids.len() as u64)
    }

    /// `self` as a trait object (for the lock helpers).
    fn as_dyn(&self) -> &dyn StateStore;
}

/// The backend of a non-`systemdb` URI (the system database is opened by the caller, who has
/// it). Nothing is contacted yet: errors here are configuration errors.
pub fn open(config: &BackendConfig) -> Result<Arc<dyn StateStore>, StoreError> {
    let parsed = ParsedUri::parse(&config.uri);
    match parsed.scheme {
        "file" => Ok(Arc::new(FileStore::new(config)?)),
        "s3" | "gs" | "azure" => Ok(Arc::new(ObjectStateStore::new(config)?)),
        other => Err(StoreError::UnknownScheme(other.to_string())),
    }
}
