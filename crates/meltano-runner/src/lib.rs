//! Running plugins: finding their executable, handing them a private config file, the checks
//! `meltano config test` makes, and extract-load pipelines whose processes are joined by pipes
//! through a relay that counts records without parsing them.
//!
//! Callers resolve settings first (the settings resolver) and pass the finished config and
//! environment in; this crate only deals with processes and the files they need. It must not
//! render output.

pub mod config_file;
pub mod config_test;
pub mod discover;
pub mod executable;
pub mod logging_files;
pub mod pipeline;
pub mod process;
pub mod relay;
pub mod replace;

pub use config_file::ConfigFile;
pub use config_test::{TestOutcome, test_extractor, test_loader};
pub use executable::find_executable;
pub use process::PluginProcess;
