//! `meltano init`: a new project with its scaffold, system directory and database.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use meltano_cli::InitArgs;
use meltano_core::env_vars;
use meltano_db::{DbConfig, SystemDb};
use meltano_project::init::{InitError, create_project, manifest_template};
use meltano_project::{PROJECT_FILE, SysDir};

use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};
use crate::prompt;

const BANNER: &str = r"
   ┌──────────────────────────────────┐
   │    m  e  l  t  a  n  o   ·  r s  │
   └──────────────────────────────────┘
";

/// Creates the project directory, its files, `.meltano/` and the system database.
pub fn run(ctx: &Context, args: InitArgs) -> CliResult<ExitCode> {
    let directory = match args.project_directory {
        Some(dir) => dir,
        None => {
            ctx.printer.out("We need a project name to get started!");
            PathBuf::from(prompt::ask_required(
                &ctx.printer,
                "Enter a name now to create a Meltano project",
            )?)
        }
    };
    if directory.join(PROJECT_FILE).exists() && !args.force {
        return Err(CliError::meltano(InitError::AlreadyExists));
    }
    fs::create_dir_all(&directory).map_err(|e| {
        CliError::Meltano(format!(
            "Could not create the project directory '{}': {e}",
            directory.display()
        ))
    })?;
    let root = fs::canonicalize(&directory).map_err(CliError::meltano)?;

    ctx.printer.out("Creating .meltano folder");
    let sys_dir = SysDir::new(
        &root,
        std::env::var(env_vars::MELTANO_SYS_DIR_ROOT)
            .ok()
            .as_deref(),
    );
    sys_dir.ensure().map_err(CliError::meltano)?;
    ctx.printer
        .out(&format!("created .meltano in {}", sys_dir.root().display()));

    let project_id = uuid::Uuid::now_v7().to_string();
    let send_stats = !args.no_usage_stats
        && std::env::var(env_vars::MELTANO_SEND_ANONYMOUS_USAGE_STATS)
            .map_or(true, |v| env_vars::truthy(&v));
    ctx.printer.out("Creating project files...");
    let files = create_project(
        &root,
        &manifest_template(&project_id, send_stats),
        args.force,
    )
    .map_err(CliError::meltano)?;
    if directory != Path::new(".") {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ctx.printer.out(&format!("  {name}/"));
    }
    for file in files {
        let skipped = if file.created { "" } else { " (skipped)" };
        ctx.printer.out(&format!("   |-- {}{skipped}", file.path));
    }
    write_run_files(&sys_dir, &project_id, send_stats)?;

    ctx.printer.out_raw("Creating system database...");
    let uri = args
        .db
        .database_uri
        .or_else(|| std::env::var(env_vars::MELTANO_DATABASE_URI).ok())
        .unwrap_or_else(|| format!("sqlite:///{}", sys_dir.default_database().display()));
    let config = DbConfig {
        uri,
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(5),
    };
    block_on(async {
        let db = SystemDb::open(&config).await?;
        db.close().await;
        Ok::<_, meltano_db::DbError>(())
    })?
    .map_err(CliError::meltano)?;
    ctx.printer.out("  Done!");

    ctx.printer.out(BANNER);
    ctx.printer.out("Your project has been created!\n");
    ctx.printer
        .out("Meltano Environments initialized with dev, staging, and prod.");
    ctx.printer.out(
        "To learn more about Environments visit: https://docs.meltano.com/concepts/environments\n",
    );
    ctx.printer.out("Next steps:");
    if directory != Path::new(".") {
        ctx.printer.out(&format!("  cd {}", directory.display()));
    }
    ctx.printer.out(
        "  Visit https://docs.meltano.com/getting-started/part1 to learn where to go from here",
    );
    Ok(ExitCode::SUCCESS)
}

/// `.meltano/analytics.json`, the `run/bin` link to this executable and the meltano.yml lock file.
fn write_run_files(sys_dir: &SysDir, project_id: &str, send_stats: bool) -> CliResult<()> {
    let analytics = serde_json::json!({
        "client_id": uuid::Uuid::new_v4().to_string(),
        "project_id": project_id,
        "send_anonymous_usage_stats": send_stats,
    });
    let io = |e: std::io::Error| CliError::meltano(e);
    fs::write(sys_dir.analytics_file(), analytics.to_string()).map_err(io)?;
    let run_dir = sys_dir.run_dir();
    fs::write(run_dir.join("meltano.yml.lock"), "").map_err(io)?;
    crate::context::link_executable(sys_dir).map_err(io)?;
    Ok(())
}
