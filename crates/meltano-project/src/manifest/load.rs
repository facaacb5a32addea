//! Reading meltano.yml and the files its `include_paths` name, merged into one [`Manifest`].
//!
//! Each file is parsed on its own so errors point into the right file; then plugins, schedules,
//! environments and jobs of the included files are appended (in pattern order, matches sorted) and
//! the file each entry came from is recorded, so an editor can write every entry back where it
//! lives. This matches Meltano's `ProjectFiles`, except that a name defined in two files is always
//! an error (Meltano misses meltano.yml against an included file) and that any other top-level key
//! in an included file is an error rather than silently merged.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use meltano_core::PluginType;
use serde::de::IgnoredAny;

use super::error::{Diagnostic, ManifestError};
use super::locate::{KeyPath, Segment};
use super::model::Manifest;
use crate::PROJECT_FILE;

/// The keys an included file may hold.
const INCLUDABLE_KEYS: [&str; 4] = ["plugins", "schedules", "environments", "jobs"];

/// Something that is defined once per project and lives in exactly one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryKey {
    /// A plugin, by type and name.
    Plugin(PluginType, String),
    /// An environment, by name.
    Environment(String),
    /// A schedule, by name.
    Schedule(String),
    /// A job, by name.
    Job(String),
}

impl EntryKey {
    /// `plugin`, `environment`, `schedule` or `job`.
    pub fn kind(&self) -> &'static str {
        match self {
            EntryKey::Plugin(..) => "plugin",
            EntryKey::Environment(_) => "environment",
            EntryKey::Schedule(_) => "schedule",
            EntryKey::Job(_) => "job",
        }
    }
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKey::Plugin(t, name) => write!(f, "{} `{name}`", t.descriptor()),
            EntryKey::Environment(name) => write!(f, "environment `{name}`"),
            EntryKey::Schedule(name) => write!(f, "schedule `{name}`"),
            EntryKey::Job(name) => write!(f, "job `{name}`"),
        }
    }
}

/// The merged manifest of a project and where each entry came from.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// meltano.yml with every included file merged in.
    pub manifest: Manifest,
    /// The project root.
    pub root: PathBuf,
    /// `<root>/meltano.yml`.
    pub main_file: PathBuf,
    /// The included files, in merge order (`<root>/<match>`).
    pub included_files: Vec<PathBuf>,
    origins: HashMap<EntryKey, PathBuf>,
}

impl LoadedManifest {
    /// The file that defines `key`.
    pub fn origin(&self, key: &EntryKey) -> Option<&Path> {
        self.origins.get(key).map(PathBuf::as_path)
    }

    /// The file that defines a plugin.
    pub fn plugin_origin(&self, plugin_type: PluginType, name: &str) -> Option<&Path> {
        self.origin(&EntryKey::Plugin(plugin_type, name.to_string()))
    }

    /// The file that defines an environment.
    pub fn environment_origin(&self, name: &str) -> Option<&Path> {
        self.origin(&EntryKey::Environment(name.to_string()))
    }

    /// The file that defines a schedule.
    pub fn schedule_origin(&self, name: &str) -> Option<&Path> {
        self.origin(&EntryKey::Schedule(name.to_string()))
    }

    /// The file that defines a job.
    pub fn job_origin(&self, name: &str) -> Option<&Path> {
        self.origin(&EntryKey::Job(name.to_string()))
    }
}

/// Reads `<root>/meltano.yml` and every file its `include_paths` match, merged.
pub fn load(root: &Path) -> Result<LoadedManifest, ManifestError> {
    let main_file = root.join(PROJECT_FILE);
    let text = read(&main_file)?;
    let mut manifest = parse_str(&text, &main_file)?;

    let mut origins = HashMap::new();
    record(&mut origins, &manifest, &main_file, &main_file)?;

    let included_files = resolve_include_paths(root, &main_file, &manifest.include_paths)?;
    for file in &included_files {
        let text = read(file)?;
        let Some(included) = parse_document(&text, file)? else {
            continue;
        };
        check_included_keys(&text, file)?;
        record(&mut origins, &included, file, &main_file)?;
        merge(&mut manifest, included);
    }

    Ok(LoadedManifest {
        manifest,
        root: root.to_path_buf(),
        main_file,
        included_files,
        origins,
    })
}

/// Parses one file's text; `path` is only used in errors.
pub fn parse_str(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
    parse_document(text, path)?.ok_or_else(|| ManifestError::Empty {
        path: path.to_path_buf(),
    })
}

/// Parses one file; `None` when it holds no document (empty, comments only, or null).
fn parse_document(text: &str, path: &Path) -> Result<Option<Manifest>, ManifestError> {
    let manifest: Option<Manifest> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| ManifestError::Invalid(Box::new(Diagnostic::from_yaml(&e, text, path))))?;
    if let Some(m) = &manifest {
        validate(m, text, path)?;
    }
    Ok(manifest)
}

/// YAML as Meltano (ruamel, YAML 1.2) reads it: `yes`/`on` are strings, `.nan` is kept as text.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
    }
}

