//! Copying one plugin's stdout into the next plugin's stdin at pipe speed.
//!
//! Bytes are forwarded in large reads and writes, unchanged; a blocking write is the
//! back-pressure. Lines are framed with memchr only to count RECORD messages per stream, from a
//! bounded prefix of each line, so neither memory nor time grows with a line's length and no
//! message body is ever parsed.

use std::io::{self, Read, Write};
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// How much of each line the counter looks at: Singer writers put `type` and `stream` first.
const PREFIX: usize = 512;
/// Read size: large enough that syscalls are not the cost, small enough to stay in cache.
const CHUNK: usize = 256 * 1024;

/// How a relay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayEnd {
    /// The producer closed its stdout; everything it wrote was delivered.
    Eof,
    /// The consumer stopped reading (it exited or closed stdin) before the producer finished.
    ConsumerGone,
    /// Reading failed.
    ReadError(String),
}

/// What a relay saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayReport {
    pub end: RelayEnd,
    pub bytes: u64,
    /// RECORD messages per stream, in order of first appearance.
    pub records: Vec<(String, u64)>,
}

/// Forwards `from` into `to` until the producer ends or the consumer goes away; counts records
/// per stream when `count` is set.
pub fn relay(mut from: impl Read, mut to: impl Write, count: bool) -> RelayReport {
    let mut buffer = vec![0_u8; CHUNK];
    let mut counter = RecordCounter::default();
    let mut bytes = 0_u64;
    let end = loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break RelayEnd::Eof,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break RelayEnd::ReadError(e.to_string()),
        };
        let chunk = &buffer[..n];
        if count {
            counter.feed(chunk);
        }
        if to.write_all(chunk).is_err() {
            break RelayEnd::ConsumerGone;
        }
        bytes += n as u64;
    };
    if end == RelayEnd::Eof && to.flush().is_err() {
        return RelayReport {
            end: RelayEnd::ConsumerGone,
            bytes,
            records: counter.finish(),
        };
    }
    RelayReport {
        end,
        bytes,
        records: counter.finish(),
    }
}

/// Counts RECORD messages per stream from the first [`PREFIX`] bytes of each line, without
/// allocating per line: streams are few, so a list with the last hit first beats hashing.
#[derive(Debug, Default)]
pub struct RecordCounter {
    /// The start of the current, unfinished line (at most PREFIX bytes).
    prefix: Vec<u8>,
    /// Bytes of the current line seen so far.
    line_len: usize,
    /// Each stream's raw (still escaped) name and count, in order of first appearance.
    streams: Vec<(Vec<u8>, u64)>,
    /// Index of the stream counted last: consecutive records usually share it.
    last: usize,
}

impl RecordCounter {
    /// Takes the next bytes of the stream.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while let Some(at) = memchr::memchr(b'\n', chunk) {
            let line = &chunk[..at];
            if self.line_len == 0 {
                self.classify(&line[..line.len().min(PREFIX)]);
            } else {
                self.extend_prefix(line);
                let prefix = std::mem::take(&mut self.prefix);
                self.classify(&prefix);
                self.prefix = prefix;
                self.prefix.clear();
            }
            self.line_len = 0;
            chunk = &chunk[at + 1..];
        }
        if !chunk.is_empty() {
            self.extend_prefix(chunk);
            self.line_len += chunk.len();
        }
    }

    fn extend_prefix(&mut self, bytes: &[u8]) {
        let room = PREFIX.saturating_sub(self.prefix.len());
        self.prefix
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn classify(&mut self, line: &[u8]) {
        static TYPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"type\""));
        static STREAM: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"stream\""));
        if string_value(line, &TYPE) != Some(b"RECORD".as_slice()) {
            return;
        }
        let stream = string_value(line, &STREAM).unwrap_or_default();
        if let Some((name, count)) = self.streams.get_mut(self.last)
            && name.as_slice() == stream
        {
            *count += 1;
            return;
        }
        match self
            .streams
            .iter()
            .position(|(name, _)| name.as_slice() == stream)
        {
            Some(index) => {
                self.streams[index].1 += 1;
                self.last = index;
            }
            None => {
                self.streams.push((stream.to_vec(), 1));
                self.last = self.streams.len() - 1;
            }
        }
    }

    /// The counts, in order of first appearance; a final line without a newline counts too.
    pub fn finish(mut self) -> Vec<(String, u64)> {
        if self.line_len > 0 {
            let prefix = std::mem::take(&mut self.prefix);
            self.classify(&prefix);
        }
        self.streams
            .iter()
            .map(|(name, count)| (decode_json_string(name), *count))
            .collect()
    }
}

/// The raw (still escaped) string value of the key `finder` finds in a JSON object prefix.
fn string_value<'a>(line: &'a [u8], finder: &Finder<'_>) -> Option<&'a [u8]> {
    let at = finder.find(line)?;
    let rest = &line[at + finder.needle().len()..];
    let rest = trim_start(rest);
    let rest = trim_start(rest.strip_prefix(b":")?);
    let rest = rest.strip_prefix(b"\"")?;
    let mut escaped = false;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'\\' if !escaped => escaped = true,
            b'"' if !escaped => return Some(&rest[..i]),
            _ => escaped = false,
        }
    }
    None
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .count();
    &bytes[skip..]
}

/// The text of a JSON string body (escapes resolved), lossily when it is malformed.
fn decode_json_string(raw: &[u8]) -> String {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let quoted = [b"\"".as_slice(), raw, b"\""].concat();
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut counter = RecordCounter::default();
        for chunk in chunks {
            counter.feed(chunk);
        }
        counter.finish()
    }

    #[test]
    fn counts_records_per_stream_across_chunk_boundaries() {
        let text = b"{\"type\": \"SCHEMA\", \"stream\": \"a\"}\n{\"type\":\"RECORD\",\"stream\":\"a\",\"record\":{}}\n{\"type\": \"RECORD\", \"stream\": \"b.c\\\"d\", \"record\": {}}\n{\"type\":\"RECORD\",\"stream\":\"a\"}";
        let whole = count(&[text]);
        assert_eq!(whole, vec![("a".to_string(), 2), ("b.c\"d".to_string(), 1)]);
        for split in 1..text.len() {
            let (left, right) = text.split_at(split);
            assert_eq!(count(&[left, right]), whole, "split at {split}");
        }
    }

    #[test]
    fn long_lines_keep_a_bounded_prefix() {
        let mut line =
            b"{\"type\": \"RECORD\", \"stream\": \"big\", \"record\": {\"x\": \"".to_vec();
        line.extend(std::iter::repeat_n(b'x', 3 * PREFIX));
        line.extend_from_slice(b"\"}}\n");
        let mut counter = RecordCounter::default();
        for piece in line.chunks(7) {
            counter.feed(piece);
            assert!(counter.prefix.len() <= PREFIX);
        }
        assert_eq!(counter.finish(), vec![("big".to_string(), 1)]);
    }

    #[test]
    fn relays_bytes_unchanged_and_reports_a_gone_consumer() {
        let input = b"{\"type\":\"RECORD\",\"stream\":\"s\"}\nno newline at end".to_vec();
        let mut out = Vec::new();
        let report = relay(input.as_slice(), &mut out, true);
        assert_eq!(out, input);
        assert_eq!(report.end, RelayEnd::Eof);
        assert_eq!(report.records, vec![("s".to_string(), 1)]);

        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert_eq!(
            relay(input.as_slice(), Closed, false).end,
            RelayEnd::ConsumerGone
        );
    }
}
