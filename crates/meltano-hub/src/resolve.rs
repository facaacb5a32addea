//! Finding the definition of a project plugin: the lookup every command uses.
//!
//! Order: the lock file (and then never the network), else a custom Hub the project configures
//! (`hub_url` / `hub_api_root`: the built-in index must not shadow it), else the built-in index,
//! else the public Hub.
//! A definition found in the built-in index or on the Hub is written to its lock file
//! (auto-lock), so the next lookup is local. The sources are pluggable so that tests and
//! offline runs can leave the Hub out.

use std::path::{Path, PathBuf};

use meltano_core::PluginType;

use crate::builtin::{BuiltinError, builtin_index};
use crate::client::{CacheMode, HubClient, HubError};
use crate::definition::PluginDefinition;
use crate::lock::{LockError, lock_path, read_lock, write_lock};
use crate::variants::{DEFAULT_VARIANT, FoundDefinition, ORIGINAL_VARIANT, UnknownPlugin};

/// Which sources a lookup may use besides lock files.
#[derive(Debug, Clone)]
pub struct Definitions {
    /// Consult the built-in index.
    pub builtin: bool,
    /// Consult this Hub; `None` means never touch the network.
    pub hub: Option<HubClient>,
    /// Write the lock file of a definition found in the built-in index or on the Hub.
    pub auto_lock: bool,
}

/// Where a definition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionSource {
    /// `plugins/<type>/<name>--<variant>.lock`.
    LockFile,
    /// The built-in index.
    Builtin,
    /// MeltanoHub.
    Hub,
}

/// A resolved definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The definition, `plugin_type` set.
    pub definition: PluginDefinition,
    /// Where it came from.
    pub source: DefinitionSource,
    /// The lock file it was read from or written to (`None` when auto-lock is off).
    pub lock_path: Option<PathBuf>,
    /// Whether an index names it as the default variant; unknown for lock files.
    pub is_default_variant: Option<bool>,
}

/// A definition that cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A lock file exists but cannot be read, or cannot be written.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The Hub could not answer.
    #[error(transparent)]
    Hub(HubError),
    /// No source knows the plugin or the variant.
    #[error(transparent)]
    Unknown(#[from] UnknownPlugin),
    /// The built-in index data is broken.
    #[error(transparent)]
    Builtin(#[from] BuiltinError),
}

impl From<HubError> for ResolveError {
    fn from(error: HubError) -> Self {
        match error {
            HubError::Unknown(unknown) => ResolveError::Unknown(unknown),
            other => ResolveError::Hub(other),
        }
    }
}

impl Definitions {
    /// Lock files and the built-in index only: never the network.
    pub fn offline() -> Self {
        Definitions {
            builtin: true,
            hub: None,
            auto_lock: true,
        }
    }

    /// Lock files, the built-in index, then `hub`.
    pub fn with_hub(hub: HubClient) -> Self {
        Definitions {
            builtin: true,
            hub: Some(hub),
            auto_lock: true,
        }
    }

    /// Lock files, then `hub` alone when it is a custom Hub the project configured, else the
    /// built-in index and then `hub`.
    pub fn for_project_hub(hub: HubClient, custom: bool) -> Self {
        Definitions {
            builtin: !custom,
            hub: Some(hub),
            auto_lock: true,
        }
    }

    /// The definition of a project plugin. `name` is the plugin's `inherit_from` name when it
    /// inherits from an index plugin; `variant` as written in meltano.yml.
    pub async fn resolve(
        &self,
        project_root: &Path,
        plugin_type: PluginType,
        name: &str,
        variant: Option<&str>,
    ) -> Result<Resolved, ResolveError> {
        let requested_lock = lock_path(project_root, plugin_type, name, concrete(variant));
        if requested_lock.exists() {
            return from_lock(requested_lock, plugin_type);
        }
        let mut builtin_miss = None;
        if self.builtin {
            match builtin_index()?.definition(plugin_type, name, variant) {
                Ok(found) => {
                    let path = lock_path(
                        project_root,
                        plugin_type,
                        name,
                        found.definition.variant.as_deref(),
                    );
                    if path.exists() {
                        return from_lock(path, plugin_type);
                    }
                    return self.locked(
                        project_root,
                        plugin_type,
                        name,
                        found,
                        DefinitionSource::Builtin,
                    );
                }
                Err(unknown) => builtin_miss = Some(unknown),
            }
        }
        match &self.hub {
            Some(hub) => {
                let found = hub
                    .definition(plugin_type, name, variant, CacheMode::Refresh)
                    .await?;
                self.locked(
                    project_root,
                    plugin_type,
                    name,
                    found,
                    DefinitionSource::Hub,
                )
            }
            None => Err(builtin_miss
                .unwrap_or_else(|| UnknownPlugin::Name {
                    plugin_type,
                    name: name.to_string(),
                })
                .into()),
        }
    }

    /// A fresh definition from the built-in index, else the Hub, ignoring lock files (for
    /// `meltano add` and `meltano lock --update`, which then write the lock file themselves).
    pub async fn fetch(
        &self,
        plugin_type: PluginType,
        name: &str,
        variant: Option<&str>,
    ) -> Result<(FoundDefinition, DefinitionSource), ResolveError> {
        let mut builtin_miss = None;
        if self.builtin {
            match builtin_index()?.definition(plugin_type, name, variant) {
                Ok(found) => return Ok((found, DefinitionSource::Builtin)),
                Err(unknown) => builtin_miss = Some(unknown),
            }
        }
        match &self.hub {
            Some(hub) => {
                let found = hub
                    .definition(plugin_type, name, variant, CacheMode::Refresh)
                    .await?;
                Ok((found, DefinitionSource::Hub))
            }
            None => Err(builtin_miss
                .unwrap_or_else(|| UnknownPlugin::Name {
                    plugin_type,
                    name: name.to_string(),
                })
                .into()),
        }
    }

    fn locked(
        &self,
        project_root: &Path,
        plugin_type: PluginType,
        name: &str,
        found: FoundDefinition,
        source: DefinitionSource,
    ) -> Result<Resolved, ResolveError> {
        let FoundDefinition {
            definition,
            is_default_variant,
        } = found;
        let mut definition = definition;
        definition.plugin_type = Some(plugin_type);
        let lock_path = if self.auto_lock {
            let path = lock_path(
                project_root,
                plugin_type,
                name,
                definition.variant.as_deref(),
            );
            write_lock(&path, &definition)?;
            Some(path)
        } else {
            None
        };
        Ok(Resolved {
            definition,
            source,
            lock_path,
            is_default_variant: Some(is_default_variant),
        })
    }
}

/// `default` and `original` name no lock file of their own.
fn concrete(variant: Option<&str>) -> Option<&str> {
    variant.filter(|v| *v != DEFAULT_VARIANT && *v != ORIGINAL_VARIANT)
}

fn from_lock(path: PathBuf, plugin_type: PluginType) -> Result<Resolved, ResolveError> {
    let mut definition = read_lock(&path)?;
    definition.plugin_type.get_or_insert(plugin_type);
    Ok(Resolved {
        definition,
        source: DefinitionSource::LockFile,
        lock_path: Some(path),
        is_default_variant: None,
    })
}
