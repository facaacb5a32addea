//! `compile --lint`: the project files and the compiled manifests checked against the rules of
//! Meltano's `meltano.yml` JSON schema (draft 2020-12), with jsonschema's messages.
//!
//! The rules are written out here rather than interpreted from a schema document: which keys
//! each object allows, their types and enumerations, required keys, the schedule forms and the
//! cron pattern of `interval`. Problems are reported as `<file>::$.<key path>: <message>`.
//! Unlike the schema, an environment may have `state_id_suffix` (Meltano 4.4.1 uses it), and a
//! bad value inside a plugin is reported once, where it is, rather than also making every other
//! key of the plugin "unevaluated".

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meltano_core::PluginType;
use meltano_core::settings::repr::py_repr;
use meltano_project::manifest::LoadedManifest;
use serde_json::{Map, Value};

/// One rule broken at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// `$.plugins.extractors.0.select`
    pub path: String,
    pub message: String,
}

/// The problems of meltano.yml and of every file its `include_paths` pull in.
pub fn project_files(loaded: &LoadedManifest) -> Vec<Problem> {
    std::iter::once(&loaded.main_file)
        .chain(&loaded.included_files)
        .flat_map(|file| {
            let Some(document) = read_yaml(file) else {
                return Vec::new();
            };
            check(file, &document)
        })
        .collect()
}

/// The problems of a compiled manifest about to be written to `file`.
pub fn compiled_manifest(file: &Path, manifest: &Value) -> Vec<Problem> {
    check(file, manifest)
}

/// The warning text: `title`, then one indented line per problem.
pub fn report(title: &str, problems: &[Problem]) -> String {
    let mut text = format!("{title}\nSchema validation errors were encountered.");
    for p in problems {
        let _ = write!(text, "\n  {}::{}: {}", p.file.display(), p.path, p.message);
    }
    text
}

fn read_yaml(file: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(file).ok()?;
    let options = serde_saphyr::options! {
        strict_booleans: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
    };
    serde_saphyr::from_str_with_options::<Option<Value>>(&text, options)
        .ok()
        .flatten()
}

fn check(file: &Path, document: &Value) -> Vec<Problem> {
    let mut checker = Checker::default();
    checker.project(&JsonPath::root(), document);
    let mut found = checker.found;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(path, message)| Problem {
            file: file.to_path_buf(),
            path: path.render(),
            message,
        })
        .collect()
}

/// Where a value is: `$`, `$.plugins`, `$.plugins.extractors.0`. Problems are listed in path
/// order, indexes compared as numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct JsonPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Key(String),
    Index(usize),
}

impl JsonPath {
    fn root() -> JsonPath {
        JsonPath(Vec::new())
    }

    fn key(&self, key: &str) -> JsonPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_string()));
        path
    }

    fn index(&self, index: usize) -> JsonPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    fn render(&self) -> String {
        let mut text = "$".to_string();
        for segment in &self.0 {
            match segment {
                Segment::Key(key) => {
                    let _ = write!(text, ".{key}");
                }
                Segment::Index(index) => {
                    let _ = write!(text, ".{index}");
                }
            }
        }
        text
    }
}

