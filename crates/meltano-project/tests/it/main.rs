//! Integration tests of meltano-project (one test binary per crate).

mod manifest;
