//! `meltano test`: runs the plugin commands whose names start with `test`.

use std::process::ExitCode;

use meltano_cli::TestArgs;
use meltano_project::manifest::PluginEntry;

use crate::context::{Context, EnvironmentPolicy, block_on};
use crate::error::{CliError, CliResult};
use crate::installer::{self, AutoInstall};
use crate::invocation::{PrepareOptions, plugin_commands, prepare};
use crate::settings::{SettingsStores, Subject};

/// Runs the selected tests and prints one line each, then a summary; exit 1 if any failed.
pub fn run(ctx: &Context, args: TestArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["test"])?;
    let environment_name = ctx.environment(&project, EnvironmentPolicy::DefaultUsed)?;
    let environment = environment_name
        .as_deref()
        .and_then(|n| project.manifest().manifest.environment(n));
    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let stores = SettingsStores {
            project: &project,
            environment,
            db: &db,
        };
        let result = run_tests(ctx, &stores, &args).await;
        db.close().await;
        result
    })?
}

async fn run_tests(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    args: &TestArgs,
) -> CliResult<ExitCode> {
    let manifest = &stores.project.manifest().manifest;
    // (plugin, test command) pairs, in the order asked for.
    let mut selected: Vec<(&PluginEntry, meltano_core::PluginType, String)> = Vec::new();
    let tests_of = |plugin_type, entry: &PluginEntry| -> Vec<String> {
        plugin_commands(stores, plugin_type, entry)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| name.starts_with("test"))
            .collect()
    };
    if args.all {
        for (plugin_type, entry) in manifest.all_plugins() {
            for test in tests_of(plugin_type, entry) {
                selected.push((entry, plugin_type, test));
            }
        }
    }
    for spec in &args.plugin_tests {
        let (name, test) = match spec.split_once(':') {
            Some((name, test)) => (name, Some(test)),
            None => (spec.as_str(), None),
        };
        let (plugin_type, entry) = manifest.find_plugin(name, None).ok_or_else(|| {
            CliError::Meltano(format!("Plugin '{name}' is not known to Meltano."))
        })?;
        match test {
            Some(test) => selected.push((entry, plugin_type, test.to_string())),
            None => selected.extend(
                tests_of(plugin_type, entry)
                    .into_iter()
                    .map(|t| (entry, plugin_type, t)),
            ),
        }
    }
    let mode = AutoInstall::from_args(&args.install);
    let mut plugins: Vec<(meltano_core::PluginType, &PluginEntry)> = Vec::new();
    for (entry, plugin_type, _) in &selected {
        if !plugins.iter().any(|(_, p)| p.name == entry.name) {
            plugins.push((*plugin_type, entry));
        }
    }
    installer::ensure_installed(ctx, stores, &plugins, mode).await?;
    if mode == AutoInstall::Only {
        return Ok(ExitCode::SUCCESS);
    }
    let mut results = Vec::new();
    for (entry, plugin_type, test) in selected {
        let label = format!("{}:{test}", entry.name);
        let subject = Subject::Plugin { plugin_type, entry };
        let prepared = prepare(
            stores,
            subject,
            &PrepareOptions {
                command: Some(&test),
                ..PrepareOptions::default()
            },
        )
        .await?;
        ctx.printer.out(&separator_line(&label));
        let code = prepared
            .process
            .run_attached(|line| ctx.printer.err(line))
            .map_err(CliError::meltano)?;
        results.push((label, code));
    }
    ctx.printer.out("");
    let passed = results.iter().filter(|(_, code)| *code == 0).count();
    let failed = results.len() - passed;
    for (label, code) in &results {
        let verdict = if *code == 0 { "success" } else { "failure" };
        ctx.printer
            .out(&format!("{label:.<RESULT_LABEL_WIDTH$} {verdict}"));
    }
    let outcome = if failed == 0 {
        "successfully"
    } else {
        "with failures"
    };
    ctx.printer.out(&separator_line(&format!(
        "Testing completed {outcome}. {passed} test(s) successful. {failed} test(s) failed."
    )));
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Meltano pads the label of a result row to 60 characters counting the bold escape codes it
/// wraps the label in (8 characters), so the visible label and its dots take 52.
const RESULT_LABEL_WIDTH: usize = 52;

/// A blank line, then `title` centred in `=` across the terminal (`COLUMNS`, else 80 columns), as
/// Meltano writes test headers and the closing summary.
fn separator_line(title: &str) -> String {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|w| *w > 0)
        .unwrap_or(80);
    let fill = "=".repeat((width.saturating_sub(title.chars().count() + 2) / 2).max(1));
    let mut line = format!("\n{fill} {title} {fill}");
    // Meltano counts the leading newline when deciding whether one more `=` fits.
    if line.chars().count() < width {
        line.push('=');
    }
    line
}