/// JSON types as the schema names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Boolean,
    Integer,
    Object,
    Array,
    Null,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Integer => "integer",
            Type::Object => "object",
            Type::Array => "array",
            Type::Null => "null",
        }
    }

    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (Type::String, Value::String(_))
            | (Type::Boolean, Value::Bool(_))
            | (Type::Object, Value::Object(_))
            | (Type::Array, Value::Array(_))
            | (Type::Null, Value::Null) => true,
            // 2020-12: a number with a zero fractional part is an integer.
            (Type::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

/// Top-level keys of meltano.yml.
const TOP_LEVEL_KEYS: [&str; 28] = [
    "version",
    "annotations",
    "default_environment",
    "send_anonymous_usage_stats",
    "project_id",
    "requires_meltano",
    "database_uri",
    "python",
    "state_backend",
    "venv",
    "environments",
    "include_paths",
    "plugins",
    "schedules",
    "env",
    "jobs",
    "database_max_retries",
    "database_retry_timeout",
    "project_readonly",
    "cli",
    "elt",
    "experimental",
    "ff",
    "hub_api_root",
    "hub_url",
    "hub_url_auth",
    "snowplow",
    "auto_install",
];

/// String-valued keys every plugin may have.
const PLUGIN_STRING_KEYS: [&str; 13] = [
    "name",
    "description",
    "repo",
    "ext_repo",
    "inherit_from",
    "pip_url",
    "variant",
    "namespace",
    "label",
    "logo_url",
    "python",
    "executable",
    "docs",
];

const EXTRACTOR_CAPABILITIES: [&str; 12] = [
    "properties",
    "catalog",
    "discover",
    "state",
    "about",
    "stream-maps",
    "activate-version",
    "batch",
    "test",
    "log-based",
    "schema-flattening",
    "structured-logging",
];

const LOADER_CAPABILITIES: [&str; 9] = [
    "about",
    "stream-maps",
    "activate-version",
    "batch",
    "soft-delete",
    "hard-delete",
    "datatype-failsafe",
    "schema-flattening",
    "structured-logging",
];

const MAPPER_CAPABILITIES: [&str; 3] = ["about", "stream-maps", "structured-logging"];

const SETTING_KINDS: [&str; 13] = [
    "oauth",
    "date_iso8601",
    "file",
    "email",
    "integer",
    "decimal",
    "options",
    "object",
    "array",
    "boolean",
    "string",
    "hidden",
    "password",
];

const SETTING_KEYS: [&str; 17] = [
    "annotations",
    "name",
    "aliases",
    "label",
    "value",
    "placeholder",
    "kind",
    "description",
    "tooltip",
    "documentation",
    "hidden",
    "sensitive",
    "env",
    "value_processor",
    "value_post_processor",
    "oauth",
    "options",
];

const SCHEDULE_KEYS: [&str; 9] = [
    "annotations",
    "name",
    "job",
    "extractor",
    "env",
    "loader",
    "interval",
    "transform",
    "start_date",
];

/// The keys extractors (and their environment overrides) add: their extras.
const EXTRACTOR_EXTRA_KEYS: [&str; 9] = [
    "catalog",
    "load_schema",
    "metadata",
    "schema",
    "state",
    "select",
    "select_filter",
    "use_cached_catalog",
    "log_parser",
];

/// The plugin types an environment may override (the schema has no `mappers` there).
const ENVIRONMENT_PLUGIN_TYPES: [PluginType; 7] = [
    PluginType::Extractors,
    PluginType::Loaders,
    PluginType::Orchestrators,
    PluginType::Transformers,
    PluginType::Files,
    PluginType::Utilities,
    PluginType::Transforms,
];

#[derive(Default)]
struct Checker {
    found: Vec<(JsonPath, String)>,
}

impl Checker {
    fn problem(&mut self, path: &JsonPath, message: String) {
        self.found.push((path.clone(), message));
    }

    /// Whether `value` has one of `types`; a problem when not.
    fn typed(&mut self, path: &JsonPath, value: &Value, types: &[Type]) -> bool {
        if types.iter().any(|t| t.admits(value)) {
            return true;
        }
        let names: Vec<String> = types.iter().map(|t| format!("'{}'", t.name())).collect();
        self.problem(
            path,
            format!("{} is not of type {}", py_repr(value), names.join(", ")),
        );
        false
    }

    fn string(&mut self, path: &JsonPath, value: &Value) {
        self.typed(path, value, &[Type::String]);
    }

    fn boolean(&mut self, path: &JsonPath, value: &Value) {
        self.typed(path, value, &[Type::Boolean]);
    }

    fn integer(&mut self, path: &JsonPath, value: &Value, minimum: Option<i64>) {
        if self.typed(path, value, &[Type::Integer])
            && let Some(min) = minimum
            && value.as_f64().is_some_and(|n| n < min as f64)
        {
            self.problem(
                path,
                format!("{} is less than the minimum of {min}", py_repr(value)),
            );
        }
    }

    fn object<'v>(&mut self, path: &JsonPath, value: &'v Value) -> Option<&'v Map<String, Value>> {
        if self.typed(path, value, &[Type::Object]) {
            value.as_object()
        } else {
            None
        }
    }

    fn array<'v>(&mut self, path: &JsonPath, value: &'v Value) -> Option<&'v [Value]> {
        if self.typed(path, value, &[Type::Array]) {
            value.as_array().map(Vec::as_slice)
        } else {
            None
        }
    }

    fn strings(&mut self, path: &JsonPath, value: &Value) {
        for (i, item) in self
            .array(path, value)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            self.string(&path.index(i), item);
        }
    }

    fn one_of_strings(&mut self, path: &JsonPath, value: &Value, allowed: &[&str]) {
        if self.typed(path, value, &[Type::String])
            && !allowed.iter().any(|a| value.as_str() == Some(a))
        {
            let list = Value::Array(allowed.iter().map(|a| Value::from(*a)).collect());
            self.problem(
                path,
                format!("{} is not one of {}", py_repr(value), py_repr(&list)),
            );
        }
    }

    fn required(&mut self, path: &JsonPath, map: &Map<String, Value>, keys: &[&str]) {
        for key in keys.iter().filter(|k| !map.contains_key(**k)) {
            self.problem(path, format!("'{key}' is a required property"));
        }
    }

    /// Keys outside `allowed`: "Additional" for plain objects, "Unevaluated" for plugins, whose
    /// schema is assembled from several parts.
    fn unexpected(
        &mut self,
        path: &JsonPath,
        map: &Map<String, Value>,
        allowed: &dyn Fn(&str) -> bool,
        unevaluated: bool,
    ) {
        let mut extra: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed(k))
            .collect();
        if extra.is_empty() {
            return;
        }
        if unevaluated {
            extra.sort_unstable();
        }
        let quoted: Vec<String> = extra.iter().map(|k| format!("'{k}'")).collect();
        let verb = if extra.len() == 1 { "was" } else { "were" };
        let kind = if unevaluated {
            "Unevaluated"
        } else {
            "Additional"
        };
        self.problem(
            path,
            format!(
                "{kind} properties are not allowed ({} {verb} unexpected)",
                quoted.join(", ")
            ),
        );
    }

    /// Whether `check` finds nothing wrong with `value` (its findings are dropped).
    fn passes(check: impl FnOnce(&mut Checker)) -> bool {
        let mut scratch = Checker::default();
        check(&mut scratch);
        scratch.found.is_empty()
    }

    fn not_valid_under_any(&mut self, path: &JsonPath, value: &Value) {
        self.problem(
            path,
            format!(
                "{} is not valid under any of the given schemas",
                py_repr(value)
            ),
        );
    }

    fn annotations(&mut self, path: &JsonPath, value: &Value) {
        if let Some(map) = self.object(path, value) {
            for (key, item) in map {
                self.typed(&path.key(key), item, &[Type::Object]);
            }
        }
    }

    fn env(&mut self, path: &JsonPath, value: &Value) {
        if let Some(map) = self.object(path, value) {
            for (key, item) in map {
                self.string(&path.key(key), item);
            }
        }
    }

    /// An object whose listed keys have the given checks; other keys are allowed.
    fn nested(&mut self, path: &JsonPath, value: &Value, fields: &[(&str, Field)]) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        for (key, item) in map {
            if let Some((_, field)) = fields.iter().find(|(name, _)| name == key) {
                self.field(&path.key(key), item, field);
            }
        }
    }

    fn field(&mut self, path: &JsonPath, value: &Value, field: &Field) {
        match field {
            Field::String => self.string(path, value),
            Field::Boolean => self.boolean(path, value),
            Field::Integer => self.integer(path, value, None),
            Field::Strings => self.strings(path, value),
            Field::Enum(allowed) => self.one_of_strings(path, value, allowed),
            Field::Object(fields) => self.nested(path, value, fields),
        }
    }

    fn project(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.unexpected(path, map, &|k| TOP_LEVEL_KEYS.contains(&k), false);
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "version" if item.as_f64() != Some(1.0) => {
                    self.problem(&at, "1 was expected".to_string());
                }
                "annotations" => self.annotations(&at, item),
                "default_environment"
                | "project_id"
                | "requires_meltano"
                | "database_uri"
                | "python"
                | "hub_url" => self.string(&at, item),
                "send_anonymous_usage_stats"
                | "project_readonly"
                | "experimental"
                | "auto_install" => self.boolean(&at, item),
                "database_max_retries" | "database_retry_timeout" => {
                    self.integer(&at, item, Some(0))
                }
                "hub_api_root" => {
                    self.typed(&at, item, &[Type::String, Type::Null]);
                }
                "hub_url_auth" => {
                    self.typed(&at, item, &[Type::String, Type::Boolean, Type::Null]);
                }
                "state_backend" => self.nested(&at, item, STATE_BACKEND),
                "venv" => self.nested(
                    &at,
                    item,
                    &[("backend", Field::Enum(&["virtualenv", "uv"]))],
                ),
                "cli" => self.nested(&at, item, &[("log_config", Field::String)]),
                "elt" => self.nested(&at, item, &[("buffer_size", Field::Integer)]),
                "ff" => self.nested(
                    &at,
                    item,
                    &[
                        ("strict_env_var_mode", Field::Boolean),
                        ("plugin_locks_required", Field::Boolean),
                    ],
                ),
                "snowplow" => {
                    self.nested(&at, item, &[("collector_endpoints", Field::Strings)]);
                }
                "include_paths" => self.strings(&at, item),
                "env" => self.env(&at, item),
                "plugins" => self.plugins(&at, item),
                "environments" => {
                    for (i, e) in self.array(&at, item).unwrap_or_default().iter().enumerate() {
                        self.environment(&at.index(i), e);
                    }
                }
                "schedules" => {
                    for (i, s) in self.array(&at, item).unwrap_or_default().iter().enumerate() {
                        self.schedule(&at.index(i), s);
                    }
                }
                "jobs" => {
                    for (i, j) in self.array(&at, item).unwrap_or_default().iter().enumerate() {
                        self.job(&at.index(i), j);
                    }
                }
                _ => {}
            }
        }
    }

    fn plugins(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        let type_of = |key: &str| {
            PluginType::IN_MANIFEST
                .into_iter()
                .find(|t| t.plural() == key)
        };
        self.unexpected(path, map, &|k| type_of(k).is_some(), false);
        for (key, list) in map {
            let Some(plugin_type) = type_of(key) else {
                continue;
            };
            let at = path.key(key);
            for (i, entry) in self.array(&at, list).unwrap_or_default().iter().enumerate() {
                self.plugin(&at.index(i), entry, plugin_type);
            }
        }
    }

    fn plugin(&mut self, path: &JsonPath, value: &Value, plugin_type: PluginType) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.required(path, map, &["name"]);
        let mut allowed: Vec<&str> = PLUGIN_STRING_KEYS.to_vec();
        allowed.extend([
            "annotations",
            "plugin_type",
            "config",
            "settings",
            "settings_group_validation",
            "commands",
            "requires",
            "requires_meltano",
            "env",
        ]);
        let capabilities: &[&str] = match plugin_type {
            PluginType::Extractors => {
                allowed.extend(EXTRACTOR_EXTRA_KEYS);
                &EXTRACTOR_CAPABILITIES
            }
            PluginType::Loaders => {
                allowed.push("dialect");
                &LOADER_CAPABILITIES
            }
            PluginType::Mappers => {
                allowed.push("mappings");
                &MAPPER_CAPABILITIES
            }
            PluginType::Transforms => {
                allowed.extend(["vars", "package_name"]);
                &[]
            }
            _ => &[],
        };
        if !capabilities.is_empty() {
            allowed.push("capabilities");
        }
        self.unexpected(path, map, &|k| allowed.contains(&k), true);
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                k if PLUGIN_STRING_KEYS.contains(&k) => self.string(&at, item),
                "requires_meltano" => self.string(&at, item),
                "annotations" => self.annotations(&at, item),
                "plugin_type" => {
                    let types: Vec<&str> =
                        PluginType::IN_MANIFEST.iter().map(|t| t.plural()).collect();
                    self.one_of_strings(&at, item, &types);
                }
                "config" => {
                    self.object(&at, item);
                }
                "env" => self.env(&at, item),
                "settings" => {
                    for (i, s) in self.array(&at, item).unwrap_or_default().iter().enumerate() {
                        self.setting(&at.index(i), s);
                    }
                }
                "settings_group_validation" => {
                    for (i, group) in self.array(&at, item).unwrap_or_default().iter().enumerate() {
                        self.strings(&at.index(i), group);
                    }
                }
                "commands" => {
                    if let Some(commands) = self.object(&at, item) {
                        for (name, command) in commands {
                            self.command(&at.key(name), command);
                        }
                    }
                }
                "requires" => self.requires(&at, item),
                "capabilities" if !capabilities.is_empty() => {
                    for (i, c) in self.array(&at, item).unwrap_or_default().iter().enumerate() {
                        self.one_of_strings(&at.index(i), c, capabilities);
                    }
                }
                _ => self.extra(&at, key, item, plugin_type),
            }
        }
    }

    /// The type-specific keys of plugins and of their environment overrides.
    fn extra(&mut self, path: &JsonPath, key: &str, value: &Value, plugin_type: PluginType) {
        match (plugin_type, key) {
            (PluginType::Extractors, "catalog" | "load_schema" | "state")
            | (PluginType::Loaders, "dialect")
            | (PluginType::Transforms, "package_name") => self.string(path, value),
            (PluginType::Extractors, "metadata" | "schema") | (PluginType::Transforms, "vars") => {
                self.object(path, value);
            }
            (PluginType::Extractors, "select" | "select_filter") => self.strings(path, value),
            (PluginType::Extractors, "use_cached_catalog") => self.boolean(path, value),
            (PluginType::Extractors, "log_parser") => {
                self.one_of_strings(path, value, &["singer-sdk"]);
            }
            (PluginType::Mappers, "mappings") => {
                for (i, m) in self
                    .array(path, value)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    self.mapping(&path.index(i), m);
                }
            }
            _ => {}
        }
    }

    fn mapping(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.unexpected(
            path,
            map,
            &|k| ["annotations", "name", "config"].contains(&k),
            false,
        );
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "name" => self.string(&at, item),
                "config" => {
                    self.object(&at, item);
                }
                _ => {}
            }
        }
    }

    fn setting(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.required(path, map, &["name"]);
        self.unexpected(path, map, &|k| SETTING_KEYS.contains(&k), false);
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "name" | "label" | "placeholder" | "description" | "tooltip" | "documentation"
                | "env" => self.string(&at, item),
                "aliases" => self.strings(&at, item),
                "hidden" | "sensitive" => self.boolean(&at, item),
                "kind" => self.setting_kind(&at, item),
                "value_processor" => {
                    let allowed = ["nest_object", "upcase_string"];
                    if !allowed.iter().any(|a| item.as_str() == Some(a)) {
                        let list = Value::Array(allowed.iter().map(|a| Value::from(*a)).collect());
                        self.problem(
                            &at,
                            format!("{} is not one of {}", py_repr(item), py_repr(&list)),
                        );
                    }
                }
                "value_post_processor" => {
                    let allowed = ["nest_object", "upcase_string", "stringify", "parse_date"];
                    if !allowed.iter().any(|a| item.as_str() == Some(a)) {
                        self.not_valid_under_any(&at, item);
                    }
                }
                "oauth" => {
                    if let Some(oauth) = self.object(&at, item) {
                        self.required(&at, oauth, &["provider"]);
                        if let Some(provider) = oauth.get("provider") {
                            self.string(&at.key("provider"), provider);
                        }
                    }
                }
                "options" => {
                    for (i, option) in self.array(&at, item).unwrap_or_default().iter().enumerate()
                    {
                        let at = at.index(i);
                        if let Some(option) = self.object(&at, option) {
                            self.required(&at, option, &["label", "value"]);
                            self.unexpected(&at, option, &|k| k == "label" || k == "value", false);
                            if let Some(label) = option.get("label") {
                                self.string(&at.key("label"), label);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A command: its arguments as a string, or an object; anything else matches neither form.
    fn command(&mut self, path: &JsonPath, value: &Value) {
        let valid = value.is_string()
            || (value.is_object() && Checker::passes(|c| c.command_object(path, value)));
        if !valid {
            self.not_valid_under_any(path, value);
        }
    }

    fn command_object(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "args" | "description" | "executable" => self.string(&at, item),
                "container_spec" => {
                    let Some(spec) = self.object(&at, item) else {
                        continue;
                    };
                    self.required(&at, spec, &["image"]);
                    for (key, item) in spec {
                        let inner = at.key(key);
                        match key.as_str() {
                            "annotations" => self.annotations(&inner, item),
                            "image" | "command" | "entrypoint" => self.string(&inner, item),
                            "ports" | "env" => self.env(&inner, item),
                            "volumes" => self.strings(&inner, item),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn requires(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        let is_type = |k: &str| PluginType::IN_MANIFEST.iter().any(|t| t.plural() == k);
        self.unexpected(path, map, &is_type, false);
        for (key, list) in map.iter().filter(|(k, _)| is_type(k)) {
            let at = path.key(key);
            for (i, requirement) in self.array(&at, list).unwrap_or_default().iter().enumerate() {
                let at = at.index(i);
                let Some(requirement) = self.object(&at, requirement) else {
                    continue;
                };
                self.unexpected(
                    &at,
                    requirement,
                    &|k| ["annotations", "name", "variant"].contains(&k),
                    false,
                );
                for (key, item) in requirement {
                    match key.as_str() {
                        "annotations" => self.annotations(&at.key(key), item),
                        "name" | "variant" => self.string(&at.key(key), item),
                        _ => {}
                    }
                }
            }
        }
    }

    fn environment(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.required(path, map, &["name"]);
        self.unexpected(
            path,
            map,
            &|k| ["annotations", "name", "config", "env", "state_id_suffix"].contains(&k),
            false,
        );
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "name" | "state_id_suffix" => self.string(&at, item),
                "env" => self.env(&at, item),
                "config" => self.environment_config(&at, item),
                _ => {}
            }
        }
    }

    fn environment_config(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.unexpected(path, map, &|k| k == "plugins", false);
        let Some(plugins) = map.get("plugins") else {
            return;
        };
        let at = path.key("plugins");
        let Some(plugins) = self.object(&at, plugins) else {
            return;
        };
        for (key, list) in plugins {
            let Some(plugin_type) = ENVIRONMENT_PLUGIN_TYPES
                .into_iter()
                .find(|t| t.plural() == key)
            else {
                continue;
            };
            let at = at.key(key);
            for (i, entry) in self.array(&at, list).unwrap_or_default().iter().enumerate() {
                self.environment_plugin(&at.index(i), entry, plugin_type);
            }
        }
    }

    fn environment_plugin(&mut self, path: &JsonPath, value: &Value, plugin_type: PluginType) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.required(path, map, &["name"]);
        let extractor = plugin_type == PluginType::Extractors;
        self.unexpected(
            path,
            map,
            &|k| {
                ["annotations", "name", "config", "env"].contains(&k)
                    || (extractor && EXTRACTOR_EXTRA_KEYS.contains(&k))
            },
            true,
        );
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "name" => self.string(&at, item),
                "config" => {
                    self.object(&at, item);
                }
                "env" => self.env(&at, item),
                _ if extractor => self.extra(&at, key, item, plugin_type),
                _ => {}
            }
        }
    }

    fn schedule(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        let has_all = |keys: &[&str]| keys.iter().all(|k| map.contains_key(*k));
        let job_form = has_all(&["name", "job", "interval"]);
        let elt_form = has_all(&["name", "extractor", "loader", "transform", "interval"]);
        match (job_form, elt_form) {
            (false, false) => self.not_valid_under_any(path, value),
            (true, true) => self.problem(
                path,
                format!(
                    "{} is valid under each of {{'required': ['name', 'job', 'interval']}}, \
                     {{'required': ['name', 'extractor', 'loader', 'transform', 'interval']}}",
                    py_repr(value)
                ),
            ),
            _ => {}
        }
        self.unexpected(path, map, &|k| SCHEDULE_KEYS.contains(&k), false);
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "env" => self.env(&at, item),
                "name" | "job" | "extractor" | "loader" | "start_date" => self.string(&at, item),
                "transform" => self.one_of_strings(&at, item, &["run", "skip", "only"]),
                "interval" => self.interval(&at, item),
                _ => {}
            }
        }
    }

    /// `kind:` of a setting: one of the kinds, or one of the deprecated ones.
    fn setting_kind(&mut self, path: &JsonPath, value: &Value) {
        if self.typed(path, value, &[Type::String])
            && !SETTING_KINDS.iter().any(|k| value.as_str() == Some(k))
        {
            self.not_valid_under_any(path, value);
        }
    }

    fn interval(&mut self, path: &JsonPath, value: &Value) {
        if self.typed(path, value, &[Type::String]) && !value.as_str().is_some_and(is_interval) {
            let pattern = Value::from(INTERVAL_PATTERN);
            self.problem(
                path,
                format!("{} does not match {}", py_repr(value), py_repr(&pattern)),
            );
        }
    }

    fn job(&mut self, path: &JsonPath, value: &Value) {
        let Some(map) = self.object(path, value) else {
            return;
        };
        self.required(path, map, &["name", "tasks"]);
        self.unexpected(
            path,
            map,
            &|k| ["annotations", "name", "tasks"].contains(&k),
            false,
        );
        for (key, item) in map {
            let at = path.key(key);
            match key.as_str() {
                "annotations" => self.annotations(&at, item),
                "name" => self.string(&at, item),
                "tasks" if !valid_tasks(item) => self.not_valid_under_any(&at, item),
                _ => {}
            }
        }
    }
}

/// The checks of a key inside a nested settings object.
enum Field {
    String,
    Boolean,
    Integer,
    Strings,
    Enum(&'static [&'static str]),
    Object(&'static [(&'static str, Field)]),
}

