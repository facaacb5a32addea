//! The typed, read-only model of `meltano.yml` and the files its `include_paths` pull in.
//!
//! Every key of Meltano 4.4.1's JSON schema has a typed field; keys Meltano keeps without knowing
//! them (unknown top-level keys, plugin extras) are kept as JSON values so nothing is lost. The
//! model is for reading: writes go through [`ProjectFileMut`](crate::ProjectFileMut), which edits
//! the YAML text in place. [`load`] merges the included files and remembers which file each plugin,
//! environment, schedule and job came from; [`parse_str`] reads a single file. Errors name the
//! file, line, column and key path ([`ManifestError`]).

mod environment;
mod error;
mod load;
mod locate;
mod model;
mod plugin;
mod schedule;
mod setting;
mod value;

pub use environment::{Environment, EnvironmentConfig, EnvironmentPluginEntry};
pub use error::{Diagnostic, ManifestError};
pub use load::{EntryKey, LoadedManifest, load, parse_str};
pub use model::{
    AzureStateBackend, CliSettings, EltSettings, FeatureFlags, GcsStateBackend, Manifest,
    S3StateBackend, SnowplowSettings, StateBackendSettings, VenvSettings,
};
pub use plugin::{
    ByType, Command, CommandSpec, ContainerSpec, Mapping, PluginEntry, PluginRequirement, Plugins,
};
pub use schedule::{Job, Schedule, ScheduleTarget, Task, Tasks};
pub use setting::{
    OAuth, SettingDefinition, SettingKind, SettingOption, ValuePostProcessor, ValueProcessor,
};
pub use value::{Annotations, EnvMap, ValueMap};
