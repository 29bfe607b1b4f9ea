//! The request log: one line per request on stdout, unless `--quiet`:
//! `httpd: METHOD TARGET STATUS BYTES TIMEus`, where BYTES counts the body
//! sent and TIME runs from the complete head to the last byte written.
//! What the client sent is escaped (`\xNN` for anything not visible ASCII)
//! and cut to 200 bytes, so a request cannot forge or flood log lines.
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use crate::args::Config;

const MAX_FIELD: usize = 200;

pub fn request(cfg: &Config, head: &[u8], status: u16, bytes: u64, start: Instant) {
    if cfg.quiet {
        return;
    }
    let us = start.elapsed().as_micros();
    let line = head.split(|&b| b == b'\n').find(|l| !l.iter().all(|&b| b == b'\r')).unwrap_or(&[]);
    let mut words = line.split(|&b| b == b' ');
    let method = escape(words.next().unwrap_or(&[]));
    let target = escape(words.next().unwrap_or(&[]));
    // One write per line: lines of concurrent workers do not interleave.
    let _ = writeln!(std::io::stdout().lock(), "httpd: {method} {target} {status} {bytes} {us}us");
}

fn escape(field: &[u8]) -> String {
    let mut s = String::new();
    for &b in field.iter().take(MAX_FIELD) {
        if b.is_ascii_graphic() {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    if field.len() > MAX_FIELD {
        s.push_str("...");
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn fields_are_escaped_and_cut() {
        assert_eq!(escape(b"/a b\r\n\x1b[2J\xff"), "/a\\x20b\\x0d\\x0a\\x1b[2J\\xff");
        assert_eq!(escape(b""), "-");
        assert_eq!(escape(&[b'a'; 300]).len(), 203);
    }
}
