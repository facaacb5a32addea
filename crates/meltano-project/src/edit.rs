//! Lossless edits of `meltano.yml` and included files.
//!
//! The file is parsed into a concrete syntax tree (yaml-edit) and changed in place, so everything a
//! command does not touch — comments, blank lines, key order, quoting, flow style — is written back
//! exactly as the user wrote it. Writes are atomic; an editor opened with
//! [`ProjectFileMut::open_locked`] holds an exclusive lock on `.meltano/run/meltano.yml.lock` from
//! read to drop, so another process's read-modify-write cannot interleave and lose an edit.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use meltano_core::PluginType;
use serde_json::Value;
use yaml_edit::{Document, Mapping, Sequence};

use crate::SysDir;
use crate::atomic::write_atomic;

mod entries;
mod layout;
mod scalar;

use scalar::string_scalar;

/// Why a project file could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("could not read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("could not write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("could not lock {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },
    #[error("{path} is not valid YAML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{path}: expected `{key}` to be a {expected}; fix it by hand, then run the command again"
    )]
    Shape {
        path: PathBuf,
        key: String,
        expected: &'static str,
    },
}

/// One project file (meltano.yml or an included file), open for editing.
pub struct ProjectFileMut {
    path: PathBuf,
    doc: Document,
    /// How the original file lays out lists, kept for the lists an edit adds.
    lists: layout::ListIndent,
    /// Held from open until drop when opened with [`ProjectFileMut::open_locked`].
    _lock: Option<ProjectFileLock>,
}

impl ProjectFileMut {
    /// Parses the file; a file that is empty or only comments starts as an empty mapping.
    pub fn open(path: &Path) -> Result<ProjectFileMut, EditError> {
        ProjectFileMut::read(path, None)
    }

    /// Like [`ProjectFileMut::open`], holding the lock at `lock_path` (see
    /// [`ProjectFileLock::path`]) from before the read until the editor is dropped.
    pub fn open_locked(path: &Path, lock_path: &Path) -> Result<ProjectFileMut, EditError> {
        let lock = ProjectFileLock::acquire(lock_path).map_err(|source| EditError::Lock {
            path: lock_path.to_path_buf(),
            source,
        })?;
        ProjectFileMut::read(path, Some(lock))
    }

    fn read(path: &Path, lock: Option<ProjectFileLock>) -> Result<ProjectFileMut, EditError> {
        let text = fs::read_to_string(path).map_err(|source| EditError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_error = |message: String| EditError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let doc = if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            Document::from_str(&format!("{text}{{}}\n")).map_err(|e| parse_error(e.to_string()))?
        } else {
            Document::from_str(&text).map_err(|e| parse_error(e.to_string()))?
        };
        let file = ProjectFileMut {
            path: path.to_path_buf(),
            doc,
            lists: layout::detect(&text),
            _lock: lock,
        };
        file.root()?;
        Ok(file)
    }

