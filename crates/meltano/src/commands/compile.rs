//! `meltano compile` (beta): the project as JSON manifests, one without an environment and one per
//! environment, each with the resolved settings and variables of the project and every plugin.
//!
//! The manifest itself is built in [`manifest`], written as Python's `json.dumps(sort_keys=True)`
//! writes it ([`json`]), and `--lint` checks the project files and the manifests against the
//! rules of Meltano's `meltano.yml` schema ([`lint`]).

mod json;
mod lint;
mod manifest;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use meltano_cli::CompileArgs;
use meltano_core::env_vars;
use meltano_project::Project;
use meltano_project::atomic::{write_atomic, write_atomic_private};

use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};

/// Where manifests go without `--directory`, under the project's `.meltano/`.
const MANIFESTS_DIR: &str = "manifests";

/// How the stdout line names the manifest without an environment.
const NO_ENVIRONMENT: &str = "no environment";

/// Compiles the manifests of the selected environments into the target directory.
pub fn run(ctx: &Context, args: CompileArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["compile"])?;
    let targets = targets(ctx, &project)?;
    let directory = match &args.directory {
        Some(dir) => std::env::current_dir()
            .map_err(CliError::meltano)?
            .join(dir),
        None => project.sys_dir().root().join(MANIFESTS_DIR),
    };
    let options = manifest::Options {
        safe: !args.unsafe_,
    };
    // `--indent 0` and negative values mean one line, as Meltano writes them.
    let indent = usize::try_from(args.indent).ok().filter(|n| *n > 0);
    let lint = args.lint && !args.no_lint;

    let names: Vec<&str> = targets
        .iter()
        .map(|t| t.as_deref().unwrap_or(NO_ENVIRONMENT))
        .collect();
    ctx.printer.out(&format!(
        "Compiling Meltano manifest for environments: {}",
        names.join(", ")
    ));
    if lint {
        let problems = lint::project_files(project.manifest());
        if !problems.is_empty() {
            ctx.printer.warn(&lint::report(
                "Failed to validate project files against Meltano manifest schema:",
                &problems,
            ));
        }
    }
    std::fs::create_dir_all(&directory).map_err(|e| {
        CliError::Meltano(format!(
            "Could not create the manifest directory {}: {e}",
            directory.display()
        ))
    })?;

    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let mut result = Ok(());
        for target in &targets {
            result = compile_one(
                ctx,
                &project,
                &db,
                target.as_deref(),
                &directory,
                indent,
                options,
                lint,
            )
            .await;
            if result.is_err() {
                break;
            }
        }
        db.close().await;
        result
    })??;
    Ok(ExitCode::SUCCESS)
}

/// Builds, checks and writes the manifest of one environment (or of none).
#[allow(clippy::too_many_arguments)]
async fn compile_one(
    ctx: &Context,
    project: &Project,
    db: &meltano_db::SystemDb,
    environment: Option<&str>,
    directory: &Path,
    indent: Option<usize>,
    options: manifest::Options,
    lint: bool,
) -> CliResult<()> {
    let environment = environment.and_then(|name| project.manifest().manifest.environment(name));
    let value = manifest::build(project, db, environment, options).await?;
    let path = manifest_path(directory, environment.map(|e| e.name.as_str()));
    if lint {
        let problems = lint::compiled_manifest(&path, &value);
        if !problems.is_empty() {
            ctx.printer.warn(&lint::report(
                "Failed to validate newly compiled manifest against Meltano manifest schema:",
                &problems,
            ));
        }
    }
    let mut text = json::dumps_sorted(&value, indent);
    text.push('\n');
    // Revealed secrets are kept from other users of the machine.
    let written = if options.safe {
        write_atomic(&path, text.as_bytes(), 0o644)
    } else {
        write_atomic_private(&path, text.as_bytes())
    };
    written.map_err(|e| CliError::Meltano(format!("Could not write {}: {e}", path.display())))?;
    ctx.printer.out(&format!("Compiled {}", path.display()));
    Ok(())
}

/// `meltano-manifest.json`, or `meltano-manifest.<environment>.json`.
fn manifest_path(directory: &Path, environment: Option<&str>) -> PathBuf {
    match environment {
        Some(name) => directory.join(format!("meltano-manifest.{name}.json")),
        None => directory.join("meltano-manifest.json"),
    }
}

/// The environments to compile: none with `--no-environment`, the one chosen with `--environment`
/// or `MELTANO_ENVIRONMENT`, else no environment followed by every environment in file order
/// (`default_environment` plays no part).
fn targets(ctx: &Context, project: &Project) -> CliResult<Vec<Option<String>>> {
    if ctx.globals.no_environment {
        ctx.printer.info("No Meltano environment was selected");
        return Ok(vec![None]);
    }
    let explicit = ctx
        .globals
        .environment
        .clone()
        .or_else(|| project.env_var(env_vars::MELTANO_ENVIRONMENT));
    let manifest = &project.manifest().manifest;
    match explicit {
        Some(name) if name.is_empty() || name.eq_ignore_ascii_case("null") => Ok(vec![None]),
        Some(name) => {
            if manifest.environment(&name).is_none() {
                return Err(CliError::Meltano(format!(
                    "Environment '{name}' was not found."
                )));
            }
            Ok(vec![Some(name)])
        }
        None => Ok(std::iter::once(None)
            .chain(manifest.environments.iter().map(|e| Some(e.name.clone())))
            .collect()),
    }
}
