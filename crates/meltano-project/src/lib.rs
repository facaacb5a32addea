//! meltano-project
