//! The Meltano domain, with no IO: plugin types and names, versions, environment-variable names.
//!
//! Everything here is pure data and logic so that the CLI, the runner and the web UI share one
//! definition of each rule. It must not depend on tokio, databases or HTTP.

pub mod blocks;
pub mod catalog;
pub mod env_vars;
pub mod pickle;
pub mod plugin_type;
pub mod pyjson;
pub mod python;
pub mod schedule;
pub mod scheduler;
pub mod settings;
pub mod state;
pub mod suggest;
pub mod version;

pub use plugin_type::PluginType;
pub use version::{MELTANO_VERSION, Version, VersionSpecifiers};
