//! Catalog rules, selection listing and cache keys, checked against Meltano 4.4.1 itself.
//!
//! `fixtures/catalog/expected.json` holds what Meltano's own rule code produced for
//! `cases.json` (generated with `reference_harness.py` and the reference's Python); the raw
//! `select --list` captures come from the reference CLI. Two tests also ask a live Python when
//! one is available: `python3` for `fnmatch`, and the reference Meltano's Python (env
//! `MELTANO_REF_PYTHON`, default `/opt/refmeltano/bin/python`) for random catalogs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use meltano_core::catalog::{
    CacheKeyInputs, CatalogRules, CatalogSelection, RuleSources, SelectionType, catalog_cache_key,
    dumps_indent2, fnmatch::fnmatch, render_select_json, render_select_text,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog")
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(name)).expect("fixture readable")
}

fn strings(value: Option<&Value>, default: &[&str]) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().expect("string pattern").to_owned())
            .collect(),
        _ => default.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// What our implementation produces for one case, in the harness's output shape.
fn run_case(case: &Value) -> Value {
    let empty = json!({});
    let select = strings(case.get("select"), &["*.*"]);
    let filter = strings(case.get("select_filter"), &[]);
    let sources = RuleSources {
        select: &select,
        metadata: case.get("metadata").unwrap_or(&empty),
        schema: case.get("schema").unwrap_or(&empty),
        select_filter: &filter,
        custom_catalog: case.get("custom_catalog") == Some(&Value::Bool(true)),
    };
    let mut catalog = case["catalog"].clone();
    let mut out = json!({"skipped": false, "error": null, "catalog_text": null, "warnings": []});
    let rules = match CatalogRules::from_sources(&sources) {
        Ok(rules) => rules,
        Err(err) => {
            out["error"] = json!(err.to_string());
            return out;
        }
    };
    if rules.is_empty() {
        out["skipped"] = json!(true);
    } else {
        match rules.apply(&mut catalog) {
            Ok(warnings) => {
                out["warnings"] = warnings.iter().map(|w| json!(w.to_string())).collect();
            }
            Err(err) => {
                out["error"] = json!(err.to_string());
                return out;
            }
        }
    }
    out["catalog_text"] = json!(dumps_indent2(&catalog));
    out["list"] = match CatalogSelection::of_catalog(&catalog) {
        Ok(selection) => {
            let plain = |s: &str, _| s.to_owned();
            let (some, all) = (selection.entries(false), selection.entries(true));
            json!({
                "text": render_select_text(&select, &some, plain),
                "text_all": render_select_text(&select, &all, plain),
                "json": render_select_json(&select, &some),
                "json_all": render_select_json(&select, &all),
            })
        }
        Err(err) => json!({"error": err.to_string()}),
    };
    out
}

