//! The built-in index: coverage, well-formedness, variant rules.

use std::collections::HashSet;

use meltano_core::PluginType;
use meltano_hub::{PluginDefinition, UnknownPlugin, VariantSource, builtin_index};
use serde_json::Value;

fn definitions() -> Vec<&'static PluginDefinition> {
    builtin_index()
        .unwrap()
        .plugins()
        .iter()
        .flat_map(|p| &p.variants)
        .map(|v| match &v.source {
            VariantSource::Definition(d) => &**d,
            VariantSource::Ref(url) => panic!("built-in entry with a ref: {url}"),
        })
        .collect()
}

#[test]
fn covers_at_least_25_plugins() {
    let index = builtin_index().unwrap();
    assert!(
        index.plugins().len() >= 25,
        "{} names",
        index.plugins().len()
    );
    assert!(definitions().len() >= 25);
}

#[test]
fn every_entry_is_well_formed() {
    let mut seen = HashSet::new();
    for entry in builtin_index().unwrap().plugins() {
        assert_eq!(
            entry.variants[0].name, entry.default_variant,
            "{}",
            entry.name
        );
        for variant in &entry.variants {
            let VariantSource::Definition(d) = &variant.source else {
                panic!("{} has a ref", entry.name)
            };
            let id = format!("{}/{}--{}", entry.plugin_type, d.name, variant.name);
            assert!(seen.insert(id.clone()), "duplicate {id}");
            assert_eq!(d.name, entry.name, "{id}");
            assert_eq!(d.plugin_type, Some(entry.plugin_type), "{id}");
            assert_eq!(d.variant.as_deref(), Some(variant.name.as_str()), "{id}");
            assert!(!d.namespace.is_empty(), "{id}: namespace");
            assert!(
                d.namespace
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{id}: namespace {}",
                d.namespace
            );
            for (field, value) in [
                ("pip_url", &d.pip_url),
                ("executable", &d.executable),
                ("label", &d.label),
                ("description", &d.description),
                ("docs", &d.docs),
                ("repo", &d.repo),
            ] {
                assert!(
                    value.as_deref().is_some_and(|v| !v.trim().is_empty()),
                    "{id}: {field} is empty"
                );
            }
            for url in [&d.docs, &d.repo].into_iter().flatten() {
                assert!(url.starts_with("https://"), "{id}: {url}");
            }
            let mut names = HashSet::new();
            for setting in &d.settings {
                let name = setting["name"].as_str().unwrap();
                assert!(names.insert(name), "{id}: setting {name} twice");
                let kind = setting.get("kind").and_then(Value::as_str);
                assert!(
                    matches!(
                        kind,
                        Some(
                            "string"
                                | "integer"
                                | "boolean"
                                | "decimal"
                                | "date_iso8601"
                                | "email"
                                | "options"
                                | "file"
                                | "array"
                                | "object"
                        )
                    ),
                    "{id}: setting {name} kind {kind:?}"
                );
                assert!(
                    setting.contains_key("description"),
                    "{id}: {name} description"
                );
                assert!(setting.contains_key("label"), "{id}: {name} label");
                if kind == Some("options") {
                    assert!(setting.contains_key("options"), "{id}: {name} options");
                }
            }
            for group in &d.settings_group_validation {
                for name in group {
                    assert!(names.contains(name.as_str()), "{id}: group names {name}");
                }
            }
            assert!(d.deprecated_kind_warnings().is_empty(), "{id}");
            // What a lock file holds parses back to the same definition.
            let reparsed =
                PluginDefinition::from_value(serde_json::from_str(&d.to_lock_json()).unwrap())
                    .unwrap();
            assert_eq!(reparsed.to_lock_json(), d.to_lock_json(), "{id}");
        }
    }
}

