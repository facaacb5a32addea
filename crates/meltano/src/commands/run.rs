//! `meltano run`: job names and plugin names formed into blocks, run left to right; each
//! extract-load set as a job with incremental state under `<environment>:<tap>-to-<target>`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use meltano_cli::{RunArgs, StateStrategy};
use meltano_core::PluginType;
use meltano_core::blocks::{Block, BlockError, Referent, expand_jobs, parse_blocks, state_id};
use meltano_core::settings::expand::expand_str;
use meltano_project::Project;
use meltano_project::manifest::PluginEntry;
use uuid::Uuid;

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::installer::{self, AutoInstall};
use crate::pipeline::interrupts::Interrupts;
use crate::pipeline::{BlockFailure, ElBlock, ElOptions, run_command_block, run_extract_load};
use crate::printer::Level;
use crate::settings::SettingsStores;
use crate::usage::usage_error;

pub fn run(ctx: &Context, args: RunArgs) -> CliResult<ExitCode> {
    let started = Instant::now();
    let project = ctx.project(&["run"])?;
    let environment_name = ctx.environment(&project, EnvironmentPolicy::DefaultUsed)?;
    let Some(environment_name) = environment_name else {
        return Err(CliError::Meltano(
            "A Meltano environment must be specified. Set the `default_environment` option in \
             `meltano.yml`, or the `--environment` CLI option."
                .to_string(),
        ));
    };
    let environment = project.manifest().manifest.environment(&environment_name);
    let strategy = state_strategy(ctx, args.state_strategy, args.merge_state, &["run"])?;
    let run_id = run_id(args.run_id.as_deref(), &["run"])?;
    if args.dry_run && !ctx.globals.log_level_given {
        ctx.printer.set_level(meltano_cli::LogLevel::Debug);
    }

    let blocks = parse(&project, &args.blocks)
        .inspect_err(|e| super::job::warn_mapper_plugin_name(ctx, e))
        .map_err(|e| match e {
            BlockError::NotFound(_) | BlockError::Ambiguous(_) => CliError::Click(e.to_string()),
            BlockError::Set(_) => CliError::Meltano(e.to_string()),
        })?;
    if blocks.is_empty() {
        ctx.printer.info("No valid blocks found.");
        return Ok(ExitCode::SUCCESS);
    }

    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment,
            db: &db,
        };
        let result = run_blocks(
            ctx,
            &stores,
            &blocks,
            &args,
            &environment_name,
            strategy,
            run_id,
            started,
        )
        .await;
        db.close().await;
        result
    })?
}

/// Installs what the blocks need, then runs them in order until one fails.
#[allow(clippy::too_many_arguments)]
async fn run_blocks(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    blocks: &[Block],
    args: &RunArgs,
    environment_name: &str,
    strategy: StateStrategy,
    run_id: Uuid,
    started: Instant,
) -> CliResult<ExitCode> {
    let project = stores.project;
    let manifest = &project.manifest().manifest;
    let mut plugins: Vec<(PluginType, &PluginEntry)> = Vec::new();
    for block in blocks {
        for (plugin_type, name) in block_plugins(block) {
            if let Some(found) = manifest.find_plugin(&name, Some(plugin_type))
                && !plugins
                    .iter()
                    .any(|(t, p)| *t == found.0 && p.name == found.1.name)
            {
                plugins.push(found);
            }
        }
    }
    let mode = AutoInstall::from_args(&args.install);
    installer::ensure_installed(ctx, stores, &plugins, mode).await?;
    if mode == AutoInstall::Only {
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        for index in 1..=blocks.len() {
            ctx.printer.info(&format!(
                "Dry run, but would have run block {index}/{}.",
                blocks.len()
            ));
        }
        ctx.printer.info("Run completed");
        return Ok(ExitCode::SUCCESS);
    }

    let mut interrupts =
        Interrupts::new(args.timeout.map(Duration::from_secs)).map_err(CliError::meltano)?;
    let suffix = args
        .state_id_suffix
        .clone()
        .or_else(|| stores.environment.and_then(|e| e.state_id_suffix.clone()))
        .map(|s| expand(project, &s));
    let mut failed = None;
    for block in blocks {
        if let Some(stop) = interrupts.expired() {
            failed = Some(BlockFailure::Stopped(stop));
            break;
        }
        let block_started = Instant::now();
        let (kind, result) = match block {
            Block::ExtractLoad {
                extractor,
                mappings,
                loader,
            } => {
                let el = el_block(project, extractor, mappings, loader)?;
                let state_id = if args.no_state_update {
                    None
                } else {
                    Some(
                        state_id(environment_name, extractor, loader, suffix.as_deref())
                            .map_err(CliError::Meltano)?,
                    )
                };
                let options = ElOptions {
                    state_id,
                    run_id,
                    full_refresh: args.full_refresh,
                    refresh_catalog: args.refresh_catalog,
                    force: args.force,
                    strategy,
                    ..ElOptions::default()
                };
                (
                    "ExtractLoadBlocks",
                    run_extract_load(ctx, stores, &el, &options, &mut interrupts).await?,
                )
            }
            Block::Command {
                plugin,
                plugin_type,
                command,
            } => {
                let Some((plugin_type, entry)) = manifest.find_plugin(plugin, Some(*plugin_type))
                else {
                    return Err(CliError::Click(format!("Block {plugin} not found")));
                };
                (
                    "InvokerCommand",
                    run_command_block(
                        ctx,
                        stores,
                        plugin_type,
                        entry,
                        command.as_deref(),
                        &mut interrupts,
                    )
                    .await?,
                )
            }
        };
        let level = if result.is_ok() {
            Level::Info
        } else {
            Level::Error
        };
        ctx.printer.log(level, "Block run completed");
        ctx.printer.debug(&format!(
            "Block type {kind}, success {}, duration {:.3} s",
            result.is_ok(),
            block_started.elapsed().as_secs_f64()
        ));
        if let Err(failure) = result {
            failed = Some(failure);
            break;
        }
    }
    ctx.printer.info("Run completed");
    ctx.printer.debug(&format!(
        "Run duration {:.3} s, status {}",
        started.elapsed().as_secs_f64(),
        if failed.is_none() {
            "success"
        } else {
            "failure"
        }
    ));
    match failed {
        None => Ok(ExitCode::SUCCESS),
        Some(BlockFailure::Stopped(stop)) => {
            ctx.printer.error(stop.reason());
            Err(CliError::Exit(stop.exit_code()))
        }
        Some(BlockFailure::Failed(_) | BlockFailure::Undelivered(_)) => Err(CliError::Exit(1)),
    }
}

