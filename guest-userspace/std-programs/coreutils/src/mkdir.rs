//! `mkdir [-p] DIR...`: makes directories (`-p`: with missing parents, and
//! an existing directory is fine).
use std::process::ExitCode;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str =
    "usage: mkdir [-p] DIR...\nMakes each DIR; -p makes missing parents too and accepts existing directories.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "p", "") {
        Ok(a) => a,
        Err(e) => return bad_args("mkdir", USAGE, &e),
    };
    if a.operands.is_empty() {
        return usage_error("mkdir", USAGE, "missing operand");
    }
    let mut ok = true;
    for d in &a.operands {
        let made = if a.has('p') { std::fs::create_dir_all(d) } else { std::fs::create_dir(d) };
        if let Err(e) = made {
            ok = false;
            fail("mkdir", d, &e);
        }
    }
    status(ok)
}
