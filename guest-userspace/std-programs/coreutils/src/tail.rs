//! `tail [-n N] [FILE...]`: the last N lines (10 by default) of each FILE,
//! with `==> FILE <==` headers for several.
use std::io::{self, Read, Write};
use std::process::ExitCode;

use crate::common::{bad_args, fail, files_or_stdin, open, reader_gone, status, usage_error};

pub const USAGE: &str =
    "usage: tail [-n N] [FILE...]\nPrints the last N lines (default 10) of each FILE (stdin for none or -).";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "n") {
        Ok(a) => a,
        Err(e) => return bad_args("tail", USAGE, &e),
    };
    let n = match crate::head::count(a.value('n')) {
        Ok(n) => n,
        Err(m) => return usage_error("tail", USAGE, &m),
    };
    let files = files_or_stdin(&a.operands);
    let mut out = io::stdout().lock();
    let mut ok = true;
    for (i, f) in files.iter().enumerate() {
        if files.len() > 1 {
            let _ = writeln!(out, "{}==> {f} <==", if i > 0 { "\n" } else { "" });
        }
        let mut data = Vec::new();
        let copied =
            open(f).and_then(|mut r| r.read_to_end(&mut data)).and_then(|_| out.write_all(last_lines(&data, n)));
        if let Err(e) = copied {
            if reader_gone(&e) {
                return ExitCode::FAILURE;
            }
            ok = false;
            fail("tail", f, &e);
        }
    }
    let _ = out.flush();
    status(ok)
}

/// The last `n` lines of `data` (a last line without a newline counts).
pub fn last_lines(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &data[data.len()..];
    }
    // Skip the final newline: it ends the last line rather than starting one.
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, &b) in body.iter().enumerate().rev() {
        if b == b'\n' {
            seen += 1;
            if seen == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_n_lines() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
        assert_eq!(last_lines(b"", 3), b"");
        assert_eq!(last_lines(b"\n\n\n", 2), b"\n\n");
    }
}
