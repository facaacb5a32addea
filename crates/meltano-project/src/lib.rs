//! A Meltano project on disk: finding it, reading `meltano.yml`, editing it without losing a byte
//! the user wrote, `.env`, and the `.meltano/` layout.
//!
//! Reads go through the typed [`manifest`] model; every write goes through [`ProjectFileMut`], which
//! edits the YAML syntax tree in place so comments, key order and quoting survive, and replaces the
//! file atomically. This crate knows nothing of processes or databases.

pub mod atomic;
pub mod discovery;
pub mod dotenv;
pub mod edit;
pub mod init;
pub mod layout;
pub mod manifest;
pub mod project;

pub use discovery::find_project_root;
pub use edit::ProjectFileMut;
pub use layout::SysDir;
pub use project::Project;

/// The name of the project file.
pub const PROJECT_FILE: &str = "meltano.yml";
