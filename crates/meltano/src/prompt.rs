//! Questions asked on the terminal, answered from stdin (or a script feeding it).

use std::io::{self, BufRead};

use crate::error::{CliError, CliResult};
use crate::printer::Printer;

/// Asks `(<label>) [<default>]: ` and returns the answer, or the default for an empty line.
/// End of input aborts, as click does.
pub fn ask(printer: &Printer, label: &str, default: &str) -> CliResult<String> {
    printer.out_raw(&format!("({label}) [{default}]: "));
    let answer = read_line()?;
    Ok(if answer.is_empty() {
        default.to_string()
    } else {
        answer
    })
}

/// Asks `<question>: ` with no default, repeating until the answer is not empty.
pub fn ask_required(printer: &Printer, question: &str) -> CliResult<String> {
    loop {
        printer.out_raw(&format!("{question}: "));
        let answer = read_line()?;
        if !answer.is_empty() {
            return Ok(answer);
        }
    }
}

/// Asks `<question> [y/N]: `; only an answer starting with `y` is yes.
pub fn confirm(printer: &Printer, question: &str) -> CliResult<bool> {
    printer.out_raw(&format!("{question} [y/N]: "));
    let answer = read_line()?;
    Ok(answer.to_ascii_lowercase().starts_with('y'))
}

fn read_line() -> CliResult<String> {
    let mut line = String::new();
    let read = io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::meltano)?;
    if read == 0 {
        return Err(CliError::Aborted);
    }
    Ok(line.trim().to_string())
}
