//! One module per command; each turns its arguments into library calls and prints the outcome.

pub mod add;
mod compile;
mod config;
mod config_test;
mod el;
mod environment;
mod hub;
mod init;
mod install;
mod invoke;
mod job;
mod lock;
mod logs;
mod plugin;
mod remove;
mod run;
mod schedule;
mod select;
mod state;
mod test;

use std::process::ExitCode;

use meltano_cli::{Command, EnvironmentCommand, PluginCommand};

use crate::context::Context;
use crate::error::CliResult;

/// Runs one parsed command.
pub fn run(ctx: &Context, command: Command) -> CliResult<ExitCode> {
    match command {
        Command::Add(args) => add::run(ctx, args),
        Command::Compile(args) => compile::run(ctx, args),
        Command::Config(args) => config::run(ctx, args),
        Command::El(args) => el::el(ctx, args),
        Command::Elt(args) => el::elt(ctx, args),
        Command::Environment(args) => match args.command {
            EnvironmentCommand::Add { name } => environment::add(ctx, &name),
            EnvironmentCommand::List => environment::list(ctx),
            EnvironmentCommand::Remove { name } => environment::remove(ctx, &name),
        },
        Command::Hub(args) => hub::run(ctx, args.command),
        Command::Init(args) => init::run(ctx, args),
        Command::Lock(args) => lock::run(ctx, args),
        Command::Logs(args) => logs::run(ctx, args.command),
        Command::Install(args) => install::run(ctx, args),
        Command::Invoke(args) => invoke::run(ctx, args),
        Command::Job(args) => job::run(ctx, args),
        Command::Select(args) => select::run(ctx, args),
        Command::State(args) => state::run(ctx, args),
        Command::Test(args) => test::run(ctx, args),
        Command::Plugin(args) => match args.command {
            PluginCommand::List { format, .. } => plugin::list(ctx, format),
        },
        Command::Remove(args) => remove::run(ctx, args),
        Command::Run(args) => run::run(ctx, args),
        Command::Schedule(args) => schedule::run(ctx, args),
    }
}
