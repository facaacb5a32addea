//! Integration tests of meltano-db against SQLite (temp files) and PostgreSQL (a throwaway server from
//! meltano-test, which must be installed: these tests fail rather than skip without it).

mod connect;
mod old_meltano;
mod runs;
mod schema;
mod settings;
mod state;
mod support;
mod upgrade;
