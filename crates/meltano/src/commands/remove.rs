//! `meltano remove`: a plugin's settings in the system database, its entry in the project files,
//! its installation and its lock files.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use meltano_cli::RemoveArgs;
use meltano_core::PluginType;
use meltano_db::SystemDb;
use meltano_project::Project;
use meltano_project::layout::lock_dir;

use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};

/// Removes each named plugin from every place it lives; reports what was and was not found.
pub fn run(ctx: &Context, args: RemoveArgs) -> CliResult<ExitCode> {
    let project = ctx.project(&["remove"])?;
    project.ensure_writable().map_err(CliError::meltano)?;
    let explicit_type = args
        .plugin_type
        .as_deref()
        .map(|t| t.parse::<PluginType>().map_err(CliError::meltano))
        .transpose()?;
    // One runtime for the whole command: the database pool belongs to the runtime that opened it.
    block_on(async {
        let db = ctx
            .database(&project, args.db.database_uri.as_deref())
            .await?;
        let removed = remove_all(ctx, &project, &db, &args, explicit_type).await;
        db.close().await;
        removed
    })?
}

async fn remove_all(
    ctx: &Context,
    project: &Project,
    db: &SystemDb,
    args: &RemoveArgs,
    explicit_type: Option<PluginType>,
) -> CliResult<ExitCode> {
    let mut fully_removed = 0;
    for name in &args.plugins {
        // Without --plugin-type, the project's own plugin of that name decides; else the name's prefix.
        let plugin_type = explicit_type
            .or_else(|| {
                project
                    .manifest()
                    .manifest
                    .find_plugin(name, None)
                    .map(|(t, _)| t)
            })
            .unwrap_or_else(|| PluginType::infer_from_name(name));
        if remove_one(ctx, project, db, plugin_type, name).await? {
            fully_removed += 1;
        }
    }
    let total = args.plugins.len();
    if total > 1 {
        let summary = format!("Fully removed {fully_removed}/{total} plugins");
        if fully_removed < total {
            ctx.printer.warn(&summary)
        } else {
            ctx.printer.info(&summary)
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes one plugin from the four places; true when it was found in all of them.
async fn remove_one(
    ctx: &Context,
    project: &Project,
    db: &SystemDb,
    plugin_type: PluginType,
    name: &str,
) -> CliResult<bool> {
    let descriptor = plugin_type.descriptor();
    let printer = &ctx.printer;
    printer.info(&format!("Removing {descriptor} '{name}'..."));
    let mut found_everywhere = true;

    let namespace = format!("{}.{name}.default", plugin_type.plural());
    db.delete_plugin_settings(&namespace)
        .await
        .map_err(CliError::meltano)?;
    printer.info(&format!(
        "Reset {descriptor} '{name}' plugin settings in the system database"
    ));

    match project.manifest().plugin_origin(plugin_type, name) {
        Some(origin) => {
            let mut file = project.edit(origin).map_err(CliError::meltano)?;
            let removed = file
                .remove_plugin(plugin_type, name)
                .map_err(CliError::meltano)?;
            file.save().map_err(CliError::meltano)?;
            let shown = display_path(project.root(), origin);
            if removed {
                printer.info(&format!("Removed {descriptor} '{name}' from {shown}"));
            } else {
                found_everywhere = false;
                printer.warn(&format!(
                    "Could not find {descriptor} '{name}' in {shown} to remove"
                ));
            }
        }
        None => {
            found_everywhere = false;
            printer.warn(&format!(
                "Could not find {descriptor} '{name}' in meltano.yml to remove"
            ));
        }
    }

    let install_dir = project.sys_dir().plugin_dir(plugin_type, name);
    // A name is a single path segment; anything else could reach outside `.meltano/<type>/`.
    let type_dir = project.sys_dir().root().join(plugin_type.plural());
    if !is_plain_name(name) || install_dir.parent() != Some(type_dir.as_path()) {
        return Err(CliError::Meltano(format!(
            "'{name}' is not a valid plugin name: names may not contain '/' or be '.' or '..'."
        )));
    }
    let install_label = format!(".meltano/{}", plugin_type.plural());
    match fs::remove_dir_all(&install_dir) {
        Ok(()) => printer.info(&format!(
            "Removed {descriptor} '{name}' from {install_label}"
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            found_everywhere = false;
            printer.warn(&format!(
                "Could not find {descriptor} '{name}' in {install_label} to remove"
            ));
        }
        Err(e) => {
            found_everywhere = false;
            printer.error(&format!(
                "Could not remove {descriptor} '{name}' from {install_label}: {e}"
            ));
        }
    }

    let lock_label = format!(
        "plugins/{0}/{name}.lock or plugins/{0}/{name}--*.lock",
        plugin_type.plural()
    );
    let locks = lock_files(&lock_dir(project.root(), plugin_type), name);
    if locks.is_empty() {
        found_everywhere = false;
        printer.warn(&format!(
            "Could not find {descriptor} '{name}' in {lock_label} to remove"
        ));
    }
    for lock in locks {
        match fs::remove_file(&lock) {
            Ok(()) => printer.info(&format!(
                "Removed {descriptor} '{name}' from {}",
                display_path(project.root(), &lock)
            )),
            Err(e) => {
                found_everywhere = false;
                printer.error(&format!("Could not remove {}: {e}", lock.display()));
            }
        }
    }
    Ok(found_everywhere)
}

/// The lock files of exactly this plugin: `<name>.lock` and `<name>--<variant>.lock`.
fn lock_files(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let variant_prefix = format!("{name}--");
    let mut locks: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let Some(file) = p.file_name().and_then(|f| f.to_str()) else {
                return false;
            };
            let Some(stem) = file.strip_suffix(".lock") else {
                return false;
            };
            stem == name
                || stem
                    .strip_prefix(&variant_prefix)
                    .is_some_and(|v| !v.is_empty())
        })
        .collect();
    locks.sort();
    locks
}

/// Whether `name` is one path segment that cannot escape a directory.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn display_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
