//! Schedules (`schedules:`) and jobs (`jobs:`).

use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::value::{self, Annotations, EnvMap, Noun, ValueMap};

/// One entry of `schedules:`: either a job schedule (`job`) or a legacy ELT schedule
/// (`extractor`, `loader`, `transform`). Kept flat, as written; see [`Schedule::target`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The schedule name (also the state ID of ELT schedules).
    pub name: String,
    /// Cron expression or `@hourly`-style alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Environment variables for the scheduled process.
    #[serde(
        default,
        deserialize_with = "value::env_map",
        skip_serializing_if = "EnvMap::is_empty"
    )]
    pub env: EnvMap,
    /// Job schedules: the job to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// ELT schedules: the extractor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extractor: Option<String>,
    /// ELT schedules: the loader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader: Option<String>,
    /// ELT schedules: `skip`, `only` or `run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// Removed in Meltano 4.0 but still allowed by the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
    /// Other keys, kept as written.
    #[serde(flatten, deserialize_with = "value::extras")]
    pub extras: ValueMap,
}

impl Noun for Schedule {
    const PLURAL: &'static str = "schedules";
}

/// What a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleTarget<'a> {
    /// `meltano run <job>`.
    Job(&'a str),
    /// `meltano el <extractor> <loader> --transform=<transform>`.
    Elt {
        /// The extractor name.
        extractor: &'a str,
        /// The loader name.
        loader: &'a str,
        /// `skip` (the default), `only` or `run`.
        transform: &'a str,
    },
}

impl Schedule {
    /// What the schedule runs; `None` when it names neither a job nor an extractor and a loader
    /// (rejected at load time, so only for hand-built values).
    pub fn target(&self) -> Option<ScheduleTarget<'_>> {
        match (&self.job, &self.extractor, &self.loader) {
            (Some(job), _, _) if !job.is_empty() => Some(ScheduleTarget::Job(job)),
            (_, Some(extractor), Some(loader)) => Some(ScheduleTarget::Elt {
                extractor,
                loader,
                transform: self.transform.as_deref().unwrap_or("skip"),
            }),
            _ => None,
        }
    }
}

/// One entry of `jobs:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The job name.
    pub name: String,
    /// What the job runs.
    pub tasks: Tasks,
    /// Tool-specific annotations, ignored by Meltano.
    #[serde(
        default,
        deserialize_with = "value::value_map",
        skip_serializing_if = "Annotations::is_empty"
    )]
    pub annotations: Annotations,
}

impl Noun for Job {
    const PLURAL: &'static str = "jobs";
}

/// `tasks:` of a job: one string of blocks, or a list of strings and lists of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Tasks {
    /// `tasks: "tap target dbt:run"`
    One(String),
    /// `tasks: [...]`
    List(Vec<Task>),
}

/// One element of a `tasks:` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Task {
    /// Space-separated blocks: `tap-x target-y`.
    Blocks(String),
    /// A list of blocks.
    List(Vec<String>),
}

impl Tasks {
    /// Each top-level element as a list of block names (strings split on spaces): the block sets
    /// that `install --schedule` and job validation check one by one.
    pub fn block_sets(&self) -> Vec<Vec<String>> {
        let split = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        match self {
            Tasks::One(s) => vec![split(s)],
            Tasks::List(items) => items
                .iter()
                .map(|t| match t {
                    Task::Blocks(s) => split(s),
                    Task::List(l) => l.iter().flat_map(|s| split(s)).collect(),
                })
                .collect(),
        }
    }

    /// All blocks flattened into one list, as `meltano run <job>` executes them.
    pub fn blocks(&self) -> Vec<String> {
        self.block_sets().into_iter().flatten().collect()
    }
}

impl<'de> Deserialize<'de> for Tasks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tasks;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of tasks")
            }
            fn visit_str<E>(self, v: &str) -> Result<Tasks, E> {
                Ok(Tasks::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tasks, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = seq.next_element()? {
                    out.push(t);
                }
                Ok(Tasks::List(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Task {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Task;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E>(self, v: &str) -> Result<Task, E> {
                Ok(Task::Blocks(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Task, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Task::List(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}
