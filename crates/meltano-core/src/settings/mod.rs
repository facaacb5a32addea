//! Settings: definitions, environment-variable names, `$VAR` expansion, casting, display, and the
//! layered resolver that says which value wins and where it came from.

pub mod cast;
pub mod date;
pub mod env_names;
pub mod expand;
pub mod extras;
pub mod nest;
pub mod project;
pub mod repr;
pub mod resolve;
pub mod spec;

pub use resolve::{Layers, ResolveError, Resolved, Source};
pub use spec::{Kind, SettingOption, SettingSpec};
