//! `meltano config test`: runs an extractor until it emits data, or feeds a loader a tiny stream.

use std::process::ExitCode;

use meltano_cli::InstallArgs;
use meltano_core::PluginType;
use meltano_runner::{TestOutcome, test_extractor, test_loader};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::installer::{self, AutoInstall};
use crate::invocation::{PrepareOptions, prepare};
use crate::settings::{SettingsStores, Subject, capitalize};

/// Tests the subject's configuration; exit 1 when the plugin rejects it.
pub async fn run(
    ctx: &Context,
    stores: &SettingsStores<'_>,
    subject: Subject<'_>,
    install: &InstallArgs,
) -> CliResult<ExitCode> {
    let Subject::Plugin { plugin_type, entry } = subject else {
        return Err(CliError::Meltano(
            "Testing of the Meltano project configuration is not supported".to_string(),
        ));
    };
    if !matches!(plugin_type, PluginType::Extractors | PluginType::Loaders) {
        return Err(CliError::Meltano(format!(
            "Operation not supported for {} '{}'",
            plugin_type.descriptor(),
            entry.name
        )));
    }
    let mode = AutoInstall::from_args(install);
    installer::ensure_installed(ctx, stores, &[(plugin_type, entry)], mode).await?;
    if mode == AutoInstall::Only {
        return Ok(ExitCode::SUCCESS);
    }
    let catalog = match plugin_type {
        PluginType::Extractors => {
            let settings = stores.resolve(subject).await?;
            crate::catalog::prepare_catalog(ctx, stores, entry, &settings, false, None).await?
        }
        _ => None,
    };
    let prepared = prepare(
        stores,
        subject,
        &PrepareOptions {
            catalog: catalog.as_deref(),
            ..PrepareOptions::default()
        },
    )
    .await?;
    let outcome = match plugin_type {
        PluginType::Extractors => test_extractor(&prepared.process, &entry.name),
        _ => {
            let activate_version = entry
                .capabilities
                .iter()
                .flatten()
                .any(|c| c == "activate-version");
            ctx.printer.warn(&format!(
                "{} '{}' will receive a test record for the stream 'meltano_test_stream'.",
                capitalize(plugin_type.descriptor()),
                entry.name
            ));
            test_loader(&prepared.process, activate_version)
        }
    }
    .map_err(CliError::meltano)?;
    drop(prepared);
    match outcome {
        TestOutcome::Valid => {
            ctx.printer.out("Plugin configuration is valid");
            Ok(ExitCode::SUCCESS)
        }
        TestOutcome::Invalid(detail) => Err(CliError::Meltano(format!(
            "Plugin configuration is invalid\n{detail}\nRun 'meltano config list {}' to review the plugin settings.",
            entry.name
        ))),
    }
}
