//! `tail [-n N] [FILE...]`: the last N lines (10 by default) of each FILE,
//! with `==> FILE <==` headers for several.
use std::process::ExitCode;

pub const USAGE: &str =
    "usage: tail [-n N] [FILE...]\nPrints the last N lines (default 10) of each FILE (stdin for none or -).";

pub fn run(args: &[String]) -> ExitCode {
    crate::head::each_file("tail", USAGE, args, |mut r, n, out| {
        let mut data = Vec::new();
        r.read_to_end(&mut data)?;
        out.write_all(last_lines(&data, n))
    })
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