    /// The path this editor writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn root(&self) -> Result<Mapping, EditError> {
        self.doc
            .as_mapping()
            .ok_or_else(|| self.shape("(top level)", "mapping"))
    }

    fn shape(&self, key: &str, expected: &'static str) -> EditError {
        EditError::Shape {
            path: self.path.clone(),
            key: key.to_string(),
            expected,
        }
    }

    /// Appends `item` to the block sequence `parent[key]`, creating the sequence (or replacing an
    /// empty `[]` or null) when needed. A new sequence is built whole before it is attached, so it
    /// takes the file's usual layout (`- ` at the key's column).
    fn append_to_sequence(
        &self,
        parent: &Mapping,
        key: &str,
        path: &str,
        item: Mapping,
    ) -> Result<(), EditError> {
        match parent.get(key) {
            Some(node) if is_null(&node) => {}
            Some(node) => {
                let seq = node.as_sequence().ok_or_else(|| self.shape(path, "list"))?;
                if !(seq.is_flow_style() && seq.is_empty()) {
                    seq.push(item);
                    return Ok(());
                }
            }
            None => {}
        }
        let seq = Sequence::new();
        seq.push(item);
        parent.set(key, seq);
        Ok(())
    }

    /// Appends a plugin entry (keys in the given order) to `plugins.<type>`.
    pub fn add_plugin(
        &mut self,
        plugin_type: PluginType,
        entry: &serde_json::Map<String, Value>,
    ) -> Result<(), EditError> {
        let root = self.root()?;
        let item = to_mapping(entry);
        match root.get("plugins") {
            Some(node) if !is_null(&node) => {
                let plugins = root
                    .get_mapping("plugins")
                    .ok_or_else(|| self.shape("plugins", "mapping"))?;
                let key = plugin_type.plural();
                let exists = plugins.get(key).is_some_and(|node| !is_null(&node));
                if !exists && let Some(next) = later_type_key(&plugins, plugin_type) {
                    // A new type goes where Meltano puts it: in type order (`loaders:` after
                    // `extractors:`, before `utilities:`).
                    let seq = Sequence::new();
                    seq.push(item);
                    plugins.insert_before(next, key, seq);
                    return Ok(());
                }
                let path = format!("plugins.{key}");
                self.append_to_sequence(&plugins, key, &path, item)
            }
            _ => {
                let plugins = Mapping::new();
                let seq = Sequence::new();
                seq.push(item);
                plugins.set(plugin_type.plural(), seq);
                root.set("plugins", plugins);
                Ok(())
            }
        }
    }

    /// Removes the plugin named `name` from `plugins.<type>`; false when it is not in this file.
    ///
    /// A type left with no plugins loses its key, as when Meltano rewrites the file.
    pub fn remove_plugin(
        &mut self,
        plugin_type: PluginType,
        name: &str,
    ) -> Result<bool, EditError> {
        let Some(plugins) = self.root()?.get_mapping("plugins") else {
            return Ok(false);
        };
        let Some(list) = plugins.get_sequence(plugin_type.plural()) else {
            return Ok(false);
        };
        let removed = remove_named(&list, name);
        if removed && list.is_empty() {
            plugins.remove(plugin_type.plural());
        }
        Ok(removed)
    }

    /// Appends `- name: <name>` to `environments`.
    pub fn add_environment(&mut self, name: &str) -> Result<(), EditError> {
        let mut entry = serde_json::Map::new();
        entry.insert("name".into(), Value::String(name.to_string()));
        self.append_to_sequence(
            &self.root()?,
            "environments",
            "environments",
            to_mapping(&entry),
        )
    }

    /// Removes the environment named `name`; false when it is not in this file.
    pub fn remove_environment(&mut self, name: &str) -> Result<bool, EditError> {
        let Some(list) = self.root()?.get_sequence("environments") else {
            return Ok(false);
        };
        Ok(remove_named(&list, name))
    }

    /// Sets `path` (a setting split at its dots) in a plugin's `config:` (or, for an extra, on the
    /// plugin entry itself); false when the plugin is not in this file.
    pub fn set_plugin_value(
        &mut self,
        plugin_type: PluginType,
        plugin: &str,
        path: &[String],
        value: &Value,
        extra: bool,
    ) -> Result<bool, EditError> {
        let Some(entry) = self.plugin_entry(plugin_type, plugin)? else {
            return Ok(false);
        };
        set_path(&entry, &config_path(path, extra), value);
        Ok(true)
    }

    /// Removes `path` from a plugin's `config:` (or the entry, for an extra); false when absent.
    pub fn unset_plugin_value(
        &mut self,
        plugin_type: PluginType,
        plugin: &str,
        path: &[String],
        extra: bool,
    ) -> Result<bool, EditError> {
        let Some(entry) = self.plugin_entry(plugin_type, plugin)? else {
            return Ok(false);
        };
        Ok(unset_path(&entry, &config_path(path, extra)))
    }

    /// Sets `path` for a plugin inside an environment's `config.plugins`, creating the override
    /// entry when needed; false when the environment is not in this file.
    pub fn set_environment_plugin_value(
        &mut self,
        environment: &str,
        plugin_type: PluginType,
        plugin: &str,
        path: &[String],
        value: &Value,
        extra: bool,
    ) -> Result<bool, EditError> {
        let Some(env) = self.environment_entry(environment)? else {
            return Ok(false);
        };
        let full: Vec<String> = ["config", "plugins", plugin_type.plural()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let list = match lookup_path(&env, &full) {
            Some(node) if node.as_sequence().is_some() => node.as_sequence().cloned(),
            _ => None,
        };
        let found = list.as_ref().and_then(|l| find_named(l, plugin));
        match found {
            Some(entry) => set_path(&entry, &config_path(path, extra), value),
            None => {
                let mut item = serde_json::Map::new();
                item.insert("name".into(), Value::String(plugin.to_string()));
                let item_mapping = to_mapping(&item);
                set_path(&item_mapping, &config_path(path, extra), value);
                match list {
                    Some(list) if !list.is_flow_style() => list.push(item_mapping),
                    _ => {
                        let seq = Sequence::new();
                        seq.push(item_mapping);
                        set_node(&env, &full, seq);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Removes `path` from a plugin's override in an environment; false when absent.
    pub fn unset_environment_plugin_value(
        &mut self,
        environment: &str,
        plugin_type: PluginType,
        plugin: &str,
        path: &[String],
        extra: bool,
    ) -> Result<bool, EditError> {
        let Some(env) = self.environment_entry(environment)? else {
            return Ok(false);
        };
        let full: Vec<String> = ["config", "plugins", plugin_type.plural()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let Some(entry) = lookup_path(&env, &full)
            .and_then(|n| n.as_sequence().cloned())
            .and_then(|l| find_named(&l, plugin))
        else {
            return Ok(false);
        };
        Ok(unset_path(&entry, &config_path(path, extra)))
    }

    /// Sets a top-level (project) setting, nested at its dots.
    pub fn set_top_level(&mut self, path: &[String], value: &Value) -> Result<(), EditError> {
        set_path(&self.root()?, path, value);
        Ok(())
    }

    /// Removes a top-level (project) setting; false when absent.
    pub fn unset_top_level(&mut self, path: &[String]) -> Result<bool, EditError> {
        Ok(unset_path(&self.root()?, path))
    }

    /// The mapping of plugin `plugin` in `plugins.<type>`, if this file has it.
    pub(crate) fn plugin_entry(
        &self,
        plugin_type: PluginType,
        plugin: &str,
    ) -> Result<Option<Mapping>, EditError> {
        let Some(plugins) = self.root()?.get_mapping("plugins") else {
            return Ok(None);
        };
        Ok(plugins
            .get_sequence(plugin_type.plural())
            .and_then(|list| find_named(&list, plugin)))
    }

    /// The mapping of environment `name`, if this file has it.
    fn environment_entry(&self, name: &str) -> Result<Option<Mapping>, EditError> {
        Ok(self
            .root()?
            .get_sequence("environments")
            .and_then(|list| find_named(&list, name)))
    }

    /// The edited text.
    pub fn render(&self) -> String {
        layout::apply(self.doc.to_string(), self.lists)
    }

    /// Atomically replaces the file with the edited text.
    pub fn save(&self) -> Result<(), EditError> {
        let mut text = self.render();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        write_atomic(&self.path, text.as_bytes(), 0o644).map_err(|source| EditError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// An exclusive advisory lock on the project files, released on drop.
///
/// Advisory: it only keeps out writers that take it too, as every meltano-rs editor should.
#[derive(Debug)]
pub struct ProjectFileLock {
    file: fs::File,
}

impl ProjectFileLock {
    /// `<sys_dir>/run/meltano.yml.lock`, the file Meltano creates for this lock.
    pub fn path(sys_dir: &SysDir) -> PathBuf {
        sys_dir.run_dir().join("meltano.yml.lock")
    }

    /// Blocks until the lock at `path` is ours; creates the file (and its directory) if missing.
    pub fn acquire(path: &Path) -> io::Result<ProjectFileLock> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        file.lock()?;
        Ok(ProjectFileLock { file })
    }
}

impl Drop for ProjectFileLock {
    fn drop(&mut self) {
        // Closing the file would release it too; unlocking first makes the intent explicit.
        let _ = self.file.unlock();
    }
}

/// Whether a node is an empty value (`key:` or `key: null`).
fn is_null(node: &yaml_edit::YamlNode) -> bool {
    node.as_scalar()
        .is_some_and(|s| matches!(s.as_string().trim(), "" | "null" | "~"))
}

/// The first key of `plugins` for a type that comes after `plugin_type` in Meltano's order.
fn later_type_key(plugins: &Mapping, plugin_type: PluginType) -> Option<&'static str> {
    PluginType::IN_MANIFEST
        .iter()
        .skip_while(|t| **t != plugin_type)
        .skip(1)
        .map(|t| t.plural())
        .find(|key| plugins.get(*key).is_some())
}

/// `config.<path>` for a setting, or the entry key itself (without `_`) for an extra.
fn config_path(path: &[String], extra: bool) -> Vec<String> {
    if extra {
        let mut path = path.to_vec();
        if let Some(first) = path.first_mut() {
            *first = first.trim_start_matches('_').to_string();
        }
        path
    } else {
        std::iter::once("config".to_string())
            .chain(path.iter().cloned())
            .collect()
    }
}

/// The first mapping item of `list` named `name`.
fn find_named(list: &Sequence, name: &str) -> Option<Mapping> {
    list.values().find_map(|item| {
        let mapping = item.as_mapping()?;
        let item_name = mapping.get("name")?.as_scalar()?.as_string();
        (item_name == name).then(|| mapping.clone())
    })
}

/// The node at `path` under `mapping`.
fn lookup_path(mapping: &Mapping, path: &[String]) -> Option<yaml_edit::YamlNode> {
    let (first, rest) = path.split_first()?;
    let node = mapping.get(first.as_str())?;
    if rest.is_empty() {
        return Some(node);
    }
    lookup_path(node.as_mapping()?, rest)
}

/// Sets `value` at `path`, creating missing mappings. A missing subtree is built whole before it
/// is attached, so it takes the usual block layout.
fn set_path(mapping: &Mapping, path: &[String], value: &Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        set_value(mapping, first, value);
        return;
    }
    match mapping
        .get(first.as_str())
        .and_then(|n| n.as_mapping().cloned())
    {
        Some(child) if !child.is_flow_style() || !child.is_empty() => set_path(&child, rest, value),
        _ => {
            let child = Mapping::new();
            set_path(&child, rest, value);
            mapping.set(first.as_str(), child);
        }
    }
}

/// Puts a built node at `path`, creating missing mappings.
fn set_node(mapping: &Mapping, path: &[String], node: Sequence) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        mapping.set(first.as_str(), node);
        return;
    }
    match mapping
        .get(first.as_str())
        .and_then(|n| n.as_mapping().cloned())
    {
        Some(child) => set_node(&child, rest, node),
        None => {
            let child = Mapping::new();
            set_node(&child, rest, node);
            mapping.set(first.as_str(), child);
        }
    }
}

/// Removes the key at `path`, and mappings it leaves empty; false when there was nothing.
fn unset_path(mapping: &Mapping, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return mapping.remove(first.as_str()).is_some();
    }
    let Some(child) = mapping
        .get(first.as_str())
        .and_then(|n| n.as_mapping().cloned())
    else {
        return false;
    };
    let removed = unset_path(&child, rest);
    if removed && child.is_empty() {
        mapping.remove(first.as_str());
    }
    removed
}

/// Removes the first mapping item of `list` whose `name` is `name`.
fn remove_named(list: &Sequence, name: &str) -> bool {
    let index = list.values().position(|item| {
        item.as_mapping()
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_scalar().map(|s| s.as_string()))
            .is_some_and(|n| n == name)
    });
    index.is_some_and(|i| list.remove(i).is_some())
}

/// Builds a block mapping from JSON-like data, keys in order.
fn to_mapping(map: &serde_json::Map<String, Value>) -> Mapping {
    let mapping = Mapping::new();
    for (key, value) in map {
        set_value(&mapping, key, value);
    }
    mapping
}

fn to_sequence(items: &[Value]) -> Sequence {
    let seq = Sequence::new();
    for item in items {
        match item {
            Value::Object(m) => seq.push(to_mapping(m)),
            Value::Array(a) => seq.push(to_sequence(a)),
            Value::String(s) => seq.push(string_scalar(s)),
            Value::Bool(b) => seq.push(*b),
            Value::Number(n) => seq.push(number(n)),
            Value::Null => seq.push(Option::<&str>::None),
        }
    }
    seq
}

fn set_value(mapping: &Mapping, key: &str, value: &Value) {
    match value {
        Value::Object(m) => mapping.set(key, to_mapping(m)),
        Value::Array(a) => {
            let existing = mapping.get(key).and_then(|n| n.as_sequence().cloned());
            if !existing.is_some_and(|seq| edit_in_place(&seq, a)) {
                mapping.set(key, to_sequence(a));
            }
        }
        Value::String(s) => mapping.set(key, string_scalar(s)),
        Value::Bool(b) => mapping.set(key, *b),
        Value::Number(n) => mapping.set(key, number(n)),
        Value::Null => mapping.set(key, Option::<&str>::None),
    }
}

/// Turns the block list `seq` into `wanted` by appending or removing one scalar item, so the
/// other items keep their comments and quoting (`select` adds or removes one pattern). False when
/// the change is not of that shape: the caller replaces the whole list.
fn edit_in_place(seq: &Sequence, wanted: &[Value]) -> bool {
    if seq.is_flow_style() {
        return false;
    }
    let Some(current) = seq
        .values()
        .map(|node| node.as_scalar().map(|s| Value::String(s.as_string())))
        .collect::<Option<Vec<Value>>>()
    else {
        return false;
    };
    if wanted.iter().any(|v| !v.is_string()) {
        return false;
    }
    // One more wanted: appended at the end.
    if wanted.len() == current.len() + 1 && wanted[..current.len()] == current[..] {
        if let Some(Value::String(item)) = wanted.last() {
            seq.push(string_scalar(item));
            return true;
        }
        return false;
    }
    // One fewer wanted: the first item whose removal gives `wanted`.
    if current.len() == wanted.len() + 1 {
        let index = (0..current.len())
            .find(|&i| current[..i] == wanted[..i] && current[i + 1..] == wanted[i..]);
        if let Some(i) = index {
            return seq.remove(i).is_some();
        }
    }
    false
}

/// Numbers keep their JSON spelling (integers stay integers).
fn number(n: &serde_json::Number) -> yaml_edit::YamlValue {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => yaml_edit::YamlValue::from(i),
        (None, Some(f)) => yaml_edit::YamlValue::from(f),
        _ => yaml_edit::YamlValue::from(n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_editors_do_not_lose_each_others_changes() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("meltano.yml");
        fs::write(&manifest, "version: 1\nenvironments:\n- name: dev\n").unwrap();
        let lock = dir.path().join(".meltano/run/meltano.yml.lock");
        let start = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            for name in ["staging", "prod"] {
                let (manifest, lock, start) = (&manifest, &lock, &start);
                scope.spawn(move || {
                    start.wait();
                    let mut file = ProjectFileMut::open_locked(manifest, lock).unwrap();
                    file.add_environment(name).unwrap();
                    // Widen the read-modify-write window so an unlocked editor would interleave.
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    file.save().unwrap();
                });
            }
        });
        let text = fs::read_to_string(&manifest).unwrap();
        assert!(text.contains("name: staging"), "{text}");
        assert!(text.contains("name: prod"), "{text}");
        assert!(lock.exists());
    }
}
