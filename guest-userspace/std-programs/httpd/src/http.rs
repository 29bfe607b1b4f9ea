//! HTTP/1.x request heads: finding where one ends in a byte stream and
//! parsing it into a `Request`, or a `ParseError` that says which status
//! the client gets. Pure functions over bytes (no I/O), so the tests can
//! throw anything at them.
//!
//! Strict where a lenient reading would let two parties disagree about
//! the message (request smuggling, header injection): single spaces in the
//! request line, no whitespace before a header's colon, no line folding,
//! no control characters, at most one Host and one Content-Length.
//! Lines may end in CRLF or a bare LF (RFC 9112 section 2.2 allows that).

/// The most header fields one request may carry.
pub const MAX_HEADERS: usize = 100;

/// The methods served; everything else is 405 with `Allow: GET, HEAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

/// HTTP/1.0 or HTTP/1.1; others are refused while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A parsed request head: what the server needs of it.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Method,
    /// The request target as sent (origin-form `/path?query`, or the path
    /// part of an absolute-form target).
    pub target: &'a str,
    pub version: Version,
    /// Whether the client wants the connection kept after the response
    /// (the version's default, changed by `Connection: close|keep-alive`).
    pub keep_alive: bool,
    /// `Content-Length` (0 when absent): the body to read and discard.
    pub content_length: u64,
}

/// Why a request head is refused, each with its status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// 400: the request line or a header is malformed, or the bytes are not
    /// what HTTP allows there.
    BadRequest(&'static str),
    /// 405: a well-formed method other than GET or HEAD.
    MethodNotAllowed,
    /// 413: more header fields than `MAX_HEADERS` (a head beyond the size
    /// limit is caught while reading, before parsing).
    TooLarge,
    /// 501: a request body in a transfer coding (we read only
    /// Content-Length bodies).
    NotImplemented,
    /// 505: a well-formed version other than HTTP/1.0 and HTTP/1.1.
    VersionNotSupported,
}

impl ParseError {
    pub fn status(self) -> u16 {
        match self {
            ParseError::BadRequest(_) => 400,
            ParseError::MethodNotAllowed => 405,
            ParseError::TooLarge => 413,
            ParseError::NotImplemented => 501,
            ParseError::VersionNotSupported => 505,
        }
    }

    /// What exactly was wrong, for the body of a 400.
    pub fn why(self) -> Option<&'static str> {
        match self {
            ParseError::BadRequest(why) => Some(why),
            _ => None,
        }
    }
}

/// The length of the head at the start of `buf` (through the empty line
/// that ends it), or `None` if it has not all arrived yet. Blank lines
/// before the request line are part of what is skipped (RFC 9112 2.2).
pub fn head_len(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    // A line that is empty before anything else is a leftover CRLF of a
    // previous message, not the end of this head.
    while let Some(n) = line_end(&buf[start..]) {
        if buf[start..start + n].iter().all(|&b| b == b'\r' || b == b'\n') {
            start += n;
        } else {
            break;
        }
    }
    let mut at = start;
    while let Some(n) = line_end(&buf[at..]) {
        let line = &buf[at..at + n];
        at += n;
        if at - n > start && (line == b"\n" || line == b"\r\n") {
            return Some(at);
        }
    }
    None
}

/// The length of the first line of `buf` including its LF, if complete.
fn line_end(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n').map(|i| i + 1)
}

/// Splits the head into lines without their CRLF/LF; a CR anywhere but
/// right before the LF is an error.
fn lines(head: &[u8]) -> Result<Vec<&[u8]>, ParseError> {
    let mut out = Vec::new();
    for raw in head.split_inclusive(|&b| b == b'\n') {
        let l = raw.strip_suffix(b"\n").ok_or(ParseError::BadRequest("unterminated line"))?;
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.contains(&b'\r') {
            return Err(ParseError::BadRequest("bare CR"));
        }
        out.push(l);
    }
    Ok(out)
}

