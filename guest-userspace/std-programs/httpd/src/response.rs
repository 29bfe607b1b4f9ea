//! Responses: the status line and headers, short error bodies, and files
//! streamed in 64 KiB chunks (the head goes out with the first chunk, so a
//! small file is one write).
use std::fs::File;
use std::io::{self, Read, Write};

/// The size of one read from a file (and so of one write to the socket).
pub const CHUNK: usize = 64 * 1024;

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A response head. Always HTTP/1.1 (a server sends its own version).
pub struct Head {
    buf: Vec<u8>,
}

impl Head {
    pub fn new(status: u16) -> Head {
        let mut buf = Vec::with_capacity(256);
        let _ = write!(buf, "HTTP/1.1 {status} {}\r\nServer: vireo-httpd\r\n", reason(status));
        Head { buf }
    }

    pub fn header(mut self, name: &str, value: impl std::fmt::Display) -> Head {
        let _ = write!(self.buf, "{name}: {value}\r\n");
        self
    }

    /// `Connection: close` or, for a 1.0 client that asked, `keep-alive`.
    pub fn connection(self, keep_alive: bool, http10: bool) -> Head {
        match (keep_alive, http10) {
            (false, _) => self.header("Connection", "close"),
            (true, true) => self.header("Connection", "keep-alive"),
            (true, false) => self,
        }
    }

    /// The head's bytes, ending with the blank line.
    pub fn into_bytes(self) -> Vec<u8> {
        self.finish()
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }
}

/// A head and a short text body (omitted for HEAD); returns the body bytes sent.
pub fn send_text(w: &mut impl Write, head: Head, body: &str, with_body: bool) -> io::Result<u64> {
    let mut out =
        head.header("Content-Type", "text/plain; charset=utf-8").header("Content-Length", body.len()).finish();
    if with_body {
        out.extend_from_slice(body.as_bytes());
    }
    w.write_all(&out)?;
    Ok(if with_body { body.len() as u64 } else { 0 })
}

/// What the connection does after an error response.
#[derive(Clone, Copy)]
pub struct After {
    pub keep_alive: bool,
    pub http10: bool,
    /// False for HEAD.
    pub with_body: bool,
}

/// Closes the connection after an error it cannot go on from.
pub const CLOSE: After = After { keep_alive: false, http10: false, with_body: true };

/// An error status with its reason (and why, if known) as the body.
pub fn send_error(w: &mut impl Write, status: u16, why: Option<&str>, after: After) -> io::Result<u64> {
    let mut head = Head::new(status).connection(after.keep_alive, after.http10);
    if status == 405 {
        head = head.header("Allow", "GET, HEAD");
    }
    let body = match why {
        Some(why) => format!("{status} {}: {why}\n", reason(status)),
        None => format!("{status} {}\n", reason(status)),
    };
    send_text(w, head, &body, after.with_body)
}

/// Sends `head` with `len` bytes of `file` (none for HEAD). A file that
/// ends early breaks the promised length: `UnexpectedEof`, and the caller
/// closes the connection.
pub fn send_file(w: &mut impl Write, head: Head, file: &mut File, len: u64, with_body: bool) -> io::Result<u64> {
    let mut buf = head.finish();
    if !with_body || len == 0 {
        w.write_all(&buf)?;
        return Ok(0);
    }
    let mut left = len;
    let mut from = buf.len();
    while left > 0 {
        let want = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
        buf.resize(from + want, 0);
        let n = read_full(file, &mut buf[from..])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        w.write_all(&buf[..from + n])?;
        left -= n as u64;
        from = 0;
    }
    Ok(len)
}

/// Sends `head` with `body` (none for HEAD).
pub fn send_bytes(w: &mut impl Write, head: Head, body: &[u8], with_body: bool) -> io::Result<u64> {
    let mut out = head.finish();
    if with_body {
        out.extend_from_slice(body);
    }
    w.write_all(&out)?;
    Ok(if with_body { body.len() as u64 } else { 0 })
}

/// The whole of a small file of `len` bytes; `UnexpectedEof` if it got shorter.
pub fn read_small(f: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?];
    if read_full(f, &mut buf)? < buf.len() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(buf)
}

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_heads() {
        let mut out = Vec::new();
        let after = After { keep_alive: true, http10: false, with_body: true };
        assert_eq!(send_error(&mut out, 405, None, after).ok(), Some(23));
        let s = String::from_utf8(out).expect("ascii");
        assert!(s.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{s}");
        assert!(s.contains("\r\nAllow: GET, HEAD\r\n") && s.contains("\r\nContent-Length: 23\r\n"), "{s}");
        assert!(s.ends_with("\r\n\r\n405 Method Not Allowed\n") && !s.contains("Connection"), "{s}");
        let mut out = Vec::new();
        assert_eq!(send_error(&mut out, 400, Some("why"), After { with_body: false, ..CLOSE }).ok(), Some(0));
        let s = String::from_utf8(out).expect("ascii");
        assert!(s.contains("\r\nConnection: close\r\n") && s.contains("\r\nContent-Length: 21\r\n"), "{s}");
        assert!(s.ends_with("\r\n\r\n"), "{s}");
        let mut out = Vec::new();
        let after = After { keep_alive: true, http10: true, with_body: true };
        assert_eq!(send_error(&mut out, 404, None, after).ok(), Some(14));
        assert!(String::from_utf8(out).expect("ascii").contains("\r\nConnection: keep-alive\r\n"));
    }
}
