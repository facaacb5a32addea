//! meltano-test
