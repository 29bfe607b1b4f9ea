//! Host names as programs give them: [`parse_host`] turns text into an
//! address that needs no query (`localhost`, a dotted quad) or a checked
//! [`Name`] in the form it travels in (length-prefixed labels, lowercase,
//! ending with the zero-length root label).
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

/// The longest label (RFC 1035 2.3.4).
pub const MAX_LABEL: usize = 63;
/// The longest name in text form without the final dot (255 bytes on the
/// wire: each label's length byte plus the root's).
pub const MAX_NAME: usize = 253;
/// The longest name on the wire.
pub const MAX_WIRE: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty,
    /// Two dots in a row, or a leading dot.
    EmptyLabel,
    /// A label longer than 63 bytes.
    LabelTooLong,
    /// More than 253 bytes.
    NameTooLong,
    /// A byte other than a letter, a digit, `-` or `_`.
    BadCharacter,
}

impl NameError {
    pub fn describe(&self) -> &'static str {
        match self {
            NameError::Empty => "invalid name: empty",
            NameError::EmptyLabel => "invalid name: an empty label (two dots in a row, or a leading dot)",
            NameError::LabelTooLong => "invalid name: a label longer than 63 bytes",
            NameError::NameTooLong => "invalid name: longer than 253 bytes",
            NameError::BadCharacter => "invalid name: a character other than a letter, a digit, '-' or '_'",
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A name in wire form: length-prefixed labels in lowercase, then the root
/// label (a zero byte); at most [`MAX_WIRE`] bytes. Two names are equal
/// when their wire forms are (DNS compares names without regard to ASCII
/// case, hence the lowercase).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    wire: Vec<u8>,
}

impl Name {
    /// The wire form, root label included.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Wraps a wire form the parser built (lowercase, bounded, rooted).
    pub(crate) fn from_wire(wire: Vec<u8>) -> Name {
        Name { wire }
    }

    /// The dotted text form, without the final dot (bytes outside
    /// printable ASCII, possible only in names from replies, as `\DDD`).
    pub fn text(&self) -> String {
        let mut s = String::new();
        let mut at = 0;
        while let Some(&len) = self.wire.get(at) {
            if len == 0 {
                break;
            }
            if !s.is_empty() {
                s.push('.');
            }
            for &b in self.wire.get(at + 1..at + 1 + usize::from(len)).unwrap_or(&[]) {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    s.push(char::from(b));
                } else {
                    s.push_str(&alloc::format!("\\{b:03}"));
                }
            }
            at += 1 + usize::from(len);
        }
        s
    }
}

/// What a program asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An address that needs no query: a dotted quad, or 127.0.0.1 for
    /// `localhost` and names under it (RFC 6761 6.3).
    Addr(Ipv4Addr),
    Name(Name),
}

/// Checks `text` and says whether it needs a query. One final dot is
/// allowed (a fully qualified name); no search domains are applied.
pub fn parse_host(text: &str) -> Result<Host, NameError> {
    if let Ok(a) = text.parse::<Ipv4Addr>() {
        return Ok(Host::Addr(a));
    }
    let name = parse_name(text)?;
    let lower = text.trim_end_matches('.').to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return Ok(Host::Addr(Ipv4Addr::LOCALHOST));
    }
    Ok(Host::Name(name))
}

/// A name from text (letters, digits, `-` and `_`; one final dot allowed).
pub fn parse_name(text: &str) -> Result<Name, NameError> {
    let t = text.strip_suffix('.').unwrap_or(text);
    if t.is_empty() {
        return Err(if text.is_empty() { NameError::Empty } else { NameError::EmptyLabel });
    }
    if t.len() > MAX_NAME {
        return Err(NameError::NameTooLong);
    }
    let mut wire = Vec::with_capacity(t.len() + 2);
    for label in t.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL {
            return Err(NameError::LabelTooLong);
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(NameError::BadCharacter);
        }
        // At most 63: fits the length byte.
        wire.push(label.len() as u8);
        wire.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    wire.push(0);
    Ok(Name { wire })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_localhost_need_no_query() {
        assert_eq!(parse_host("10.0.2.2"), Ok(Host::Addr(Ipv4Addr::new(10, 0, 2, 2))));
        assert_eq!(parse_host("localhost"), Ok(Host::Addr(Ipv4Addr::LOCALHOST)));
        assert_eq!(parse_host("LocalHost."), Ok(Host::Addr(Ipv4Addr::LOCALHOST)));
        assert_eq!(parse_host("a.localhost"), Ok(Host::Addr(Ipv4Addr::LOCALHOST)));
        // Not quite dotted quads: names (all labels are valid).
        assert!(matches!(parse_host("1.2.3"), Ok(Host::Name(_))));
        assert!(matches!(parse_host("1.2.3.256"), Ok(Host::Name(_))));
        assert!(matches!(parse_host("notlocalhost"), Ok(Host::Name(_))));
    }

    #[test]
    fn names_are_lowercase_wire_form() {
        let Ok(Host::Name(n)) = parse_host("WWW.Example.com.") else { panic!("not a name") };
        assert_eq!(n.wire(), b"\x03www\x07example\x03com\x00");
        assert_eq!(n.text(), "www.example.com");
        assert_eq!(parse_name("a_b-c.d").map(|n| n.text()), Ok("a_b-c.d".into()));
    }

    #[test]
    fn invalid_names_are_rejected() {
        assert_eq!(parse_host(""), Err(NameError::Empty));
        assert_eq!(parse_host("."), Err(NameError::EmptyLabel));
        assert_eq!(parse_host("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(parse_host(".a"), Err(NameError::EmptyLabel));
        assert_eq!(parse_host("a.."), Err(NameError::EmptyLabel));
        assert_eq!(parse_host("a b"), Err(NameError::BadCharacter));
        assert_eq!(parse_host("ünï.com"), Err(NameError::BadCharacter));
        let l63 = "a".repeat(63);
        assert!(parse_host(&alloc::format!("{l63}.com")).is_ok());
        assert_eq!(parse_host(&alloc::format!("a{l63}.com")), Err(NameError::LabelTooLong));
        // 4 labels of 63 and one of 1: 4*64 + 1 = 257 > 253.
        let long = alloc::format!("{l63}.{l63}.{l63}.{l63}.a");
        assert_eq!(parse_host(&long), Err(NameError::NameTooLong));
        // Exactly 253 bytes: 3 labels of 63, one of 61, 3+1 dots... accepted.
        let max = alloc::format!("{l63}.{l63}.{l63}.{}", "b".repeat(61));
        assert_eq!(max.len(), 253);
        let n = parse_name(&max).expect("253 bytes is allowed");
        assert_eq!(n.wire().len(), MAX_WIRE);
        assert!(parse_name(&alloc::format!("{max}.")).is_ok());
        assert_eq!(parse_name(&alloc::format!("{max}b")), Err(NameError::NameTooLong));
    }
}
