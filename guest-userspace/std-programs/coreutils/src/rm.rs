//! `rm [-r] [-f] PATH...`: removes files (`-r`: and directories with all
//! they hold; `-f`: a missing PATH is not an error).
use std::io;
use std::process::ExitCode;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str = "usage: rm [-r] [-f] PATH...\nRemoves each file; -r removes directories and what is in them; -f ignores missing paths.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "rRf", "") {
        Ok(a) => a,
        Err(e) => return bad_args("rm", USAGE, &e),
    };
    let (recursive, force) = (a.has('r') || a.has('R'), a.has('f'));
    if a.operands.is_empty() && !force {
        return usage_error("rm", USAGE, "missing operand");
    }
    let mut ok = true;
    for p in &a.operands {
        let removed = match std::fs::metadata(p) {
            Ok(m) if m.is_dir() && recursive && is_root(p) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "refusing to remove the root directory"))
            }
            Ok(m) if m.is_dir() && !recursive => Err(io::Error::from(io::ErrorKind::IsADirectory)),
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
            Err(e) => Err(e),
        };
        match removed {
            Err(e) if force && e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                ok = false;
                fail("rm", p, &e);
            }
            Ok(()) => {}
        }
    }
    status(ok)
}

/// Whether `p` names `/` (however it is spelled: `/.`, `//`, `/..`).
fn is_root(p: &str) -> bool {
    std::fs::canonicalize(p).is_ok_and(|c| c.parent().is_none())
}
