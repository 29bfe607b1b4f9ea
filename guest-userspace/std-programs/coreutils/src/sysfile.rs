//! The I/O server's made-up files (`/sys/fs/root`, `/sys/net/eth0`;
//! docs/network.md, "System files"): `key value` lines.
use std::io;

/// The `key value` pairs of `text`, in order (lines without a space are skipped).
pub fn fields(text: &str) -> Vec<(&str, &str)> {
    text.lines().filter_map(|l| l.split_once(' ')).collect()
}

/// The value of `key`, or "?" when the server did not say.
pub fn get<'a>(fields: &[(&str, &'a str)], key: &str) -> &'a str {
    fields.iter().find(|(k, _)| *k == key).map_or("?", |(_, v)| v)
}

/// A number field, 0 when absent or not a number.
pub fn number(fields: &[(&str, &str)], key: &str) -> u64 {
    get(fields, key).parse().unwrap_or(0)
}

/// Reads one of those files; a missing one says what is missing.
pub fn read(path: &str, missing: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => missing.to_string(),
        _ => format!("{path}: {}", crate::common::describe(&e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_key_space_value() {
        let f = fields("a 1\nb two words\nnospace\n");
        assert_eq!(f, vec![("a", "1"), ("b", "two words")]);
        assert_eq!((get(&f, "b"), get(&f, "c"), number(&f, "a"), number(&f, "b")), ("two words", "?", 1, 0));
    }
}
