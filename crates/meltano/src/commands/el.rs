//! `meltano el` and `meltano elt`: one extractor and one loader as a job, its state kept under
//! `--state-id` (or an ephemeral ID), with the files it would use available through `--dump`.

use std::path::PathBuf;
use std::process::ExitCode;

use meltano_cli::{ElArgs, ElDump, Transform};
use meltano_core::PluginType;
use meltano_project::Project;

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::installer::{self, AutoInstall};
use crate::pipeline::interrupts::Interrupts;
use crate::pipeline::state::StateSource;
use crate::pipeline::{BlockFailure, ElOptions, run_command_block, run_extract_load, run_log};
use crate::settings::{SettingsStores, Subject, plugin_config};

/// `meltano el`.
pub fn el(ctx: &Context, args: ElArgs) -> CliResult<ExitCode> {
    run(ctx, args, None)
}

/// `meltano elt`: `el` with the deprecated `--transform`.
pub fn elt(ctx: &Context, args: meltano_cli::EltArgs) -> CliResult<ExitCode> {
    ctx.printer
        .warn("The `elt` command is deprecated in favor of `el`");
    run(ctx, args.el, Some(args.transform))
}

fn run(ctx: &Context, args: ElArgs, transform: Option<Transform>) -> CliResult<ExitCode> {
    let command = if transform.is_some() { "elt" } else { "el" };
    let project = ctx.project(&[command])?;
    let environment_name = ctx.environment(&project, EnvironmentPolicy::DefaultUsed)?;
    let environment = environment_name
        .as_deref()
        .and_then(|n| project.manifest().manifest.environment(n));
    let strategy =
        super::run::state_strategy(ctx, args.state_strategy, args.merge_state, &[command])?;
    let run_id = super::run::run_id(args.run_id.as_deref(), &[command])?;
    let block = super::run::el_block(&project, &args.extractor, &[], &args.loader)?;
    let state_id = match &args.state_id {
        Some(id) => id.clone(),
        None => {
            let id = format!(
                "{}--{}--{}",
                chrono::Utc::now().format("%Y-%m-%dT%H%M%S"),
                args.extractor,
                args.loader
            );
            ctx.printer.warn(&format!(
                "No state ID provided. Using an ephemeral state ID '{id}'. Incremental replication \
                 state will not be reused between runs. To persist state across runs, pass \
                 `--state-id=<your_id>`."
            ));
            id
        }
    };
    let select_filter = (!args.select.is_empty() || !args.exclude.is_empty()).then(|| {
        args.select
            .iter()
            .cloned()
            .chain(args.exclude.iter().map(|e| format!("!{e}")))
            .collect::<Vec<_>>()
    });
    let options = ElOptions {
        state_id: Some(state_id),
        run_id,
        full_refresh: args.full_refresh,
        refresh_catalog: args.refresh_catalog,
        force: args.force,
        strategy,
        select_filter,
        catalog_file: args.catalog.as_ref().map(|c| project.root().join(c)),
        state_file: args.state.as_ref().map(|s| project.root().join(s)),
        el_messages: true,
    };

    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment,
            db: &db,
        };
        let result = async {
            let plugins = [
                (PluginType::Extractors, block.extractor),
                (PluginType::Loaders, block.loader),
            ];
            let mode = AutoInstall::from_args(&args.install);
            installer::ensure_installed(ctx, &stores, &plugins, mode).await?;
            if mode == AutoInstall::Only {
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(dump) = args.dump {
                return dump_file(ctx, &stores, &block, &options, dump).await;
            }
            if args.dry {
                dry_run(ctx, &project, &block);
                return Ok(ExitCode::SUCCESS);
            }
            let mut interrupts = Interrupts::new(None).map_err(CliError::meltano)?;
            let mut outcome = Ok(());
            if transform != Some(Transform::Only) {
                ctx.printer.info("Running extract & load...");
                outcome = run_extract_load(ctx, &stores, &block, &options, &mut interrupts).await?;
                if outcome.is_ok() {
                    ctx.printer.info("Extract & load complete!");
                }
            }
            if outcome.is_ok() {
                match transform {
                    Some(Transform::Run | Transform::Only) => {
                        outcome = run_transform(ctx, &stores, &mut interrupts).await?;
                    }
                    _ => ctx.printer.info("Transformation skipped."),
                }
            }
            match outcome {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(failure) => {
                    let log = options
                        .state_id
                        .as_deref()
                        .map(|id| run_log::path(&project, id, &run_id));
                    report_failure(ctx, &failure, log);
                    Err(CliError::Exit(match failure {
                        BlockFailure::Stopped(stop) => stop.exit_code(),
                        BlockFailure::Failed(_) | BlockFailure::Undelivered(_) => 1,
                    }))
                }
            }
        }
        .await;
        db.close().await;
        result
    })?
}