/// `tchar` of RFC 9110 5.6.2: the bytes of methods and header names.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Parses a complete head (what `head_len` measured). Errors are checked
/// in the order that makes the status most useful: the request line's
/// shape, then its version (505), then the headers (400/413/501), and
/// only then the method (405), so a broken POST is a 400.
pub fn parse(head: &[u8]) -> Result<Request<'_>, ParseError> {
    let all = lines(head)?;
    let mut it = all.into_iter().skip_while(|l| l.is_empty());
    let request_line = it.next().ok_or(ParseError::BadRequest("no request line"))?;
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadRequest("request line is not METHOD SP TARGET SP VERSION"));
    };
    if !is_token(method) {
        return Err(ParseError::BadRequest("bad method"));
    }
    let version = parse_version(version)?;
    let target = parse_target(target)?;
    let (mut content_length, mut host, mut chunked, mut close, mut keep) = (None::<u64>, false, false, false, false);
    let mut fields = 0;
    for line in it {
        if line.is_empty() {
            break;
        }
        fields += 1;
        if fields > MAX_HEADERS {
            return Err(ParseError::TooLarge);
        }
        let (name, value) = parse_field(line)?;
        if name.eq_ignore_ascii_case(b"host") {
            if host {
                return Err(ParseError::BadRequest("more than one Host"));
            }
            host = true;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value)?;
            if content_length.is_some_and(|c| c != n) {
                return Err(ParseError::BadRequest("conflicting Content-Length"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for opt in value.split(|&b| b == b',').map(|o| o.trim_ascii()) {
                close |= opt.eq_ignore_ascii_case(b"close");
                keep |= opt.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    // Both framings at once is how requests are smuggled past proxies.
    if chunked && content_length.is_some() {
        return Err(ParseError::BadRequest("Transfer-Encoding with Content-Length"));
    }
    if chunked {
        return Err(ParseError::NotImplemented);
    }
    // RFC 9112 3.2: a 1.1 request without Host is a 400.
    if version == Version::Http11 && !host {
        return Err(ParseError::BadRequest("no Host header"));
    }
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        _ => return Err(ParseError::MethodNotAllowed),
    };
    // 1.1 keeps the connection unless told to close; 1.0 closes unless asked.
    let keep_alive = !close && (version == Version::Http11 || keep);
    Ok(Request { method, target, version, keep_alive, content_length: content_length.unwrap_or(0) })
}

/// `HTTP/1.0` or `HTTP/1.1`; any other `HTTP/d` or `HTTP/d.d` is 505, anything
/// else 400.
fn parse_version(v: &[u8]) -> Result<Version, ParseError> {
    let digits = v.strip_prefix(b"HTTP/").ok_or(ParseError::BadRequest("bad version"))?;
    match digits {
        b"1.1" => Ok(Version::Http11),
        b"1.0" => Ok(Version::Http10),
        [a] | [a, b'.', _] if a.is_ascii_digit() && digits.last().is_some_and(u8::is_ascii_digit) => {
            Err(ParseError::VersionNotSupported)
        }
        _ => Err(ParseError::BadRequest("bad version")),
    }
}

/// The target must be visible ASCII; origin-form (`/...`) is kept as it
/// is, absolute-form (`http://host/...`) loses its scheme and authority.
fn parse_target(t: &[u8]) -> Result<&str, ParseError> {
    if t.is_empty() || !t.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(ParseError::BadRequest("bad request target"));
    }
    let s = std::str::from_utf8(t).map_err(|_| ParseError::BadRequest("bad request target"))?;
    if s.starts_with('/') {
        return Ok(s);
    }
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &s[7..]
    } else if lower.starts_with("https://") {
        &s[8..]
    } else {
        return Err(ParseError::BadRequest("request target is not a path"));
    };
    match rest.find('/') {
        Some(i) if i > 0 => Ok(&rest[i..]),
        None if !rest.is_empty() => Ok("/"),
        _ => Err(ParseError::BadRequest("absolute-form target without a host")),
    }
}

/// `name: value` with the value's surrounding blanks removed.
fn parse_field(line: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(ParseError::BadRequest("folded header line"));
    }
    let colon = line.iter().position(|&b| b == b':').ok_or(ParseError::BadRequest("header without a colon"))?;
    let name = &line[..colon];
    if !is_token(name) {
        return Err(ParseError::BadRequest("bad header name"));
    }
    let value = line[colon + 1..].trim_ascii();
    // Field values: visible characters, blanks and obs-text; no controls.
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::BadRequest("control character in a header value"));
    }
    Ok((name, value))
}

/// Decimal digits only (no sign, no blanks), and it must fit a u64.
fn parse_length(v: &[u8]) -> Result<u64, ParseError> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadRequest("bad Content-Length"));
    }
    v.iter()
        .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
        .ok_or(ParseError::BadRequest("Content-Length too large"))
}

#[cfg(test)]
mod tests;
