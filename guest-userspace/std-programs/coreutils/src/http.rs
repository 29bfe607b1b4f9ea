//! The HTTP/1.1 client side `fetch` needs, over any byte stream: URLs, the
//! request, the response head and the body's framing (Content-Length,
//! chunked, or until close). Everything here reads bytes a server chose,
//! so every limit is explicit and every oddity is an [`HttpError`], never a
//! panic or an unbounded buffer.
use std::fmt;
use std::io::{self, BufRead, Read, Write};

/// Longest line of a head (status line, header, chunk size, trailer).
pub const MAX_LINE: usize = 8192;
/// Most header (or trailer) fields in one head.
pub const MAX_FIELDS: usize = 100;
/// Most bytes of one head in all.
pub const MAX_HEAD: usize = 64 * 1024;
/// Interim (1xx) heads skipped before the real one.
const MAX_INTERIM: usize = 5;

#[derive(Debug, PartialEq, Eq)]
pub enum HttpError {
    BadUrl(String),
    Io(io::ErrorKind, String),
    /// The server closed before a whole head.
    ClosedInHead,
    LineTooLong,
    HeadTooLarge,
    TooManyFields,
    BadStatusLine,
    BadHeader,
    BadContentLength,
    UnsupportedEncoding(String),
    BadChunk,
    /// The body ended early: bytes got, bytes promised (None: chunked).
    Truncated(u64, Option<u64>),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadUrl(why) => write!(f, "bad URL: {why}"),
            HttpError::Io(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock, _) => write!(f, "timed out"),
            HttpError::Io(_, m) => write!(f, "{m}"),
            HttpError::ClosedInHead => write!(f, "the server closed the connection before a whole response head"),
            HttpError::LineTooLong => write!(f, "response line longer than {MAX_LINE} bytes"),
            HttpError::HeadTooLarge => write!(f, "response head larger than {} KiB", MAX_HEAD / 1024),
            HttpError::TooManyFields => write!(f, "more than {MAX_FIELDS} response header fields"),
            HttpError::BadStatusLine => write!(f, "malformed status line"),
            HttpError::BadHeader => write!(f, "malformed response header field"),
            HttpError::BadContentLength => write!(f, "bad Content-Length"),
            HttpError::UnsupportedEncoding(e) => write!(f, "unsupported Transfer-Encoding '{e}'"),
            HttpError::BadChunk => write!(f, "malformed chunked body"),
            HttpError::Truncated(got, Some(want)) => write!(f, "connection closed after {got} of {want} body bytes"),
            HttpError::Truncated(got, None) => {
                write!(f, "connection closed after {got} body bytes, before the last chunk")
            }
        }
    }
}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        HttpError::Io(e.kind(), crate::common::describe(&e))
    }
}

/// An `http://` URL, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url, HttpError> {
        let bad = |why: &str| HttpError::BadUrl(why.to_string());
        if s.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(bad("spaces, control or non-ASCII characters"));
        }
        let Some((scheme, rest)) = s.split_once("://") else { return Err(bad("expected http://HOST[:PORT]/PATH")) };
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(HttpError::BadUrl(format!("scheme '{scheme}' is not supported (only http)")));
        }
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err(bad("user names in URLs are not supported"));
        }
        if authority.starts_with('[') {
            return Err(bad("IPv6 addresses are not supported"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| bad("bad port"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
            return Err(bad("bad host name"));
        }
        Ok(Url { host: host.to_ascii_lowercase(), port, target })
    }

    /// Where a `Location` (absolute, or a path on this server) points.
    pub fn join(&self, location: &str) -> Result<Url, HttpError> {
        if location.starts_with("//") {
            return Url::parse(&format!("http:{location}"));
        }
        if location.starts_with('/') {
            let mut u = Url::parse(&format!("http://{}:{}{location}", self.host, self.port))?;
            u.port = self.port;
            return Ok(u);
        }
        if location.contains("://") {
            return Url::parse(location);
        }
        // Relative to this target's directory.
        let path = self.target.split('?').next().unwrap_or("/");
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        self.join(&format!("{}{location}", if dir.is_empty() { "/" } else { dir }))
    }

    /// The Host header's value.
    pub fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The GET request for `url` (one request per connection).
pub fn request(url: &Url) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vireo-fetch/1\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.host_header()
    )
}

/// How the body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub reason: String,
    /// Names in lower case, values trimmed.
    pub fields: Vec<(String, String)>,
}