/// The run's blocks: job names expanded, names resolved, blocks formed.
fn parse(project: &Project, tokens: &[String]) -> Result<Vec<Block>, BlockError> {
    let manifest = &project.manifest().manifest;
    let jobs: IndexMap<String, Vec<String>> = manifest
        .jobs
        .iter()
        .map(|job| (job.name.clone(), job.tasks.blocks()))
        .collect();
    let is_plugin = |name: &str| referent(project, name).is_some();
    let tokens = expand_jobs(tokens, &jobs, is_plugin)?;
    parse_blocks(&tokens, |name| referent(project, name))
}

/// What a block name refers to: a plugin (first in type order), else a mapping of a mapper.
pub(crate) fn referent(project: &Project, name: &str) -> Option<Referent> {
    let manifest = &project.manifest().manifest;
    if let Some((plugin_type, _)) = manifest.find_plugin(name, None) {
        return Some(Referent::Plugin(plugin_type));
    }
    manifest
        .plugins_of(PluginType::Mappers)
        .iter()
        .find(|mapper| {
            mapper
                .mappings
                .as_ref()
                .is_some_and(|m| m.iter().any(|m| m.name == name))
        })
        .map(|mapper| Referent::Mapping {
            mapper: mapper.name.clone(),
        })
}

/// The plugins a block runs, by type and name.
fn block_plugins(block: &Block) -> Vec<(PluginType, String)> {
    match block {
        Block::ExtractLoad {
            extractor,
            mappings,
            loader,
        } => std::iter::once((PluginType::Extractors, extractor.clone()))
            .chain(
                mappings
                    .iter()
                    .map(|m| (PluginType::Mappers, m.mapper.clone())),
            )
            .chain(std::iter::once((PluginType::Loaders, loader.clone())))
            .collect(),
        Block::Command {
            plugin,
            plugin_type,
            ..
        } => vec![(*plugin_type, plugin.clone())],
    }
}

/// The project's entries for an extract-load set.
pub fn el_block<'a>(
    project: &'a Project,
    extractor: &str,
    mappings: &[meltano_core::blocks::Mapping],
    loader: &str,
) -> CliResult<ElBlock<'a>> {
    let manifest = &project.manifest().manifest;
    let find = |plugin_type: PluginType, name: &str| {
        manifest
            .find_plugin(name, Some(plugin_type))
            .map(|(_, entry)| entry)
            .ok_or_else(|| CliError::Click(format!("Block {name} not found")))
    };
    let mut resolved = Vec::new();
    for mapping in mappings {
        let mapper = find(PluginType::Mappers, &mapping.mapper)?;
        let Some(found) = mapper
            .mappings
            .as_ref()
            .and_then(|list| list.iter().find(|m| m.name == mapping.name))
        else {
            return Err(CliError::Click(format!("Block {} not found", mapping.name)));
        };
        resolved.push((mapper, found));
    }
    Ok(ElBlock {
        extractor: find(PluginType::Extractors, extractor)?,
        mappings: resolved,
        loader: find(PluginType::Loaders, loader)?,
    })
}

/// `--state-strategy`, with the deprecated `--merge-state`.
pub fn state_strategy(
    ctx: &Context,
    strategy: Option<StateStrategy>,
    merge_state: bool,
    command: &[&str],
) -> CliResult<StateStrategy> {
    match (merge_state, strategy) {
        (false, strategy) => Ok(strategy.unwrap_or_default()),
        (true, None | Some(StateStrategy::Auto)) => {
            ctx.printer.warn(
                "The --merge-state option is deprecated and will be removed in a future version. \
                 Use --state-strategy=merge instead.",
            );
            Ok(StateStrategy::Merge)
        }
        (true, Some(_)) => Err(usage_error(
            command,
            "Cannot use both --merge-state and --state-strategy.".to_string(),
        )),
    }
}

/// `--run-id` checked to be a UUID, else a new time-ordered one.
pub fn run_id(given: Option<&str>, command: &[&str]) -> CliResult<Uuid> {
    match given {
        Some(text) => Uuid::parse_str(text).map_err(|_| {
            usage_error(
                command,
                format!("Invalid value for '--run-id': '{text}' is not a valid UUID."),
            )
        }),
        None => Ok(Uuid::now_v7()),
    }
}

/// `$VAR` expansion against the process environment and `.env`.
fn expand(project: &Project, text: &str) -> String {
    let lookup = |name: &str| project.env_var(name);
    expand_str(text, &lookup, false)
        .ok()
        .flatten()
        .unwrap_or_default()
}
