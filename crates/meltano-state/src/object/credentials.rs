//! Building the `object_store` client of each provider from Meltano's settings, the URI and the
//! provider's usual environment variables and files.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;

use super::client_options;
use crate::config::{BackendConfig, ParsedUri, redact_uri};
use crate::error::StoreError;

/// A client and what Meltano calls its backend.
pub(crate) struct Built {
    pub store: Arc<dyn ObjectStore>,
    pub label: &'static str,
    pub class: &'static str,
    pub secrets: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn build_failed(uri: &str) -> impl FnOnce(object_store::Error) -> StoreError + '_ {
    move |e| {
        StoreError::Config(format!(
            "The state backend {} is misconfigured: {e}",
            redact_uri(uri)
        ))
    }
}

fn no_bucket(config: &BackendConfig, what: &str) -> StoreError {
    StoreError::Config(format!(
        "The state backend URI '{}' names no {what}.",
        redact_uri(&config.uri)
    ))
}

/// `s3://[key:secret@]bucket/prefix`. Keys come from the settings, else the URI, else the
/// AWS environment (`AWS_ACCESS_KEY_ID`…, web identity, containers, instance metadata), else
/// the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, profile
/// `AWS_PROFILE` or `default`). The endpoint is `endpoint_url`, else `AWS_ENDPOINT_URL_S3` or
/// `AWS_ENDPOINT_URL`.
pub(crate) fn s3(config: &BackendConfig, parsed: &ParsedUri<'_>) -> Result<Built, StoreError> {
    if parsed.host.is_empty() {
        return Err(no_bucket(config, "bucket"));
    }
    let key_id = config
        .s3
        .aws_access_key_id
        .clone()
        .or_else(|| parsed.username.map(str::to_string));
    let secret = config
        .s3
        .aws_secret_access_key
        .clone()
        .or_else(|| parsed.password.map(str::to_string));
    let mut secrets = Vec::new();
    let mut builder = match (key_id, secret) {
        (Some(key_id), Some(secret)) => {
            secrets.extend([key_id.clone(), secret.clone()]);
            let mut builder = with_options(AmazonS3Builder::new())
                .with_access_key_id(key_id)
                .with_secret_access_key(secret);
            if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
                builder = builder.with_region(region);
            }
            builder
        }
        (None, Some(_)) => {
            return Err(StoreError::Config(
                "AWS secret access key configured, but not AWS access key ID.".to_string(),
            ));
        }
        (Some(_), None) => {
            return Err(StoreError::Config(
                "AWS access key ID configured, but no AWS secret access key.".to_string(),
            ));
        }
        (None, None) => {
            let mut builder = with_options(AmazonS3Builder::from_env());
            if env("AWS_ACCESS_KEY_ID").is_none()
                && env("AWS_WEB_IDENTITY_TOKEN_FILE").is_none()
                && env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none()
                && env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none()
                && let Some(profile) = shared_credentials()
            {
                secrets.push(profile.secret.clone());
                builder = builder
                    .with_access_key_id(profile.key_id)
                    .with_secret_access_key(profile.secret);
                if let Some(token) = profile.token {
                    secrets.push(token.clone());
                    builder = builder.with_token(token);
                }
            }
            if let Some(token) = env("AWS_SESSION_TOKEN") {
                secrets.push(token);
            }
            if let Some(secret) = env("AWS_SECRET_ACCESS_KEY") {
                secrets.push(secret);
            }
            builder
        }
    };
    let endpoint = config
        .s3
        .endpoint_url
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"));
    if let Some(endpoint) = endpoint {
        if endpoint.starts_with("http://") {
            builder = builder.with_allow_http(true);
        }
        builder = builder.with_endpoint(endpoint);
    }
    let store = builder
        .with_bucket_name(parsed.host)
        .build()
        .map_err(build_failed(&config.uri))?;
    Ok(Built {
        store: Arc::new(store),
        label: "AWS S3",
        class: "S3StateStoreManager",
        secrets,
    })
}

/// Timeouts and retries; set first, since `with_allow_http` later changes the same options.
fn with_options(builder: AmazonS3Builder) -> AmazonS3Builder {
    let (options, retry) = client_options();
    builder.with_client_options(options).with_retry(retry)
}

/// One profile of the AWS shared credentials file.
struct SharedCredentials {
    key_id: String,
    secret: String,
    token: Option<String>,
}

