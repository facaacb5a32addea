//! meltano-cli