const STATE_BACKEND: &[(&str, Field)] = &[
    ("uri", Field::String),
    ("lock_timeout_seconds", Field::Integer),
    ("lock_retry_seconds", Field::Integer),
    (
        "azure",
        Field::Object(&[("connection_string", Field::String)]),
    ),
    (
        "gcs",
        Field::Object(&[("application_credentials", Field::String)]),
    ),
    (
        "s3",
        Field::Object(&[
            ("aws_access_key_id", Field::String),
            ("aws_secret_access_key", Field::String),
            ("endpoint_url", Field::String),
        ]),
    ),
];

/// `tasks:` is a string, or a list of strings and lists of strings.
fn valid_tasks(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(|item| match item {
            Value::String(_) => true,
            Value::Array(inner) => inner.iter().all(Value::is_string),
            _ => false,
        }),
        _ => false,
    }
}

/// The pattern the schema gives `interval`, for the message.
const INTERVAL_PATTERN: &str = r"^((@(hourly|daily|weekly|monthly|yearly|once))|((((\d+,)+\d+|(\d+|\*)(\/|-)\d+|\d+|\*) ?){5,6}))$";

/// Whether `text` matches [`INTERVAL_PATTERN`]: an `@` alias, or five or six cron fields, each
/// `1,2,3`, `*/5`, `1-5`, `7` or `*`, each followed by at most one space.
fn is_interval(text: &str) -> bool {
    const ALIASES: [&str; 6] = [
        "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@once",
    ];
    ALIASES.contains(&text) || cron_fields(text.as_bytes(), 0)
}

