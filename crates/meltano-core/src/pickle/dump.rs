//! The pickler: the bytes CPython 3.11's C pickler (`Modules/_pickle.c`) writes for
//! `pickle.dumps(json.loads(text), protocol=5)`.
//!
//! The rules copied, each visible in the output:
//! - `PROTO 5`, then framing: opcodes go into a frame, announced by `FRAME` + 8-byte length
//!   when it holds at least 4 bytes. Before saving each object (a dict key included), a frame
//!   of 64 KiB or more is closed. A string of 64 KiB or more is written outside any frame.
//! - Ints: `BININT1` (0..=255), `BININT2` (..=65535), `BININT` (signed 32-bit), else `LONG1`
//!   with the fewest two's-complement bytes. Floats: `BINFLOAT`.
//! - Strings: `SHORT_BINUNICODE` up to 255 UTF-8 bytes, `BINUNICODE` up to 4 GiB, else
//!   `BINUNICODE8`; then `MEMOIZE`. Lists and dicts: `EMPTY_LIST`/`EMPTY_DICT`, `MEMOIZE`, and
//!   their items: one item as `APPEND`/`SETITEM`, more in `MARK` … `APPENDS`/`SETITEMS` batches
//!   of 1000, and a dict of a multiple of 1000 items ends with an empty `MARK SETITEMS`.
//! - Memo references (`BINGET` below index 256, else `LONG_BINGET`) where Python's objects are
//!   one object: `json.loads` makes all equal dict keys of a document one string, and CPython
//!   shares the empty string and every one-character string below U+0100.

use std::collections::HashMap;

use serde_json::{Number, Value};

use super::opcode::*;

/// The protocol SQLAlchemy's `PickleType` uses (`pickle.HIGHEST_PROTOCOL`).
const PROTOCOL: u8 = 5;
const FRAME_HEADER_SIZE: usize = 9;
const FRAME_SIZE_MIN: usize = 4;
const FRAME_SIZE_TARGET: usize = 64 * 1024;
const BATCH_SIZE: usize = 1000;

/// Pickles a JSON value as Python would pickle the equivalent object (`dict`, `list`, `str`,
/// `int`, `float`, `bool`, `None`) with protocol 5; see the [module docs](super).
pub fn dumps(value: &Value) -> Vec<u8> {
    let mut pickler = Pickler::default();
    pickler.write(&[PROTO, PROTOCOL]);
    pickler.framing = true;
    pickler.save_all(value);
    pickler.write(&[STOP]);
    pickler.commit_frame();
    pickler.out
}

