//! `rmdir DIR...`: removes empty directories.
use std::io;
use std::process::ExitCode;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str = "usage: rmdir DIR...\nRemoves each DIR, which must be empty.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "") {
        Ok(a) => a,
        Err(e) => return bad_args("rmdir", USAGE, &e),
    };
    if a.operands.is_empty() {
        return usage_error("rmdir", USAGE, "missing operand");
    }
    let mut ok = true;
    for d in &a.operands {
        if let Err(e) = std::fs::remove_dir(d) {
            ok = false;
            fail("rmdir", d, &explain(d, e));
        }
    }
    status(ok)
}

/// Vireo's runtime reports a non-empty directory as PermissionDenied
/// (docs/runtime.md, "Errors"): say what it is when the listing shows it.
pub fn explain(dir: &str, e: io::Error) -> io::Error {
    let has_entries = || std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if e.kind() == io::ErrorKind::PermissionDenied && has_entries() {
        return io::Error::from(io::ErrorKind::DirectoryNotEmpty);
    }
    e
}