/// The profile `AWS_PROFILE` (or `default`) of `AWS_SHARED_CREDENTIALS_FILE` (or
/// `~/.aws/credentials`), if it has keys.
fn shared_credentials() -> Option<SharedCredentials> {
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|home| std::path::Path::new(&home).join(".aws/credentials")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let mut section = String::new();
    let (mut key_id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = Some(value.trim().to_string());
            match key.trim() {
                "aws_access_key_id" => key_id = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
    }
    Some(SharedCredentials {
        key_id: key_id?,
        secret: secret?,
        token,
    })
}

/// `gs://bucket/prefix`. Credentials: `application_credentials_json` or
/// `application_credentials_path` (or its deprecated name), never both; else
/// `GOOGLE_APPLICATION_CREDENTIALS` and the environment's defaults.
pub(crate) fn gcs(config: &BackendConfig, parsed: &ParsedUri<'_>) -> Result<Built, StoreError> {
    if parsed.host.is_empty() {
        return Err(no_bucket(config, "bucket"));
    }
    let path = config
        .gcs
        .application_credentials_path
        .clone()
        .or_else(|| config.gcs.application_credentials.clone());
    let json = config.gcs.application_credentials_json.clone();
    let (options, retry) = client_options();
    let mut builder = GoogleCloudStorageBuilder::from_env()
        .with_client_options(options)
        .with_retry(retry)
        .with_bucket_name(parsed.host);
    let mut secrets = Vec::new();
    match (path, json) {
        (Some(_), Some(_)) => {
            return Err(StoreError::Config(
                "Provide only one of 'application_credentials_path' or \
                 'application_credentials_json', not both."
                    .to_string(),
            ));
        }
        (None, Some(json)) => {
            let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| {
                StoreError::Config(format!(
                    "Invalid JSON in application_credentials_json (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
            if let Some(key) = value.get("private_key").and_then(|k| k.as_str()) {
                secrets.push(key.to_string());
            }
            builder = builder.with_service_account_key(json);
        }
        (Some(path), None) => builder = builder.with_service_account_path(path),
        (None, None) => {}
    }
    let store = builder.build().map_err(build_failed(&config.uri))?;
    Ok(Built {
        store: Arc::new(store),
        label: "Google Cloud Storage",
        class: "GCSStateStoreManager",
        secrets,
    })
}

/// `azure://container/prefix`. `storage_account_url` uses the environment's Azure identity;
/// else the connection string (setting, else `AZURE_STORAGE_CONNECTION_STRING`).
pub(crate) fn azure(config: &BackendConfig, parsed: &ParsedUri<'_>) -> Result<Built, StoreError> {
    if parsed.host.is_empty() {
        return Err(StoreError::Config(format!(
            "Azure state backend URI must include a container name: {}. Verify state backend \
             URI. Must be in the form of azure://<container>/<prefix>",
            redact_uri(&config.uri)
        )));
    }
    let (options, retry) = client_options();
    // Client options first: `with_allow_http` below changes them.
    let mut builder = MicrosoftAzureBuilder::from_env()
        .with_client_options(options)
        .with_retry(retry)
        .with_container_name(parsed.host);
    let mut secrets = Vec::new();
    if let Some(url) = &config.azure.storage_account_url {
        if url.starts_with("http://") {
            builder = builder.with_allow_http(true);
        }
        builder = builder.with_url(url.clone());
    } else if let Some(connection) = config
        .azure
        .connection_string
        .clone()
        .or_else(|| env("AZURE_STORAGE_CONNECTION_STRING"))
    {
        for (key, value) in connection
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
        {
            match key {
                "AccountName" => builder = builder.with_account(value),
                "AccountKey" => {
                    secrets.push(value.to_string());
                    builder = builder.with_access_key(value);
                }
                "BlobEndpoint" => {
                    if value.starts_with("http://") {
                        builder = builder.with_allow_http(true);
                    }
                    builder = builder.with_endpoint(value.trim_end_matches('/').to_string());
                }
                "SharedAccessSignature" => {
                    secrets.push(value.to_string());
                    let pairs: Vec<(String, String)> = value
                        .trim_start_matches('?')
                        .split('&')
                        .filter_map(|p| p.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    builder = builder.with_sas_authorization(pairs);
                }
                "UseDevelopmentStorage" if value.eq_ignore_ascii_case("true") => {
                    builder = builder.with_use_emulator(true);
                }
                _ => {}
            }
        }
    } else {
        return Err(StoreError::Config(
            "Azure state backend requires a connection string or an account URL to use host \
             credentials"
                .to_string(),
        ));
    }
    let store = builder.build().map_err(build_failed(&config.uri))?;
    Ok(Built {
        store: Arc::new(store),
        label: "Azure Blob Storage",
        class: "AZStorageStateStoreManager",
        secrets,
    })
}
