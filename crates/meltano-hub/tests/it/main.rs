//! Integration tests of meltano-hub: definitions and lock files, the built-in index, the Hub
//! client against a local fake Hub, and resolution order.

mod builtin;
mod client;
mod definition;
mod fake_hub;
mod resolve;

use std::path::Path;

/// Hides a temporary directory and the fake Hub's port in snapshot text.
pub fn scrub(dir: &Path, text: &str) -> String {
    let text = text.replace(&dir.display().to_string(), "[TMP]");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str(if digits > 0 { "[PORT]" } else { "" });
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}
