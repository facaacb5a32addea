//! The layered resolver: for each setting, the first store that has a value wins, and the answer
//! says which store that was.
//!
//! Order (Meltano 4.4.1): command-line override > process environment > `.env` > the active
//! environment in meltano.yml > meltano.yml > system database > inherited parent > default.
//! Values from meltano.yml (root or environment) and defaults are `$VAR`-expanded; values from the
//! environment and `.env` are strings cast by the setting's kind; database values are used as
//! stored.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::cast::{cast, cast_value};
use super::expand::{ExpandError, expand_value};
use super::nest::{flatten, get_nested};
use super::spec::SettingSpec;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag (`--database-uri`, `--log-level`).
    Override,
    /// The process environment, through this variable.
    Env(String),
    /// The `.env` file, through this variable.
    Dotenv(String),
    /// The active environment's section of meltano.yml.
    Environment,
    /// The plugin's (or project's) own entry in meltano.yml.
    MeltanoYml,
    /// The `plugin_settings` table of the system database.
    Db,
    /// The parent plugin named here (`inherit_from`).
    Inherited(String),
    /// The definition's default.
    Default,
}

impl Source {
    /// How `meltano config list` says where a value came from.
    pub fn describe(&self) -> String {
        match self {
            Source::Override => "from a command line flag".to_string(),
            Source::Env(var) => format!("from the {var} variable in the environment"),
            Source::Dotenv(var) => format!("from the {var} variable in `.env`"),
            Source::Environment => "from the active environment in `meltano.yml`".to_string(),
            Source::MeltanoYml => "from `meltano.yml`".to_string(),
            Source::Db => "from the system database".to_string(),
            Source::Inherited(parent) => format!("inherited from '{parent}'"),
            Source::Default => "default".to_string(),
        }
    }

    /// How `config set/unset` names the store.
    pub fn store_label(&self) -> &'static str {
        match self {
            Source::Override => "a command line flag",
            Source::Env(_) => "the environment",
            Source::Dotenv(_) => "`.env`",
            Source::Environment => "the active environment in `meltano.yml`",
            Source::MeltanoYml => "`meltano.yml`",
            Source::Db => "the system database",
            Source::Inherited(_) => "inherited",
            Source::Default => "the default",
        }
    }
}

/// One setting with its winning value.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub spec: SettingSpec,
    /// None when no store has a value.
    pub value: Option<Value>,
    pub source: Source,
    /// The value as written, when `$VAR` expansion changed it.
    pub unexpanded: Option<Value>,
    /// Variables that may set this setting, in lookup order.
    pub env_names: Vec<String>,
}

/// Why settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("Conflicting values for setting found in: {0:?}")]
    Conflict(Vec<String>),
    #[error("Setting value set via multiple environment variables: {0:?}")]
    Duplicate(Vec<String>),
    #[error("Setting '{setting}' {origin} cannot be used: {source}. Fix the value or unset it.")]
    Cast {
        setting: String,
        /// Where the bad value is, e.g. "from the TAP_X_PORT variable in `.env`".
        origin: String,
        #[source]
        source: Box<super::cast::CastError>,
    },
    #[error(transparent)]
    Expand(#[from] ExpandError),
}

/// A variable lookup.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Everything the resolver reads; callers gather it from files, the environment and the database.
pub struct Layers<'a> {
    /// The definitions, extras (`_select`, ...) included.
    pub specs: Vec<SettingSpec>,
    /// The variables that may set a setting, in lookup order.
    pub env_names: &'a dyn Fn(&SettingSpec) -> Vec<String>,
    pub overrides: &'a Map<String, Value>,
    pub process_env: &'a dyn Fn(&str) -> Option<String>,
    pub dotenv: &'a IndexMap<String, String>,
    /// The active environment's values (config keys, extras as `_name`), when one is active.
    pub environment: Option<&'a Map<String, Value>>,
    /// meltano.yml values (config keys, extras as `_name`).
    pub manifest: &'a Map<String, Value>,
    /// System-database values by setting name.
    pub db: &'a Map<String, Value>,
    /// The parent's resolved settings, for `inherit_from` plugins.
    pub inherited: Option<(&'a str, &'a [Resolved])>,
    /// Variables available to `$VAR` expansion.
    pub expansion: &'a dyn Fn(&str) -> Option<String>,
    /// Variables extras may also name: the plugin's own settings as it receives them
    /// (`target_schema: $TARGET_X_DEFAULT_TARGET_SCHEMA`), checked before `expansion`.
    pub extras_expansion: Option<Lookup<'a>>,
    /// `ff.strict_env_var_mode`: an unset `$VAR` is an error.
    pub strict: bool,
}

