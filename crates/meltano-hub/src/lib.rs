//! Plugin definitions: where Meltano learns what a plugin is (its pip URL, executable,
//! capabilities and setting definitions).
//!
//! This crate owns:
//! - [`PluginDefinition`], one variant of a plugin, in the shape of a Hub definition and of a
//!   lock file, with Meltano's canonical lock-file serialisation;
//! - the built-in index ([`builtin_index`]): our own curated definitions of popular
//!   PyPI-installable plugins, so common plugins resolve with no network;
//! - the MeltanoHub API client ([`HubClient`]): indexes, definitions, the response cache;
//! - lock files `plugins/<type>/<name>--<variant>.lock` ([`lock_path`], [`read_lock`],
//!   [`write_lock`]);
//! - resolution ([`Definitions::resolve`]): lock file, else a configured custom Hub, else
//!   built-in index, else the public Hub, then auto-lock, so a locked project never needs the
//!   network.
//!
//! It must not install anything (that is `meltano-venv`) nor print: errors carry Meltano's
//! messages and callers decide how to show them.

pub mod builtin;
pub mod cache;
pub mod client;
pub mod definition;
pub mod lock;
pub mod resolve;
pub mod variants;

pub use builtin::{BuiltinError, BuiltinIndex, builtin_index};
pub use client::{CacheMode, DEFAULT_HUB_URL, HubClient, HubConfig, HubError};
pub use definition::{DefinitionError, PluginDefinition, Requirement, SettingJson};
pub use lock::{LockError, lock_path, read_lock, write_lock};
pub use resolve::{DefinitionSource, Definitions, ResolveError, Resolved};
pub use variants::{FoundDefinition, PluginVariants, UnknownPlugin, VariantEntry, VariantSource};
