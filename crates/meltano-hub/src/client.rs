//! The MeltanoHub API client: plugin indexes and single-variant definitions.
//!
//! Behaves like Meltano 4.4.1's Hub service: the same headers, a 10 s timeout per attempt, three
//! retries on connection errors and 429/500/502/503/504, and the same error messages. Responses
//! are always cached; the cache is read only when the caller asks ([`CacheMode::PreferCache`]).

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use meltano_core::{MELTANO_VERSION, PluginType};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde::Deserialize;

use crate::cache;
use crate::definition::PluginDefinition;
use crate::variants::{
    FoundDefinition, PluginVariants, UnknownPlugin, VariantEntry, VariantSource, capitalize,
    python_list,
};

/// The public Hub, Meltano's default `hub_url`.
pub const DEFAULT_HUB_URL: &str = "https://hub.meltano.com";

/// How long one attempt may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Retries after the first attempt.
pub const RETRIES: u32 = 3;

/// Where the client connects and what it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct HubConfig {
    /// The API root, e.g. `https://hub.meltano.com/meltano/api/v1`.
    pub api_root: String,
    /// The `hub_url_auth` setting, sent verbatim as `Authorization`.
    pub auth: Option<String>,
    /// The command path sent as `X-Meltano-Command` (e.g. `meltano add`).
    pub command: Option<String>,
    /// Sent as `X-Project-ID`; set it only when anonymous usage stats are enabled.
    pub project_id: Option<String>,
    /// Meltano's user cache directory; responses go to `<cache_dir>/hub/`. `None` disables caching.
    pub cache_dir: Option<PathBuf>,
    /// Timeout of each attempt.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
}

impl HubConfig {
    /// The API root from the `hub_api_root` setting, else `<hub_url>/meltano/api/v1`.
    pub fn new(hub_url: &str, hub_api_root: Option<&str>) -> Self {
        let api_root = match hub_api_root.filter(|r| !r.is_empty()) {
            Some(root) => root.to_string(),
            None => format!("{hub_url}/meltano/api/v1"),
        };
        HubConfig {
            api_root,
            auth: None,
            command: None,
            project_id: None,
            cache_dir: cache::default_cache_dir(),
            timeout: REQUEST_TIMEOUT,
            retries: RETRIES,
        }
    }
}

/// Whether a response may come from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Always fetch (plugin resolution: `add`, `lock`, auto-lock). The response is still cached.
    Refresh,
    /// Use a cached response younger than an hour (`hub list` without `--refresh`).
    PreferCache,
}

/// A failed Hub request.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The Hub could not be reached.
    #[error("Could not connect to Meltano Hub at {url}{}.", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Connection {
        /// The URL requested.
        url: String,
        /// The underlying cause, e.g. `[Errno 111] Connection refused`.
        cause: Option<String>,
    },
    /// The Hub answered with an error status.
    #[error("{reason} ({status}): can not retrieve {what}.")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// What was asked for: `plugin` or `plugins of type '<type>'`.
        what: String,
    },
    /// The Hub wants credentials and `hub_url_auth` is not set.
    #[error("{}. Run 'meltano cloud auth login' to log in or register for Meltano Cloud.", detail.as_deref().unwrap_or("Meltano Hub requires authentication"))]
    AuthRequired {
        /// The Hub's own message, when it sent one.
        detail: Option<String>,
    },
    /// The index of the plugin type does not exist (404).
    #[error("{} is not supported in Meltano Hub. Available plugin types: {}.", capitalize(.0.descriptor()), python_list(&PluginType::ALL.map(|t| t.plural().to_string())))]
    TypeNotSupported(PluginType),
    /// The Hub answered with something that is not an index or a definition.
    #[error("Meltano Hub sent an invalid response from {url}: {cause}.")]
    InvalidResponse {
        /// The URL requested.
        url: String,
        /// What is wrong with it.
        cause: String,
    },
    /// The plugin or its variant is not in the index.
    #[error(transparent)]
    Unknown(#[from] UnknownPlugin),
    /// The configuration cannot be turned into a client (e.g. a header with a newline).
    #[error("Could not set up the Meltano Hub client: {0}.")]
    Setup(String),
}

/// A client of one Hub API root.
#[derive(Debug, Clone)]
pub struct HubClient {
    http: reqwest::Client,
    config: HubConfig,
}