impl Layers<'_> {
    /// Every setting, definitions first, then custom keys found in meltano.yml or the environment.
    pub fn resolve(&self) -> Result<Vec<Resolved>, ResolveError> {
        let mut specs = self.specs.clone();
        for map in [Some(self.manifest), self.environment]
            .into_iter()
            .flatten()
        {
            for (name, value) in custom_keys(map, &specs) {
                let mut spec = SettingSpec::named(name);
                spec.custom = true;
                spec.kind = super::spec::Kind::of_value(&value);
                specs.push(spec);
            }
        }
        if let Some((_, parent)) = self.inherited {
            for resolved in parent {
                if !specs.iter().any(|s| s.name == resolved.spec.name) {
                    specs.push(resolved.spec.clone());
                }
            }
        }
        specs.iter().map(|spec| self.resolve_one(spec)).collect()
    }

    fn resolve_one(&self, spec: &SettingSpec) -> Result<Resolved, ResolveError> {
        let mut resolved = self.winner(spec)?;
        if spec.kind == Some(super::spec::Kind::Object)
            && matches!(resolved.source, Source::Default | Source::Inherited(_))
        {
            self.assemble_object(spec, &mut resolved)?;
        }
        Ok(resolved)
    }

    /// An object setting left at its default (or inherited) value is built instead from
    /// `name.key` entries written in meltano.yml (root, then the active environment).
    fn assemble_object(
        &self,
        spec: &SettingSpec,
        resolved: &mut Resolved,
    ) -> Result<(), ResolveError> {
        let prefix = format!("{}.", spec.name);
        // As in Meltano, the dotted keys replace the default rather than merging into it; only
        // a definition's own leaves (`_metadata.s.replication-method` from a lock file's
        // `metadata:`) are defaults that take part.
        let mut object = Map::new();
        for leaf in self.specs.iter().filter(|s| s.name.starts_with(&prefix)) {
            if let Some(default) = &leaf.default {
                super::nest::set_nested(&mut object, &leaf.name[prefix.len()..], default.clone());
            }
        }
        let mut source = None;
        for (map, map_source) in [
            (Some(self.manifest), Source::MeltanoYml),
            (self.environment, Source::Environment),
        ] {
            let Some(map) = map else { continue };
            for (name, raw) in flatten(map) {
                let Some(key) = name.strip_prefix(&prefix) else {
                    continue;
                };
                if let Some(value) = self.expand(spec, &raw)? {
                    super::nest::set_nested(&mut object, key, value);
                    source = Some(map_source.clone());
                }
            }
        }
        if let Some(source) = source {
            resolved.value = Some(Value::Object(object));
            resolved.source = source;
        }
        Ok(())
    }

    /// The first store with a value for `spec`.
    fn winner(&self, spec: &SettingSpec) -> Result<Resolved, ResolveError> {
        let env_names = (self.env_names)(spec);
        let found = |value: Value, source: Source, unexpanded: Option<Value>| Resolved {
            spec: spec.clone(),
            value: Some(value),
            source,
            unexpanded,
            env_names: env_names.clone(),
        };
        if let Some(value) = spec.names().find_map(|n| self.overrides.get(n)) {
            return Ok(found(value.clone(), Source::Override, None));
        }
        if let Some((var, raw)) = env_lookup(&env_names, |name| (self.process_env)(name))? {
            let source = Source::Env(var);
            let value = cast(spec, &raw).map_err(|e| cast_error(spec, &source, e))?;
            return Ok(found(value, source, None));
        }
        if let Some((var, raw)) = env_lookup(&env_names, |name| self.dotenv.get(name).cloned())? {
            let source = Source::Dotenv(var);
            let value = cast(spec, &raw).map_err(|e| cast_error(spec, &source, e))?;
            return Ok(found(value, source, None));
        }
        for (map, source) in [
            (self.environment, Source::Environment),
            (Some(self.manifest), Source::MeltanoYml),
        ] {
            let Some(raw) = map.and_then(|m| spec.names().find_map(|n| get_nested(m, n))) else {
                continue;
            };
            // Meltano reads meltano.yml flattened: an object setting written as a mapping is
            // not found under its own name but assembled leaf by leaf from every layer, so an
            // environment's `metadata:` adds to the plugin's instead of replacing it.
            if spec.kind == Some(super::spec::Kind::Object)
                && raw.as_object().is_some_and(|o| !o.is_empty())
            {
                continue;
            }
            let Some(value) = self.expand(spec, raw)? else {
                // A value whose `$VAR`s are all unset is unset here, as in Meltano: lower
                // layers (meltano.yml under an environment, the default) do not show through.
                return Ok(Resolved {
                    spec: spec.clone(),
                    value: None,
                    source,
                    unexpanded: Some(raw.clone()),
                    env_names,
                });
            };
            let unexpanded = (&value != raw).then(|| raw.clone());
            // Cast after expansion, as Meltano does: `port: $DB_PORT` is an integer. A value
            // that does not cast is kept as written: Meltano fails only when that one setting
            // is read, and we resolve every setting at once.
            let value = cast_value(spec, &value).unwrap_or(value);
            return Ok(found(value, source, unexpanded));
        }
        if let Some(value) = spec
            .names()
            .find_map(|n| self.db.get(n))
            .filter(|v| !v.is_null())
        {
            return Ok(found(value.clone(), Source::Db, None));
        }
        // Only what the parent configured is inherited: defaults are evaluated for the child
        // itself (its own `$MELTANO_EXTRACTOR_NAMESPACE`, say).
        if let Some((parent, settings)) = self.inherited
            && let Some(from_parent) = settings
                .iter()
                .find(|r| r.spec.name == spec.name && r.source != Source::Default)
            && let Some(value) = from_parent.value.clone()
        {
            let unexpanded = from_parent.unexpanded.clone();
            return Ok(found(
                value,
                Source::Inherited(parent.to_string()),
                unexpanded,
            ));
        }
        let default = match &spec.default {
            Some(raw) => self.expand(spec, raw)?,
            None => None,
        };
        let unexpanded = match (&default, &spec.default) {
            (Some(v), Some(raw)) if v != raw => Some(raw.clone()),
            _ => None,
        };
        Ok(Resolved {
            spec: spec.clone(),
            value: default,
            source: Source::Default,
            unexpanded,
            env_names,
        })
    }

    /// `$VAR`-expands a value; a string that expands to nothing counts as unset.
    fn expand(&self, spec: &SettingSpec, raw: &Value) -> Result<Option<Value>, ResolveError> {
        if raw.is_null() {
            return Ok(None);
        }
        let value = match self.extras_expansion.filter(|_| spec.is_extra()) {
            Some(extra) => {
                let lookup = |name: &str| extra(name).or_else(|| (self.expansion)(name));
                expand_value(raw, &lookup, self.strict)?
            }
            None => expand_value(raw, self.expansion, self.strict)?,
        };
        Ok((!value.is_null()).then_some(value))
    }
}

