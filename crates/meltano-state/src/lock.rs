//! Locks on a state ID that hold across machines.
//!
//! A lock is the object `<state_id>/lock` holding the epoch seconds (UTC) of its last renewal,
//! which is exactly what Meltano 4.4.1 writes, so Meltano waits while we hold one. Unlike
//! Meltano's check-then-write, a lock is taken only by an atomic create-if-absent, and an expired
//! lock (not renewed for `lock_timeout_seconds`) is replaced only by a write conditional on the
//! version that was found expired: of two processes racing for a lock, exactly one gets it.
//!
//! A pipeline holds its lock for the whole run ([`HeldLock`]) and a background task renews it
//! every third of the timeout, so a holder that dies (even by SIGKILL) blocks others only until
//! its lock expires. Edits (`meltano state set`, …) take the lock around one read-modify-write
//! ([`acquire_for_edit`]), waiting like Meltano while another holder has it, but giving up with
//! [`StoreError::Locked`] once a holder has kept it alive for longer than the timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use meltano_core::settings::repr::py_float_repr;

use crate::StateStore;
use crate::error::StoreError;

/// The outcome of one attempt to take a lock.
#[derive(Debug)]
pub enum LockAttempt {
    /// The lock is ours until released or expired.
    Acquired(LockToken),
    /// Someone else holds it; `since` is when it was taken or last renewed (epoch seconds).
    Held { since: f64 },
}

/// Proof of holding a lock, needed to renew and release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockToken(pub(crate) Token);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// The system database needs no lock object (its transactions serialise writers).
    Free,
    /// The lock file we created: its inode and content (the time we wrote), both changed by every
    /// renewal; the content tells our file from a later one that reuses a freed inode.
    File { inode: u64, stamp: String },
    /// The version of the lock object we wrote.
    Object {
        e_tag: Option<String>,
        version: Option<String>,
    },
}

impl LockToken {
    pub(crate) fn free() -> LockToken {
        LockToken(Token::Free)
    }
}

/// Now, in epoch seconds.
pub fn now_epoch() -> f64 {
    let now = chrono::Utc::now();
    now.timestamp() as f64 + f64::from(now.timestamp_subsec_micros()) / 1e6
}

/// What a lock object holds: Python's `str(datetime.now(timezone.utc).timestamp())`.
pub(crate) fn lock_content(at: f64) -> String {
    py_float_repr(at)
}

/// The time in a lock object; `None` when it holds something else (taken for expired).
pub(crate) fn parse_lock(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// Whether a lock renewed at `since` is still alive at `now`.
pub(crate) fn is_fresh(since: f64, now: f64, timeout: Duration) -> bool {
    now - since < timeout.as_secs_f64()
}

/// The error for a lock someone else keeps alive.
pub(crate) fn locked(store: &dyn StateStore, state_id: &str, since: f64) -> StoreError {
    let stamp = |t: f64| {
        chrono::DateTime::from_timestamp_micros((t * 1e6) as i64)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| py_float_repr(t))
    };
    StoreError::Locked {
        state_id: state_id.to_string(),
        backend: store.display_uri(),
        since: stamp(since),
        expires: stamp(since + store.lock_timeout().as_secs_f64()),
    }
}

/// Takes the lock for a short edit: retries every `lock_retry_seconds` while another process
/// holds it, and gives up once that holder has kept it alive past `lock_timeout_seconds` (a
/// holder that died would have let it expire by then).
pub async fn acquire_for_edit(
    store: &dyn StateStore,
    state_id: &str,
) -> Result<LockToken, StoreError> {
    let started = now_epoch();
    let patience = store.lock_timeout().as_secs_f64() + store.lock_retry().as_secs_f64();
    loop {
        match store.try_lock(state_id).await? {
            LockAttempt::Acquired(token) => return Ok(token),
            LockAttempt::Held { since } => {
                if now_epoch() - started > patience {
                    return Err(locked(store, state_id, since));
                }
                tokio::time::sleep(store.lock_retry().max(Duration::from_millis(50))).await;
            }
        }
    }
}

/// A lock held for a whole run and renewed in the background until [`HeldLock::release`].
pub struct HeldLock {
    store: Arc<dyn StateStore>,
    state_id: String,
    token: Arc<Mutex<Option<LockToken>>>,
    lost: Arc<Mutex<Option<String>>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl HeldLock {
    /// Takes the lock of `state_id` or fails at once with [`StoreError::Locked`] when another
    /// process holds it. With `force` a held lock is taken over anyway. Must run inside a tokio
    /// runtime, which then renews the lock.
    pub async fn acquire(
        store: Arc<dyn StateStore>,
        state_id: &str,
        force: bool,
    ) -> Result<HeldLock, StoreError> {
        let token = match store.try_lock(state_id).await? {
            LockAttempt::Acquired(token) => token,
            LockAttempt::Held { .. } if force => store.force_lock(state_id).await?,
            LockAttempt::Held { since } => return Err(locked(store.as_ref(), state_id, since)),
        };
        let token = Arc::new(Mutex::new(Some(token)));
        let lost = Arc::new(Mutex::new(None));
        let period = (store.lock_timeout() / 3).max(Duration::from_millis(100));
        let renewer = tokio::spawn(renew(
            store.clone(),
            state_id.to_string(),
            token.clone(),
            lost.clone(),
            period,
        ));
        Ok(HeldLock {
            store,
            state_id: state_id.to_string(),
            token,
            lost,
            renewer,
        })
    }

    /// Why the lock is no longer ours, if it was taken over.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// Stops renewing and deletes the lock (unless it was taken over meanwhile).
    pub async fn release(self) -> Result<(), StoreError> {
        self.renewer.abort();
        let _ = self.renewer.await;
        let token = self.token.lock().ok().and_then(|mut t| t.take());
        match token {
            Some(token) => self.store.unlock(&self.state_id, token).await,
            None => Ok(()),
        }
    }
}

async fn renew(
    store: Arc<dyn StateStore>,
    state_id: String,
    token: Arc<Mutex<Option<LockToken>>>,
    lost: Arc<Mutex<Option<String>>>,
    period: Duration,
) {
    loop {
        tokio::time::sleep(period).await;
        let Some(current) = token.lock().ok().and_then(|t| t.clone()) else {
            return;
        };
        match store.renew_lock(&state_id, &current).await {
            Ok(next) => {
                if let Ok(mut slot) = token.lock() {
                    *slot = Some(next);
                }
            }
            Err(e @ StoreError::LockLost { .. }) => {
                if let Ok(mut slot) = lost.lock() {
                    *slot = Some(e.to_string());
                }
                if let Ok(mut slot) = token.lock() {
                    *slot = None;
                }
                return;
            }
            // Unreachable for now: try again next period, while the lock has not expired.
            Err(_) => {}
        }
    }
}