#[test]
fn has_the_plugins_projects_reach_for_first() {
    let index = builtin_index().unwrap();
    let expect = [
        (
            PluginType::Loaders,
            "target-jsonl",
            "andyh1203",
            "target-jsonl",
        ),
        (
            PluginType::Loaders,
            "target-csv",
            "meltanolabs",
            "meltanolabs-target-csv",
        ),
        (
            PluginType::Loaders,
            "target-sqlite",
            "meltanolabs",
            "target-sqlite",
        ),
        (
            PluginType::Loaders,
            "target-postgres",
            "meltanolabs",
            "meltanolabs-target-postgres",
        ),
        (
            PluginType::Loaders,
            "target-postgres",
            "transferwise",
            "pipelinewise-target-postgres",
        ),
        (
            PluginType::Loaders,
            "target-duckdb",
            "jwills",
            "target-duckdb",
        ),
        (
            PluginType::Loaders,
            "target-snowflake",
            "meltanolabs",
            "meltanolabs-target-snowflake",
        ),
        (
            PluginType::Loaders,
            "target-bigquery",
            "z3z1ma",
            "z3-target-bigquery",
        ),
        (
            PluginType::Extractors,
            "tap-postgres",
            "meltanolabs",
            "meltanolabs-tap-postgres",
        ),
        (
            PluginType::Extractors,
            "tap-postgres",
            "transferwise",
            "pipelinewise-tap-postgres",
        ),
        (
            PluginType::Extractors,
            "tap-github",
            "meltanolabs",
            "meltanolabs-tap-github",
        ),
        (PluginType::Extractors, "tap-jsonl", "lc", "tap-jsonl"),
        (
            PluginType::Extractors,
            "tap-csv",
            "meltanolabs",
            "git+https://github.com/MeltanoLabs/tap-csv.git",
        ),
        (
            PluginType::Extractors,
            "tap-rest-api-msdk",
            "widen",
            "tap-rest-api-msdk",
        ),
        (
            PluginType::Extractors,
            "tap-mysql",
            "transferwise",
            "pipelinewise-tap-mysql",
        ),
        (
            PluginType::Extractors,
            "tap-smoke-test",
            "meltano",
            "git+https://github.com/meltano/tap-smoke-test.git",
        ),
        (
            PluginType::Extractors,
            "tap-s3-csv",
            "transferwise",
            "pipelinewise-tap-s3-csv",
        ),
        (
            PluginType::Mappers,
            "meltano-map-transformer",
            "meltano",
            "meltano-map-transform",
        ),
        (
            PluginType::Utilities,
            "dbt-postgres",
            "dbt-labs",
            "dbt-core dbt-postgres meltano-dbt-ext",
        ),
        (
            PluginType::Utilities,
            "dbt-duckdb",
            "jwills",
            "dbt-core dbt-duckdb meltano-dbt-ext",
        ),
        (PluginType::Utilities, "sqlfluff", "sqlfluff", "sqlfluff"),
        (
            PluginType::Utilities,
            "great_expectations",
            "great-expectations",
            "great_expectations<1",
        ),
        (
            PluginType::Orchestrators,
            "airflow",
            "apache",
            "apache-airflow<3",
        ),
    ];
    for (plugin_type, name, variant, pip_url) in expect {
        let found = index.definition(plugin_type, name, Some(variant)).unwrap();
        assert_eq!(found.definition.pip_url.as_deref(), Some(pip_url), "{name}");
    }
}

#[test]
fn variant_rules() {
    let index = builtin_index().unwrap();
    let t = PluginType::Loaders;
    for requested in [None, Some("default"), Some("original"), Some("meltanolabs")] {
        let found = index.definition(t, "target-postgres", requested).unwrap();
        assert_eq!(found.definition.variant.as_deref(), Some("meltanolabs"));
        assert!(found.is_default_variant);
    }
    let found = index
        .definition(t, "target-postgres", Some("transferwise"))
        .unwrap();
    assert!(!found.is_default_variant);
    assert_eq!(found.definition.plugin_type, Some(PluginType::Loaders));

    let unknown_variant = index
        .definition(t, "target-postgres", Some("nope"))
        .unwrap_err();
    let unknown_name = index.definition(t, "target-nope", None).unwrap_err();
    assert!(matches!(unknown_name, UnknownPlugin::Name { .. }));
    insta::assert_snapshot!(format!("{unknown_variant}\n{unknown_name}"));
}

/// The list the report and the docs quote.
#[test]
fn listing() {
    let mut lines = Vec::new();
    for entry in builtin_index().unwrap().plugins() {
        for variant in &entry.variants {
            let VariantSource::Definition(d) = &variant.source else {
                unreachable!()
            };
            lines.push(format!(
                "{:<13} {:<24} {:<19} {:<48} {}",
                entry.plugin_type.singular(),
                entry.name,
                variant.name,
                d.pip_url.as_deref().unwrap_or(""),
                d.executable.as_deref().unwrap_or("")
            ));
        }
    }
    insta::assert_snapshot!(lines.join("\n"));
}
