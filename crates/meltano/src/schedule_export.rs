//! `meltano schedule export`: the project's schedules for another scheduler, as a crontab or as
//! Kubernetes CronJob manifests, each entry running `meltano schedule run NAME`.
//!
//! Schedules that never fire by themselves (`@once`, `@manual`, `@none`) are listed as comments.

use std::path::Path;

use meltano_project::Project;
use meltano_project::manifest::Schedule;

use crate::error::CliResult;

/// How the Kubernetes manifests run the project.
#[derive(Debug, Clone)]
pub struct KubernetesOptions {
    /// The container image holding the project and `meltano`.
    pub image: String,
    /// The Secret whose keys become the container's environment (the project's `.env`).
    pub secret: Option<String>,
    pub namespace: Option<String>,
    /// The IANA time zone the cron expressions are read in.
    pub time_zone: Option<String>,
    /// The project's directory inside the image.
    pub working_dir: String,
}

/// Each schedule with its cron expression (None: runs only on demand).
fn schedules(project: &Project) -> CliResult<Vec<(&Schedule, Option<String>)>> {
    project
        .manifest()
        .manifest
        .schedules
        .iter()
        .map(|schedule| {
            let interval = crate::scheduler::interval_of(schedule)?;
            Ok((schedule, interval.cron_interval().map(str::to_string)))
        })
        .collect()
}

/// A crontab running each schedule from the project directory with `program`.
pub fn crontab(project: &Project, program: &Path, time_zone: Option<&str>) -> CliResult<String> {
    let mut out = String::new();
    out.push_str("# Meltano schedules, exported by `meltano schedule export --format crontab`.\n");
    out.push_str("# Each line runs one schedule; its logs go to `meltano logs list`.\n");
    if let Some(zone) = time_zone {
        out.push_str(&format!("CRON_TZ={zone}\n"));
    }
    for (schedule, cron) in schedules(project)? {
        let command = format!(
            "cd {} && MELTANO_JOB_TRIGGER=schedule {} schedule run {}",
            shell_quote(&project.root().display().to_string()),
            shell_quote(&program.display().to_string()),
            shell_quote(&schedule.name)
        );
        match cron {
            Some(cron) => out.push_str(&format!("{cron} {command}\n")),
            None => out.push_str(&format!(
                "# {} ({}) runs only on demand: {command}\n",
                schedule.name,
                schedule.interval.as_deref().unwrap_or_default()
            )),
        }
    }
    Ok(out)
}

/// One CronJob manifest per schedule, as a multi-document YAML stream.
pub fn kubernetes(project: &Project, options: &KubernetesOptions) -> CliResult<String> {
    let mut out = String::new();
    for (schedule, cron) in schedules(project)? {
        let Some(cron) = cron else {
            out.push_str(&format!(
                "# Schedule '{}' ({}) runs only on demand: no CronJob.\n",
                schedule.name,
                schedule.interval.as_deref().unwrap_or_default()
            ));
            continue;
        };
        out.push_str(&cron_job(schedule, &cron, options));
    }
    Ok(out)
}

fn cron_job(schedule: &Schedule, cron: &str, options: &KubernetesOptions) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut y = String::new();
    y.push_str("---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n");
    y.push_str(&format!("  name: {}\n", resource_name(&schedule.name)));
    if let Some(namespace) = &options.namespace {
        y.push_str(&format!("  namespace: {}\n", q(namespace)));
    }
    y.push_str("  labels:\n    app.kubernetes.io/name: meltano\n");
    y.push_str("  annotations:\n");
    y.push_str(&format!(
        "    meltano.com/schedule: {}\n",
        q(&schedule.name)
    ));
    y.push_str(&format!(
        "    meltano.com/interval: {}\n",
        q(schedule.interval.as_deref().unwrap_or_default())
    ));
    y.push_str("spec:\n");
    y.push_str(&format!("  schedule: {}\n", q(cron)));
    if let Some(zone) = &options.time_zone {
        y.push_str(&format!("  timeZone: {}\n", q(zone)));
    }
    y.push_str("  concurrencyPolicy: Forbid\n");
    y.push_str(
        "  jobTemplate:\n    spec:\n      backoffLimit: 0\n      template:\n        spec:\n",
    );
    y.push_str("          restartPolicy: Never\n          containers:\n");
    y.push_str("          - name: meltano\n");
    y.push_str(&format!("            image: {}\n", q(&options.image)));
    y.push_str(&format!(
        "            workingDir: {}\n",
        q(&options.working_dir)
    ));
    y.push_str(&format!(
        "            command: [\"meltano\", \"schedule\", \"run\", {}]\n",
        q(&schedule.name)
    ));
    y.push_str("            env:\n");
    y.push_str("            - name: MELTANO_JOB_TRIGGER\n              value: \"schedule\"\n");
    for (key, value) in &schedule.env {
        y.push_str(&format!(
            "            - name: {}\n              value: {}\n",
            q(key),
            q(value)
        ));
    }
    if let Some(secret) = &options.secret {
        y.push_str("            envFrom:\n            - secretRef:\n");
        y.push_str(&format!("                name: {}\n", q(secret)));
    }
    y
}

/// A CronJob name from a schedule name: lowercase letters, digits and `-`, at most 52 characters.
fn resource_name(name: &str) -> String {
    let mut out = String::from("meltano-");
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(52);
    out.trim_end_matches('-').to_string()
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_are_valid_for_kubernetes() {
        assert_eq!(resource_name("Daily_Job"), "meltano-daily-job");
        assert_eq!(resource_name("a..b"), "meltano-a-b");
        assert!(resource_name(&"x".repeat(80)).len() <= 52);
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_quote("/srv/project"), "/srv/project");
        assert_eq!(shell_quote("my project"), "'my project'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
