//! Python pickles of JSON-like values, for Meltano's `plugin_settings.value` column.
//!
//! Meltano stores each setting kept in its system database as a SQLAlchemy `PickleType`, which
//! writes `pickle.dumps(value, pickle.HIGHEST_PROTOCOL)`: protocol 5 on the Python 3.8+ that
//! Meltano runs on (Python's own default, protocol 4, differs only in the `PROTO` byte for the
//! types settings hold). Older Meltano versions and other tools may have written protocols 0–4.
//!
//! [`loads`] reads any protocol 0–5 pickle built from `None`, `bool`, `int`, `float`, `str`,
//! `bytes`, `list`, `tuple`, `dict`, `set` and `frozenset`, and refuses everything else (class
//! instances, `GLOBAL`/`REDUCE`, persistent ids, out-of-band buffers) with a [`PickleError`] that
//! names the opcode. The input is untrusted bytes from a database, so every length is checked
//! against the input, and cyclic, too deep or too large results are errors, never a panic.
//!
//! The JSON form: tuples, sets and frozensets become arrays (sets in pickled order); UTF-8
//! `bytes` become strings; dict keys that are not `str` become the text `json.dumps` gives them
//! (`1`, `2.5`, `true`, `null`). An `int` is a JSON number when it fits `i64` or `u64`, else a
//! string of its decimal digits, since `serde_json` numbers cannot hold more: such a value does
//! not round-trip (dumping the string writes a `str`). Ints above 4300 digits are refused, as
//! Python refuses to print them.
//!
//! [`dumps`] writes exactly the bytes CPython 3.11's C pickler writes for
//! `pickle.dumps(json.loads(text), protocol=5)`, framing, memo and batching included, so that
//! Meltano reads our rows back and a row we rewrite is byte-for-byte what Meltano would write.
//!
//! JSON has no `NaN` or infinities and `serde_json` numbers are always finite, so [`dumps`]
//! never writes them; [`loads`] refuses a pickled non-finite float.

mod dump;
mod int;
mod load;
mod object;
mod opcode;
mod text;

pub use dump::dumps;
pub use load::loads;

/// A pickle that [`loads`] does not understand, is malformed, or holds a value JSON cannot hold.
#[derive(Debug, thiserror::Error)]
pub enum PickleError {
    /// The input ended before `STOP` or inside an opcode's argument.
    #[error("pickle data was truncated at byte {offset}")]
    Truncated {
        /// Where the missing bytes should have started.
        offset: usize,
    },
    /// A byte that is no pickle opcode in protocols 0 to 5.
    #[error("invalid pickle opcode 0x{opcode:02x} at byte {offset}")]
    UnknownOpcode {
        /// The byte read.
        opcode: u8,
        /// Where it was read.
        offset: usize,
    },
    /// An opcode that builds Python objects beyond the JSON-like types (class instances through
    /// `GLOBAL`/`REDUCE`, persistent ids, extension codes, out-of-band buffers).
    #[error(
        "pickle opcode {opcode} at byte {offset} builds a Python object other than \
         None, bool, int, float, str, bytes, list, tuple, dict or set, which a setting value cannot be"
    )]
    UnsupportedOpcode {
        /// The opcode's name as in CPython's `pickletools`.
        opcode: &'static str,
        /// Where it was read.
        offset: usize,
    },
    /// A `PROTO` opcode naming a protocol newer than 5.
    #[error("unsupported pickle protocol {protocol} at byte {offset}")]
    UnsupportedProtocol {
        /// The protocol number read.
        protocol: u8,
        /// Where the `PROTO` opcode was read.
        offset: usize,
    },
    /// An opcode whose argument or stack is not what it needs (stack underflow, missing mark,
    /// unknown memo key, bad text, invalid UTF-8, ...).
    #[error("malformed pickle: opcode {opcode} at byte {offset}: {reason}")]
    Malformed {
        /// The opcode's name as in CPython's `pickletools`.
        opcode: &'static str,
        /// Where it was read.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// A well-formed pickle whose value has no JSON form (non-finite float, non-UTF-8 bytes,
    /// tuple dict key, cycle) or exceeds the decoder's depth or size limits.
    #[error("pickled value cannot be read as JSON: {0}")]
    NotJson(String),
}
