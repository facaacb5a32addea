//! `s3://bucket/prefix`, `gs://bucket/prefix` and `azure://container/prefix`: Meltano's layout
//! in a bucket, `<prefix>/<state_id>/state.json`, through the `object_store` crate.
//!
//! Credentials are taken as Meltano takes them: the `state_backend.<provider>.*` settings, then
//! the URI's user-info (S3), then the provider's usual environment variables and files. They go
//! to the client only; messages show the URI without user-info and never a secret.
//!
//! Locks use conditional writes: `If-None-Match: *` (S3, Azure) or generation 0 (GCS) to create,
//! `If-Match: <etag>` / the generation to renew or to replace an expired lock.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use meltano_core::catalog::fnmatch::fnmatch;
use meltano_core::state::StateRecord;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, PutMode, PutOptions,
    PutPayload, PutResult, RetryConfig, UpdateVersion,
};

use crate::StateStore;
use crate::config::{BackendConfig, ParsedUri, redact_uri};
use crate::error::StoreError;
use crate::lock::{LockAttempt, LockToken, Token, is_fresh, lock_content, now_epoch, parse_lock};
use crate::record::{decode_record, encode_record};

mod credentials;

const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = "lock";

/// State in a bucket or container.
#[derive(Debug)]
pub struct ObjectStateStore {
    store: Arc<dyn ObjectStore>,
    /// The prefix without leading or trailing `/` (Meltano's `state_dir`).
    prefix: String,
    uri: String,
    label: &'static str,
    class: &'static str,
    /// Secrets given to the client, scrubbed from every message.
    secrets: Vec<String>,
    lock_timeout: Duration,
    lock_retry: Duration,
}

/// How long one request may take, and how often a failing one is retried: a store that does
/// not answer fails a command in seconds rather than object_store's default of minutes.
pub(crate) fn client_options() -> (ClientOptions, RetryConfig) {
    let options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(30));
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
    };
    (options, retry)
}

impl ObjectStateStore {
    /// The store of an `s3://`, `gs://` or `azure://` URI; contacts nothing yet.
    pub fn new(config: &BackendConfig) -> Result<ObjectStateStore, StoreError> {
        let parsed = ParsedUri::parse(&config.uri);
        let built = match parsed.scheme {
            "s3" => credentials::s3(config, &parsed)?,
            "gs" => credentials::gcs(config, &parsed)?,
            "azure" => credentials::azure(config, &parsed)?,
            other => return Err(StoreError::UnknownScheme(other.to_string())),
        };
        Ok(ObjectStateStore {
            store: built.store,
            prefix: parsed.path.trim_matches('/').to_string(),
            uri: redact_uri(&config.uri),
            label: built.label,
            class: built.class,
            secrets: built.secrets,
            lock_timeout: config.lock_timeout,
            lock_retry: config.lock_retry,
        })
    }

    /// `<prefix>/<state_id>/<file>`, joined as Meltano joins it.
    fn key(&self, state_id: &str, file: &str) -> Result<Path, StoreError> {
        let key = [self.prefix.as_str(), state_id, file]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        Path::parse(&key).map_err(|e| {
            StoreError::Config(format!(
                "The state ID '{state_id}' cannot be stored in {}: {e}",
                self.uri
            ))
        })
    }

    fn failed(&self, action: String) -> impl FnOnce(object_store::Error) -> StoreError + '_ {
        move |e| match e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StoreError::Refused {
                action,
                backend: self.uri.clone(),
                message: self.scrub(&e.to_string()),
            },
            e => StoreError::Unavailable {
                action,
                backend: self.uri.clone(),
                message: self.scrub(&e.to_string()),
            },
        }
    }

    fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .filter(|s| s.len() >= 4)
            .fold(text.to_string(), |text, secret| {
                text.replace(secret.as_str(), "*****")
            })
    }

    fn json_options(mode: PutMode) -> PutOptions {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, "application/json".into());
        PutOptions {
            mode,
            attributes,
            ..PutOptions::default()
        }
    }

    async fn put_lock(&self, key: &Path, mode: PutMode) -> object_store::Result<PutResult> {
        let content = PutPayload::from(lock_content(now_epoch()));
        self.store
            .put_opts(
                key,
                content,
                PutOptions {
                    mode,
                    ..PutOptions::default()
                },
            )
            .await
    }
}

