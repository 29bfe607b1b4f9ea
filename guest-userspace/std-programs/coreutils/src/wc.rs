//! `wc [-l] [-w] [-c] [FILE...]`: counts lines, words and bytes (all three
//! unless some are chosen), per FILE and in total for several.
use std::io::Read;
use std::process::ExitCode;

use crate::common::{bad_args, fail, files_or_stdin, open, status};

pub const USAGE: &str = "usage: wc [-l] [-w] [-c] [FILE...]\n\
Counts newlines (-l), words (-w: runs of non-space) and bytes (-c) of each FILE (stdin for none or -); all three by default.";

/// Running counts; `in_word` carries a word across reads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub lines: u64,
    pub words: u64,
    pub bytes: u64,
    in_word: bool,
}

impl Counts {
    pub fn add(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        for &b in data {
            if b == b'\n' {
                self.lines += 1;
            }
            let space = b.is_ascii_whitespace();
            if !space && !self.in_word {
                self.words += 1;
            }
            self.in_word = !space;
        }
    }

    fn plus(&mut self, o: &Counts) {
        self.lines += o.lines;
        self.words += o.words;
        self.bytes += o.bytes;
    }
}

/// Which counts to show, in wc's order (lines, words, bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Show(bool, bool, bool);

fn line(c: &Counts, show: Show, name: &str) -> String {
    let mut cols = Vec::new();
    for (on, n) in [(show.0, c.lines), (show.1, c.words), (show.2, c.bytes)] {
        if on {
            cols.push(format!("{n:>7}"));
        }
    }
    if !name.is_empty() {
        cols.push(name.into());
    }
    cols.join(" ")
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "lwc", "") {
        Ok(a) => a,
        Err(e) => return bad_args("wc", USAGE, &e),
    };
    let mut show = Show(a.has('l'), a.has('w'), a.has('c'));
    if show == Show(false, false, false) {
        show = Show(true, true, true);
    }
    let mut ok = true;
    let mut total = Counts::default();
    let files = files_or_stdin(&a.operands);
    for f in &files {
        let mut c = Counts::default();
        let mut buf = vec![0u8; 16 * 1024];
        let counted = open(f).and_then(|mut r| loop {
            match r.read(&mut buf)? {
                0 => return Ok(()),
                n => c.add(&buf[..n]),
            }
        });
        match counted {
            Ok(()) => {
                println!("{}", line(&c, show, if a.operands.is_empty() { "" } else { f }));
                total.plus(&c);
            }
            Err(e) => {
                ok = false;
                fail("wc", f, &e);
            }
        }
    }
    if files.len() > 1 {
        println!("{}", line(&total, show, "total"));
    }
    status(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(pieces: &[&str]) -> (u64, u64, u64) {
        let mut c = Counts::default();
        for p in pieces {
            c.add(p.as_bytes());
        }
        (c.lines, c.words, c.bytes)
    }

    #[test]
    fn lines_words_bytes() {
        assert_eq!(count(&["one two\nthree\n"]), (2, 3, 14));
        assert_eq!(count(&["no newline"]), (0, 2, 10));
        assert_eq!(count(&["  \t\n\n"]), (2, 0, 5));
        assert_eq!(count(&[""]), (0, 0, 0));
    }

    #[test]
    fn a_word_split_across_reads_counts_once() {
        assert_eq!(count(&["hel", "lo wor", "ld\n"]), (1, 2, 12));
    }

    #[test]
    fn columns_follow_the_flags() {
        let mut c = Counts::default();
        c.add(b"a b\n");
        assert_eq!(line(&c, Show(true, true, true), "f"), "      1       2       4 f");
        assert_eq!(line(&c, Show(true, false, false), ""), "      1");
        assert_eq!(line(&c, Show(false, true, true), "x"), "      2       4 x");
    }
}
