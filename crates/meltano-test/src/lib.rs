//! Test support for the meltano-rs crates; a dev-dependency only, never part of the binary.
//!
//! It owns fixtures that are expensive or fiddly to get right in every test: for now a throwaway PostgreSQL
//! server ([`PgServer`]) started with `initdb` on a free port, shared by all tests of one test binary. It must
//! not contain product logic, and it must not skip silently: a missing dependency is an error that says how to
//! install it, because CI installs it.

mod pg;

pub use pg::{PgError, PgServer};