/// Meltano's closing message for a failed `el`.
fn report_failure(ctx: &Context, failure: &BlockFailure, log: Option<PathBuf>) {
    let mut message = format!(
        "ELT could not be completed: {}.\nFor more detailed log messages re-run the command using \
         'meltano --log-level=debug ...' CLI flag.",
        failure.reason()
    );
    if let Some(log) = log {
        message.push_str(&format!(
            "\nNote that you can also check the generated log file at '{}'.",
            log.display()
        ));
    }
    message.push_str(
        "\nFor more information on debugging and logging: \
         https://docs.meltano.com/reference/command-line-interface#debugging",
    );
    ctx.printer.error(&message);
}

/// `--transform run|only`: the project's first transformer runs its `run` command.
async fn run_transform(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    interrupts: &mut Interrupts,
) -> CliResult<Result<(), BlockFailure>> {
    ctx.printer.warn(
        "The --transform option is deprecated: run transformations as blocks of `meltano run` \
         (e.g. `meltano run tap target dbt:run`).",
    );
    let manifest = &stores.project.manifest().manifest;
    let Some(transformer) = manifest.plugins_of(PluginType::Transformers).first() else {
        return Err(CliError::Meltano(
            "No transformer plugin is configured: add one (e.g. `meltano add dbt-postgres`) or \
             use `--transform skip`."
                .to_string(),
        ));
    };
    ctx.printer.info("Running transformation...");
    let result = run_command_block(
        ctx,
        stores,
        PluginType::Transformers,
        transformer,
        Some("run"),
        interrupts,
    )
    .await?;
    if result.is_ok() {
        ctx.printer.info("Transformation complete!");
    }
    Ok(result)
}

/// `--dry`: what would run, and with which executable.
fn dry_run(ctx: &Context, project: &Project, block: &crate::pipeline::ElBlock<'_>) {
    ctx.printer.info("Dry run:");
    for (role, plugin_type, entry) in [
        ("extractor", PluginType::Extractors, block.extractor),
        ("loader", PluginType::Loaders, block.loader),
    ] {
        let (executable, _) = crate::settings::plugin_program(project, plugin_type, entry);
        ctx.printer
            .info(&format!("\t{role}: {} at '{executable}'", entry.name));
    }
}

/// `--dump`: prints the file the pipeline would hand a plugin, without running it.
async fn dump_file(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    block: &crate::pipeline::ElBlock<'_>,
    options: &ElOptions,
    dump: ElDump,
) -> CliResult<ExitCode> {
    let project = stores.project;
    let extractor = Subject::Plugin {
        plugin_type: PluginType::Extractors,
        entry: block.extractor,
    };
    match dump {
        ElDump::ExtractorConfig | ElDump::LoaderConfig => {
            let subject = if dump == ElDump::ExtractorConfig {
                extractor
            } else {
                Subject::Plugin {
                    plugin_type: PluginType::Loaders,
                    entry: block.loader,
                }
            };
            let settings = stores.resolve(subject).await?;
            ctx.printer
                .out(&meltano_core::pyjson::dumps_indent2(&plugin_config(
                    &settings,
                )));
        }
        ElDump::Catalog => {
            let settings =
                crate::pipeline::extractor_settings(stores, block.extractor, options).await?;
            let path = crate::catalog::prepare_catalog(
                ctx,
                stores,
                block.extractor,
                &settings,
                options.refresh_catalog,
                None,
            )
            .await?
            .ok_or_else(|| {
                CliError::Meltano(format!(
                    "Extractor '{}' has no catalog: it supports neither discovery nor a catalog file.",
                    block.extractor.name
                ))
            })?;
            let text = std::fs::read_to_string(&path).map_err(CliError::meltano)?;
            ctx.printer.out(text.trim_end());
        }
        ElDump::State => {
            let run_dir = project.sys_dir().run_dir().join(&block.extractor.name);
            let source = match (&options.state_file, &options.state_id) {
                (Some(file), _) => StateSource::File(file.clone()),
                (None, Some(id)) => StateSource::Stored(id, None),
                (None, None) => StateSource::None,
            };
            let store = crate::state_backend::open(stores).await?;
            let path = crate::pipeline::state::prepare_state_file(
                ctx,
                store.as_ref(),
                &run_dir,
                true,
                source,
            )
            .await?;
            let text = path.and_then(|p| std::fs::read_to_string(p).ok());
            match text {
                Some(text) => ctx.printer.out(text.trim_end()),
                None => {
                    return Err(CliError::Meltano(format!(
                        "Could not find state file for '{}': no state is stored for it.",
                        block.extractor.name
                    )));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
