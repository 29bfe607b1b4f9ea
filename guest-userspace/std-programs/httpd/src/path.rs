//! From a request target to the path segments of a file under the root.
//!
//! The path (before any `?`) is split at its literal slashes first and
//! each segment is percent-decoded once, on its own: an encoded slash can
//! then never join or split segments, and `%252e` stays the name `%2e`.
//! Refused (all 400, `PathError`): a bad `%` escape, bytes that are not
//! UTF-8 after decoding, an encoded `/`, a backslash (literal or
//! encoded), a NUL or other control character, and a `..` segment
//! (literal or encoded). Empty and `.` segments are dropped, so `//etc`
//! is `etc` under the root: a segment is never absolute. What the
//! segments name is checked against the root's canonical path later
//! (files.rs), which catches symlinks.

/// Why a target's path is refused (each a 400).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    BadEscape,
    NotUtf8,
    EncodedSlash,
    Backslash,
    ControlCharacter,
    DotDot,
}

impl PathError {
    pub fn reason(self) -> &'static str {
        match self {
            PathError::BadEscape => "bad percent escape",
            PathError::NotUtf8 => "path is not UTF-8",
            PathError::EncodedSlash => "encoded slash in the path",
            PathError::Backslash => "backslash in the path",
            PathError::ControlCharacter => "control character in the path",
            PathError::DotDot => "'..' in the path",
        }
    }
}

/// The decoded segments of a target's path, and whether it ended in `/`
/// (a directory must be asked for with one).
#[derive(Debug, PartialEq, Eq)]
pub struct UrlPath {
    pub segments: Vec<String>,
    pub trailing_slash: bool,
}

pub fn decode(target: &str) -> Result<UrlPath, PathError> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let mut segments = Vec::new();
    for raw in path.split('/') {
        let seg = decode_segment(raw)?;
        match seg.as_str() {
            "" | "." => {}
            ".." => return Err(PathError::DotDot),
            _ => segments.push(seg),
        }
    }
    Ok(UrlPath { segments, trailing_slash: path.ends_with('/') })
}

fn decode_segment(raw: &str) -> Result<String, PathError> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
            let v = (hex_digit(hex[0]).ok_or(PathError::BadEscape)? << 4)
                | hex_digit(hex[1]).ok_or(PathError::BadEscape)?;
            i += 3;
            if v == b'/' {
                return Err(PathError::EncodedSlash);
            }
            v
        } else {
            i += 1;
            b[i - 1]
        };
        match byte {
            b'\\' => return Err(PathError::Backslash),
            0..=0x1f | 0x7f => return Err(PathError::ControlCharacter),
            _ => out.push(byte),
        }
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(t: &str) -> Vec<String> {
        decode(t).unwrap_or_else(|e| panic!("{t}: {e:?}")).segments
    }

    #[test]
    fn plain_paths() {
        assert_eq!(segs("/"), Vec::<String>::new());
        assert_eq!(segs("/a/b.txt?x=/../y#z"), ["a", "b.txt"]);
        assert_eq!(segs("//etc///passwd"), ["etc", "passwd"]);
        assert_eq!(segs("/./a/./b"), ["a", "b"]);
        assert_eq!(segs("/hello%20world/caf%C3%A9"), ["hello world", "caf\u{e9}"]);
        assert_eq!(segs("/%252e%252e/x"), ["%2e%2e", "x"], "decoded once only");
        assert_eq!(segs("/..."), ["..."]);
        assert!(decode("/d/").is_ok_and(|p| p.trailing_slash));
        assert!(decode("/d").is_ok_and(|p| !p.trailing_slash));
    }

    #[test]
    fn escapes_from_the_root_are_refused() {
        for (t, e) in [
            ("/../etc/passwd", PathError::DotDot),
            ("/a/../../b", PathError::DotDot),
            ("/%2e%2e/etc/passwd", PathError::DotDot),
            ("/.%2E/x", PathError::DotDot),
            ("/..%2fetc/passwd", PathError::EncodedSlash),
            ("/%2Fetc/passwd", PathError::EncodedSlash),
            ("/..\\etc", PathError::Backslash),
            ("/a%5c..%5cb", PathError::Backslash),
            ("/a%00.html", PathError::ControlCharacter),
            ("/a%0d%0aSet-Cookie:x", PathError::ControlCharacter),
            ("/%", PathError::BadEscape),
            ("/%4", PathError::BadEscape),
            ("/%zz", PathError::BadEscape),
            ("/%C3", PathError::NotUtf8),
            ("/%ff", PathError::NotUtf8),
        ] {
            assert_eq!(decode(t), Err(e), "{t}");
        }
    }
}
