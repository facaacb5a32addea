//! Settings: definitions, environment-variable names, `$VAR` expansion, casting, display, and the
//! layered resolver that says which value wins and where it came from.

pub mod spec;

pub use spec::{Kind, SettingOption, SettingSpec};