impl HubClient {
    /// Builds a client; the headers of every request are fixed here.
    pub fn new(config: HubConfig) -> Result<Self, HubError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, header(&format!("Meltano/{MELTANO_VERSION}"))?);
        if let Some(command) = &config.command {
            headers.insert(
                HeaderName::from_static("x-meltano-command"),
                header(command)?,
            );
        }
        if let Some(id) = &config.project_id {
            headers.insert(HeaderName::from_static("x-project-id"), header(id)?);
        }
        if let Some(auth) = config.auth.as_deref().filter(|a| !a.is_empty()) {
            let mut value = header(auth)?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .build()
            .map_err(|e| HubError::Setup(e.to_string()))?;
        Ok(HubClient { http, config })
    }

    /// The API root requests go to.
    pub fn api_root(&self) -> &str {
        &self.config.api_root
    }

    /// The index URL of a plugin type: `<api root>/plugins/<type>/index`.
    pub fn index_url(&self, plugin_type: PluginType) -> String {
        format!(
            "{}/plugins/{}/index",
            self.config.api_root,
            plugin_type.plural()
        )
    }

    /// Checks the Hub answers, by fetching the (small) orchestrators index.
    pub async fn ping(&self) -> Result<(), HubError> {
        self.index(PluginType::Orchestrators, CacheMode::Refresh)
            .await
            .map(drop)
    }

    /// The plugins of a type, in index order. Mappings are not on the Hub: empty, no request.
    pub async fn index(
        &self,
        plugin_type: PluginType,
        cache: CacheMode,
    ) -> Result<Vec<PluginVariants>, HubError> {
        if plugin_type == PluginType::Mappings {
            return Ok(Vec::new());
        }
        let url = self.index_url(plugin_type);
        let body = match self.cached(&url, cache) {
            Some(body) => body,
            None => {
                let (status, body) = self.get(&url).await?;
                if status == StatusCode::NOT_FOUND {
                    return Err(HubError::TypeNotSupported(plugin_type));
                }
                let what = format!("plugins of type '{}'", plugin_type.singular());
                self.check_status(status, &body, what)?;
                self.store(&url, &body);
                body
            }
        };
        parse_index(plugin_type, &url, &body)
    }

    /// The definition of one variant (`None`, `default` and `original` mean the default
    /// variant), found through the index and fetched from its `ref` URL.
    pub async fn definition(
        &self,
        plugin_type: PluginType,
        name: &str,
        variant: Option<&str>,
        cache: CacheMode,
    ) -> Result<FoundDefinition, HubError> {
        let index = self.index(plugin_type, cache).await?;
        let entry = index
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| UnknownPlugin::Name {
                plugin_type,
                name: name.to_string(),
            })?;
        let chosen = entry.find_variant(variant)?;
        let is_default_variant = entry.is_default(&chosen.name);
        let url = match &chosen.source {
            VariantSource::Ref(url) => url.clone(),
            VariantSource::Definition(definition) => {
                return Ok(FoundDefinition {
                    definition: (**definition).clone(),
                    is_default_variant,
                });
            }
        };
        let body = match self.cached(&url, cache) {
            Some(body) => body,
            None => {
                let (status, body) = self.get(&url).await?;
                self.check_status(status, &body, "plugin".into())?;
                self.store(&url, &body);
                body
            }
        };
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| invalid(&url, e))?;
        let mut definition = PluginDefinition::from_value(value).map_err(|e| invalid(&url, e))?;
        definition.plugin_type = Some(plugin_type);
        Ok(FoundDefinition {
            definition,
            is_default_variant,
        })
    }

    fn cached(&self, url: &str, cache: CacheMode) -> Option<Vec<u8>> {
        match (cache, &self.config.cache_dir) {
            (CacheMode::PreferCache, Some(dir)) => cache::read_fresh(&cache::cache_path(dir, url)),
            _ => None,
        }
    }

    fn store(&self, url: &str, body: &[u8]) {
        if let Some(dir) = &self.config.cache_dir {
            cache::write(&cache::cache_path(dir, url), body);
        }
    }

    /// 401 without `hub_url_auth` asks for a login; any other status from 400 up is an error.
    fn check_status(&self, status: StatusCode, body: &[u8], what: String) -> Result<(), HubError> {
        if status == StatusCode::UNAUTHORIZED
            && self.config.auth.as_deref().is_none_or(str::is_empty)
        {
            return Err(HubError::AuthRequired {
                detail: rejection_detail(body),
            });
        }
        if status.as_u16() >= 400 {
            return Err(HubError::Status {
                status: status.as_u16(),
                reason: status
                    .canonical_reason()
                    .unwrap_or("Unknown reason")
                    .to_string(),
                what,
            });
        }
        Ok(())
    }

    /// GET with retries; the last response is returned even when its status was retryable.
    async fn get(&self, url: &str) -> Result<(StatusCode, Vec<u8>), HubError> {
        let mut attempt = 0;
        loop {
            let last = attempt >= self.config.retries;
            attempt += 1;
            let response = match self.http.get(url).send().await {
                Ok(response) => response,
                Err(e) if last => {
                    return Err(HubError::Connection {
                        url: url.to_string(),
                        cause: connection_cause(&e, self.config.timeout),
                    });
                }
                Err(_) => continue,
            };
            let status = response.status();
            if is_retryable(status) && !last {
                if let Some(wait) = retry_after(&response, self.config.timeout) {
                    tokio::time::sleep(wait).await;
                }
                continue;
            }
            match response.bytes().await {
                Ok(body) => return Ok((status, body.to_vec())),
                Err(e) if last => {
                    return Err(HubError::Connection {
                        url: url.to_string(),
                        cause: connection_cause(&e, self.config.timeout),
                    });
                }
                Err(_) => continue,
            }
        }
    }
}