impl ObjectStateStore {
    /// Meltano's upgrade of the bucket layout (meltano#7938): states that an old release wrote
    /// under a doubled prefix, `<prefix>/<prefix>/<state_id>/state.json`, are copied to
    /// `<prefix>/<state_id>/state.json`. Unlike Meltano, a state already at the right place is
    /// not overwritten (it is newer). Returns the state IDs copied.
    pub async fn migrate_layout(&self) -> Result<Vec<String>, StoreError> {
        if self.prefix.is_empty() {
            return Ok(Vec::new());
        }
        let doubled = format!("{0}/{0}", self.prefix);
        let under = Path::parse(&doubled)
            .map_err(|e| StoreError::Config(format!("Bad prefix in {}: {e}", self.uri)))?;
        let objects: Vec<_> = self
            .store
            .list(Some(&under))
            .try_collect()
            .await
            .map_err(self.failed("list states to migrate".to_string()))?;
        let mut copied = Vec::new();
        for meta in objects {
            let key = meta.location.as_ref();
            let Some(rest) = key.strip_prefix(&format!("{doubled}/")) else {
                continue;
            };
            let Some(state_id) = rest.strip_suffix(&format!("/{STATE_FILE}")) else {
                continue;
            };
            if state_id.contains('/') {
                continue;
            }
            let target = self.key(state_id, STATE_FILE)?;
            let action = || format!("migrate the state of '{state_id}'");
            match self.store.copy_if_not_exists(&meta.location, &target).await {
                Ok(()) => copied.push(state_id.to_string()),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(object_store::Error::NotSupported { .. })
                | Err(object_store::Error::NotImplemented) => {
                    match self.store.head(&target).await {
                        Ok(_) => {}
                        Err(object_store::Error::NotFound { .. }) => {
                            self.store
                                .copy(&meta.location, &target)
                                .await
                                .map_err(self.failed(action()))?;
                            copied.push(state_id.to_string());
                        }
                        Err(e) => return Err(self.failed(action())(e)),
                    }
                }
                Err(e) => return Err(self.failed(action())(e)),
            }
        }
        Ok(copied)
    }
}

fn token(result: PutResult) -> LockToken {
    LockToken(Token::Object {
        e_tag: result.e_tag,
        version: result.version,
    })
}

