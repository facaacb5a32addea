//! Integration tests of the runner with real processes joined by real pipes.

mod pipeline;
