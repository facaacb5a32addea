//! meltano-db
