//! `meltano config test`: runs an extractor until it emits data, or feeds a loader a tiny stream.

use std::ffi::OsString;
use std::process::ExitCode;

use meltano_cli::InstallArgs;
use meltano_core::PluginType;
use meltano_runner::config_test::{Invocation, TestOutcome, test_extractor, test_loader};
use meltano_runner::{ConfigFile, find_executable};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::settings::{
    SettingsStores, Subject, capitalize, plugin_config, plugin_env, plugin_program,
};

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
    if install.install || install.only_install {
        return Err(CliError::Meltano(
            "Installing plugins is not available in this build yet; install the plugin's executable yourself \
             (into .meltano/<type>/<name>/venv or on PATH) and run `meltano config test --no-install`."
                .to_string(),
        ));
    }
    let role = match plugin_type {
        PluginType::Extractors => "tap",
        PluginType::Loaders => "target",
        other => {
            return Err(CliError::Meltano(format!(
                "Operation not supported for {} '{}'",
                other.descriptor(),
                entry.name
            )));
        }
    };
    let project = stores.project;
    let settings = stores.resolve(subject).await?;
    let (executable, venv) = plugin_program(project, plugin_type, entry);
    let program = find_executable(&executable, project.root(), &venv).ok_or_else(|| {
        CliError::Meltano(format!(
            "Executable '{executable}' of {} '{}' was not found. Install the plugin (`meltano install`) \
             or check its `executable`.",
            plugin_type.descriptor(),
            entry.name
        ))
    })?;
    let run_dir = project.sys_dir().run_dir().join(&entry.name);
    let config =
        ConfigFile::write(&run_dir, role, &plugin_config(&settings)).map_err(CliError::meltano)?;
    let mut args: Vec<OsString> = vec!["--config".into(), config.path().into()];
    let extra = |name: &str| {
        settings
            .iter()
            .find(|r| r.spec.name == name)
            .and_then(|r| r.value.clone())
    };
    if plugin_type == PluginType::Extractors {
        let capabilities = entry.capabilities.clone().unwrap_or_default();
        if let Some(catalog) = extra("_catalog").and_then(|v| v.as_str().map(str::to_string)) {
            let flag = if capabilities.iter().any(|c| c == "catalog") {
                "--catalog"
            } else {
                "--properties"
            };
            args.extend([flag.into(), project.root().join(catalog).into()]);
        }
        if let Some(state) = extra("_state").and_then(|v| v.as_str().map(str::to_string)) {
            args.extend(["--state".into(), project.root().join(state).into()]);
        }
    }
    let invocation = Invocation {
        program,
        args,
        env: plugin_env(project, &subject, &settings),
        cwd: project.root().to_path_buf(),
    };
    let outcome = match plugin_type {
        PluginType::Extractors => test_extractor(&invocation, &entry.name),
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
            test_loader(&invocation, activate_version)
        }
    }
    .map_err(CliError::meltano)?;
    drop(config);
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
