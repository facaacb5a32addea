//! Plugin installation: one Python virtualenv per plugin directory (`.meltano/<type>/<plugin_dir_name>/venv`),
//! filled by `uv pip install` (default) or `python -m venv` + pip, and recorded by a fingerprint of the pip
//! arguments so auto-install can skip venvs whose requirements have not changed.
//!
//! This crate owns: finding (or installing, once, under a lock) the `uv` binary ([`find_backend`]); splitting a
//! `pip_url` like Python's `shlex.split`; the fingerprint ([`fingerprint`], [`needs_install`]); building venvs so
//! that a failed reinstall leaves the previous venv working ([`install`]); bounded parallel installs that install
//! a shared venv once ([`install_all`]); and where a plugin's executables live ([`venv_bin`]).
//!
//! It must not run pipelines, resolve settings or read `meltano.yml` (the caller passes an [`InstallRequest`]
//! with everything resolved), and it must not print: progress goes through [`InstallEvent`] callbacks and the
//! captured pip/uv output travels in [`InstallReport`] and [`InstallError`]. Everything is synchronous
//! (`std::process` and threads).

#![warn(missing_docs)]

mod backend;
mod error;
mod install;
mod lock;
mod parallel;
mod process;
mod request;
mod split;

pub use backend::{Backend, ensure_uv, find_backend};
pub use error::InstallError;
pub use install::{InstallKind, InstallReport, install};
pub use parallel::{InstallEvent, SkipReason, install_all};
pub use request::{FINGERPRINT_FILE, InstallRequest, fingerprint, needs_install, venv_bin};
pub use split::{SplitError, split_pip_url};
