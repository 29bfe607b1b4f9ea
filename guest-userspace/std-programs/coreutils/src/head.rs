//! `head [-n N] [FILE...]`: the first N lines (10 by default) of each FILE,
//! with `==> FILE <==` headers for several. Reads no further than it needs.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::ExitCode;

use crate::common::{bad_args, fail, files_or_stdin, open, reader_gone, status, usage_error};

pub const USAGE: &str =
    "usage: head [-n N] [FILE...]\nPrints the first N lines (default 10) of each FILE (stdin for none or -).";

/// The `-n` count: a non-negative decimal.
pub fn count(v: Option<&str>) -> Result<usize, String> {
    match v {
        None => Ok(10),
        Some(s) => s.parse().map_err(|_| format!("invalid number of lines: '{s}'")),
    }
}

pub fn run(args: &[String]) -> ExitCode {
    each_file("head", USAGE, args, |r, n, out| first_lines(&mut BufReader::new(r), n, out))
}

/// What `head` and `tail` share: `-n N` and the FILEs, each copied by
/// `copy(reader, N, stdout)` under a `==> FILE <==` header when several.
pub fn each_file(
    tool: &str,
    usage: &str,
    args: &[String],
    mut copy: impl FnMut(Box<dyn Read>, usize, &mut dyn Write) -> io::Result<()>,
) -> ExitCode {
    let a = match crate::args::parse(args, "", "n") {
        Ok(a) => a,
        Err(e) => return bad_args(tool, usage, &e),
    };
    let n = match count(a.value('n')) {
        Ok(n) => n,
        Err(m) => return usage_error(tool, usage, &m),
    };
    let files = files_or_stdin(&a.operands);
    let mut out = io::stdout().lock();
    let mut ok = true;
    for (i, f) in files.iter().enumerate() {
        if files.len() > 1 {
            let _ = writeln!(out, "{}==> {f} <==", if i > 0 { "\n" } else { "" });
        }
        if let Err(e) = open(f).and_then(|r| copy(r, n, &mut out)) {
            if reader_gone(&e) {
                return ExitCode::FAILURE;
            }
            ok = false;
            fail(tool, f, &e);
        }
    }
    let _ = out.flush();
    status(ok)
}

/// Copies the first `n` lines of `r` to `out`.
pub fn first_lines(r: &mut dyn BufRead, n: usize, out: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::new();
    for _ in 0..n {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        out.write_all(&line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_n_lines_only() {
        let mut out = Vec::new();
        first_lines(&mut &b"a\nb\nc\n"[..], 2, &mut out).unwrap();
        assert_eq!(out, b"a\nb\n");
        out.clear();
        first_lines(&mut &b"a\nno-newline"[..], 5, &mut out).unwrap();
        assert_eq!(out, b"a\nno-newline");
    }

    #[test]
    fn counts() {
        assert_eq!(count(None), Ok(10));
        assert_eq!(count(Some("3")), Ok(3));
        assert!(count(Some("x")).is_err());
        assert!(count(Some("-1")).is_err());
    }
}
