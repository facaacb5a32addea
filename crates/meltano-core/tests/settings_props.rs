//! Property tests for the pure settings pieces: `$VAR` expansion, casting, dotted names, and the
//! Python spellings of values (checked against a real `python3`).

use std::io::Write;
use std::process::{Command, Stdio};

use meltano_core::settings::cast::cast;
use meltano_core::settings::expand::{escape, expand_str};
use meltano_core::settings::nest::{flatten, get_nested, nest, split_name};
use meltano_core::settings::repr::{py_json_dumps, py_repr};
use meltano_core::settings::{Kind, SettingSpec};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value};

fn env(name: &str) -> Option<String> {
    match name {
        "FOO" => Some("bar".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// Characters from blocks whose Unicode categories are stable across Python versions.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => 0x20u32..0x7f,
        1 => 0u32..0x20,
        1 => 0x7fu32..0x100,
        1 => 0x391u32..0x3aa,
        1 => 0x4e00u32..0x4e40,
        1 => 0x2000u32..0x2070,
        1 => 0x1f600u32..0x1f650,
        1 => 0xe000u32..0xe010,
        1 => 0xfff0u32..0x10000,
    ]
    .prop_filter_map("valid char", char::from_u32)
}

fn any_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any_char(), 0..12).prop_map(|cs| cs.into_iter().collect())
}

/// JSON values; `wild_floats` adds floats of any magnitude, which serde_json (without its
/// `float_roundtrip` feature) may parse back one unit in the last place off.
fn any_value(wild_floats: bool) -> impl Strategy<Value = Value> {
    let float = if wild_floats {
        prop_oneof![
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
            (-1000i32..1000, -8i32..8).prop_map(|(m, e)| f64::from(m) * 10f64.powi(e)),
        ]
        .boxed()
    } else {
        (-1000i32..1000).prop_map(|m| f64::from(m) / 4.0).boxed()
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float.prop_map(Value::from),
        any_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((any_text(), inner), 0..4)
                .prop_map(|kvs| Value::Object(kvs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn text_without_dollar_or_backslash_is_unchanged(s in "[^$\\\\]{1,40}") {
        prop_assert_eq!(expand_str(&s, &env, true), Ok(Some(s.clone())));
    }

    #[test]
    fn doubled_dollars_round_trip(s in "([$\\\\{}A-Za-z_]|FOO|EMPTY|x){0,16}") {
        prop_assert_eq!(expand_str(&escape(&s), &env, true), Ok(Some(s.clone())));
    }

    #[test]
    fn any_text_round_trips(s in any_text()) {
        prop_assert_eq!(expand_str(&escape(&s), &env, true), Ok(Some(s.clone())));
    }

    #[test]
    fn integers_cast_back(i in any::<i64>()) {
        let spec = SettingSpec { kind: Some(Kind::Integer), ..SettingSpec::named("n") };
        prop_assert_eq!(cast(&spec, &i.to_string()), Ok(Value::from(i)));
    }

    #[test]
    fn json_arrays_cast_as_themselves(items in proptest::collection::vec(any_value(false), 0..4)) {
        let spec = SettingSpec { kind: Some(Kind::Array), ..SettingSpec::named("a") };
        let v = Value::Array(items);
        prop_assert_eq!(cast(&spec, &v.to_string()), Ok(v));
    }

    #[test]
    fn nested_names_are_found(
        entries in proptest::collection::btree_map("[a-z]{1,3}(\\.[a-z]{1,3}){0,2}", any::<i64>(), 1..6)
    ) {
        // Names where none is a dotted prefix of another nest without conflict.
        let names: Vec<&String> = entries.keys().collect();
        let independent = names.iter().all(|a| names.iter().all(|b| a == b || !b.starts_with(&format!("{a}."))));
        prop_assume!(independent);
        let pairs: Vec<(String, Value)> = entries.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect();
        let nested = nest(pairs.clone());
        for (name, value) in &pairs {
            prop_assert_eq!(get_nested(&nested, name), Some(value));
            prop_assert_eq!(split_name(name).join("."), name.clone());
        }
        let mut flat = flatten(&nested);
        flat.sort_by(|a, b| a.0.cmp(&b.0));
        prop_assert_eq!(flat, pairs);
    }
}

/// `py_repr` and `py_json_dumps` agree with Python's `repr` and `json.dumps` on a batch of
/// generated values (one `python3` process for the whole batch).
#[test]
fn python_spellings_match_python3() {
    let mut runner = TestRunner::deterministic();
    let strategy = any_value(true);
    let values: Vec<Value> = (0..400)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a value")
                .current()
        })
        .collect();
    let input: String = values.iter().map(|v| format!("{v}\n")).collect();
    let script = "import json, sys\n\
                  for line in sys.stdin:\n    v = json.loads(line)\n    print(json.dumps([repr(v), json.dumps(v)]))\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    // Feed stdin from another thread so a full stdout pipe cannot deadlock the two processes.
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python3 output");
    writer.join().expect("writer thread").expect("write values");
    assert!(output.status.success(), "python3 failed");
    let lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .expect("utf-8")
        .lines()
        .collect();
    assert_eq!(lines.len(), values.len());
    for (value, line) in values.iter().zip(lines) {
        let [repr, dumps]: [String; 2] = serde_json::from_str(line).expect("python line");
        assert_eq!(py_repr(value), repr, "repr of {value}");
        assert_eq!(py_json_dumps(value), dumps, "json.dumps of {value}");
    }
}