#[async_trait::async_trait]
impl StateStore for ObjectStateStore {
    fn label(&self) -> &'static str {
        self.label
    }

    fn announcement(&self) -> String {
        format!("Using {} add-on state backend", self.class)
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
        let prefix = (!self.prefix.is_empty())
            .then(|| Path::parse(&self.prefix))
            .transpose()
            .map_err(|e| StoreError::Config(format!("Bad prefix in {}: {e}", self.uri)))?;
        let objects: Vec<_> = self
            .store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(self.failed("list state IDs".to_string()))?;
        let mut ids: Vec<String> = objects
            .iter()
            .filter_map(|meta| {
                let key = meta.location.as_ref();
                let (rest, file) = key.rsplit_once('/')?;
                let id = rest.rsplit('/').next()?;
                (file == STATE_FILE && pattern.is_none_or(|p| fnmatch(id, p)))
                    .then(|| id.to_string())
            })
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn get(&self, state_id: &str) -> Result<Option<StateRecord>, StoreError> {
        let key = self.key(state_id, STATE_FILE)?;
        let action = || format!("read the state of '{state_id}'");
        let bytes = match self.store.get(&key).await {
            Ok(result) => result.bytes().await.map_err(self.failed(action()))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.failed(action())(e)),
        };
        decode_record(&bytes)
            .map(Some)
            .map_err(|message| StoreError::Corrupt {
                state_id: state_id.to_string(),
                backend: self.uri.clone(),
                location: key.to_string(),
                message,
            })
    }

    async fn put(&self, state_id: &str, record: &StateRecord) -> Result<(), StoreError> {
        let key = self.key(state_id, STATE_FILE)?;
        self.store
            .put_opts(
                &key,
                PutPayload::from(encode_record(record)),
                Self::json_options(PutMode::Overwrite),
            )
            .await
            .map(|_| ())
            .map_err(self.failed(format!("write the state of '{state_id}'")))
    }

    async fn remove(&self, state_id: &str) -> Result<(), StoreError> {
        let key = self.key(state_id, STATE_FILE)?;
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(format!("clear the state of '{state_id}'"))(e)),
        }
    }

    async fn try_lock(&self, state_id: &str) -> Result<LockAttempt, StoreError> {
        let key = self.key(state_id, LOCK_FILE)?;
        let action = || format!("lock the state of '{state_id}'");
        for _ in 0..10 {
            match self.put_lock(&key, PutMode::Create).await {
                Ok(result) => return Ok(LockAttempt::Acquired(token(result))),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => {}
                Err(e) => return Err(self.failed(action())(e)),
            }
            let found = match self.store.get(&key).await {
                Ok(found) => found,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(self.failed(action())(e)),
            };
            let version = UpdateVersion {
                e_tag: found.meta.e_tag.clone(),
                version: found.meta.version.clone(),
            };
            let text = match found.bytes().await {
                Ok(text) => text,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(self.failed(action())(e)),
            };
            if let Some(since) =
                parse_lock(&text).filter(|s| is_fresh(*s, now_epoch(), self.lock_timeout))
            {
                return Ok(LockAttempt::Held { since });
            }
            // Expired: replace exactly the version found expired, or lose to whoever did.
            match self.put_lock(&key, PutMode::Update(version)).await {
                Ok(result) => return Ok(LockAttempt::Acquired(token(result))),
                Err(object_store::Error::Precondition { .. })
                | Err(object_store::Error::NotFound { .. })
                | Err(object_store::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(self.failed(action())(e)),
            }
        }
        Ok(LockAttempt::Held { since: now_epoch() })
    }

    async fn force_lock(&self, state_id: &str) -> Result<LockToken, StoreError> {
        let key = self.key(state_id, LOCK_FILE)?;
        self.put_lock(&key, PutMode::Overwrite)
            .await
            .map(token)
            .map_err(self.failed(format!("lock the state of '{state_id}'")))
    }

    async fn renew_lock(&self, state_id: &str, held: &LockToken) -> Result<LockToken, StoreError> {
        let key = self.key(state_id, LOCK_FILE)?;
        let Token::Object { e_tag, version } = &held.0 else {
            return Ok(held.clone());
        };
        let expected = UpdateVersion {
            e_tag: e_tag.clone(),
            version: version.clone(),
        };
        match self.put_lock(&key, PutMode::Update(expected)).await {
            Ok(result) => Ok(token(result)),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotFound { .. }) => Err(StoreError::LockLost {
                state_id: state_id.to_string(),
                backend: self.uri.clone(),
            }),
            Err(e) => Err(self.failed(format!("renew the lock of '{state_id}'"))(e)),
        }
    }

    async fn unlock(&self, state_id: &str, held: LockToken) -> Result<(), StoreError> {
        let key = self.key(state_id, LOCK_FILE)?;
        let Token::Object { e_tag, .. } = held.0 else {
            return Ok(());
        };
        let action = || format!("unlock the state of '{state_id}'");
        match self.store.head(&key).await {
            Ok(meta) if meta.e_tag == e_tag => match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.failed(action())(e)),
            },
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(action())(e)),
        }
    }

    fn as_dyn(&self) -> &dyn StateStore {
        self
    }
}
