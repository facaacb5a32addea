//! Flags whose value may come from an environment variable, read as click reads a boolean.
//!
//! clap's own flag parser accepts only `true`/`false` from the environment, so `MELTANO_RUN_FORCE=1`
//! (what schedulers and container specs usually set) would be a usage error. click accepts the words
//! below in any case, and so do we.

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

const TRUE: [&str; 6] = ["1", "true", "t", "yes", "y", "on"];
const FALSE: [&str; 7] = ["", "0", "false", "f", "no", "n", "off"];

/// Parses a flag's value (`true` when given on the command line) or its environment variable.
#[derive(Debug, Clone, Copy)]
pub struct EnvBool;

impl TypedValueParser for EnvBool {
    type Value = bool;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<bool, clap::Error> {
        let text = value.to_string_lossy();
        let word = text.trim().to_lowercase();
        if TRUE.contains(&word.as_str()) {
            return Ok(true);
        }
        if FALSE.contains(&word.as_str()) {
            return Ok(false);
        }
        let mut recognized: Vec<&str> = TRUE.iter().chain(FALSE.iter()).copied().collect();
        recognized.sort_unstable();
        // click names an option by all its spellings, as declared: '--force' / '-f'.
        let option = arg
            .map(|a| {
                let long = a.get_long().map(|l| format!("'--{l}'"));
                let short = a.get_short().map(|s| format!("'-{s}'"));
                long.into_iter()
                    .chain(short)
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_default();
        let source = arg
            .and_then(|a| a.get_env())
            .map(|env| format!(" (env var: '{}')", env.to_string_lossy()))
            .unwrap_or_default();
        Err(clap::Error::raw(
            ErrorKind::ValueValidation,
            format!(
                "Invalid value for {option}{source}: '{text}' is not a valid boolean. Recognized values: {}",
                recognized.join(", ")
            ),
        ))
    }
}