/// Compares our result with Meltano's; error texts are not compared, only that both failed.
fn compare(name: &str, case: &Value, ours: &Value, theirs: &Value) -> Result<(), String> {
    let failed = |v: &Value| !v["error"].is_null();
    if failed(ours) || failed(theirs) {
        if failed(ours) == failed(theirs) {
            return Ok(());
        }
        return Err(format!(
            "{name}: error mismatch: ours {} / reference {}\ncase: {case}",
            ours["error"], theirs["error"]
        ));
    }
    for key in ["skipped", "catalog_text", "warnings"] {
        if ours[key] != theirs[key] {
            return Err(format!(
                "{name}: `{key}` differs\n--- ours\n{}\n--- reference\n{}\ncase: {case}",
                render(&ours[key]),
                render(&theirs[key])
            ));
        }
    }
    let (ol, tl) = (&ours["list"], &theirs["list"]);
    if ol.get("error").is_some() || tl.get("error").is_some() {
        if ol.get("error").is_some() != tl.get("error").is_some() {
            return Err(format!(
                "{name}: listing error mismatch: {ol} / {tl}\ncase: {case}"
            ));
        }
        return Ok(());
    }
    for key in ["text", "text_all", "json", "json_all"] {
        if ol[key] != tl[key] {
            return Err(format!(
                "{name}: listing `{key}` differs\n--- ours\n{}\n--- reference\n{}\ncase: {case}",
                render(&ol[key]),
                render(&tl[key])
            ));
        }
    }
    Ok(())
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn fixtures_match_reference_rule_application() {
    let cases: Vec<Value> = serde_json::from_str(&read_fixture("cases.json")).expect("cases");
    let expected: Vec<Value> =
        serde_json::from_str(&read_fixture("expected.json")).expect("expected");
    assert_eq!(cases.len(), expected.len());
    let failures: Vec<String> = cases
        .iter()
        .zip(&expected)
        .filter_map(|(case, theirs)| {
            let name = case["name"].as_str().unwrap_or("?");
            compare(name, case, &run_case(case), theirs).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn example_catalog() -> Value {
    let cases: Vec<Value> = serde_json::from_str(&read_fixture("cases.json")).expect("cases");
    cases[0]["catalog"].clone()
}

#[test]
fn select_list_matches_raw_captures() {
    let select = vec!["users.*".to_owned(), "!users.email".to_owned()];
    let rules = CatalogRules::from_sources(&RuleSources {
        select: &select,
        metadata: &json!({}),
        schema: &json!({}),
        select_filter: &[],
        custom_catalog: false,
    })
    .expect("rules");
    let mut catalog = example_catalog();
    assert!(rules.apply(&mut catalog).expect("applies").is_empty());
    let selection = CatalogSelection::of_catalog(&catalog).expect("listing");
    let plain = |s: &str, _| s.to_owned();
    assert_eq!(
        render_select_text(&select, &selection.entries(false), plain),
        read_fixture("select_list.txt")
    );
    assert_eq!(
        render_select_text(&select, &selection.entries(true), plain),
        read_fixture("select_list_all.txt")
    );
    assert_eq!(
        render_select_json(&select, &selection.entries(true)),
        read_fixture("select_json_all.txt")
    );
}

#[test]
fn default_select_reproduces_the_captured_example_catalog() {
    let rules = CatalogRules::from_sources(&RuleSources {
        select: &["*.*".to_owned()],
        metadata: &json!({}),
        schema: &json!({}),
        select_filter: &[],
        custom_catalog: false,
    })
    .expect("rules");
    let mut catalog = example_catalog();
    rules.apply(&mut catalog).expect("applies");
    assert_eq!(
        dumps_indent2(&catalog),
        read_fixture("example_catalog_after_rules.json")
    );
}

#[test]
fn colours_follow_the_reference() {
    let select = vec!["a.*".to_owned(), "!a.b".to_owned()];
    let entries = vec![meltano_core::catalog::SelectionEntry {
        stream: "a".into(),
        property: "c".into(),
        stream_selection: SelectionType::Automatic,
        selection: SelectionType::Selected,
    }];
    let text = render_select_text(&select, &entries, |s, c| format!("<{c:?}>{s}</>"));
    assert!(text.contains("<Red>\t!a.b</>\n"));
    assert!(text.contains("<White>\ta.*</>\n"));
    assert!(text.contains("<BrightGreen>\t[selected   ] </><BrightWhite>a</><BrightGreen>.c</>\n"));
    assert!(text.contains("<Black>\tunsupported</>\n"));
}

fn python(program: &str) -> Option<PathBuf> {
    let path = PathBuf::from(program);
    let found = if path.is_absolute() {
        path.exists()
    } else {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    found.then_some(path)
}

fn run_python(python: &Path, args: &[&str], input: &str) -> String {
    let mut child = Command::new(python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input written");
    let output = child.wait_with_output().expect("python runs");
    assert!(output.status.success(), "python failed");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// `count` values of `strategy`, from a fixed seed unless `CATALOG_DIFF_SEED` (a number) is set.
fn sample<S: Strategy>(strategy: S, count: usize) -> Vec<S::Value> {
    let mut runner = match std::env::var("CATALOG_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRunner::new_with_rng(
                proptest::test_runner::Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
            )
        }
        None => TestRunner::deterministic(),
    };
    (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("value generated")
                .current()
        })
        .collect()
}

fn glob_text(parts: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(parts), 0..max).prop_map(|v| v.concat())
}

#[test]
fn fnmatch_agrees_with_python() {
    let Some(py) = python("python3") else {
        eprintln!("python3 not found; skipping");
        return;
    };
    const PATTERN: &[&str] = &[
        "*", "?", "[", "]", "!", "-", "a", "b", "z", ".", " ", "\\", "é", "^", "&", "~", "|", "A",
        "[!", "[]", "a-z", "z-a", "--", "\n", "日",
    ];
    const NAME: &[&str] = &[
        "a", "b", "z", ".", " ", "-", "]", "[", "\\", "é", "A", "\n", "!", "^", "日", "&",
    ];
    let pairs = sample((glob_text(PATTERN, 8), glob_text(NAME, 7)), 6000);
    let input = serde_json::to_string(&pairs).expect("json");
    let script = "import fnmatch,sys,json\n\
                  pairs=json.load(sys.stdin)\n\
                  print(json.dumps([fnmatch.fnmatch(n,p) for p,n in pairs]))";
    let out: Vec<bool> =
        serde_json::from_str(&run_python(&py, &["-c", script], &input)).expect("bools");
    let mismatches: Vec<String> = pairs
        .iter()
        .zip(&out)
        .filter(|((p, n), want)| fnmatch(n, p) != **want)
        .map(|((p, n), want)| format!("fnmatch({n:?}, {p:?}) should be {want}"))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn random_case() -> impl Strategy<Value = Value> {
    const STREAMS: &[&str] = &["users", "orders", "public.users", "a-b", "x y", "é", "s1"];
    const PROPS: &[&str] = &[
        "id",
        "name",
        "a.b",
        "my-field",
        "x y",
        "naïve",
        "p",
        "q",
        "properties",
        "type",
        "_",
        "",
    ];
    const STREAM_PATS: &[&str] = &[
        "users",
        "orders",
        "*",
        "?sers",
        "[a-u]*",
        "public\\.users",
        "public.users",
        "",
        "s?",
        "x y",
        "a-b",
    ];
    const PROP_PATS: &[&str] = &[
        "*", "id", "a*", "name", "p.q", "*.q", "my-field", "", "p", "q.*",
    ];
    const INCLUSIONS: &[Option<&str>] = &[
        None,
        Some("automatic"),
        Some("available"),
        Some("unsupported"),
    ];
    const TRI: &[Option<bool>] = &[None, Some(true), Some(false)];

    let leaf = prop::sample::select(&["string", "integer"][..]).prop_map(|t| json!({"type": t}));
    let schema = leaf.prop_recursive(3, 12, 4, |inner| {
        prop::collection::vec((prop::sample::select(PROPS), inner), 0..4).prop_map(|props| {
            let props: Map<String, Value> =
                props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            json!({"type": "object", "properties": props})
        })
    });
    let entry = (
        prop::collection::vec(prop::sample::select(PROPS), 0..3),
        prop::sample::select(INCLUSIONS),
        prop::sample::select(TRI),
        prop::sample::select(TRI),
    )
        .prop_map(|(path, inclusion, selected, by_default)| {
            let breadcrumb: Vec<&str> = path.iter().flat_map(|p| ["properties", p]).collect();
            let mut metadata = Map::new();
            if let Some(i) = inclusion {
                metadata.insert("inclusion".into(), json!(i));
            }
            if let Some(s) = selected {
                metadata.insert("selected".into(), json!(s));
            }
            if let Some(d) = by_default {
                metadata.insert("selected-by-default".into(), json!(d));
            }
            json!({"breadcrumb": breadcrumb, "metadata": metadata})
        });
    let stream = (
        prop::sample::select(STREAMS),
        schema,
        prop::option::of(prop::collection::vec(entry, 0..4)),
        any::<bool>(),
    )
        .prop_map(|(id, schema, metadata, metadata_first)| {
            let mut s = Map::new();
            s.insert("tap_stream_id".into(), json!(id));
            if metadata_first && let Some(m) = &metadata {
                s.insert("metadata".into(), json!(m));
            }
            s.insert("stream".into(), json!(id));
            s.insert("schema".into(), schema);
            if !metadata_first && let Some(m) = metadata {
                s.insert("metadata".into(), json!(m));
            }
            Value::Object(s)
        });
    let pattern = (
        any::<bool>(),
        prop::sample::select(STREAM_PATS),
        prop::option::of(prop::sample::select(PROP_PATS)),
    )
        .prop_map(|(neg, s, p)| {
            let bang = if neg { "!" } else { "" };
            match p {
                Some(p) => format!("{bang}{s}.{p}"),
                None => format!("{bang}{s}"),
            }
        });
    let metadata_extra = prop::collection::vec(
        (
            prop::sample::select(STREAM_PATS),
            prop::option::of(prop::sample::select(PROPS)),
            prop::sample::select(&["replication-method", "selected", "inclusion", "k"][..]),
            prop::sample::select(vec![json!(true), json!("X"), json!(false), json!(null)]),
        ),
        0..3,
    )
    .prop_map(|items| {
        let mut out = Map::new();
        for (stream, prop, key, value) in items {
            let inner = match prop {
                Some(p) => json!({p: {key: value}}),
                None => json!({key: value}),
            };
            out.insert(stream.to_owned(), inner);
        }
        Value::Object(out)
    });
    let schema_extra = prop::collection::vec(
        (
            prop::sample::select(STREAM_PATS),
            prop::sample::select(&["id", "new", "?", "my-field", "p"][..]),
        ),
        0..2,
    )
    .prop_map(|items| {
        let mut out = Map::new();
        for (stream, prop) in items {
            out.insert(stream.to_owned(), json!({prop: {"type": "boolean"}}));
        }
        Value::Object(out)
    });
    (
        prop::collection::vec(stream, 0..4),
        prop::option::of(prop::collection::vec(pattern.clone(), 0..4)),
        metadata_extra,
        schema_extra,
        prop::collection::vec(pattern, 0..2),
        prop::sample::select(&[false, false, false, true][..]),
    )
        .prop_map(|(streams, select, metadata, schema, filter, custom)| {
            let mut case = json!({
                "catalog": {"streams": streams},
                "metadata": metadata,
                "schema": schema,
                "select_filter": filter,
                "custom_catalog": custom,
            });
            if let Some(select) = select {
                case["select"] = json!(select);
            }
            case
        })
}

#[test]
fn random_catalogs_match_live_reference() {
    let program = std::env::var("MELTANO_REF_PYTHON")
        .unwrap_or_else(|_| "/opt/refmeltano/bin/python".to_owned());
    let Some(py) = python(&program) else {
        eprintln!("reference Meltano Python not found; skipping");
        return;
    };
    let count = std::env::var("CATALOG_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let cases = sample(random_case(), count);
    let harness = fixture_dir().join("reference_harness.py");
    let input = serde_json::to_string(&cases).expect("json");
    let output = run_python(&py, &[harness.to_str().expect("utf-8 path")], &input);
    let expected: Vec<Value> = serde_json::from_str(&output).expect("harness output");
    let failures: Vec<String> = cases
        .iter()
        .zip(&expected)
        .enumerate()
        .filter_map(|(i, (case, theirs))| {
            compare(&format!("random #{i}"), case, &run_case(case), theirs).err()
        })
        .take(3)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// 2,000 streams × 50 properties (10 of them objects with 2 children each).
fn big_catalog() -> Value {
    let streams: Vec<Value> = (0..2000)
        .map(|s| {
            let mut props = Map::new();
            for p in 0..50 {
                let schema = if p % 5 == 0 {
                    json!({"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "integer"}}})
                } else {
                    json!({"type": ["string", "null"]})
                };
                props.insert(format!("p_{p}"), schema);
            }
            let id = format!("schema_{s}.table_{s}");
            json!({
                "tap_stream_id": id,
                "stream": format!("table_{s}"),
                "schema": {"type": "object", "properties": props},
                "metadata": [
                    {"breadcrumb": [], "metadata": {"inclusion": "available"}},
                    {"breadcrumb": ["properties", "p_1"], "metadata": {"inclusion": "automatic"}},
                    {"breadcrumb": ["properties", "p_2"], "metadata": {"inclusion": "unsupported"}},
                ],
            })
        })
        .collect();
    json!({"streams": streams})
}

#[test]
fn large_catalog_applies_correctly() {
    let select: Vec<String> = [
        "schema_1*.*",
        "!*.p_3",
        "schema_2\\.table_2.p_5.x",
        "schema_1*.p_2",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let metadata = json!({"*": {"replication-method": "FULL_TABLE"}, "schema_7?table_7": {"p_4": {"is-pii": true}}});
    let rules = CatalogRules::from_sources(&RuleSources {
        select: &select,
        metadata: &metadata,
        schema: &json!({"schema_9*": {"p_6": {"type": "integer"}}}),
        select_filter: &["!schema_3*".to_owned()],
        custom_catalog: false,
    })
    .expect("rules");
    let mut catalog = big_catalog();
    let started = Instant::now();
    let warnings = rules.apply(&mut catalog).expect("applies");
    eprintln!("2000×50 catalog: rules applied in {:?}", started.elapsed());
    let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["Stream `schema_7?table_7` was not found in the catalog"]
    );

    let streams = catalog["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2000);
    let entry = |s: &Value, crumb: &[&str]| -> Value {
        s["metadata"]
            .as_array()
            .expect("list")
            .iter()
            .find(|e| e["breadcrumb"] == json!(crumb))
            .map(|e| e["metadata"].clone())
            .unwrap_or(Value::Null)
    };
    for (i, s) in streams.iter().enumerate() {
        // 1 stream entry + 50 properties + 10 objects × 2 children, none duplicated.
        assert_eq!(
            s["metadata"].as_array().expect("list").len(),
            71,
            "stream {i}"
        );
        let digits = i.to_string();
        let selected = digits.starts_with('1') || i == 2;
        assert_eq!(s["selected"], json!(selected), "stream {i}");
        assert_eq!(entry(s, &[])["selected"], json!(selected), "stream {i}");
        assert_eq!(s["replication_method"], json!("FULL_TABLE"));
        assert_eq!(entry(s, &["properties", "p_3"])["selected"], json!(false));
        assert_eq!(entry(s, &["properties", "p_2"])["selected"], json!(false));
        assert_eq!(
            entry(s, &["properties", "p_0", "properties", "x"])["inclusion"],
            json!("available")
        );
        assert_eq!(
            entry(s, &["properties", "p_0", "properties", "x"])["selected"],
            json!(digits.starts_with('1'))
        );
        let p6 = &s["schema"]["properties"]["p_6"];
        assert_eq!(
            *p6 == json!({"type": "integer"}),
            digits.starts_with('9'),
            "stream {i}"
        );
    }
    let s2 = &streams[2];
    assert_eq!(s2["selected"], json!(true));
    assert_eq!(entry(s2, &["properties", "p_5"])["selected"], json!(true));
    assert_eq!(
        entry(s2, &["properties", "p_5", "properties", "x"])["selected"],
        json!(true)
    );
    assert_eq!(
        entry(s2, &["properties", "p_5", "properties", "y"])["selected"],
        json!(false)
    );
    assert_eq!(
        entry(&streams[7], &["properties", "p_4"])["is-pii"],
        json!(true)
    );

    let listed = CatalogSelection::of_catalog(&catalog).expect("listing");
    assert_eq!(listed.entries(true).len(), 2000 * 70);
}

fn cache_inputs<'a>(
    config: &'a Map<String, Value>,
    schema: &'a Value,
    metadata: &'a Value,
) -> CacheKeyInputs<'a> {
    CacheKeyInputs {
        pip_url: Some("fakepkg"),
        custom_catalog: false,
        plugin_config: config,
        schema_extra: schema,
        metadata_extra: metadata,
    }
}

#[test]
fn cache_key_matches_reference_run() {
    // Key written by `meltano invoke --dump catalog` for a project with this config.
    let config = json!({"zeta": "héllo", "alpha": 3, "nested.val": 1.5});
    let config = config.as_object().expect("object").clone();
    let schema = json!({"users": {"my-field": {"type": "integer"}}});
    let metadata =
        json!({"users": {"replication-method": "INCREMENTAL"}, "x.y": {"replication-key": "p"}});
    let inputs = cache_inputs(&config, &schema, &metadata);
    assert_eq!(
        catalog_cache_key(&inputs).as_deref(),
        Some("b47df769d163c288f15b74d7456e381af73d9930")
    );
    assert_eq!(
        catalog_cache_key(&CacheKeyInputs {
            pip_url: None,
            ..inputs
        }),
        None
    );
    assert_eq!(
        catalog_cache_key(&CacheKeyInputs {
            pip_url: Some("-e ."),
            ..inputs
        }),
        None
    );
    assert_eq!(
        catalog_cache_key(&CacheKeyInputs {
            custom_catalog: true,
            ..inputs
        }),
        None
    );
}

#[test]
fn cache_key_agrees_with_python_json_and_sha1() {
    let Some(py) = python("python3") else {
        eprintln!("python3 not found; skipping");
        return;
    };
    let scalar = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        prop::sample::select(&[1e-7, 1e16, 0.1, 123456789012345680.0, -0.0][..])
            .prop_map(|f| json!(f)),
        "[a-zé日\"\\\\\n\u{7f}😀 ]{0,6}".prop_map(|s| json!(s)),
    ];
    let value = scalar.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z_.]{1,4}", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    });
    let cases = sample(
        (
            prop::collection::vec(("[a-z_.]{1,5}", value.clone()), 0..4),
            value.clone(),
            value,
        ),
        300,
    );
    let docs: Vec<Value> = cases
        .iter()
        .map(|(config, schema, metadata)| {
            let config: Map<String, Value> = config.iter().cloned().collect();
            json!({"config": config, "schema": schema, "metadata": metadata})
        })
        .collect();
    let script = "import json,sys,hashlib\n\
                  docs=json.load(sys.stdin)\n\
                  print(json.dumps([hashlib.sha1(json.dumps({**d['config'],'_schema':d['schema'],'_metadata':d['metadata']}).encode()).hexdigest() for d in docs]))";
    let input = serde_json::to_string(&docs).expect("json");
    let want: Vec<String> =
        serde_json::from_str(&run_python(&py, &["-c", script], &input)).expect("digests");
    for (doc, want) in docs.iter().zip(&want) {
        let config = doc["config"].as_object().expect("object");
        let got = catalog_cache_key(&cache_inputs(config, &doc["schema"], &doc["metadata"]));
        assert_eq!(got.as_deref(), Some(want.as_str()), "{doc}");
    }
}
