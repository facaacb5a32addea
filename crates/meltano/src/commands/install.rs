//! `meltano install`: every installable plugin (or the ones named) into its own virtualenv.

use std::process::ExitCode;

use meltano_cli::InstallCommandArgs;
use meltano_core::PluginType;
use meltano_project::manifest::{PluginEntry, ScheduleTarget};

use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};
use crate::installer::{self, Planned};
use crate::printer::Level;
use crate::settings::SettingsStores;

/// Installs the selected plugins in parallel; exit 1 when any failed.
pub fn run(ctx: &Context, args: InstallCommandArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["install"])?;
    let plugin_type = args
        .plugin_type
        .as_deref()
        .map(|t| t.parse::<PluginType>().map_err(CliError::meltano))
        .transpose()?;
    let manifest = &project.manifest().manifest;
    let mut selected: Vec<(PluginType, &PluginEntry)> = manifest
        .all_plugins()
        .filter(|(t, _)| plugin_type.is_none_or(|wanted| *t == wanted))
        .filter(|(_, p)| args.plugins.is_empty() || args.plugins.contains(&p.name))
        .collect();
    for name in &args.plugins {
        if !selected.iter().any(|(_, p)| &p.name == name) {
            return Err(CliError::Meltano(format!(
                "Plugin '{name}' is not known to Meltano."
            )));
        }
    }
    if let Some(schedule_name) = &args.schedule {
        let schedule = manifest.schedule(schedule_name).ok_or_else(|| {
            CliError::Meltano(format!("Schedule '{schedule_name}' was not found."))
        })?;
        let used = schedule_plugins(manifest, schedule.target());
        selected.retain(|(_, p)| used.contains(&p.name));
    }
    let parallelism = match args.parallelism {
        Some(n) if n < 1 => 0,
        Some(n) => usize::try_from(n).unwrap_or(1),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment: None,
            db: &db,
        };
        let result = install(ctx, &stores, selected, &args, parallelism).await;
        db.close().await;
        result
    })?
}

/// Plans, installs and summarises as Meltano does: a plugin whose virtualenv another selected
/// plugin already installs (an inheriting child) is skipped, as is one with nothing to install.
async fn install(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    selected: Vec<(PluginType, &PluginEntry)>,
    args: &InstallCommandArgs,
    parallelism: usize,
) -> CliResult<ExitCode> {
    let total = selected.len();
    ctx.printer.info(&format!("Installing {total} plugins"));
    let mut planned: Vec<Planned> = Vec::new();
    let mut not_installable = Vec::new();
    let mut skipped = 0;
    for (plugin_type, entry) in selected {
        match installer::plan(stores, plugin_type, entry, args.clean, args.force).await? {
            Some(plan)
                if planned
                    .iter()
                    .any(|p| p.request.venv_dir == plan.request.venv_dir) =>
            {
                skipped += 1;
                ctx.printer.info(&format!(
                    "Skipped installing {} '{}'. Plugin '{}' does not require installation: \
                     reusing parent virtualenv.",
                    plugin_type.descriptor(),
                    entry.name,
                    entry.name
                ));
            }
            Some(plan) => planned.push(plan),
            None => {
                skipped += 1;
                not_installable.push(format!(
                    "Skipped installing {} '{}'. Plugin is not installable.",
                    plugin_type.descriptor(),
                    entry.name
                ));
            }
        }
    }
    for message in &not_installable {
        ctx.printer.info(message);
    }
    let attempted = planned.len();
    let failed = if planned.is_empty() {
        0
    } else {
        let backend = installer::backend(stores).await?;
        installer::install(ctx, planned, &backend, parallelism)
    };
    let installed = attempted - failed;
    // Skipped plugins count as successful when Meltano picks the summary's level.
    let level = if installed + skipped == 0 {
        Level::Error
    } else if failed > 0 {
        Level::Warning
    } else {
        Level::Info
    };
    if total > 1 {
        ctx.printer
            .log(level, &format!("Installed {installed}/{total} plugins"));
    }
    if skipped > 0 {
        ctx.printer.log(
            level,
            &format!("Skipped installing {skipped}/{total} plugins"),
        );
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The plugins a schedule runs: its extractor and loader, or every plugin named in its job's tasks.
fn schedule_plugins(
    manifest: &meltano_project::manifest::Manifest,
    target: Option<ScheduleTarget<'_>>,
) -> Vec<String> {
    let blocks: Vec<String> = match target {
        Some(ScheduleTarget::Elt {
            extractor, loader, ..
        }) => vec![extractor.to_string(), loader.to_string()],
        Some(ScheduleTarget::Job(job_name)) => manifest
            .job(job_name)
            .map(|job| job.tasks.blocks())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    blocks
        .iter()
        .map(|b| b.split(':').next().unwrap_or(b).to_string())
        .collect()
}
