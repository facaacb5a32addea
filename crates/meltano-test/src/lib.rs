//! Test support for the meltano-rs crates; a dev-dependency only, never part of the binary.
//!
//! It owns fixtures that are expensive or fiddly to get right in every test: a throwaway PostgreSQL
//! server ([`PgServer`]) started with `initdb` on a free port, shared by all tests of one test binary; an S3
//! emulator ([`S3Server`], moto) and a proxy that breaks on demand in front of it ([`FaultProxy`]); an Azure Blob Storage emulator
//! ([`AzuriteServer`]); and Python tools in cached virtualenvs ([`venv::python_with`]). It must
//! not contain product logic, and it must not skip silently: a missing dependency is an error that says how to
//! install it, because CI installs it (a tool from PyPI that cannot be installed is reported so that the test
//! using it can say SKIPPED and why).

mod azurite;
mod pg;
mod proxy;
mod s3;
pub mod venv;

pub use azurite::AzuriteServer;
pub use pg::{PgError, PgServer};
pub use proxy::{Fault, FaultProxy};
pub use s3::S3Server;
