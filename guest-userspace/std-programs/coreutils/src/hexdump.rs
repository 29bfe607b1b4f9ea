//! `hexdump [-C] [FILE...]`: the canonical hex+ASCII dump of the FILEs
//! (one stream, stdin for none), 16 bytes a line; a run of lines equal to
//! the one before shows as one `*`; the last line is the total length.
use std::io::{self, Read, Write};
use std::process::ExitCode;

use crate::common::{bad_args, fail, files_or_stdin, open, reader_gone, status};

pub const USAGE: &str = "usage: hexdump [-C] [FILE...]\n\
Prints FILEs (stdin for none or -) as one stream in the canonical form (what -C asks for, and the only one):\n\
offset, 16 bytes in hex, the same as ASCII ('.' for others); repeated lines as '*'.";

/// Formats a stream line by line, squeezing repeats.
#[derive(Default)]
pub struct Dumper {
    offset: u64,
    pending: Vec<u8>,
    last: Option<[u8; 16]>,
    squeezing: bool,
}

impl Dumper {
    /// Takes more bytes; returns the text for every full line they finish.
    pub fn feed(&mut self, data: &[u8]) -> String {
        self.pending.extend_from_slice(data);
        let mut s = String::new();
        let full = self.pending.len() / 16 * 16;
        let lines: Vec<u8> = self.pending.drain(..full).collect();
        for chunk in lines.chunks(16) {
            let mut row = [0u8; 16];
            row.copy_from_slice(chunk);
            if self.last == Some(row) {
                if !self.squeezing {
                    s += "*\n";
                    self.squeezing = true;
                }
            } else {
                s += &line(self.offset, chunk);
                self.squeezing = false;
                self.last = Some(row);
            }
            self.offset += 16;
        }
        s
    }

    /// The partial last line, if any, and the end offset.
    pub fn finish(mut self) -> String {
        let mut s = String::new();
        if !self.pending.is_empty() {
            s += &line(self.offset, &self.pending);
            self.offset += self.pending.len() as u64;
        }
        if self.offset > 0 {
            s += &format!("{:08x}\n", self.offset);
        }
        s
    }
}

/// One line: `00000010  68 69 0a ...  |hi.|`.
pub fn line(offset: u64, bytes: &[u8]) -> String {
    let mut s = format!("{offset:08x} ");
    for i in 0..16 {
        if i % 8 == 0 {
            s.push(' ');
        }
        match bytes.get(i) {
            Some(b) => s += &format!("{b:02x} "),
            None => s += "   ",
        }
    }
    let ascii: String = bytes.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
    s + " |" + &ascii + "|\n"
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "C", "") {
        Ok(a) => a,
        Err(e) => return bad_args("hexdump", USAGE, &e),
    };
    let mut out = io::stdout().lock();
    let mut d = Dumper::default();
    let mut ok = true;
    let mut buf = vec![0u8; 16 * 1024];
    for f in files_or_stdin(&a.operands) {
        let dumped = open(&f).and_then(|mut r| loop {
            match r.read(&mut buf)? {
                0 => return Ok(()),
                n => out.write_all(d.feed(&buf[..n]).as_bytes())?,
            }
        });
        if let Err(e) = dumped {
            if reader_gone(&e) {
                return ExitCode::FAILURE;
            }
            ok = false;
            fail("hexdump", &f, &e);
        }
    }
    let _ = out.write_all(d.finish().as_bytes()).and_then(|()| out.flush());
    status(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(pieces: &[&[u8]]) -> String {
        let mut d = Dumper::default();
        let mut s: String = pieces.iter().map(|p| d.feed(p)).collect();
        s += &d.finish();
        s
    }

    #[test]
    fn matches_the_canonical_format() {
        // What util-linux `hexdump -C` prints for the same bytes.
        assert_eq!(
            dump(&[b"Hello\n"]),
            "00000000  48 65 6c 6c 6f 0a                                 |Hello.|\n00000006\n"
        );
        assert_eq!(
            dump(&[b"0123456789", b"abcdefgh\x00\xff"]),
            "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n\
             00000010  67 68 00 ff                                       |gh..|\n00000014\n"
        );
        assert_eq!(dump(&[]), "");
    }

    #[test]
    fn repeated_lines_squeeze_to_a_star() {
        let zeros = [0u8; 64];
        let want = "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n\
                    00000040  41                                                |A|\n00000041\n";
        assert_eq!(dump(&[&zeros, b"A"]), want);
    }
}
