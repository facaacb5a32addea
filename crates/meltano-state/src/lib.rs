//! Where Singer state lives: the [`StateStore`] trait and its backends, chosen by Meltano's
//! `state_backend.uri` setting.
//!
//! - `systemdb` ([`DbStore`]): the `state` table of the system database (`meltano-db`).
//! - `file:///dir` ([`FileStore`]) and `s3://`, `gs://`, `azure://` ([`ObjectStateStore`], over
//!   the `object_store` crate): Meltano's layout, `<dir or prefix>/<state_id>/state.json`
//!   holding `{"completed": …, "partial": …}` as Python's `json.dumps` writes it, so the same
//!   directory or bucket works with Meltano 4.4.1 and with us.
//!
//! Locks ([`lock`]) are a `<state_id>/lock` object holding the epoch seconds of its last renewal,
//! as Meltano writes it (so Meltano waits for ours), but taken with an atomic create-if-absent
//! (`O_EXCL`, conditional puts) and replaced only through a conditional write once expired, so
//! two machines can never both hold one. A pipeline holds its state ID's lock for the whole run
//! and renews it; edits take it briefly.
//!
//! This crate knows nothing of meltano.yml: the binary resolves the `state_backend.*` settings
//! and hands them over as a [`BackendConfig`]. It never prints; errors carry the backend's URI
//! with credentials removed ([`redact_uri`]).

mod config;
mod db;
mod error;
mod file;
pub mod lock;
mod object;
mod record;
mod store;

pub use config::{AzureSettings, BackendConfig, GcsSettings, S3Settings, redact_uri};
pub use db::DbStore;
pub use error::StoreError;
pub use file::FileStore;
pub use lock::{LockAttempt, LockToken};
pub use object::ObjectStateStore;
pub use record::{decode_record, encode_record};
pub use store::{StateStore, open};
