//! End-to-end tests of the `meltano` binary: what a user sees (output, exit codes) and what it
//! writes (project files, database rows).

mod common;

mod cli;
mod compile;
mod concurrency;
mod config;
mod config_test;
mod database;
mod edits;
mod environment;
mod fidelity;
mod hub;
mod init;
mod install;
mod invoke;
mod job;
mod memory;
mod plugin_list;
mod project;
mod regressions;
mod remove;
mod run;
mod schedule;
mod scheduler;
mod select;
mod state;
mod state_backends;