impl Head {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body's framing for a response to GET (RFC 9112, 6.3).
    pub fn framing(&self) -> Result<Framing, HttpError> {
        if (100..200).contains(&self.status) || self.status == 204 || self.status == 304 {
            return Ok(Framing::None);
        }
        let codings: Vec<&str> = self
            .fields
            .iter()
            .filter(|(n, _)| n == "transfer-encoding")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if let Some(last) = codings.last() {
            // Only chunked alone is decoded; gzip and friends are not.
            if codings.len() == 1 && last.eq_ignore_ascii_case("chunked") {
                return Ok(Framing::Chunked);
            }
            return Err(HttpError::UnsupportedEncoding(codings.join(", ")));
        }
        let mut length = None;
        for (_, v) in self.fields.iter().filter(|(n, _)| n == "content-length") {
            for part in v.split(',') {
                let n = parse_decimal(part.trim()).ok_or(HttpError::BadContentLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(HttpError::BadContentLength);
                }
                length = Some(n);
            }
        }
        Ok(length.map_or(Framing::UntilClose, Framing::Length))
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One line ending in LF (CR before it dropped), at most [`MAX_LINE`]
/// bytes; None at a clean end of stream before any byte.
fn read_line(r: &mut impl BufRead, budget: &mut usize) -> Result<Option<Vec<u8>>, HttpError> {
    let mut line = Vec::new();
    let n = r.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    *budget = budget.checked_sub(n).ok_or(HttpError::HeadTooLarge)?;
    if line.last() != Some(&b'\n') {
        return Err(if n > MAX_LINE { HttpError::LineTooLong } else { HttpError::ClosedInHead });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// The response head (interim 1xx heads skipped).
pub fn read_head(r: &mut impl BufRead) -> Result<Head, HttpError> {
    let mut budget = MAX_HEAD;
    for _ in 0..=MAX_INTERIM {
        let head = read_one_head(r, &mut budget)?;
        if !(100..200).contains(&head.status) || head.status == 101 {
            return Ok(head);
        }
    }
    Err(HttpError::TooManyFields)
}

fn read_one_head(r: &mut impl BufRead, budget: &mut usize) -> Result<Head, HttpError> {
    let line = read_line(r, budget)?.ok_or(HttpError::ClosedInHead)?;
    let (status, reason) = status_line(&line).ok_or(HttpError::BadStatusLine)?;
    let mut fields = Vec::new();
    loop {
        let line = read_line(r, budget)?.ok_or(HttpError::ClosedInHead)?;
        if line.is_empty() {
            return Ok(Head { status, reason, fields });
        }
        if fields.len() == MAX_FIELDS {
            return Err(HttpError::TooManyFields);
        }
        fields.push(field(&line).ok_or(HttpError::BadHeader)?);
    }
}

/// `HTTP/1.x SSS [reason]`.
fn status_line(line: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("HTTP/1.").filter(|r| r.starts_with(['0', '1']))?;
    let rest = rest[1..].strip_prefix(' ')?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let status = code.parse().ok().filter(|s| (100..=599).contains(s))?;
    let reason = reason.chars().filter(|c| !c.is_control()).collect();
    Some((status, reason))
}

/// `name: value`; no blank before the colon, no folding, no controls.
fn field(line: &[u8]) -> Option<(String, String)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if name.is_empty() || !name.iter().all(token) {
        return None;
    }
    if value.iter().any(|&b| b < b' ' && b != b'\t' || b == 0x7f) {
        return None;
    }
    let value = String::from_utf8_lossy(value).trim_matches([' ', '\t']).to_string();
    Some((String::from_utf8_lossy(name).to_ascii_lowercase(), value))
}

/// Copies the body to `out`; returns its length.
pub fn copy_body(r: &mut impl BufRead, framing: Framing, out: &mut impl Write) -> Result<u64, HttpError> {
    match framing {
        Framing::None => Ok(0),
        Framing::Length(n) => {
            let got = io::copy(&mut r.by_ref().take(n), out)?;
            if got < n {
                return Err(HttpError::Truncated(got, Some(n)));
            }
            Ok(got)
        }
        Framing::UntilClose => Ok(io::copy(r, out)?),
        Framing::Chunked => chunked(r, out),
    }
}

fn chunked(r: &mut impl BufRead, out: &mut impl Write) -> Result<u64, HttpError> {
    let mut total: u64 = 0;
    let mut budget = MAX_HEAD;
    loop {
        let line = read_line(r, &mut budget)
            .map_err(|e| if e == HttpError::ClosedInHead { HttpError::Truncated(total, None) } else { e })?
            .ok_or(HttpError::Truncated(total, None))?;
        let size = chunk_size(&line).ok_or(HttpError::BadChunk)?;
        if size == 0 {
            break;
        }
        // Each chunk's size line counts against the budget only once.
        budget = MAX_HEAD;
        let got = io::copy(&mut r.by_ref().take(size), out)?;
        total = total.saturating_add(got);
        if got < size {
            return Err(HttpError::Truncated(total, None));
        }
        let mut crlf = [0u8; 2];
        match r.read_exact(&mut crlf) {
            Ok(()) if &crlf == b"\r\n" => {}
            Ok(()) => return Err(HttpError::BadChunk),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(HttpError::Truncated(total, None)),
            Err(e) => return Err(e.into()),
        }
    }
    // Trailer fields, up to the empty line (a server that closes right
    // after the last chunk is forgiven: the body is whole).
    for _ in 0..=MAX_FIELDS {
        match read_line(r, &mut budget) {
            Ok(Some(l)) if l.is_empty() => return Ok(total),
            Ok(Some(l)) => {
                field(&l).ok_or(HttpError::BadHeader)?;
            }
            Ok(None) | Err(HttpError::ClosedInHead) => return Ok(total),
            Err(e) => return Err(e),
        }
    }
    Err(HttpError::TooManyFields)
}

/// A chunk-size line: hex digits, then optional `;extensions`.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    let hex = text.split(';').next()?.trim_end_matches([' ', '\t']);
    if hex.is_empty() || hex.len() > 15 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests;
