//! `mv SRC DST`, `mv SRC... DIR`: renames (into DIR when the last operand
//! is a directory).
use std::path::Path;
use std::process::ExitCode;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str = "usage: mv SRC DST | mv SRC... DIR\nRenames SRC to DST (replacing a file there), or moves each SRC into the directory DIR.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "") {
        Ok(a) => a,
        Err(e) => return bad_args("mv", USAGE, &e),
    };
    let Some((dst, srcs)) = a.operands.split_last().filter(|(_, s)| !s.is_empty()) else {
        return usage_error("mv", USAGE, "needs a source and a destination");
    };
    let into = Path::new(dst).is_dir();
    if srcs.len() > 1 && !into {
        return fail("mv", dst, &std::io::Error::from(std::io::ErrorKind::NotADirectory));
    }
    let mut ok = true;
    for s in srcs {
        let target = if into { crate::cp::inside(dst, s) } else { dst.into() };
        if let Err(e) = std::fs::rename(s, &target) {
            ok = false;
            fail("mv", s, &e);
        }
    }
    status(ok)
}
