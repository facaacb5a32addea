//! The unpickler: a stack machine over protocol 0–5 opcodes, as CPython's `_pickle.c` runs it.

use std::collections::HashMap;

use serde_json::Value;

use super::PickleError;
use super::int::Int;
use super::object::{Heap, Obj, ObjId};
use super::opcode::*;
use super::text;

/// The newest protocol a `PROTO` opcode may name.
const HIGHEST_PROTOCOL: u8 = 5;

/// Reads the value a pickle holds, as JSON; see the [module docs](super) for what is accepted.
///
/// Trailing bytes after `STOP` are ignored, as Python does.
pub fn loads(bytes: &[u8]) -> Result<Value, PickleError> {
    let mut machine = Machine {
        input: bytes,
        pos: 0,
        op_offset: 0,
        op_name: "",
        heap: Heap::default(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let root = machine.run()?;
    machine.heap.to_json(root)
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts, and its name, for errors.
    op_offset: usize,
    op_name: &'static str,
    heap: Heap,
    stack: Vec<ObjId>,
    /// Stack lengths at each `MARK`; the last one fences the stack off, as in CPython.
    marks: Vec<usize>,
    memo: HashMap<u64, ObjId>,
}

impl<'a> Machine<'a> {
    /// Runs opcodes up to `STOP` and returns the object on top of the stack.
    fn run(&mut self) -> Result<ObjId, PickleError> {
        loop {
            self.op_offset = self.pos;
            let op = self.byte()?;
            self.op_name = name(op).ok_or(PickleError::UnknownOpcode {
                opcode: op,
                offset: self.op_offset,
            })?;
            match op {
                STOP => return self.pop(),
                PROTO => {
                    let protocol = self.byte()?;
                    if protocol > HIGHEST_PROTOCOL {
                        return Err(PickleError::UnsupportedProtocol {
                            protocol,
                            offset: self.op_offset,
                        });
                    }
                }
                FRAME => {
                    // Frames only group opcodes for buffered reads; the whole input is here,
                    // so check the length and read on.
                    let len = self.u64()?;
                    self.check_available(len)?;
                }
                MARK => self.marks.push(self.stack.len()),
                POP => self.pop_or_pop_mark()?,
                POP_MARK => {
                    self.pop_mark()?;
                }
                DUP => {
                    let top = self.top()?;
                    self.stack.push(top);
                }

                NONE => self.push(Obj::None),
                NEWTRUE => self.push(Obj::Bool(true)),
                NEWFALSE => self.push(Obj::Bool(false)),
                INT => {
                    let line = self.line()?;
                    let obj = match line {
                        // Protocols 0 and 1 write booleans as INT 00 and 01.
                        b"00" => Obj::Bool(false),
                        b"01" => Obj::Bool(true),
                        _ => Obj::Int(Int::parse_decimal(line).map_err(|e| self.malformed(e))?),
                    };
                    self.push(obj);
                }
                LONG => {
                    let line = self.line()?;
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let int = Int::parse_decimal(digits).map_err(|e| self.malformed(e))?;
                    self.push(Obj::Int(int));
                }
                BININT => {
                    let value = i32::from_le_bytes(self.array()?);
                    self.push(Obj::Int(Int::Small(value.into())));
                }
                BININT1 => {
                    let value = self.byte()?;
                    self.push(Obj::Int(Int::Small(value.into())));
                }
                BININT2 => {
                    let value = u16::from_le_bytes(self.array()?);
                    self.push(Obj::Int(Int::Small(value.into())));
                }
                LONG1 => {
                    let len = self.byte()?;
                    self.push_long(len.into())?;
                }
                LONG4 => {
                    let len = self.signed_len()?;
                    self.push_long(len)?;
                }
                FLOAT => {
                    let line = self.line()?;
                    let value = std::str::from_utf8(line)
                        .ok()
                        .and_then(|text| text.trim().parse::<f64>().ok())
                        .ok_or_else(|| {
                            self.malformed(format!(
                                "invalid float literal {:?}",
                                String::from_utf8_lossy(line)
                            ))
                        })?;
                    self.push(Obj::Float(value));
                }
                BINFLOAT => {
                    let value = f64::from_be_bytes(self.array()?);
                    self.push(Obj::Float(value));
                }

                STRING => {
                    let line = self.line()?;
                    let bytes = text::string_literal(line).map_err(|e| self.malformed(e))?;
                    self.push_py2_str(&bytes)?;
                }
                BINSTRING => {
                    let len = self.signed_len()?;
                    let bytes = self.take(len)?;
                    self.push_py2_str(bytes)?;
                }
                SHORT_BINSTRING => {
                    let len = self.byte()?;
                    let bytes = self.take(len.into())?;
                    self.push_py2_str(bytes)?;
                }
                UNICODE => {
                    let line = self.line()?;
                    let text = text::raw_unicode_escape(line).map_err(|e| self.malformed(e))?;
                    self.push(Obj::Str(text));
                }
                BINUNICODE => {
                    let len = u32::from_le_bytes(self.array()?);
                    self.push_str(len.into())?;
                }
                SHORT_BINUNICODE => {
                    let len = self.byte()?;
                    self.push_str(len.into())?;
                }
                BINUNICODE8 => {
                    let len = self.u64()?;
                    self.push_str(len)?;
                }
                BINBYTES => {
                    let len = u32::from_le_bytes(self.array()?);
                    self.push_bytes(len.into())?;
                }
                SHORT_BINBYTES => {
                    let len = self.byte()?;
                    self.push_bytes(len.into())?;
                }
                BINBYTES8 | BYTEARRAY8 => {
                    let len = self.u64()?;
                    self.push_bytes(len)?;
                }

                EMPTY_LIST => self.push(Obj::List(Vec::new())),
                EMPTY_TUPLE => self.push(Obj::Tuple(Vec::new())),
                EMPTY_DICT => self.push(Obj::Dict(Vec::new())),
                EMPTY_SET => self.push(Obj::Set(Vec::new())),
                LIST => {
                    let items = self.pop_mark()?;
                    self.push(Obj::List(items));
                }
                TUPLE => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Tuple(items));
                }
                TUPLE1 | TUPLE2 | TUPLE3 => {
                    let len = usize::from(op - TUPLE1) + 1;
                    if self.stack.len() < self.fence() + len {
                        return Err(self.underflow());
                    }
                    let items = self.stack.split_off(self.stack.len() - len);
                    self.push(Obj::Tuple(items));
                }
                DICT => {
                    let items = self.pop_mark()?;
                    let entries = self.pairs(&items)?;
                    self.push(Obj::Dict(entries));
                }
                FROZENSET => {
                    let items = self.pop_mark()?;
                    self.check_hashable(&items)?;
                    self.push(Obj::FrozenSet(items));
                }
                APPEND => {
                    let item = self.pop()?;
                    self.extend_list(vec![item])?;
                }
                APPENDS => {
                    let items = self.pop_mark()?;
                    self.extend_list(items)?;
                }
                SETITEM => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let entries = self.pairs(&[key, value])?;
                    self.extend_dict(entries)?;
                }
                SETITEMS => {
                    let items = self.pop_mark()?;
                    let entries = self.pairs(&items)?;
                    self.extend_dict(entries)?;
                }
                ADDITEMS => {
                    let items = self.pop_mark()?;
                    self.check_hashable(&items)?;
                    let target = self.top()?;
                    match self.heap.get_mut(target) {
                        Obj::Set(set) => set.extend(items),
                        other => {
                            let message = format!("cannot add items to a {}", other.type_name());
                            return Err(self.malformed(message));
                        }
                    }
                }

                PUT => {
                    let index = self.line_index()?;
                    self.memo_put(index)?;
                }
                BINPUT => {
                    let index = self.byte()?;
                    self.memo_put(index.into())?;
                }
                LONG_BINPUT => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memo_put(index.into())?;
                }
                MEMOIZE => {
                    let index = u64::try_from(self.memo.len()).unwrap_or(u64::MAX);
                    self.memo_put(index)?;
                }
                GET => {
                    let index = self.line_index()?;
                    self.memo_get(index)?;
                }
                BINGET => {
                    let index = self.byte()?;
                    self.memo_get(index.into())?;
                }
                LONG_BINGET => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memo_get(index.into())?;
                }

                // GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ(_EX), PERSID,
                // BINPERSID, EXT1/2/4, NEXT_BUFFER, READONLY_BUFFER: objects no setting holds.
                _ => {
                    return Err(PickleError::UnsupportedOpcode {
                        opcode: self.op_name,
                        offset: self.op_offset,
                    });
                }
            }
        }
    }

    // Reading the input.

    fn check_available(&self, len: u64) -> Result<usize, PickleError> {
        let remaining = self.input.len() - self.pos;
        match usize::try_from(len) {
            Ok(len) if len <= remaining => Ok(len),
            _ => Err(PickleError::Truncated {
                offset: self.input.len(),
            }),
        }
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], PickleError> {
        let len = self.check_available(len)?;
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let bytes = self.take(N as u64)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A 4-byte signed length (`BINSTRING`, `LONG4`), which must not be negative.
    fn signed_len(&mut self) -> Result<u64, PickleError> {
        let len = i32::from_le_bytes(self.array()?);
        u64::try_from(len).map_err(|_| self.malformed(format!("negative byte count {len}")))
    }

    /// The text argument of a protocol 0 opcode, up to (not including) its newline.
    fn line(&mut self) -> Result<&'a [u8], PickleError> {
        let rest = &self.input[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated {
                offset: self.input.len(),
            })?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    /// The decimal memo index of `PUT` and `GET`.
    fn line_index(&mut self) -> Result<u64, PickleError> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                self.malformed(format!(
                    "invalid memo index {:?}",
                    String::from_utf8_lossy(line)
                ))
            })
    }

    // The stack.

    fn malformed(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            opcode: self.op_name,
            offset: self.op_offset,
            reason: reason.into(),
        }
    }

    fn underflow(&self) -> PickleError {
        self.malformed("unpickling stack underflow")
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn push(&mut self, obj: Obj) {
        let id = self.heap.alloc(obj);
        self.stack.push(id);
    }

    fn pop(&mut self) -> Result<ObjId, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        self.stack.pop().ok_or_else(|| self.underflow())
    }

    fn top(&self) -> Result<ObjId, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        self.stack.last().copied().ok_or_else(|| self.underflow())
    }

    /// The items pushed since the last `MARK`, removing the mark.
    fn pop_mark(&mut self) -> Result<Vec<ObjId>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.malformed("could not find MARK"))?;
        Ok(self.stack.split_off(mark))
    }

    /// `POP` drops the top object, or the last mark when nothing was pushed since it.
    fn pop_or_pop_mark(&mut self) -> Result<(), PickleError> {
        if self.marks.last() == Some(&self.stack.len()) {
            self.marks.pop();
            Ok(())
        } else {
            self.pop().map(drop)
        }
    }

    // Building objects.

    fn push_long(&mut self, len: u64) -> Result<(), PickleError> {
        let bytes = self.take(len)?;
        let int = Int::from_le_bytes(bytes).map_err(|e| self.malformed(e))?;
        self.push(Obj::Int(int));
        Ok(())
    }

    fn push_str(&mut self, len: u64) -> Result<(), PickleError> {
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|error| {
            self.malformed(format!(
                "string is not valid UTF-8 (invalid byte at {})",
                error.valid_up_to()
            ))
        })?;
        self.push(Obj::Str(text.to_owned()));
        Ok(())
    }

    /// A Python 2 `str` (`STRING`, `BINSTRING`, `SHORT_BINSTRING`): Python 3 decodes it as
    /// ASCII by default; we accept UTF-8, a superset.
    fn push_py2_str(&mut self, bytes: &[u8]) -> Result<(), PickleError> {
        let text = std::str::from_utf8(bytes).map_err(|error| {
            self.malformed(format!(
                "Python 2 string is not ASCII or UTF-8 (invalid byte at {})",
                error.valid_up_to()
            ))
        })?;
        self.push(Obj::Str(text.to_owned()));
        Ok(())
    }

    fn push_bytes(&mut self, len: u64) -> Result<(), PickleError> {
        let bytes = self.take(len)?;
        self.push(Obj::Bytes(bytes.to_vec()));
        Ok(())
    }

    fn check_hashable(&self, items: &[ObjId]) -> Result<(), PickleError> {
        match items
            .iter()
            .map(|&id| self.heap.get(id))
            .find(|obj| !obj.is_hashable())
        {
            Some(obj) => Err(self.malformed(format!("unhashable type: '{}'", obj.type_name()))),
            None => Ok(()),
        }
    }

    /// Alternating keys and values as dict entries.
    fn pairs(&self, items: &[ObjId]) -> Result<Vec<(ObjId, ObjId)>, PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.malformed("odd number of items for a dict"));
        }
        let entries: Vec<_> = items.chunks(2).map(|pair| (pair[0], pair[1])).collect();
        let keys: Vec<_> = entries.iter().map(|&(key, _)| key).collect();
        self.check_hashable(&keys)?;
        Ok(entries)
    }

    fn extend_list(&mut self, items: Vec<ObjId>) -> Result<(), PickleError> {
        let target = self.top()?;
        match self.heap.get_mut(target) {
            Obj::List(list) => {
                list.extend(items);
                Ok(())
            }
            other => {
                let message = format!("cannot append to a {}", other.type_name());
                Err(self.malformed(message))
            }
        }
    }

    fn extend_dict(&mut self, entries: Vec<(ObjId, ObjId)>) -> Result<(), PickleError> {
        let target = self.top()?;
        match self.heap.get_mut(target) {
            Obj::Dict(dict) => {
                dict.extend(entries);
                Ok(())
            }
            other => {
                let message = format!("cannot set items of a {}", other.type_name());
                Err(self.malformed(message))
            }
        }
    }

    // The memo.

    fn memo_put(&mut self, index: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.insert(index, top);
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> Result<(), PickleError> {
        let id = *self
            .memo
            .get(&index)
            .ok_or_else(|| self.malformed(format!("memo value not found at index {index}")))?;
        self.stack.push(id);
        Ok(())
    }
}