fn cast_error(spec: &SettingSpec, source: &Source, error: super::cast::CastError) -> ResolveError {
    ResolveError::Cast {
        setting: spec.name.clone(),
        origin: source.describe(),
        source: Box::new(error),
    }
}

/// The first variable among `names` that is set; an error when several are set (differently or not).
fn env_lookup(
    names: &[String],
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, ResolveError> {
    let set: Vec<(String, String)> = names
        .iter()
        .filter_map(|n| get(n).map(|v| (n.clone(), v)))
        .collect();
    match set.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, rest @ ..] => {
            let names = set.iter().map(|(n, _)| n.clone()).collect();
            if rest.iter().all(|(_, v)| *v == first.1) {
                Err(ResolveError::Duplicate(names))
            } else {
                Err(ResolveError::Conflict(names))
            }
        }
    }
}

/// Keys of `map` (flattened to dotted names) that no spec covers.
fn custom_keys(map: &Map<String, Value>, specs: &[SettingSpec]) -> Vec<(String, Value)> {
    flatten(map)
        .into_iter()
        .filter(|(name, _)| {
            // Leaves under an object setting (`_metadata.orders.is-pii`) are listed on their
            // own, as Meltano lists its flattened keys.
            !specs.iter().any(|s| {
                s.names().any(|n| {
                    n == name
                        || n.starts_with(&format!("{name}."))
                        || (name.starts_with(&format!("{n}."))
                            && s.kind != Some(super::spec::Kind::Object))
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::settings::spec::Kind;

    fn spec(name: &str, kind: Option<Kind>, default: Option<Value>) -> SettingSpec {
        SettingSpec {
            name: name.into(),
            kind,
            default,
            ..SettingSpec::default()
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    struct Fixture {
        env: IndexMap<String, String>,
        dotenv: IndexMap<String, String>,
        environment: Option<Map<String, Value>>,
        manifest: Map<String, Value>,
        db: Map<String, Value>,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                env: IndexMap::new(),
                dotenv: IndexMap::new(),
                environment: None,
                manifest: Map::new(),
                db: Map::new(),
            }
        }

        fn resolve(
            &self,
            specs: Vec<SettingSpec>,
            inherited: Option<(&str, &[Resolved])>,
        ) -> Vec<Resolved> {
            let env_names =
                |s: &SettingSpec| vec![format!("TAP_{}", s.name.to_uppercase().replace('.', "_"))];
            let process_env = |name: &str| self.env.get(name).cloned();
            let expansion = |name: &str| {
                self.env
                    .get(name)
                    .cloned()
                    .or_else(|| self.dotenv.get(name).cloned())
            };
            let overrides = Map::new();
            Layers {
                specs,
                env_names: &env_names,
                overrides: &overrides,
                process_env: &process_env,
                dotenv: &self.dotenv,
                environment: self.environment.as_ref(),
                manifest: &self.manifest,
                db: &self.db,
                inherited,
                expansion: &expansion,
                extras_expansion: None,
                strict: false,
            }
            .resolve()
            .unwrap()
        }
    }

    fn winner(settings: &[Resolved], name: &str) -> (Option<Value>, Source) {
        let r = settings.iter().find(|r| r.spec.name == name).unwrap();
        (r.value.clone(), r.source.clone())
    }

    #[test]
    fn each_store_wins_over_the_ones_below_it() {
        let specs = || vec![spec("port", Some(Kind::Integer), Some(json!(1)))];
        let mut f = Fixture::new();
        assert_eq!(
            winner(&f.resolve(specs(), None), "port"),
            (Some(json!(1)), Source::Default)
        );
        f.db.insert("port".into(), json!(2));
        assert_eq!(
            winner(&f.resolve(specs(), None), "port"),
            (Some(json!(2)), Source::Db)
        );
        f.manifest = object(json!({"port": 3}));
        assert_eq!(
            winner(&f.resolve(specs(), None), "port"),
            (Some(json!(3)), Source::MeltanoYml)
        );
        f.environment = Some(object(json!({"port": 4})));
        assert_eq!(
            winner(&f.resolve(specs(), None), "port"),
            (Some(json!(4)), Source::Environment)
        );
        f.dotenv.insert("TAP_PORT".into(), "5".into());
        assert_eq!(
            winner(&f.resolve(specs(), None), "port"),
            (Some(json!(5)), Source::Dotenv("TAP_PORT".into()))
        );
        f.env.insert("TAP_PORT".into(), "6".into());
        assert_eq!(
            winner(&f.resolve(specs(), None), "port"),
            (Some(json!(6)), Source::Env("TAP_PORT".into()))
        );
    }

    #[test]
    fn expansion_keeps_the_written_value_and_empty_means_unset() {
        let mut f = Fixture::new();
        f.env.insert("HOST".into(), "db.internal".into());
        f.manifest = object(json!({"host": "${HOST}:5432", "user": "$NOT_SET"}));
        f.db.insert("user".into(), json!("from-db"));
        let settings = f.resolve(
            vec![spec("host", None, None), spec("user", None, None)],
            None,
        );
        let host = settings.iter().find(|r| r.spec.name == "host").unwrap();
        assert_eq!(host.value, Some(json!("db.internal:5432")));
        assert_eq!(host.unexpanded, Some(json!("${HOST}:5432")));
        // All its variables unset, the value is unset in meltano.yml: the database value below
        // does not show through (checked against 4.4.1's `config list`).
        assert_eq!(winner(&settings, "user"), (None, Source::MeltanoYml));
    }

    #[test]
    fn an_inherited_value_keeps_what_the_parent_wrote() {
        let mut parent = Fixture::new();
        parent.env.insert("HOST".into(), "db.internal".into());
        parent.manifest = object(json!({"host": "$HOST"}));
        let specs = || vec![spec("host", None, None)];
        let parent_settings = parent.resolve(specs(), None);
        let settings = Fixture::new().resolve(specs(), Some(("tap-parent", &parent_settings)));
        let host = settings.iter().find(|r| r.spec.name == "host").unwrap();
        assert_eq!(host.value, Some(json!("db.internal")));
        assert_eq!(host.source, Source::Inherited("tap-parent".into()));
        assert_eq!(host.unexpanded, Some(json!("$HOST")));
    }

    #[test]
    fn children_inherit_configured_values_not_defaults() {
        let f = Fixture::new();
        let mut parent = Fixture::new();
        parent.manifest = object(json!({"user": "alice"}));
        let specs = || {
            vec![
                spec("user", None, None),
                spec("schema", None, Some(json!("$NS"))),
            ]
        };
        let mut parent_env = parent;
        parent_env.env.insert("NS".into(), "parent_ns".into());
        let parent_settings = parent_env.resolve(specs(), None);
        let mut child = f;
        child.env.insert("NS".into(), "child_ns".into());
        let settings = child.resolve(specs(), Some(("tap-parent", &parent_settings)));
        assert_eq!(
            winner(&settings, "user"),
            (Some(json!("alice")), Source::Inherited("tap-parent".into()))
        );
        assert_eq!(
            winner(&settings, "schema"),
            (Some(json!("child_ns")), Source::Default)
        );
    }

    #[test]
    fn unknown_config_keys_become_custom_settings() {
        let mut f = Fixture::new();
        f.manifest = object(json!({"nested": {"value": 1, "extra": true}, "custom": "x"}));
        let settings = f.resolve(vec![spec("nested.value", None, None)], None);
        let custom: Vec<(&str, Option<Kind>)> = settings
            .iter()
            .filter(|r| r.spec.custom)
            .map(|r| (r.spec.name.as_str(), r.spec.kind))
            .collect();
        assert_eq!(
            custom,
            [("nested.extra", Some(Kind::Boolean)), ("custom", None)]
        );
    }

    #[test]
    fn object_settings_are_built_from_dotted_keys() {
        let mut f = Fixture::new();
        f.manifest = object(json!({"options.retries": 3, "options.backoff.max": 10}));
        let settings = f.resolve(
            vec![spec(
                "options",
                Some(Kind::Object),
                Some(json!({"retries": 1, "timeout": 5})),
            )],
            None,
        );
        assert_eq!(
            winner(&settings, "options"),
            (
                Some(json!({"retries": 3, "backoff": {"max": 10}})),
                Source::MeltanoYml
            )
        );
    }

    #[test]
    fn several_variables_for_one_setting_are_an_error() {
        let f = Fixture {
            env: IndexMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
            ..Fixture::new()
        };
        let env_names = |_: &SettingSpec| vec!["A".to_string(), "B".to_string()];
        let process_env = |name: &str| f.env.get(name).cloned();
        let none = |_: &str| None;
        let empty = Map::new();
        let layers = Layers {
            specs: vec![spec("x", None, None)],
            env_names: &env_names,
            overrides: &empty,
            process_env: &process_env,
            dotenv: &f.dotenv,
            environment: None,
            manifest: &empty,
            db: &empty,
            inherited: None,
            expansion: &none,
            extras_expansion: None,
            strict: false,
        };
        assert!(
            matches!(layers.resolve(), Err(ResolveError::Conflict(names)) if names == ["A", "B"])
        );
    }
}
