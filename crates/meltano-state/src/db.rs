//! `systemdb`: the `state` table of the system database. Its transactions serialise writers
//! (see `SystemDb::write_state`), so it needs no lock object; a run's exclusivity comes from its
//! `runs` row.

use std::time::Duration;

use meltano_core::state::{PayloadKind, StateRecord};
use meltano_db::{DbError, SystemDb};
use serde_json::Value;

use crate::StateStore;
use crate::error::StoreError;
use crate::lock::{LockAttempt, LockToken};

/// The system database as a state backend.
#[derive(Debug, Clone)]
pub struct DbStore {
    db: SystemDb,
}

impl DbStore {
    pub fn new(db: SystemDb) -> DbStore {
        DbStore { db }
    }
}

fn failed(action: &str) -> impl FnOnce(DbError) -> StoreError + '_ {
    move |e| StoreError::Unavailable {
        action: action.to_string(),
        backend: "systemdb".to_string(),
        message: e.to_string(),
    }
}

#[async_trait::async_trait]
impl StateStore for DbStore {
    fn label(&self) -> &'static str {
        "Database"
    }

    fn announcement(&self) -> String {
        "Using systemdb state backend".to_string()
    }

    fn display_uri(&self) -> String {
        "systemdb".to_string()
    }

    fn writes_objects(&self) -> bool {
        false
    }

    fn lock_timeout(&self) -> Duration {
        Duration::ZERO
    }

    fn lock_retry(&self) -> Duration {
        Duration::ZERO
    }

    async fn state_ids(&self, pattern: Option<&str>) -> Result<Vec<String>, StoreError> {
        self.db
            .state_ids(pattern)
            .await
            .map_err(failed("list state IDs"))
    }

    async fn get(&self, state_id: &str) -> Result<Option<StateRecord>, StoreError> {
        self.db
            .read_state(state_id)
            .await
            .map_err(failed("read state"))
    }

    async fn put(&self, state_id: &str, record: &StateRecord) -> Result<(), StoreError> {
        self.db
            .put_state(state_id, record)
            .await
            .map_err(failed("write state"))
    }

    async fn remove(&self, state_id: &str) -> Result<(), StoreError> {
        self.db
            .delete_state(state_id)
            .await
            .map(|_| ())
            .map_err(failed("clear state"))
    }

    async fn try_lock(&self, _state_id: &str) -> Result<LockAttempt, StoreError> {
        Ok(LockAttempt::Acquired(LockToken::free()))
    }

    async fn force_lock(&self, _state_id: &str) -> Result<LockToken, StoreError> {
        Ok(LockToken::free())
    }

    async fn renew_lock(
        &self,
        _state_id: &str,
        token: &LockToken,
    ) -> Result<LockToken, StoreError> {
        Ok(token.clone())
    }

    async fn unlock(&self, _state_id: &str, _token: LockToken) -> Result<(), StoreError> {
        Ok(())
    }

    async fn get_all(&self) -> Result<Vec<(String, StateRecord)>, StoreError> {
        self.db
            .all_states()
            .await
            .map_err(failed("read every state"))
    }

    async fn put_all(&self, records: &[(String, StateRecord)]) -> Result<u64, StoreError> {
        self.db
            .put_states(records)
            .await
            .map_err(failed("import state"))
    }

    async fn update(
        &self,
        state_id: &str,
        payload: &Value,
        kind: PayloadKind,
    ) -> Result<(), StoreError> {
        self.db
            .write_state(state_id, payload, kind)
            .await
            .map_err(failed("write state"))
    }

    async fn clear(&self, state_id: &str) -> Result<(), StoreError> {
        self.remove(state_id).await
    }

    async fn clear_all(&self) -> Result<u64, StoreError> {
        self.db
            .delete_all_states()
            .await
            .map_err(failed("clear every state"))
    }

    fn as_dyn(&self) -> &dyn StateStore {
        self
    }
}
