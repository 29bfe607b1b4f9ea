//! `touch FILE...`: creates missing files; an existing one is left as it
//! is apart from its modification time where the system can set it.
use std::fs::{File, OpenOptions};
use std::io;
use std::process::ExitCode;
use std::time::SystemTime;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str = "usage: touch FILE...\nCreates each FILE that does not exist (empty); for one that does, sets its modification time to now.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "") {
        Ok(a) => a,
        Err(e) => return bad_args("touch", USAGE, &e),
    };
    if a.operands.is_empty() {
        return usage_error("touch", USAGE, "missing file operand");
    }
    let mut ok = true;
    for f in &a.operands {
        if let Err(e) = OpenOptions::new().append(true).create(true).open(f).and_then(|file| now(&file)) {
            ok = false;
            fail("touch", f, &e);
        }
    }
    status(ok)
}

/// std's `set_modified` where it works; where it is Unsupported (Vireo: no
/// `set_times`) truncating to the same length, which updates the time on a
/// file system that stamps truncation (ext4 semantics).
fn now(file: &File) -> io::Result<()> {
    match file.set_modified(SystemTime::now()) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => file.set_len(file.metadata()?.len()),
        r => r,
    }
}
