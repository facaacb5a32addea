//! Installing many plugins at once: bounded parallelism, one install per shared venv, progress events.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use meltano_core::PluginType;

use crate::backend::Backend;
use crate::error::InstallError;
use crate::install::{InstallKind, InstallReport, install};
use crate::request::InstallRequest;

/// Progress of [`install_all`], delivered from worker threads for a progress display. `index` is the
/// request's position in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallEvent {
    /// pip/uv work for this plugin began.
    Started {
        /// Position in the input.
        index: usize,
        /// The plugin's type.
        plugin_type: PluginType,
        /// The plugin's name.
        name: String,
    },
    /// The plugin's install ended.
    Finished {
        /// Position in the input.
        index: usize,
        /// The plugin's type.
        plugin_type: PluginType,
        /// The plugin's name.
        name: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// The plugin needed no work of its own.
    Skipped {
        /// Position in the input.
        index: usize,
        /// The plugin's type.
        plugin_type: PluginType,
        /// The plugin's name.
        name: String,
        /// Why.
        reason: SkipReason,
    },
}

/// Why [`install_all`] did not install a plugin itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Another plugin with the same venv directory was installed ("reusing parent virtualenv").
    SharedVenv {
        /// The plugin that was installed.
        installed_by: String,
        /// Whether that install succeeded.
        ok: bool,
    },
}

/// Installs every request, at most `parallelism` at a time (0 = unlimited). Requests sharing a `venv_dir`
/// are installed once, by the first of them (its `pip_url` wins; `clean` if any asks for it); the others get
/// [`InstallKind::Shared`], or [`InstallError::SharedVenvFailed`] if that install failed. Results keep the
/// input order. Callers filter with [`crate::needs_install`] first when only stale venvs should be touched.
pub fn install_all(
    reqs: Vec<InstallRequest>,
    backend: &Backend,
    parallelism: usize,
    on_event: impl Fn(InstallEvent) + Sync,
) -> Vec<(InstallRequest, Result<InstallReport, InstallError>)> {
    let groups = group_by_venv(&reqs);
    let workers = match parallelism {
        0 => groups.len(),
        n => n.min(groups.len()),
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<InstallReport, InstallError>>>> =
        Mutex::new((0..reqs.len()).map(|_| None).collect());

    let work = || {
        loop {
            let g = next.fetch_add(1, Ordering::SeqCst);
            let Some(members) = groups.get(g) else { break };
            let outcomes = install_group(&reqs, members, backend, &on_event);
            if let Ok(mut results) = results.lock() {
                for (index, outcome) in outcomes {
                    results[index] = Some(outcome);
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(work);
        }
    });

    let results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    reqs.into_iter()
        .zip(results)
        .map(|(req, result)| {
            // Every index belongs to exactly one group, so every slot is filled unless a worker panicked.
            let result = result.unwrap_or_else(|| {
                Err(InstallError::SharedVenvFailed {
                    plugin: req.describe(),
                    installed_by: "an install that panicked".to_string(),
                })
            });
            (req, result)
        })
        .collect()
}

/// Indices of requests grouped by `venv_dir`, groups in order of first appearance.
fn group_by_venv(reqs: &[InstallRequest]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_dir: HashMap<&PathBuf, usize> = HashMap::new();
    for (index, req) in reqs.iter().enumerate() {
        match by_dir.get(&req.venv_dir) {
            Some(&g) => groups[g].push(index),
            None => {
                by_dir.insert(&req.venv_dir, groups.len());
                groups.push(vec![index]);
            }
        }
    }
    groups
}

/// Installs a group's first request, then settles the others as shared.
fn install_group(
    reqs: &[InstallRequest],
    members: &[usize],
    backend: &Backend,
    on_event: &(impl Fn(InstallEvent) + Sync),
) -> Vec<(usize, Result<InstallReport, InstallError>)> {
    let Some((&lead, followers)) = members.split_first() else {
        return Vec::new();
    };
    let leader = &reqs[lead];
    let mut effective = leader.clone();
    effective.clean = members.iter().any(|&i| reqs[i].clean);

    on_event(InstallEvent::Started {
        index: lead,
        plugin_type: leader.plugin_type,
        name: leader.name.clone(),
    });
    let result = install(&effective, backend);
    let ok = result.is_ok();
    on_event(InstallEvent::Finished {
        index: lead,
        plugin_type: leader.plugin_type,
        name: leader.name.clone(),
        ok,
    });

    let mut outcomes = vec![(lead, result)];
    for &index in followers {
        let req = &reqs[index];
        on_event(InstallEvent::Skipped {
            index,
            plugin_type: req.plugin_type,
            name: req.name.clone(),
            reason: SkipReason::SharedVenv {
                installed_by: leader.name.clone(),
                ok,
            },
        });
        let outcome = if ok {
            Ok(InstallReport {
                venv_dir: req.venv_dir.clone(),
                kind: InstallKind::Shared {
                    installed_by: leader.name.clone(),
                },
                output: String::new(),
                warnings: Vec::new(),
                duration: Duration::ZERO,
            })
        } else {
            Err(InstallError::SharedVenvFailed {
                plugin: req.describe(),
                installed_by: leader.describe(),
            })
        };
        outcomes.push((index, outcome));
    }
    outcomes
}