/// Whether `rest` is made of 5 or 6 fields in all, `count` having been read already.
fn cron_fields(rest: &[u8], count: usize) -> bool {
    if rest.is_empty() {
        return (5..=6).contains(&count);
    }
    if count == 6 {
        return false;
    }
    field_ends(rest).into_iter().any(|end| {
        let after = &rest[end..];
        cron_fields(after, count + 1)
            || (after.first() == Some(&b' ') && cron_fields(&after[1..], count + 1))
    })
}

/// Every length of a field that `rest` may start with.
fn field_ends(rest: &[u8]) -> Vec<usize> {
    let digits = |from: usize| {
        rest[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut ends = Vec::new();
    let lead = if rest.first() == Some(&b'*') {
        1
    } else {
        digits(0)
    };
    if lead == 0 {
        return ends;
    }
    // `*`, or a number (any of its prefixes, as a regex may backtrack).
    if rest[0] == b'*' {
        ends.push(1);
    } else {
        ends.extend(1..=lead);
    }
    // `*/5`, `1-5`
    if matches!(rest.get(lead), Some(b'/' | b'-')) {
        let n = digits(lead + 1);
        ends.extend((1..=n).map(|k| lead + 1 + k));
    }
    // `1,2,3`
    if rest[0] != b'*' {
        let mut at = lead;
        while rest.get(at) == Some(&b',') {
            let n = digits(at + 1);
            if n == 0 {
                break;
            }
            ends.extend((1..=n).map(|k| at + 1 + k));
            at += 1 + n;
        }
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(document: Value) -> Vec<String> {
        check(Path::new("meltano.yml"), &document)
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn intervals_follow_the_schema_pattern() {
        for ok in [
            "@daily",
            "0 */2 * * *",
            "1,2,3 1-5 * * * 7",
            "* * * * *",
            "*****",
        ] {
            assert!(is_interval(ok), "{ok}");
        }
        for bad in [
            "@never",
            "* * * *",
            "* * * * * * *",
            "a * * * *",
            "*/x * * * *",
        ] {
            assert!(!is_interval(bad), "{bad}");
        }
    }

    #[test]
    fn reports_keys_types_and_forms() {
        let found = messages(json!({
            "project_id": 1,
            "unknown": true,
            "database_max_retries": -1,
            "env": {"A": 1},
            "venv": {"backend": "pip"},
            "environments": [{"name": "dev", "state_id_suffix": "x", "extra": 1}],
            "plugins": {
                "extractors": [{"name": "tap", "foo": 1, "bar": 2, "select": "x",
                                "capabilities": ["catalog", "nope"]}],
                "utilities": [{"name": "u", "capabilities": []}],
                "mappings": []
            },
            "schedules": [{"name": "s", "interval": "@never"}],
            "jobs": [{"name": "j", "tasks": [1]}]
        }));
        assert_eq!(
            found,
            vec![
                "$: Additional properties are not allowed ('unknown' was unexpected)",
                "$.database_max_retries: -1 is less than the minimum of 0",
                "$.env.A: 1 is not of type 'string'",
                "$.environments.0: Additional properties are not allowed ('extra' was unexpected)",
                "$.jobs.0.tasks: [1] is not valid under any of the given schemas",
                "$.plugins: Additional properties are not allowed ('mappings' was unexpected)",
                "$.plugins.extractors.0: Unevaluated properties are not allowed ('bar', 'foo' were unexpected)",
                "$.plugins.extractors.0.capabilities.1: 'nope' is not one of ['properties', 'catalog', 'discover', 'state', 'about', 'stream-maps', 'activate-version', 'batch', 'test', 'log-based', 'schema-flattening', 'structured-logging']",
                "$.plugins.extractors.0.select: 'x' is not of type 'array'",
                "$.plugins.utilities.0: Unevaluated properties are not allowed ('capabilities' was unexpected)",
                "$.project_id: 1 is not of type 'string'",
                "$.schedules.0: {'name': 's', 'interval': '@never'} is not valid under any of the given schemas",
                "$.schedules.0.interval: '@never' does not match '^((@(hourly|daily|weekly|monthly|yearly|once))|((((\\\\d+,)+\\\\d+|(\\\\d+|\\\\*)(\\\\/|-)\\\\d+|\\\\d+|\\\\*) ?){5,6}))$'",
                "$.venv.backend: 'pip' is not one of ['virtualenv', 'uv']",
            ]
        );
    }
}
