//! The pickle codec against CPython: `dumps` must write the bytes `pickle.dumps` writes, and
//! `loads` must read what every protocol writes. Runs the machine's `python3` (one process per
//! batch); hand-made byte strings cover each opcode family and the errors.

use std::io::Write;
use std::process::{Command, Stdio};

use meltano_core::pickle::{PickleError, dumps, loads};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Number, Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Pickles each line of `lines` with CPython under protocols 0 to 5; `mode` is `json`
/// (`json.loads(line)`) or `eval` (a Python expression). `None` where Python cannot pickle it.
fn python_pickles(mode: &str, lines: &[String]) -> Vec<Vec<Option<Vec<u8>>>> {
    const SCRIPT: &str = r#"
import datetime, functools, json, pickle, sys
mode = sys.argv[1]
out = []
for line in sys.stdin.buffer.read().decode("utf-8").split("\n")[:-1]:
    obj = json.loads(line) if mode == "json" else eval(line, {"datetime": datetime, "functools": functools})
    row = []
    for protocol in range(6):
        try:
            row.append(pickle.dumps(obj, protocol=protocol).hex())
        except Exception:
            row.append("-")
    out.append(" ".join(row))
sys.stdout.write("\n".join(out) + "\n")
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, mode])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "these tests compare our pickles with CPython's and need `python3` on PATH, \
                 but it could not be started: {error}"
            )
        });
    let mut input = String::new();
    for line in lines {
        assert!(!line.contains('\n'), "one value per line: {line:?}");
        input.push_str(line);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python3 runs");
    writer
        .join()
        .expect("writer thread")
        .expect("write to python3");
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("hex output");
    let rows: Vec<_> = stdout
        .lines()
        .map(|row| {
            row.split(' ')
                .map(|hex| (hex != "-").then(|| unhex(hex)))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(rows.len(), lines.len(), "one row per value");
    rows
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `dumps(value)` against CPython's protocol 5 bytes and `loads` of every protocol.
fn assert_matches_python(values: &[Value]) {
    let lines: Vec<_> = values.iter().map(Value::to_string).collect();
    let rows = python_pickles("json", &lines);
    for ((value, line), row) in values.iter().zip(&lines).zip(rows) {
        let short: String = line.chars().take(200).collect();
        let python5 = row[5].as_ref().expect("JSON values always pickle");
        let ours = dumps(value);
        if &ours != python5 {
            let at = ours.iter().zip(python5).position(|(a, b)| a != b);
            panic!(
                "dumps differs from pickle.dumps for {short}\n first difference at byte {at:?} \
                 (lengths {} vs {})\n ours:   {}\n python: {}",
                ours.len(),
                python5.len(),
                hex(&ours[..ours.len().min(400)]),
                hex(&python5[..python5.len().min(400)]),
            );
        }
        for (protocol, pickle) in row.iter().enumerate() {
            let pickle = pickle.as_ref().expect("JSON values always pickle");
            let loaded = loads(pickle)
                .unwrap_or_else(|e| panic!("loads of protocol {protocol} for {short}: {e}"));
            assert!(
                &loaded == value,
                "loads of protocol {protocol} for {short} gave {loaded}"
            );
        }
    }
}

const TWO_POW_1000: &str = "10715086071862673209484250490600018105614048117055336074437503883703510511249361224931983788156958581275946729175531468251871452856923140435984577574698574803934567774824230985421074605062371141877954182153046474983581941267398767559165543946077062914571196477686542167660429831652624386837205668069376";

fn nested_lists(depth: usize) -> Value {
    let mut value = json!([]);
    for _ in 1..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// A string of exactly `len` UTF-8 bytes, of mixed widths so that byte and char counts differ.
fn long_string(len: usize) -> String {
    let mut text: String = "aé€😀"
        .chars()
        .cycle()
        .scan(0, |bytes, c| {
            *bytes += c.len_utf8();
            (*bytes <= len).then_some(c)
        })
        .collect();
    while text.len() < len {
        text.push('a');
    }
    text
}

/// JSON values for property tests. Keys and short strings come from a small alphabet so that
/// equal strings recur (the memo rules), and include one-character Latin-1 strings.
fn json_value() -> impl Strategy<Value = Value> {
    const SHORT: &str = "[ab\u{e9}\u{100}\u{1F600}]{0,3}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-70_000i64..70_000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        SHORT.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((SHORT, inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn err(bytes: &[u8]) -> PickleError {
    match loads(bytes) {
        Ok(value) => panic!("expected an error for {}, got {value}", hex(bytes)),
        Err(error) => error,
    }
}

fn malformed(bytes: &[u8], opcode: &str, reason_part: &str) {
    match err(bytes) {
        PickleError::Malformed {
            opcode: got,
            reason,
            ..
        } => {
            assert_eq!(got, opcode, "{reason}");
            assert!(reason.contains(reason_part), "{reason}");
        }
        other => panic!("expected Malformed {opcode}, got {other:?}"),
    }
}

fn not_json(bytes: &[u8], message_part: &str) {
    match err(bytes) {
        PickleError::NotJson(message) => assert!(message.contains(message_part), "{message}"),
        other => panic!("expected NotJson, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Against CPython.

#[test]
fn hand_picked_values_match_python() {
    let mut values = vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(255),
        json!(256),
        json!(65535),
        json!(65536),
        json!(-1),
        json!(-256),
        json!(i32::MAX),
        json!(i64::from(i32::MAX) + 1),
        json!(i32::MIN),
        json!(i64::from(i32::MIN) - 1),
        json!(1_i64 << 40),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1_u64 << 63),
        json!(u64::MAX),
        json!(0.0),
        json!(-0.0),
        json!(0.1),
        json!(1.5),
        json!(1e308),
        json!(-1e-308),
        json!(5e-324),
        json!(f64::MAX),
        json!(1e16),
        json!(""),
        json!("a"),
        json!("é"),
        json!("ā"),
        json!("😀 astral \u{10FFFF}"),
        json!("\0\n\r\\\u{1a} protocol 0 escapes \\u0041"),
        json!(long_string(255)),
        json!(long_string(256)),
        json!(long_string(65_535)),
        json!(long_string(65_536)),
        json!(long_string(70_000)),
        json!([]),
        json!({}),
        json!([[]]),
        json!([{}]),
        json!([1]),
        json!([1, 2]),
        json!({"a": 1}),
        json!({"a": 1, "b": [true, null, {"c": "d"}]}),
        json!(["", "", "a", "a", "é", "é", "ā", "ā", "ab", "ab"]),
        json!([{"abc": 1}, {"abc": 2}, "abc", {"x": "abc", "abc": "x"}]),
        json!({"": "", "é": {"é": "é"}, "ā": ["ā", {"ā": 1}]}),
        json!([long_string(70_000), 1, {"k": long_string(70_000)}, 2]),
        nested_lists(100),
    ];
    for len in [999, 1000, 1001, 2000, 2001] {
        values.push(Value::Array((0..len).map(|i| json!(i)).collect()));
        let map: Map<String, Value> = (0..len).map(|i| (format!("k{i}"), json!(i))).collect();
        values.push(Value::Object(map));
    }
    // Keys repeated after more than 256 memo entries (LONG_BINGET).
    let wide: Map<String, Value> = (0..300).map(|i| (format!("key{i}"), json!(null))).collect();
    values.push(json!([wide, {"key299": 1, "key0": 2}]));
    // Frames: about 100 KB of small items, so frames close at 64 KiB boundaries.
    values.push(Value::Array(
        (0..1000).map(|i| json!(format!("{i:0100}"))).collect(),
    ));
    let big: Map<String, Value> = (0..1500)
        .map(|i| (format!("{i:060}"), json!([i, "v"])))
        .collect();
    values.push(Value::Object(big));
    // Frames of exactly 64 KiB (pad 8 for the list, 54 for the dict) and near it.
    for pad in [0, 7, 8, 9] {
        let mut items = vec![json!("p".repeat(pad))];
        items.extend((0..1100).map(|i| json!(format!("{i:060}"))));
        values.push(Value::Array(items));
    }
    for pad in [53, 54] {
        let mut map = Map::new();
        map.insert("p".repeat(pad), json!(0));
        map.extend((0..1100).map(|i| (format!("{i:059}"), json!(1))));
        values.push(Value::Object(map));
    }
    assert_matches_python(&values);
}

#[test]
fn generated_values_match_python() {
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let strategy = json_value();
    let values: Vec<Value> = (0..64)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a value")
                .current()
        })
        .collect();
    assert_matches_python(&values);
}

/// Python objects beyond JSON: what `loads` makes of them under each protocol.
#[test]
fn python_objects_load_as_documented() {
    enum Expect {
        Json(Value),
        Unsupported,
        NotJson,
        Malformed,
    }
    use Expect::*;
    let cases: Vec<(String, std::ops::RangeInclusive<usize>, Expect)> = vec![
        ("()".into(), 0..=5, Json(json!([]))),
        ("(1,)".into(), 0..=5, Json(json!([1]))),
        ("(1, 'a')".into(), 0..=5, Json(json!([1, "a"]))),
        ("(1, 'a', None)".into(), 0..=5, Json(json!([1, "a", null]))),
        ("(1, 2, 3, (4,))".into(), 0..=5, Json(json!([1, 2, 3, [4]]))),
        (
            "[(1, 2)] * 3".into(),
            0..=5,
            Json(json!([[1, 2], [1, 2], [1, 2]])),
        ),
        ("[[]] * 2".into(), 0..=5, Json(json!([[], []]))),
        ("{1, 2}".into(), 4..=5, Json(json!([1, 2]))),
        ("{1, 2}".into(), 0..=3, Unsupported),
        ("frozenset()".into(), 4..=5, Json(json!([]))),
        ("frozenset({'a'})".into(), 4..=5, Json(json!(["a"]))),
        ("b'abc'".into(), 3..=5, Json(json!("abc"))),
        ("b''".into(), 3..=5, Json(json!(""))),
        ("b'x' * 300".into(), 3..=5, Json(json!("x".repeat(300)))),
        ("b'abc'".into(), 0..=2, Unsupported),
        ("b'\\xff'".into(), 3..=5, NotJson),
        ("bytearray(b'abc')".into(), 5..=5, Json(json!("abc"))),
        ("2**64".into(), 0..=5, Json(json!("18446744073709551616"))),
        (
            "-2**63 - 1".into(),
            0..=5,
            Json(json!("-9223372036854775809")),
        ),
        ("2**63".into(), 0..=5, Json(json!(1_u64 << 63))),
        ("-2**63".into(), 0..=5, Json(json!(i64::MIN))),
        ("2**1000".into(), 0..=5, Json(json!(TWO_POW_1000))),
        (
            "{1: 'a', 2.5: 'b', True: 'c', None: 'd', 1e16: 'e'}".into(),
            0..=5,
            Json(json!({"1": "c", "2.5": "b", "null": "d", "1e+16": "e"})),
        ),
        ("{(1, 2): 'a'}".into(), 0..=5, NotJson),
        ("float('nan')".into(), 0..=5, NotJson),
        ("float('-inf')".into(), 0..=5, NotJson),
        ("(lambda l: (l.append(l), l)[1])([])".into(), 0..=5, NotJson),
        ("datetime.date(2020, 1, 1)".into(), 0..=5, Unsupported),
        ("'\\ud800'".into(), 0..=5, Malformed),
        // CPython's pickler itself stops near 500 levels.
        (
            "functools.reduce(lambda v, _: [v], range(399), [])".into(),
            0..=5,
            Json(nested_lists(400)),
        ),
    ];
    let lines: Vec<_> = cases.iter().map(|(expr, ..)| expr.clone()).collect();
    let rows = python_pickles("eval", &lines);
    for ((expr, protocols, expect), row) in cases.iter().zip(rows) {
        for protocol in protocols.clone() {
            let pickle = row[protocol]
                .as_ref()
                .unwrap_or_else(|| panic!("python cannot pickle {expr} with protocol {protocol}"));
            let result = loads(pickle);
            let ok = match (expect, &result) {
                (Json(expected), Ok(value)) => value == expected,
                (Unsupported, Err(PickleError::UnsupportedOpcode { .. })) => true,
                (NotJson, Err(PickleError::NotJson(_))) => true,
                (Malformed, Err(PickleError::Malformed { .. })) => true,
                _ => false,
            };
            assert!(ok, "{expr} with protocol {protocol} gave {result:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Opcode families, with hand-made pickles.

#[test]
fn dumps_known_bytes() {
    assert_eq!(dumps(&json!(null)), b"\x80\x05N.");
    assert_eq!(dumps(&json!(true)), b"\x80\x05\x88.");
    assert_eq!(dumps(&json!(1)), b"\x80\x05K\x01.");
    assert_eq!(dumps(&json!([])), b"\x80\x05]\x94.");
    // 4 bytes of payload or more get a frame.
    assert_eq!(
        dumps(&json!(300)),
        b"\x80\x05\x95\x04\x00\x00\x00\x00\x00\x00\x00M,\x01."
    );
    assert_eq!(
        dumps(&json!({"a": ["b", 2]})),
        b"\x80\x05\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94]\x94(\x8c\x01b\x94K\x02es."
    );
}

#[test]
fn protocol_and_frames() {
    assert_eq!(loads(b"N.").unwrap(), json!(null));
    assert_eq!(loads(b"\x80\x02N.").unwrap(), json!(null));
    assert_eq!(
        loads(b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.").unwrap(),
        json!(null)
    );
    assert!(matches!(
        err(b"\x80\x06N."),
        PickleError::UnsupportedProtocol {
            protocol: 6,
            offset: 0
        }
    ));
    // A frame longer than the input.
    assert!(matches!(
        err(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N."),
        PickleError::Truncated { .. }
    ));
    assert!(matches!(
        err(b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN."),
        PickleError::Truncated { .. }
    ));
    // Bytes after STOP are ignored, as Python does.
    assert_eq!(loads(b"K\x07.garbage").unwrap(), json!(7));
    assert!(matches!(err(b""), PickleError::Truncated { offset: 0 }));
    assert!(matches!(err(b"N"), PickleError::Truncated { offset: 1 }));
    assert!(matches!(
        err(b"\xff."),
        PickleError::UnknownOpcode {
            opcode: 0xff,
            offset: 0
        }
    ));
}

#[test]
fn ints() {
    assert_eq!(loads(b"K\xff.").unwrap(), json!(255));
    assert_eq!(loads(b"M\xff\xff.").unwrap(), json!(65535));
    assert_eq!(loads(b"J\xff\xff\xff\xff.").unwrap(), json!(-1));
    assert_eq!(loads(b"\x8a\x00.").unwrap(), json!(0));
    assert_eq!(loads(b"\x8a\x01\x80.").unwrap(), json!(-128));
    assert_eq!(
        loads(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.").unwrap(),
        json!("18446744073709551616")
    );
    assert_eq!(loads(b"\x8b\x01\x00\x00\x00\x05.").unwrap(), json!(5));
    malformed(b"\x8b\xff\xff\xff\xff.", "LONG4", "negative byte count");
    assert!(matches!(
        err(b"\x8b\xff\xff\xff\x7f."),
        PickleError::Truncated { .. }
    ));
    // Protocol 0 text: INT, the INT 00/01 booleans, LONG with and without its L.
    assert_eq!(loads(b"I42\n.").unwrap(), json!(42));
    assert_eq!(loads(b"I-42\n.").unwrap(), json!(-42));
    assert_eq!(loads(b"I01\n.").unwrap(), json!(true));
    assert_eq!(loads(b"I00\n.").unwrap(), json!(false));
    assert_eq!(loads(b"I0\n.").unwrap(), json!(0));
    assert_eq!(
        loads(b"L123456789012345678901234567890L\n.").unwrap(),
        json!("123456789012345678901234567890")
    );
    assert_eq!(loads(b"L7\n.").unwrap(), json!(7));
    malformed(b"Ixyz\n.", "INT", "invalid integer literal");
    assert!(matches!(err(b"I42"), PickleError::Truncated { .. }));
}

#[test]
fn floats() {
    assert_eq!(loads(b"F0.5\n.").unwrap(), json!(0.5));
    assert_eq!(loads(b"F1e+16\n.").unwrap(), json!(1e16));
    assert_eq!(
        loads(b"G?\xb9\x99\x99\x99\x99\x99\x9a.").unwrap(),
        json!(0.1)
    );
    malformed(b"Fabc\n.", "FLOAT", "invalid float literal");
    not_json(b"Fnan\n.", "NaN");
    not_json(b"G\x7f\xf0\x00\x00\x00\x00\x00\x00.", "Infinity");
    assert!(matches!(err(b"G\x00\x00."), PickleError::Truncated { .. }));
}

#[test]
fn strings_and_bytes() {
    // Python 2 str: STRING, BINSTRING, SHORT_BINSTRING.
    assert_eq!(loads(b"S'abc'\np0\n.").unwrap(), json!("abc"));
    assert_eq!(loads(b"S\"it's\\n\"\n.").unwrap(), json!("it's\n"));
    assert_eq!(loads(b"T\x03\x00\x00\x00abc.").unwrap(), json!("abc"));
    assert_eq!(loads(b"U\x03abc.").unwrap(), json!("abc"));
    malformed(b"Sabc\n.", "STRING", "must be quoted");
    malformed(b"T\xff\xff\xff\xff.", "BINSTRING", "negative byte count");
    malformed(b"U\x01\xff.", "SHORT_BINSTRING", "not ASCII or UTF-8");
    // str: UNICODE, BINUNICODE, SHORT_BINUNICODE, BINUNICODE8.
    assert_eq!(
        loads(b"Vcaf\xe9 \\u20ac \\U0001f600\n.").unwrap(),
        json!("café € 😀")
    );
    assert_eq!(loads(b"X\x02\x00\x00\x00\xc3\xa9.").unwrap(), json!("é"));
    assert_eq!(loads(b"\x8c\x00.").unwrap(), json!(""));
    assert_eq!(
        loads(b"\x8d\x01\x00\x00\x00\x00\x00\x00\x00a.").unwrap(),
        json!("a")
    );
    malformed(b"\x8c\x01\xff.", "SHORT_BINUNICODE", "not valid UTF-8");
    malformed(
        b"\x8c\x03\xed\xa0\x80.",
        "SHORT_BINUNICODE",
        "not valid UTF-8",
    );
    malformed(b"V\\ud800\n.", "UNICODE", "lone surrogate");
    assert!(matches!(
        err(b"X\xff\xff\xff\xffabc."),
        PickleError::Truncated { .. }
    ));
    assert!(matches!(
        err(b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff."),
        PickleError::Truncated { .. }
    ));
    // bytes: SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8.
    assert_eq!(loads(b"C\x02hi.").unwrap(), json!("hi"));
    assert_eq!(loads(b"B\x02\x00\x00\x00hi.").unwrap(), json!("hi"));
    assert_eq!(
        loads(b"\x8e\x02\x00\x00\x00\x00\x00\x00\x00hi.").unwrap(),
        json!("hi")
    );
    assert_eq!(
        loads(b"\x96\x02\x00\x00\x00\x00\x00\x00\x00hi.").unwrap(),
        json!("hi")
    );
    not_json(b"C\x01\xff.", "not UTF-8");
}

#[test]
fn lists_tuples_dicts_sets() {
    assert_eq!(loads(b"(K\x01K\x02l.").unwrap(), json!([1, 2]));
    assert_eq!(loads(b"(lK\x01aK\x02a.").unwrap(), json!([1, 2]));
    assert_eq!(loads(b"](K\x01K\x02e.").unwrap(), json!([1, 2]));
    assert_eq!(loads(b").").unwrap(), json!([]));
    assert_eq!(loads(b"(K\x01K\x02t.").unwrap(), json!([1, 2]));
    assert_eq!(loads(b"K\x01\x85.").unwrap(), json!([1]));
    assert_eq!(loads(b"K\x01K\x02\x86.").unwrap(), json!([1, 2]));
    assert_eq!(loads(b"K\x01K\x02K\x03\x87.").unwrap(), json!([1, 2, 3]));
    assert_eq!(
        loads(b"(X\x01\x00\x00\x00aK\x01d.").unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        loads(b"(dU\x01bK\x02sU\x01aK\x01s.").unwrap(),
        json!({"b": 2, "a": 1})
    );
    assert_eq!(
        loads(b"}(U\x01bK\x02U\x01aK\x01U\x01bK\x03u.").unwrap(),
        json!({"b": 3, "a": 1}),
        "a repeated key keeps its place and takes the last value"
    );
    assert_eq!(loads(b"\x8f(K\x01K\x02K\x01\x90.").unwrap(), json!([1, 2]));
    assert_eq!(loads(b"(K\x01K\x01\x91.").unwrap(), json!([1]));

    malformed(b"(K\x01d.", "DICT", "odd number");
    malformed(b"}(K\x01u.", "SETITEMS", "odd number");
    malformed(b"}]K\x01s.", "SETITEM", "unhashable type: 'list'");
    malformed(b"(}K\x01d.", "DICT", "unhashable type: 'dict'");
    malformed(b"\x8f(]\x90.", "ADDITEMS", "unhashable type: 'list'");
    malformed(b"}K\x01a.", "APPEND", "cannot append to a dict");
    malformed(b"]K\x01e.", "APPENDS", "could not find MARK");
    malformed(b"]K\x01K\x02s.", "SETITEM", "cannot set items of a list");
    malformed(b"](\x90.", "ADDITEMS", "cannot add items to a list");
    malformed(b"K\x01K\x02\x87.", "TUPLE3", "stack underflow");
    malformed(b"K\x01(\x85.", "TUPLE1", "stack underflow");
    not_json(b"}K\x01K\x02\x86K\x03s.", "dict key of type tuple");
}

#[test]
fn stack_and_marks() {
    assert_eq!(loads(b"K\x01K\x020.").unwrap(), json!(1));
    assert_eq!(loads(b"K\x01(K\x02K\x031.").unwrap(), json!(1));
    assert_eq!(loads(b"K\x012\x86.").unwrap(), json!([1, 1]));
    // POP with nothing above the last mark drops the mark.
    assert_eq!(loads(b"K\x01(0.").unwrap(), json!(1));
    malformed(b".", "STOP", "stack underflow");
    malformed(b"K\x01(.", "STOP", "stack underflow");
    malformed(b"0.", "POP", "stack underflow");
    malformed(b"2.", "DUP", "stack underflow");
    malformed(b"1.", "POP_MARK", "could not find MARK");
    malformed(b"l.", "LIST", "could not find MARK");
}

#[test]
fn memo() {
    // PUT/GET (text), BINPUT/BINGET, LONG_BINPUT/LONG_BINGET, MEMOIZE.
    assert_eq!(loads(b"(Vab\np7\ng7\nl.").unwrap(), json!(["ab", "ab"]));
    assert_eq!(loads(b"(U\x02abq\x05h\x05l.").unwrap(), json!(["ab", "ab"]));
    assert_eq!(
        loads(b"(U\x02abr\x00\x01\x00\x00j\x00\x01\x00\x00l.").unwrap(),
        json!(["ab", "ab"])
    );
    assert_eq!(
        loads(b"(U\x01a\x94U\x01b\x94h\x01h\x00l.").unwrap(),
        json!(["a", "b", "b", "a"])
    );
    // One list reached twice, appended to afterwards: both places see the item.
    assert_eq!(
        loads(b"(]\x94h\x00lh\x00Na0.").unwrap(),
        json!([[null], [null]])
    );
    malformed(b"h\x00.", "BINGET", "memo value not found at index 0");
    malformed(b"j\x00\x00\x00\x01.", "LONG_BINGET", "index 16777216");
    malformed(b"g1\n.", "GET", "not found");
    malformed(b"gx\n.", "GET", "invalid memo index");
    malformed(b"p-1\n.", "PUT", "invalid memo index");
    malformed(b"\x94.", "MEMOIZE", "stack underflow");
    malformed(b"q\x00.", "BINPUT", "stack underflow");
    // A list that contains itself.
    not_json(b"]\x94h\x00a.", "contains itself");
}

#[test]
fn opcodes_for_other_objects_are_refused_by_name() {
    let cases: [(&[u8], &str); 14] = [
        (b"cdatetime\ndate\n.", "GLOBAL"),
        (b"\x8c\x01a\x8c\x01b\x93.", "STACK_GLOBAL"),
        (b"N)R.", "REDUCE"),
        (b"}}b.", "BUILD"),
        (b"(imod\nname\n.", "INST"),
        (b"(o.", "OBJ"),
        (b"N)\x81.", "NEWOBJ"),
        (b"N)}\x92.", "NEWOBJ_EX"),
        (b"Pid\n.", "PERSID"),
        (b"NQ.", "BINPERSID"),
        (b"\x82\x01.", "EXT1"),
        (b"\x83\x01\x00.", "EXT2"),
        (b"\x97.", "NEXT_BUFFER"),
        (b"N\x98.", "READONLY_BUFFER"),
    ];
    for (bytes, name) in cases {
        match err(bytes) {
            PickleError::UnsupportedOpcode { opcode, .. } => assert_eq!(opcode, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let message = err(b"\x80\x05\x8c\x01a\x8c\x01b\x93.").to_string();
    assert!(message.contains("STACK_GLOBAL"), "{message}");
}

#[test]
fn nesting_is_limited() {
    let nested = |depth: usize| {
        let mut pickle = b"\x80\x05".to_vec();
        pickle.extend(std::iter::repeat_n(b']', depth));
        pickle.extend(std::iter::repeat_n(b'a', depth - 1));
        pickle.push(b'.');
        pickle
    };
    assert_eq!(loads(&nested(512)).unwrap(), nested_lists(512));
    not_json(&nested(513), "nested more than 512 deep");
    not_json(&nested(100_000), "nested more than 512 deep");
}

#[test]
fn every_truncation_is_an_error() {
    let value = json!({"a": [1, 300, 70000, -5, 1e10, "é", null, true], "b": {"c": u64::MAX}});
    let pickle = dumps(&value);
    assert_eq!(loads(&pickle).unwrap(), value);
    for len in 0..pickle.len() {
        assert!(loads(&pickle[..len]).is_err(), "prefix of {len} bytes");
    }
}

#[test]
fn shared_references_cannot_blow_up() {
    // Each level is a list holding the previous one twice: 2^64 leaves in a few hundred bytes.
    let mut pickle = b"\x80\x05\x8c\x01x\x94".to_vec();
    for level in 0..64u32 {
        pickle.extend(b"(h");
        pickle.push(u8::try_from(level).unwrap());
        pickle.push(b'h');
        pickle.push(u8::try_from(level).unwrap());
        pickle.extend(b"l\x94");
    }
    pickle.push(b'.');
    not_json(&pickle, "larger than");
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn loads_inverts_dumps(value in json_value()) {
        prop_assert_eq!(loads(&dumps(&value)).unwrap(), value);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = loads(&bytes);
    }

    #[test]
    fn opcode_soup_never_panics(
        ops in prop::collection::vec(
            prop_oneof![
                prop::sample::select(b"(.0123FIJKLMNSTUVXabdeghjlpqrstu}])\x80\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x94\x95BCG".to_vec()),
                any::<u8>(),
                Just(b'\n'),
            ],
            0..256,
        )
    ) {
        let _ = loads(&ops);
    }

    #[test]
    fn corrupted_pickles_never_panic(
        value in json_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut pickle = dumps(&value);
        for (index, byte) in edits {
            let at = index.index(pickle.len());
            pickle[at] = byte;
        }
        let _ = loads(&pickle);
        let _ = loads(&pickle[..cut.index(pickle.len() + 1)]);
    }
}
