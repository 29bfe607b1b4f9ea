//! The simple regular expressions `grep` takes: `.` any character, `*` the
//! one before repeated (zero or more), `^` and `$` anchors at the start and
//! end of the pattern, `[abc]`, `[a-z]`, `[^...]` sets (a `]` first in the
//! set is literal), `\c` a literal c. Anything else matches itself. Works on
//! chars; backtracking, with the depth bounded by the pattern's length.

/// Why a pattern was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RegexError {
    UnclosedSet,
    TrailingBackslash,
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegexError::UnclosedSet => "unmatched [",
            RegexError::TrailingBackslash => "trailing backslash (\\)",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Any,
    Char(char),
    Set { negated: bool, ranges: Vec<(char, char)> },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Any => true,
            Atom::Char(x) => *x == c,
            Atom::Set { negated, ranges } => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    star: bool,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regex {
    pieces: Vec<Piece>,
    start: bool,
    end: bool,
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let mut chars: Vec<char> = pattern.chars().collect();
        let start = chars.first() == Some(&'^');
        if start {
            chars.remove(0);
        }
        // A final `$` anchors unless escaped (an odd run of backslashes before it).
        let slashes = chars.iter().rev().skip(1).take_while(|c| **c == '\\').count();
        let end = chars.last() == Some(&'$') && slashes % 2 == 0;
        if end {
            chars.pop();
        }
        let mut pieces: Vec<Piece> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            let atom = match c {
                '*' if !pieces.is_empty() && !pieces.last().is_some_and(|p| p.star) => {
                    if let Some(p) = pieces.last_mut() {
                        p.star = true;
                    }
                    continue;
                }
                '.' => Atom::Any,
                '\\' => Atom::Char(*chars.get(i).ok_or(RegexError::TrailingBackslash).inspect(|_| i += 1)?),
                '[' => {
                    let (set, next) = set(&chars, i)?;
                    i = next;
                    set
                }
                c => Atom::Char(c),
            };
            pieces.push(Piece { atom, star: false });
        }
        Ok(Regex { pieces, start, end })
    }

    /// Whether the pattern matches somewhere in `line`.
    pub fn is_match(&self, line: &str) -> bool {
        let text: Vec<char> = line.chars().collect();
        if self.start {
            return self.here(0, &text, 0);
        }
        (0..=text.len()).any(|at| self.here(0, &text, at))
    }

    /// Whether pieces `p..` match `text` from `at`.
    fn here(&self, p: usize, text: &[char], at: usize) -> bool {
        let Some(piece) = self.pieces.get(p) else {
            return !self.end || at == text.len();
        };
        if piece.star {
            let run = text[at..].iter().take_while(|c| piece.atom.matches(**c)).count();
            return (0..=run).rev().any(|k| self.here(p + 1, text, at + k));
        }
        text.get(at).is_some_and(|c| piece.atom.matches(*c)) && self.here(p + 1, text, at + 1)
    }
}

/// Parses a set starting after its `[`; returns it and the index after `]`.
fn set(chars: &[char], mut i: usize) -> Result<(Atom, usize), RegexError> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let first = i;
    loop {
        let c = *chars.get(i).ok_or(RegexError::UnclosedSet)?;
        if c == ']' && i > first {
            return Ok((Atom::Set { negated, ranges }, i + 1));
        }
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                ranges.push((c, hi));
                i += 3;
            }
            _ => {
                ranges.push((c, c));
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Regex::new(p).unwrap().is_match(s)
    }

    #[test]
    fn literals_and_dot() {
        assert!(m("ell", "hello"));
        assert!(!m("elo", "hello"));
        assert!(m("h.l", "hello"));
        assert!(m("", "anything"));
        assert!(m("é.", "café!"));
    }

    #[test]
    fn anchors() {
        assert!(m("^he", "hello") && !m("^el", "hello"));
        assert!(m("lo$", "hello") && !m("ll$", "hello"));
        assert!(m("^hello$", "hello") && !m("^hell$", "hello"));
        assert!(m("^$", "") && !m("^$", "x"));
        assert!(m("a^b", "a^b"), "^ inside is literal");
        assert!(m("a$b", "a$b"), "$ inside is literal");
        assert!(m("x\\$", "x$") && !m("x\\$", "x"));
    }

    #[test]
    fn star_backtracks() {
        assert!(m("ab*c", "ac") && m("ab*c", "abbbc") && !m("ab*c", "abxc"));
        assert!(m("^a.*z$", "abcz") && !m("^a.*z$", "abczy"));
        assert!(m("^.*b.*b$", "abab"));
        assert!(m("*a", "x*a"), "a leading * is literal");
        assert!(m("^x**$", "x*"), "a second * is literal");
    }

    #[test]
    fn sets() {
        assert!(m("[abc]x", "bx") && !m("[abc]x", "dx"));
        assert!(m("^[a-z0-9]*$", "abc123") && !m("^[a-z0-9]*$", "abC"));
        assert!(m("[^0-9]", "12a") && !m("^[^0-9]*$", "1"));
        assert!(m("[]]", "]") && m("[a-]", "-"));
        assert!(m("\\.", ".") && !m("\\.", "x"));
    }

    #[test]
    fn bad_patterns() {
        assert_eq!(Regex::new("[abc"), Err(RegexError::UnclosedSet));
        assert_eq!(Regex::new("[]"), Err(RegexError::UnclosedSet));
        assert_eq!(Regex::new("ab\\"), Err(RegexError::TrailingBackslash));
    }
}