/// Checks the shape rules serde cannot express.
fn validate(manifest: &Manifest, text: &str, path: &Path) -> Result<(), ManifestError> {
    for (i, schedule) in manifest.schedules.iter().enumerate() {
        if schedule.target().is_none() {
            let at = KeyPath::new([Segment::Key("schedules".into()), Segment::Index(i)]);
            let message = format!(
                "schedule `{}` needs either `job`, or `extractor` and `loader`",
                schedule.name
            );
            return Err(ManifestError::Invalid(Box::new(Diagnostic::at_path(
                path, text, &at, message, None,
            ))));
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, ManifestError> {
    fs::read_to_string(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => ManifestError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ManifestError::Io {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Expands the patterns: matches sorted per pattern, duplicates and meltano.yml itself dropped.
fn resolve_include_paths(
    root: &Path,
    main_file: &Path,
    patterns: &[String],
) -> Result<Vec<PathBuf>, ManifestError> {
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ManifestError::Io { path, source }
    };
    let canonical_root = fs::canonicalize(root).map_err(io_err(root))?;
    let canonical_main = fs::canonicalize(main_file).map_err(io_err(main_file))?;
    let root_text = root.to_str().ok_or_else(|| ManifestError::IncludePattern {
        pattern: String::new(),
        message: format!("the project root `{}` is not valid UTF-8", root.display()),
    })?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };

    let mut seen = Vec::new();
    let mut files = Vec::new();
    for pattern in patterns {
        let bad = |message: String| ManifestError::IncludePattern {
            pattern: pattern.clone(),
            message,
        };
        if Path::new(pattern).is_absolute() {
            return Err(bad("patterns must be relative to the project root".into()));
        }
        let full = format!(
            "{}/{pattern}",
            glob::Pattern::escape(root_text.trim_end_matches('/'))
        );
        let paths = glob::glob_with(&full, options).map_err(|e| bad(e.to_string()))?;
        let mut matches = paths
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ManifestError::Io {
                path: e.path().to_path_buf(),
                source: e.into(),
            })?;
        matches.sort();
        for path in matches {
            let canonical = fs::canonicalize(&path).map_err(io_err(&path))?;
            if canonical == canonical_main || seen.contains(&canonical) {
                continue;
            }
            if !canonical.starts_with(&canonical_root) {
                return Err(ManifestError::IncludeOutsideRoot {
                    pattern: pattern.clone(),
                    path,
                    root: root.to_path_buf(),
                });
            }
            if !canonical.is_file() {
                return Err(ManifestError::IncludeNotAFile {
                    pattern: pattern.clone(),
                    path,
                });
            }
            seen.push(canonical);
            files.push(path);
        }
    }
    Ok(files)
}

/// Rejects top-level keys other than plugins, schedules, environments and jobs.
fn check_included_keys(text: &str, path: &Path) -> Result<(), ManifestError> {
    let keys: Option<IndexMap<String, IgnoredAny>> =
        serde_saphyr::from_str_with_options(text, options())
            .map_err(|e| ManifestError::Invalid(Box::new(Diagnostic::from_yaml(&e, text, path))))?;
    if let Some(key) = keys
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| !INCLUDABLE_KEYS.contains(&k.as_str()))
    {
        let at = KeyPath::new([Segment::Key(key.clone())]);
        let message =
            "only `plugins`, `schedules`, `environments` and `jobs` may appear in an included file"
                .to_string();
        let hint = Some(format!("move `{key}` to {PROJECT_FILE}"));
        return Err(ManifestError::Invalid(Box::new(Diagnostic::at_path(
            path, text, &at, message, hint,
        ))));
    }
    Ok(())
}

/// Records where each entry of `manifest` lives. A name seen before is an error, unless both
/// definitions are in meltano.yml (Meltano does not check within it; the first one wins).
fn record(
    origins: &mut HashMap<EntryKey, PathBuf>,
    manifest: &Manifest,
    file: &Path,
    main_file: &Path,
) -> Result<(), ManifestError> {
    let keys = manifest
        .all_plugins()
        .map(|(t, p)| EntryKey::Plugin(t, p.name.clone()))
        .chain(
            manifest
                .schedules
                .iter()
                .map(|s| EntryKey::Schedule(s.name.clone())),
        )
        .chain(
            manifest
                .environments
                .iter()
                .map(|e| EntryKey::Environment(e.name.clone())),
        )
        .chain(manifest.jobs.iter().map(|j| EntryKey::Job(j.name.clone())));
    for key in keys {
        match origins.get(&key) {
            None => {
                origins.insert(key, file.to_path_buf());
            }
            Some(first) if first == main_file && file == main_file => {}
            Some(first) => {
                return Err(ManifestError::Duplicate {
                    key,
                    first: first.clone(),
                    second: file.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// Appends an included file's entries to the merged manifest.
fn merge(into: &mut Manifest, from: Manifest) {
    let mut plugins = from.plugins;
    for t in PluginType::IN_MANIFEST {
        if let (Some(dst), Some(src)) = (into.plugins.get_mut(t), plugins.get_mut(t)) {
            dst.append(src);
        }
    }
    into.schedules.extend(from.schedules);
    into.environments.extend(from.environments);
    into.jobs.extend(from.jobs);
}
