//! What can go wrong with a state backend, worded for the user: every message names the
//! backend (its URI without credentials) and, where there is one, the state ID.

/// An error of a state backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `state_backend.uri` has a scheme no backend handles (Meltano's message).
    #[error(
        "No state backend found for scheme '{0}', available backends are: systemdb, azure, file, \
         gs, s3. Install the add-on that provides it."
    )]
    UnknownScheme(String),
    /// The backend's settings are incomplete or contradictory.
    #[error("{0}")]
    Config(String),
    /// The store could not be reached or refused a request.
    #[error("Could not {action} in the state backend {backend}: {message}")]
    Unavailable {
        /// What we were doing (`read the state of 'x'`).
        action: String,
        /// The backend's redacted URI.
        backend: String,
        /// The cause, without credentials.
        message: String,
    },
    /// The store refused our credentials or permissions: retrying will not help.
    #[error("The state backend {backend} refused to {action}: {message}")]
    Refused {
        action: String,
        backend: String,
        message: String,
    },
    /// A stored object is not Meltano's JSON.
    #[error("The state of '{state_id}' in {backend} is not valid JSON ({location}): {message}")]
    Corrupt {
        state_id: String,
        backend: String,
        location: String,
        message: String,
    },
    /// Another process holds the state ID's lock and keeps renewing it.
    #[error(
        "The state ID '{state_id}' is locked in {backend}: another process (a run of the same \
         pipeline, maybe on another machine) took or renewed the lock at {since} and it expires \
         at {expires} unless renewed."
    )]
    Locked {
        state_id: String,
        backend: String,
        /// When the lock was taken or last renewed (UTC).
        since: String,
        /// When it expires unless renewed (UTC).
        expires: String,
    },
    /// Our lock was taken over by another process (it expired before we renewed it).
    #[error(
        "The lock on the state ID '{state_id}' in {backend} was taken over by another process: \
         it expired before it could be renewed."
    )]
    LockLost { state_id: String, backend: String },
}

impl StoreError {
    /// Whether retrying the same request later may succeed (the store was unreachable, slow or
    /// failing), as opposed to a refusal that will not change.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
