//! Just enough of a Rust lexer to find paths: identifiers, `::` and single
//! punctuation, each with its line. Comments, string, byte-string and char
//! literals produce no tokens, so a path in doc text or a message is not an
//! import; numbers and lifetimes are skipped for the same reason.

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub tok: Tok,
    pub line: usize,
}

pub(super) fn tokens(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    // Skips c[from..] up to and including `end`, counting lines; `\` escapes the next char.
    let skip_to = |mut k: usize, end: &str, escapes: bool, line: &mut usize| {
        let end: Vec<char> = end.chars().collect();
        while k < c.len() {
            if c[k..].starts_with(&end) {
                return k + end.len();
            }
            if c[k] == '\n' {
                *line += 1;
            }
            k += if escapes && c[k] == '\\' { 2 } else { 1 };
        }
        k
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            // Block comments nest.
            let (mut depth, mut k) = (1, i + 2);
            while k < c.len() && depth > 0 {
                if c[k] == '/' && at(k + 1) == '*' {
                    depth += 1;
                    k += 2;
                } else if c[k] == '*' && at(k + 1) == '/' {
                    depth -= 1;
                    k += 2;
                } else {
                    line += (c[k] == '\n') as usize;
                    k += 1;
                }
            }
            i = k;
        } else if ch == '"' {
            i = skip_to(i + 1, "\"", true, &mut line);
        } else if let Some((open, hashes)) = raw_string_start(&c, i) {
            i = skip_to(open + 1, &format!("\"{}", "#".repeat(hashes)), false, &mut line);
        } else if ch == 'b' && at(i + 1) == '"' {
            i = skip_to(i + 2, "\"", true, &mut line);
        } else if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            let q = if ch == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                i = skip_to(q + 3, "'", false, &mut line);
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                // A lifetime or label: its name is not a path.
                i = q + 1;
                while ident_char(at(i)) {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while ident_char(at(i)) {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(c[start..i].iter().collect()), line });
        } else if ch.is_ascii_digit() {
            while ident_char(at(i)) {
                i += 1;
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token { tok: Tok::PathSep, line });
            i += 2;
        } else {
            out.push(Token { tok: Tok::Punct(ch), line });
            i += 1;
        }
    }
    out
}

/// `r"`, `r#"`, `br##"` ...: the index of the opening quote and the number of `#`.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut k = i + (c[i] == 'b') as usize;
    if c.get(k) != Some(&'r') {
        return None;
    }
    k += 1;
    let hashes = c[k..].iter().take_while(|&&h| h == '#').count();
    (c.get(k + hashes) == Some(&'"')).then_some((k + hashes, hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(src: &str) -> Vec<String> {
        tokens(src)
            .into_iter()
            .filter_map(|t| match t.tok {
                Tok::Ident(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn comments_and_literals_yield_no_identifiers() {
        let src = r###"a // crate::x
            /* outer /* crate::y */ still comment */ b
            "crate::z \" crate::w" r#"crate::"v"# b"crate::u" br##"crate::t"## 'c' '\'' b'\\' '\u{41}'
            fn f<'crate_like>() {} 0x1f_u8 c"###;
        assert_eq!(idents(src), ["a", "b", "fn", "f", "c"]);
    }

    #[test]
    fn lines_are_counted_through_comments_and_strings() {
        let t = tokens("/* 1\n2 */ \"3\n4\" x\n y");
        assert_eq!((t[0].line, t[1].line), (3, 4));
    }
}
