//! The key that decides whether a cached discovery result (`tap.properties.json`) is reused:
//! Meltano stores it in `tap.properties.cache_key` and rediscovers when it differs.

use serde_json::{Map, Value};

use super::sha1::sha1_hex;
use crate::settings::repr::py_json_dumps;

/// What the cache key depends on, resolved by the caller.
#[derive(Clone, Copy, Debug)]
pub struct CacheKeyInputs<'a> {
    /// The extractor's `pip_url`: absent (`None`) or editable (`-e …`) means never cache.
    pub pip_url: Option<&'a str>,
    /// A custom catalog (`catalog` extra, `el --catalog`) is used: nothing to cache.
    pub custom_catalog: bool,
    /// The plugin's config without extras, unprocessed (dotted names kept flat), in setting
    /// definition order.
    pub plugin_config: &'a Map<String, Value>,
    /// The `schema` extra as the settings service returns it (nested).
    pub schema_extra: &'a Value,
    /// The `metadata` extra as the settings service returns it (nested).
    pub metadata_extra: &'a Value,
}

/// `sha1(json.dumps({**config, "_schema": schema, "_metadata": metadata}))` in hex, or `None`
/// when Meltano does not cache. Select rules and filters are not part of it: they are reset by
/// `!*.*` on every run anyway.
pub fn catalog_cache_key(inputs: &CacheKeyInputs<'_>) -> Option<String> {
    let pip_url = inputs.pip_url?;
    if pip_url.starts_with("-e") || inputs.custom_catalog {
        return None;
    }
    let mut key = inputs.plugin_config.clone();
    key.insert("_schema".to_owned(), inputs.schema_extra.clone());
    key.insert("_metadata".to_owned(), inputs.metadata_extra.clone());
    Some(sha1_hex(py_json_dumps(&Value::Object(key)).as_bytes()))
}
