//! `meltano logs list|show|dir`: the run history in `runs` and each run's `elt.log`.

use std::process::ExitCode;

use chrono::NaiveDateTime;
use meltano_cli::{LogsCommand, OutputFormat};
use meltano_db::RunRow;
use serde_json::json;
use uuid::Uuid;

use crate::context::{Context, block_on};
use crate::error::{CliError, CliResult};
use crate::pipeline::run_log;
use crate::table::{Align, Table};

pub fn run(ctx: &Context, command: LogsCommand) -> CliResult<ExitCode> {
    let project = ctx.project(&["logs"])?;
    match command {
        LogsCommand::Dir { .. } => {
            ctx.printer
                .out(&run_log::logs_dir(&project).display().to_string());
            Ok(ExitCode::SUCCESS)
        }
        LogsCommand::List { limit, format, db } => block_on(async {
            let db = ctx.database(&project, db.database_uri.as_deref()).await?;
            let listed = db.recent_runs(limit.max(0)).await;
            db.close().await;
            let runs = listed.map_err(CliError::meltano)?;
            match format {
                OutputFormat::Json => {
                    let items: Vec<_> = runs.iter().map(list_item).collect();
                    let total = items.len();
                    ctx.printer
                        .out(&pretty(&json!({"runs": items, "total": total})));
                }
                OutputFormat::Text if runs.is_empty() => ctx.printer.out("No job runs found."),
                OutputFormat::Text => {
                    ctx.printer.out(&list_table(&runs, limit));
                    ctx.printer.out("");
                    ctx.printer
                        .out("Use 'meltano logs show <LOG_ID>' to view a specific log.");
                }
            }
            Ok(ExitCode::SUCCESS)
        })?,
        LogsCommand::Show {
            log_id,
            tail,
            format,
            db,
        } => block_on(async {
            let not_found = || CliError::Meltano(format!("No job found with log ID '{log_id}'"));
            let run_id = Uuid::parse_str(&log_id).map_err(|_| not_found())?;
            let db = ctx.database(&project, db.database_uri.as_deref()).await?;
            let found = db.run_by_run_id(&run_id).await;
            db.close().await;
            let run = found.map_err(CliError::meltano)?.ok_or_else(not_found)?;
            let path = run_log::path(&project, &run.job_name, &run_id);
            let Ok(text) = std::fs::read_to_string(&path) else {
                return Err(CliError::Meltano(format!(
                    "Log file not found for job run '{log_id}'. Expected at {}: the run may have \
                     been started by another machine, or its log removed.",
                    path.display()
                )));
            };
            match format {
                OutputFormat::Json => ctx.printer.out(&pretty(&json!({
                    "job_name": run.job_name,
                    "run_id": run_id.to_string(),
                    "state": run.state,
                    "started_at": run.started_at.map(iso),
                    "ended_at": run.ended_at.map(iso),
                    "trigger": run.trigger,
                }))),
                OutputFormat::Text => {
                    ctx.printer.out(&format!("Job: {}", run.job_name));
                    ctx.printer.out(&format!("Run ID: {run_id}"));
                    ctx.printer.out(&format!("State: {}", run.state));
                    ctx.printer.out(&format!(
                        "Started: {}",
                        run.started_at.map(python_aware).unwrap_or_default()
                    ));
                    ctx.printer.out(&format!(
                        "Ended: {}",
                        run.ended_at.map(python_aware).unwrap_or_default()
                    ));
                    ctx.printer.out(&format!(
                        "Trigger: {}",
                        run.trigger.as_deref().unwrap_or_default()
                    ));
                }
            }
            ctx.printer.out("");
            match tail {
                Some(n) => {
                    let lines: Vec<&str> = text.lines().collect();
                    let shown = &lines[lines.len().saturating_sub(n)..];
                    ctx.printer.out(&format!("Last {} lines:", shown.len()));
                    ctx.printer.out(&"-".repeat(40));
                    for line in shown {
                        ctx.printer.out(line);
                    }
                }
                None => {
                    ctx.printer.out("Log content:");
                    ctx.printer.out(&"-".repeat(40));
                    ctx.printer.out(text.trim_end_matches('\n'));
                }
            }
            Ok(ExitCode::SUCCESS)
        })?,
    }
}

fn list_item(run: &RunRow) -> serde_json::Value {
    json!({
        "log_id": dashed(&run.run_id),
        "job_name": run.job_name,
        "state": run.state,
        "started_at": run.started_at.map(iso),
        "ended_at": run.ended_at.map(iso),
        "duration_seconds": duration(run),
        "trigger": run.trigger,
    })
}

fn list_table(runs: &[RunRow], limit: i64) -> String {
    let mut table = Table::new(vec![
        ("STATUS", Align::Left),
        ("LOG ID", Align::Left),
        ("JOB NAME", Align::Left),
        ("STARTED", Align::Left),
        ("DURATION", Align::Left),
        ("TRIGGER", Align::Left),
    ]);
    for run in runs {
        let status = match run.state.as_str() {
            "SUCCESS" => "✓ PASS",
            "FAIL" => "✗ FAIL",
            _ => "→ RUN",
        };
        table.row(vec![
            status.to_string(),
            dashed(&run.run_id),
            run.job_name.clone(),
            run.started_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            duration(run).map(human_duration).unwrap_or_default(),
            run.trigger.clone().unwrap_or_default(),
        ]);
    }
    let rendered = table.render();
    let width = rendered.lines().next().map_or(0, |l| l.chars().count());
    let title = format!("Recent job runs (showing {} of last {limit})", runs.len());
    format!("{title:^width$}\n{rendered}")
}

fn duration(run: &RunRow) -> Option<f64> {
    let (start, end) = (run.started_at?, run.ended_at?);
    Some((end - start).num_microseconds()? as f64 / 1e6)
}

/// `12.3s`, `4.5m`, `1.2h`.
fn human_duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else if seconds < 3600.0 {
        format!("{:.1}m", seconds / 60.0)
    } else {
        format!("{:.1}h", seconds / 3600.0)
    }
}

fn dashed(hex: &str) -> String {
    Uuid::parse_str(hex).map_or_else(|_| hex.to_string(), |u| u.to_string())
}

/// `2026-12-02T09:34:50.451260+00:00`, as Python's `isoformat()` of an aware datetime.
fn iso(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// `2026-12-02 09:34:50.451260+00:00`, as Python prints an aware datetime.
fn python_aware(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
}

fn pretty(value: &serde_json::Value) -> String {
    meltano_core::pyjson::dumps_indent2(value)
}