#[derive(Deserialize)]
struct IndexEntryJson {
    #[serde(default)]
    logo_url: Option<String>,
    #[serde(default)]
    default_variant: Option<String>,
    #[serde(default)]
    variants: IndexMap<String, VariantRefJson>,
}

#[derive(Deserialize)]
struct VariantRefJson {
    #[serde(rename = "ref")]
    reference: String,
}

fn parse_index(
    plugin_type: PluginType,
    url: &str,
    body: &[u8],
) -> Result<Vec<PluginVariants>, HubError> {
    let index: IndexMap<String, IndexEntryJson> =
        serde_json::from_slice(body).map_err(|e| invalid(url, e))?;
    Ok(index
        .into_iter()
        .map(|(name, entry)| {
            let variants: Vec<VariantEntry> = entry
                .variants
                .into_iter()
                .map(|(name, v)| VariantEntry {
                    name,
                    source: VariantSource::Ref(v.reference),
                })
                .collect();
            let default_variant = entry
                .default_variant
                .or_else(|| variants.first().map(|v| v.name.clone()))
                .unwrap_or_default();
            PluginVariants {
                plugin_type,
                name,
                logo_url: entry.logo_url,
                default_variant,
                variants,
            }
        })
        .collect())
}

fn header(value: &str) -> Result<HeaderValue, HubError> {
    HeaderValue::from_str(value).map_err(|e| HubError::Setup(format!("invalid header value: {e}")))
}

fn invalid(url: &str, cause: impl std::fmt::Display) -> HubError {
    HubError::InvalidResponse {
        url: url.to_string(),
        cause: cause.to_string(),
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (429/503), capped at the request timeout.
fn retry_after(response: &reqwest::Response, cap: Duration) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(cap))
}

/// The Hub's own explanation of a rejection (`{"message": ...}`), without its final full stop.
fn rejection_detail(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value.get("message")?.as_str()?.trim();
    let message = message.strip_suffix('.').unwrap_or(message);
    (!message.is_empty()).then(|| message.to_string())
}

/// The innermost cause of a failed request, worded like Python's (`[Errno 111] Connection refused`).
fn connection_cause(error: &reqwest::Error, timeout: Duration) -> Option<String> {
    if error.is_timeout() {
        return Some(format!("timed out after {} seconds", timeout.as_secs()));
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut innermost: Option<String> = None;
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(code) = io.raw_os_error() {
                let text = io.to_string();
                let suffix = format!(" (os error {code})");
                let text = text.strip_suffix(&suffix).unwrap_or(&text);
                return Some(format!("[Errno {code}] {text}"));
            }
            let text = io.to_string();
            let text = text
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&text);
            innermost = Some(text.to_string());
        } else {
            innermost = Some(err.to_string());
        }
        source = err.source();
    }
    innermost
}