/// One step of the explicit save stack, so that deep values cannot overflow the Rust stack.
enum Step<'v> {
    Value(&'v Value),
    Key(&'v str),
    Op(u8),
}

#[derive(Default)]
struct Pickler {
    out: Vec<u8>,
    framing: bool,
    /// Where the open frame's header is reserved in `out`.
    frame_start: Option<usize>,
    /// Memo indices handed out so far.
    memo_len: u32,
    /// Strings Python would hold as one object, by content: all dict keys of a `json.loads`
    /// result, and CPython's cached empty and one-Latin-1-character strings.
    key_memo: HashMap<String, u32>,
    singleton_memo: HashMap<String, u32>,
}

impl Pickler {
    fn save_all(&mut self, root: &Value) {
        let mut steps = vec![Step::Value(root)];
        while let Some(step) = steps.pop() {
            match step {
                Step::Op(op) => self.write(&[op]),
                Step::Key(key) => {
                    self.opcode_boundary();
                    self.save_str(key, true);
                }
                Step::Value(value) => {
                    self.opcode_boundary();
                    let mut body = Vec::new();
                    self.save_value(value, &mut body);
                    steps.extend(body.into_iter().rev());
                }
            }
        }
    }

    /// Writes `value`'s own opcodes, and pushes onto `body` the steps that write its items.
    fn save_value<'v>(&mut self, value: &'v Value, body: &mut Vec<Step<'v>>) {
        match value {
            Value::Null => self.write(&[NONE]),
            Value::Bool(true) => self.write(&[NEWTRUE]),
            Value::Bool(false) => self.write(&[NEWFALSE]),
            Value::Number(number) => self.save_number(number),
            Value::String(text) => self.save_str(text, false),
            Value::Array(items) => {
                self.write(&[EMPTY_LIST]);
                self.memoize();
                if let [item] = items.as_slice() {
                    body.extend([Step::Value(item), Step::Op(APPEND)]);
                } else {
                    for batch in items.chunks(BATCH_SIZE) {
                        body.push(Step::Op(MARK));
                        body.extend(batch.iter().map(Step::Value));
                        body.push(Step::Op(APPENDS));
                    }
                }
            }
            Value::Object(map) => {
                self.write(&[EMPTY_DICT]);
                self.memoize();
                let entries: Vec<_> = map.iter().collect();
                if let [(key, value)] = entries.as_slice() {
                    body.extend([Step::Key(key), Step::Value(value), Step::Op(SETITEM)]);
                } else if !entries.is_empty() {
                    for batch in entries.chunks(BATCH_SIZE) {
                        body.push(Step::Op(MARK));
                        for (key, value) in batch {
                            body.extend([Step::Key(key), Step::Value(value)]);
                        }
                        body.push(Step::Op(SETITEMS));
                    }
                    // CPython's batch_dict_exact loops while a batch was full.
                    if entries.len().is_multiple_of(BATCH_SIZE) {
                        body.extend([Step::Op(MARK), Step::Op(SETITEMS)]);
                    }
                }
            }
        }
    }

    fn save_number(&mut self, number: &Number) {
        if let Some(value) = number.as_i64() {
            self.save_int(value.into());
        } else if let Some(value) = number.as_u64() {
            self.save_int(value.into());
        } else {
            // Without `arbitrary_precision`, a number that is no integer is a finite f64.
            let value = number.as_f64().unwrap_or(0.0);
            let mut op = [BINFLOAT; 9];
            op[1..].copy_from_slice(&value.to_be_bytes());
            self.write(&op);
        }
    }

    fn save_int(&mut self, value: i128) {
        if let Ok(small) = u8::try_from(value) {
            self.write(&[BININT1, small]);
        } else if let Ok(small) = u16::try_from(value) {
            let [lo, hi] = small.to_le_bytes();
            self.write(&[BININT2, lo, hi]);
        } else if let Ok(small) = i32::try_from(value) {
            let mut op = [BININT; 5];
            op[1..].copy_from_slice(&small.to_le_bytes());
            self.write(&op);
        } else {
            // The fewest little-endian two's-complement bytes that keep the sign.
            let bytes = value.to_le_bytes();
            let mut len = bytes.len();
            while len > 1 {
                let (last, previous) = (bytes[len - 1], bytes[len - 2]);
                let redundant = (last == 0x00 && previous & 0x80 == 0)
                    || (last == 0xff && previous & 0x80 != 0);
                if !redundant {
                    break;
                }
                len -= 1;
            }
            // At most 16 bytes, so the length fits LONG1's one byte.
            self.write(&[LONG1, u8::try_from(len).unwrap_or(u8::MAX)]);
            self.write(&bytes[..len]);
        }
    }

    fn save_str(&mut self, text: &str, is_key: bool) {
        let mut chars = text.chars();
        let is_singleton = match (chars.next(), chars.next()) {
            (None, _) => true,
            (Some(only), None) => u32::from(only) < 0x100,
            _ => false,
        };
        let shared = if is_singleton {
            Some(&self.singleton_memo)
        } else if is_key {
            Some(&self.key_memo)
        } else {
            None
        };
        if let Some(&index) = shared.and_then(|memo| memo.get(text)) {
            self.memo_get(index);
            return;
        }

        let bytes = text.as_bytes();
        let len = bytes.len();
        if let Ok(short) = u8::try_from(len) {
            self.write_large(&[SHORT_BINUNICODE, short], bytes);
        } else if let Ok(medium) = u32::try_from(len) {
            let mut header = [BINUNICODE; 5];
            header[1..].copy_from_slice(&medium.to_le_bytes());
            self.write_large(&header, bytes);
        } else {
            let mut header = [BINUNICODE8; 9];
            header[1..].copy_from_slice(&(len as u64).to_le_bytes());
            self.write_large(&header, bytes);
        }

        let index = self.memoize();
        if is_singleton {
            self.singleton_memo.insert(text.to_owned(), index);
        } else if is_key {
            self.key_memo.insert(text.to_owned(), index);
        }
    }

    fn memoize(&mut self) -> u32 {
        self.write(&[MEMOIZE]);
        let index = self.memo_len;
        self.memo_len += 1;
        index
    }

    fn memo_get(&mut self, index: u32) {
        if let Ok(short) = u8::try_from(index) {
            self.write(&[BINGET, short]);
        } else {
            let mut op = [LONG_BINGET; 5];
            op[1..].copy_from_slice(&index.to_le_bytes());
            self.write(&op);
        }
    }

    // Output and framing, as `_Pickler_Write`, `_Pickler_CommitFrame`,
    // `_Pickler_OpcodeBoundary` and `_Pickler_write_bytes` do it.

    fn write(&mut self, data: &[u8]) {
        if self.framing && self.frame_start.is_none() {
            self.frame_start = Some(self.out.len());
            self.out.extend([0; FRAME_HEADER_SIZE]);
        }
        self.out.extend_from_slice(data);
    }

    fn commit_frame(&mut self) {
        if !self.framing {
            return;
        }
        let Some(start) = self.frame_start.take() else {
            return;
        };
        let len = self.out.len() - start - FRAME_HEADER_SIZE;
        if len >= FRAME_SIZE_MIN {
            self.out[start] = FRAME;
            self.out[start + 1..start + FRAME_HEADER_SIZE]
                .copy_from_slice(&(len as u64).to_le_bytes());
        } else {
            self.out.drain(start..start + FRAME_HEADER_SIZE);
        }
    }

    fn opcode_boundary(&mut self) {
        if let Some(start) = self.frame_start
            && self.out.len() - start - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET
        {
            self.commit_frame();
        }
    }

    /// Writes an opcode with a payload; a payload of a frame's target size or more goes
    /// outside any frame.
    fn write_large(&mut self, header: &[u8], payload: &[u8]) {
        if payload.len() >= FRAME_SIZE_TARGET {
            self.commit_frame();
            self.framing = false;
            self.write(header);
            self.write(payload);
            self.framing = true;
        } else {
            self.write(header);
            self.write(payload);
        }
    }
}
