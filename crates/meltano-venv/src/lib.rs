//! Plugin installation: one Python virtualenv per plugin directory (`.meltano/<type>/<plugin_dir_name>/venv`),
//! filled by `uv pip install` (default) or `python -m venv` + pip, and recorded by a fingerprint of the pip
//! arguments so auto-install can skip venvs whose requirements have not changed.
//!
//! This crate owns: finding the `uv` binary, or installing a pinned, hash-verified one once per user into the
//! user's cache directory ([`find_backend`], [`ensure_uv`]); splitting a `pip_url` like Python's `shlex.split`;
//! the fingerprint ([`fingerprint`], [`needs_install`]); building venvs so that a failed reinstall leaves the
//! previous venv working ([`install`]); bounded parallel installs that install a shared venv once
//! ([`install_all`]); and where a plugin's executables live ([`venv_bin`]).
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
mod shared_uv;
mod split;

pub use backend::{Backend, find_backend, find_backend_cached_in};
pub use error::InstallError;
pub use install::{InstallKind, InstallReport, install};
pub use parallel::{InstallEvent, SkipReason, install_all};
pub use request::{FINGERPRINT_FILE, InstallRequest, fingerprint, needs_install, venv_bin};
pub use shared_uv::{SharedUv, UV_VERSION, UV_WHEEL_SHA256, ensure_uv, user_cache_dir};
pub use split::{SplitError, split_pip_url};
