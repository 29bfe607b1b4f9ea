//! What every tool shares: error wording, usage errors, and reading a FILE
//! operand (or stdin for `-`).
use std::io::{self, Read};
use std::process::ExitCode;

use crate::args::ArgError;

/// The usual one-line wording for an I/O error.
pub fn describe(e: &io::Error) -> String {
    if e.get_ref().is_some() {
        return e.to_string(); // a message of our own
    }
    match e.kind() {
        io::ErrorKind::NotFound => "No such file or directory".into(),
        io::ErrorKind::AlreadyExists => "File exists".into(),
        io::ErrorKind::NotADirectory => "Not a directory".into(),
        io::ErrorKind::IsADirectory => "Is a directory".into(),
        io::ErrorKind::DirectoryNotEmpty => "Directory not empty".into(),
        io::ErrorKind::PermissionDenied => "Permission denied".into(),
        io::ErrorKind::Unsupported => "Operation not supported".into(),
        _ => e.to_string(),
    }
}

/// Prints `tool: what: error` and gives the failure status.
pub fn fail(tool: &str, what: &str, e: &io::Error) -> ExitCode {
    eprintln!("{tool}: {what}: {}", describe(e));
    ExitCode::FAILURE
}

/// Prints `tool: message` and the usage line; status 2.
pub fn usage_error(tool: &str, usage: &str, message: &str) -> ExitCode {
    eprintln!("{tool}: {message}");
    eprintln!("{}", usage.lines().next().unwrap_or(usage));
    ExitCode::from(2)
}

/// [`usage_error`] for a refused command line.
pub fn bad_args(tool: &str, usage: &str, e: &ArgError) -> ExitCode {
    usage_error(tool, usage, &e.to_string())
}

/// Whether a write failed because the reader went away (then a tool stops quietly).
pub fn reader_gone(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotConnected | io::ErrorKind::BrokenPipe)
}

/// Opens a FILE operand: `-` is stdin.
pub fn open(path: &str) -> io::Result<Box<dyn Read>> {
    if path == "-" {
        Ok(Box::new(io::stdin()))
    } else {
        Ok(Box::new(std::fs::File::open(path)?))
    }
}

/// The FILE operands, or stdin (`-`) when there are none.
pub fn files_or_stdin(operands: &[String]) -> Vec<String> {
    if operands.is_empty() {
        vec!["-".into()]
    } else {
        operands.to_vec()
    }
}

/// The status for "every operand went well".
pub fn status(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
