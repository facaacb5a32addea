//! `state_backend.*`: which [`StateStore`] keeps incremental state, from the project's settings.
//!
//! `systemdb` (the default) is the system database the command already opened. Any other URI is
//! handed to `meltano-state`, which builds the client without contacting anything, so a command
//! that never reads state pays nothing for it. An unknown scheme is Meltano's error, never a
//! silent fallback to the system database.

use std::sync::Arc;
use std::time::Duration;

use meltano_core::settings::Resolved;
use meltano_db::SystemDb;
use meltano_state::{BackendConfig, DbStore, StateStore, StoreError};
use serde_json::Value;

use crate::error::{CliError, CliResult};
use crate::settings::{SettingsStores, Subject};

/// The project's state backend.
pub async fn open(stores: &SettingsStores<'_>) -> CliResult<Arc<dyn StateStore>> {
    let settings = stores.resolve(Subject::Project).await?;
    let config = config(&settings);
    open_config(&config, stores.db)
}

/// The backend of `config`: the system database `db` for `systemdb`.
pub fn open_config(config: &BackendConfig, db: &SystemDb) -> CliResult<Arc<dyn StateStore>> {
    if config.uri == "systemdb" {
        return Ok(Arc::new(DbStore::new(db.clone())));
    }
    meltano_state::open(config).map_err(store_error)
}

/// A backend's error as the CLI reports it (exit 1, Meltano's wording where it has one).
pub fn store_error(error: StoreError) -> CliError {
    CliError::Meltano(error.to_string())
}

/// The `state_backend.*` settings as a backend configuration.
pub fn config(settings: &[Resolved]) -> BackendConfig {
    let text = |name: &str| {
        settings
            .iter()
            .find(|r| r.spec.name == name)
            .and_then(|r| r.value.as_ref())
            .and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    let seconds = |name: &str, default: f64| {
        let value = text(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(default);
        Duration::from_secs_f64(value)
    };
    BackendConfig {
        uri: text("state_backend.uri").unwrap_or_else(|| "systemdb".to_string()),
        lock_timeout: seconds("state_backend.lock_timeout_seconds", 10.0),
        lock_retry: seconds("state_backend.lock_retry_seconds", 1.0),
        s3: meltano_state::S3Settings {
            aws_access_key_id: text("state_backend.s3.aws_access_key_id"),
            aws_secret_access_key: text("state_backend.s3.aws_secret_access_key"),
            endpoint_url: text("state_backend.s3.endpoint_url"),
        },
        gcs: meltano_state::GcsSettings {
            application_credentials: text("state_backend.gcs.application_credentials"),
            application_credentials_path: text("state_backend.gcs.application_credentials_path"),
            application_credentials_json: text("state_backend.gcs.application_credentials_json"),
        },
        azure: meltano_state::AzureSettings {
            connection_string: text("state_backend.azure.connection_string"),
            storage_account_url: text("state_backend.azure.storage_account_url"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_message() {
        let config = BackendConfig {
            uri: "s3://AKIAX:topsecret@/prefix".to_string(),
            ..BackendConfig::default()
        };
        let text = meltano_state::open(&config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(text.contains("'s3://*****@/prefix'"), "{text}");
        assert!(
            !text.contains("topsecret") && !text.contains("AKIAX"),
            "{text}"
        );
    }

    #[test]
    fn unknown_schemes_get_meltanos_message() {
        let config = BackendConfig {
            uri: "foo://x".to_string(),
            ..BackendConfig::default()
        };
        let text = meltano_state::open(&config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            text,
            "No state backend found for scheme 'foo', available backends are: systemdb, azure, \
             file, gs, s3. Install the add-on that provides it."
        );
    }
}
