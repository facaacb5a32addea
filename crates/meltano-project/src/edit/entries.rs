//! Named entries of the top-level lists `jobs:` and `schedules:`: appended, changed key by key,
//! removed. Strings are written plain where YAML reads them back unchanged (`0 */2 * * *`,
//! `tap-x target-y`), as Meltano writes them, and quoted otherwise (`'@daily'`).

use serde_json::{Map, Value};
use yaml_edit::{Mapping, Sequence};

use super::scalar::string_scalar;
use super::{EditError, ProjectFileMut, find_named, number, remove_named};

impl ProjectFileMut {
    /// Appends an entry (keys in the given order) to the top-level list `list`, creating the list
    /// at the end of the file when it is not there.
    pub fn add_list_entry(
        &mut self,
        list: &str,
        entry: &Map<String, Value>,
    ) -> Result<(), EditError> {
        let root = self.root()?;
        self.append_to_sequence(&root, list, list, to_mapping(entry))
    }

    /// Sets `key` of the entry named `name` in `list`. A key already there keeps its place; a new
    /// one goes after the nearest key that precedes it in `order`. False when the entry is not in
    /// this file.
    pub fn set_list_entry_value(
        &mut self,
        list: &str,
        name: &str,
        key: &str,
        value: &Value,
        order: &[&str],
    ) -> Result<bool, EditError> {
        let Some(entry) = self
            .root()?
            .get_sequence(list)
            .and_then(|items| find_named(&items, name))
        else {
            return Ok(false);
        };
        put_in_order(&entry, key, value, order);
        Ok(true)
    }

    /// Removes the entry named `name` from `list`, and the list's key when nothing is left in it.
    /// False when the entry is not in this file.
    /// Replaces the definition keys of plugin `name` (`keys`: those a definition may set) with
    /// the ones `definition` has, each at its place in `order`; its config and other keys stay.
    /// False when this file does not have the plugin.
    pub fn redefine_plugin(
        &mut self,
        plugin_type: meltano_core::PluginType,
        name: &str,
        definition: &Map<String, Value>,
        keys: &[&str],
        order: &[&str],
    ) -> Result<bool, EditError> {
        let Some(entry) = self.plugin_entry(plugin_type, name)? else {
            return Ok(false);
        };
        for key in keys {
            match definition.get(*key) {
                Some(value) => put_in_order(&entry, key, value, order),
                None => {
                    entry.remove(*key);
                }
            }
        }
        Ok(true)
    }

    pub fn remove_list_entry(&mut self, list: &str, name: &str) -> Result<bool, EditError> {
        let root = self.root()?;
        let Some(items) = root.get_sequence(list) else {
            return Ok(false);
        };
        let removed = remove_named(&items, name);
        if removed && items.is_empty() {
            root.remove(list);
        }
        Ok(removed)
    }
}

/// Sets `key` to `value` in `mapping`, after the key `after` when given (and present).
/// Sets `key` in `entry`: in place when it is there, else after the last key of `entry` that
/// comes before it in `order`.
fn put_in_order(entry: &Mapping, key: &str, value: &Value, order: &[&str]) {
    let after = if entry.contains_key(key) {
        None
    } else {
        let before = order.iter().position(|k| *k == key).unwrap_or(order.len());
        order[..before]
            .iter()
            .rev()
            .find(|k| entry.contains_key(**k))
            .copied()
    };
    put(entry, key, value, after);
}

fn put(mapping: &Mapping, key: &str, value: &Value, after: Option<&str>) {
    fn place(mapping: &Mapping, key: &str, value: impl yaml_edit::AsYaml, after: Option<&str>) {
        match after {
            Some(after) => {
                mapping.insert_after(after, key, value);
            }
            None => mapping.set(key, value),
        }
    }
    match value {
        Value::String(s) => place(mapping, key, string_scalar(s), after),
        Value::Array(items) => place(mapping, key, to_sequence(items), after),
        Value::Object(map) => place(mapping, key, to_mapping(map), after),
        Value::Bool(b) => place(mapping, key, *b, after),
        Value::Number(n) => place(mapping, key, number(n), after),
        Value::Null => place(mapping, key, Option::<&str>::None, after),
    }
}

fn to_mapping(map: &Map<String, Value>) -> Mapping {
    let mapping = Mapping::new();
    for (key, value) in map {
        put(&mapping, key, value, None);
    }
    mapping
}

