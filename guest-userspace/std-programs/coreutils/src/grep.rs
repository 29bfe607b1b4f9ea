//! `grep [-F] [-i] [-v] [-n] [-c] PATTERN [FILE...]`: lines that match
//! PATTERN, a simple regular expression (`crate::regex`) or with `-F` a
//! fixed string. Status 0 if a line was selected, 1 if none, 2 on an error.
use std::io::{self, BufRead, BufReader, Write};
use std::process::ExitCode;

use crate::common::{bad_args, describe, files_or_stdin, open, reader_gone, usage_error};
use crate::regex::Regex;

pub const USAGE: &str = "usage: grep [-F] [-i] [-v] [-n] [-c] PATTERN [FILE...]\n\
Prints the lines of each FILE (stdin for none or -) that match PATTERN, prefixed by FILE: for several files.\n\
PATTERN: . any character, * repeats the one before, ^ and $ anchor, [a-z] [^...] sets, \\c a literal c.\n\
-F: PATTERN is a fixed string; -i: ignore case; -v: select non-matching lines; -n: line numbers; -c: counts only.\n\
Exit status: 0 a line was selected, 1 none, 2 an error.";

/// What a line is tested against.
pub enum Matcher {
    Fixed(String),
    Pattern(Regex),
}

/// A compiled PATTERN with its flags.
pub struct Search {
    matcher: Matcher,
    ignore_case: bool,
    invert: bool,
}

impl Search {
    pub fn new(pattern: &str, fixed: bool, ignore_case: bool, invert: bool) -> Result<Search, String> {
        let p = if ignore_case { pattern.to_lowercase() } else { pattern.to_string() };
        let matcher =
            if fixed { Matcher::Fixed(p) } else { Matcher::Pattern(Regex::new(&p).map_err(|e| e.to_string())?) };
        Ok(Search { matcher, ignore_case, invert })
    }

    /// Whether `line` (without its newline) is selected.
    pub fn selects(&self, line: &str) -> bool {
        let folded;
        let line = if self.ignore_case {
            folded = line.to_lowercase();
            &folded
        } else {
            line
        };
        let hit = match &self.matcher {
            Matcher::Fixed(s) => line.contains(s.as_str()),
            Matcher::Pattern(r) => r.is_match(line),
        };
        hit != self.invert
    }
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "Fivnc", "") {
        Ok(a) => a,
        Err(e) => return bad_args("grep", USAGE, &e),
    };
    let Some((pattern, operands)) = a.operands.split_first() else {
        return usage_error("grep", USAGE, "missing PATTERN");
    };
    let search = match Search::new(pattern, a.has('F'), a.has('i'), a.has('v')) {
        Ok(s) => s,
        Err(m) => return usage_error("grep", USAGE, &m),
    };
    let files = files_or_stdin(operands);
    let named = files.len() > 1;
    let mut out = io::stdout().lock();
    let (mut any, mut error) = (false, false);
    for f in &files {
        let prefix = if named { format!("{f}:") } else { String::new() };
        let result = open(f).and_then(|r| {
            let mut n = 0u64;
            let mut selected = 0u64;
            let mut buf = Vec::new();
            let mut r = BufReader::new(r);
            while r.read_until(b'\n', &mut buf)? > 0 {
                n += 1;
                let text = String::from_utf8_lossy(buf.strip_suffix(b"\n").unwrap_or(&buf)).into_owned();
                if search.selects(&text) {
                    selected += 1;
                    if !a.has('c') {
                        let num = if a.has('n') { format!("{n}:") } else { String::new() };
                        writeln!(out, "{prefix}{num}{text}")?;
                    }
                }
                buf.clear();
            }
            if a.has('c') {
                writeln!(out, "{prefix}{selected}")?;
            }
            Ok(selected)
        });
        match result {
            Ok(s) => any |= s > 0,
            Err(e) if reader_gone(&e) => return ExitCode::from(2),
            Err(e) => {
                eprintln!("grep: {f}: {}", describe(&e));
                error = true;
            }
        }
    }
    let _ = out.flush();
    ExitCode::from(if error {
        2
    } else if any {
        0
    } else {
        1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_strings_ignore_metacharacters() {
        let s = Search::new("a.*", true, false, false).unwrap();
        assert!(s.selects("xa.*y") && !s.selects("abc"));
    }

    #[test]
    fn ignore_case_and_invert() {
        let s = Search::new("^HeL*o", false, true, false).unwrap();
        assert!(s.selects("hello world") && s.selects("HELLO") && !s.selects("say hello"));
        let v = Search::new("x", true, false, true).unwrap();
        assert!(v.selects("abc") && !v.selects("xyz"));
    }

    #[test]
    fn a_bad_pattern_is_an_error() {
        assert_eq!(Search::new("[x", false, false, false).err().as_deref(), Some("unmatched ["));
    }
}
