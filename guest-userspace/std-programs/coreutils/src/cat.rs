//! `cat [FILE...]`: copies each FILE (stdin for none or `-`) to stdout.
use std::io::{self, Read, Write};
use std::process::ExitCode;

use crate::common::{bad_args, fail, files_or_stdin, open, reader_gone, status};

pub const USAGE: &str = "usage: cat [FILE...]\nCopies each FILE (or stdin, also for `-`) to stdout.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "") {
        Ok(a) => a,
        Err(e) => return bad_args("cat", USAGE, &e),
    };
    let mut out = io::stdout().lock();
    let mut ok = true;
    for f in files_or_stdin(&a.operands) {
        if let Err(e) = open(&f).and_then(|mut r| copy(&mut r, &mut out)) {
            if reader_gone(&e) {
                return ExitCode::FAILURE;
            }
            ok = false;
            fail("cat", &f, &e);
        }
    }
    status(ok)
}

/// Copies `from` to `to` in 16 KiB pieces and flushes.
pub fn copy(from: &mut dyn Read, to: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return to.flush();
        }
        to.write_all(&buf[..n])?;
    }
}