fn to_sequence(items: &[Value]) -> Sequence {
    let seq = Sequence::new();
    for item in items {
        match item {
            Value::String(s) => seq.push(string_scalar(s)),
            Value::Array(inner) => seq.push(to_sequence(inner)),
            Value::Object(map) => seq.push(to_mapping(map)),
            Value::Bool(b) => seq.push(*b),
            Value::Number(n) => seq.push(number(n)),
            Value::Null => seq.push(Option::<&str>::None),
        }
    }
    seq
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, edit: impl FnOnce(&mut ProjectFileMut)) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meltano.yml");
        std::fs::write(&path, text).unwrap();
        let mut file = ProjectFileMut::open(&path).unwrap();
        edit(&mut file);
        file.render()
    }

    fn entry(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn entries_are_appended_with_meltanos_quoting() {
        let out = edited("version: 1  # keep\n", |f| {
            f.add_list_entry(
                "schedules",
                &entry(&[
                    ("name", "daily".into()),
                    ("interval", "@daily".into()),
                    ("job", "yes".into()),
                ]),
            )
            .unwrap();
            f.add_list_entry(
                "schedules",
                &entry(&[
                    ("name", "two-hourly".into()),
                    ("interval", "0 */2 * * *".into()),
                    ("extractor", "tap-x".into()),
                ]),
            )
            .unwrap();
            f.add_list_entry(
                "jobs",
                &entry(&[
                    ("name", "j".into()),
                    (
                        "tasks",
                        serde_json::json!([["tap-x target-y", "dbt:run"], "*/x", "123"]),
                    ),
                ]),
            )
            .unwrap();
        });
        assert_eq!(
            out,
            "version: 1  # keep\nschedules:\n- name: daily\n  interval: '@daily'\n  job: 'yes'\n\
             - name: two-hourly\n  interval: 0 */2 * * *\n  extractor: tap-x\njobs:\n- name: j\n  tasks:\n  \
             - - tap-x target-y\n    - dbt:run\n  - '*/x'\n  - '123'\n"
        );
    }

    #[test]
    fn new_keys_go_to_their_place_and_old_keys_stay() {
        let text = "schedules:\n- name: s  # mine\n  job: j\n  interval: '@daily'\n";
        let out = edited(text, |f| {
            let order = ["name", "interval", "env", "job"];
            assert!(
                f.set_list_entry_value("schedules", "s", "interval", &"@hourly".into(), &order)
                    .unwrap()
            );
            assert!(
                !f.set_list_entry_value("schedules", "t", "interval", &"@hourly".into(), &order)
                    .unwrap()
            );
        });
        assert_eq!(
            out,
            "schedules:\n- name: s  # mine\n  job: j\n  interval: '@hourly'\n"
        );
        let text =
            "schedules:\n- name: s\n  interval: '@daily'\n  extractor: tap\n  loader: target\n";
        let out = edited(text, |f| {
            let order = [
                "name",
                "interval",
                "env",
                "extractor",
                "loader",
                "transform",
            ];
            f.set_list_entry_value("schedules", "s", "transform", &"run".into(), &order)
                .unwrap();
        });
        assert_eq!(
            out,
            "schedules:\n- name: s\n  interval: '@daily'\n  extractor: tap\n  loader: target\n  transform: run\n"
        );
    }

    #[test]
    fn a_list_value_is_replaced_under_its_key() {
        let text = "jobs:\n- name: a  # first\n  tasks:\n  - x y\n- name: b\n  tasks: [z]\n";
        let out = edited(text, |f| {
            let tasks = serde_json::json!(["u", ["v w", "k"]]);
            f.set_list_entry_value("jobs", "a", "tasks", &tasks, &["name", "tasks"])
                .unwrap();
            f.set_list_entry_value("jobs", "b", "tasks", &tasks, &["name", "tasks"])
                .unwrap();
        });
        assert_eq!(
            out,
            "jobs:\n- name: a  # first\n  tasks:\n  - u\n  - - v w\n    - k\n- name: b\n  tasks:\n  - u\n  - - v w\n    - k\n"
        );
    }

    #[test]
    fn removing_the_last_entry_removes_the_list() {
        let text = "jobs:\n- name: a\n  tasks: [x]\n- name: b\n  tasks: [y]\nversion: 1\n";
        let out = edited(text, |f| {
            assert!(f.remove_list_entry("jobs", "a").unwrap());
            assert!(!f.remove_list_entry("jobs", "zz").unwrap());
        });
        assert_eq!(out, "jobs:\n- name: b\n  tasks: [y]\nversion: 1\n");
        let out = edited(text, |f| {
            f.remove_list_entry("jobs", "a").unwrap();
            f.remove_list_entry("jobs", "b").unwrap();
        });
        assert_eq!(out, "version: 1\n");
    }
}
