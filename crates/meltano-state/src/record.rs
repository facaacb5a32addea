//! `state.json` as Meltano writes it: `json.dumps({"completed": …, "partial": …})`, that is
//! `, ` and `: ` separators and non-ASCII escaped; read back with missing keys as `{}`.

use meltano_core::settings::repr::py_json_dumps;
use meltano_core::state::StateRecord;
use serde_json::{Map, Value};

/// The text Meltano writes for `record`.
pub fn encode_record(record: &StateRecord) -> String {
    py_json_dumps(&record.to_export())
}

/// A record from the text of a `state.json`; `Err` holds the parser's message.
pub fn decode_record(text: &[u8]) -> Result<StateRecord, String> {
    let value: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let Value::Object(mut map) = value else {
        return Err("expected a JSON object".to_string());
    };
    let mut take = |key: &str| map.remove(key).unwrap_or_else(|| Value::Object(Map::new()));
    Ok(StateRecord {
        completed: take("completed"),
        partial: take("partial"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_is_pythons_json_dumps() {
        let record = StateRecord {
            completed: json!({"singer_state": {"x": 1, "u": "é", "f": 1.5}}),
            partial: json!({}),
        };
        assert_eq!(
            encode_record(&record),
            r#"{"completed": {"singer_state": {"x": 1, "u": "\u00e9", "f": 1.5}}, "partial": {}}"#
        );
    }

    #[test]
    fn missing_keys_read_as_empty_and_null_stays_null() {
        let record = decode_record(br#"{"completed": null}"#).unwrap();
        assert_eq!(record.completed, Value::Null);
        assert_eq!(record.partial, json!({}));
        assert!(decode_record(b"[1]").is_err());
        assert!(decode_record(b"{").is_err());
    }
}
