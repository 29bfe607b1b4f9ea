//! Command text to a syntax tree: words with their quoting kept (expansion
//! happens when a command runs, so `$?` and `cd` take effect in order),
//! redirections, pipelines, `&&`/`||` chains and `;`/newline lists.
//!
//! Grammar: `list = and_or ((';' | '\n') and_or)*`,
//! `and_or = pipeline (('&&' | '||') pipeline)*`,
//! `pipeline = command ('|' command)*`, `command = (word | redirection)+`.

/// A piece of a word. `quoted` pieces are not globbed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit {
        text: String,
        quoted: bool,
    },
    /// `$NAME`, `${NAME}`, `$?`, `$0`..`$9`, `$#`.
    Var {
        name: String,
        quoted: bool,
    },
}

pub type Word = Vec<Part>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirKind {
    /// `<`
    In,
    /// `>`
    Out,
    /// `>>`
    Append,
    /// `2>`
    Err,
    /// `2>>`
    ErrAppend,
    /// `2>&1` (its target is empty): stderr goes where stdout goes at this
    /// point, so `> f 2>&1` sends both to f and `2>&1 > f` only stdout.
    ErrToOut,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redir {
    pub kind: RedirKind,
    pub target: Word,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
}

pub type Pipeline = Vec<Command>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Join {
    And,
    Or,
}

/// `first (op next)*`, run left to right with short-circuiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Join, Pipeline)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    UnclosedQuote(char),
    /// An operator where a command or a file name belongs.
    Unexpected(&'static str),
    /// The text ended where more was needed (after `|`, `&&`, `>`...).
    UnexpectedEnd,
    BadSubstitution,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::UnclosedQuote(q) => write!(f, "unclosed {q}"),
            ParseError::Unexpected(op) => write!(f, "syntax error near `{op}'"),
            ParseError::UnexpectedEnd => write!(f, "syntax error: unexpected end of input"),
            ParseError::BadSubstitution => write!(f, "bad substitution"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(Word),
    Op(&'static str),
    /// `;` or a newline.
    Sep,
}

const OPS: [&str; 8] = ["2>&1", "2>>", "2>", ">>", "&&", "||", ">", "<"];

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\r' {
            i += 1;
        } else if c == '\n' || c == ';' {
            out.push(Token::Sep);
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '|' && chars.get(i + 1) != Some(&'|') {
            out.push(Token::Op("|"));
            i += 1;
        } else if let Some(op) = OPS.iter().find(|op| starts_with(&chars[i..], op)) {
            out.push(Token::Op(op));
            i += op.len();
        } else if c == '&' {
            // Background jobs are not supported.
            return Err(ParseError::Unexpected("&"));
        } else {
            let (word, next) = lex_word(&chars, i)?;
            out.push(Token::Word(word));
            i = next;
        }
    }
    Ok(out)
}

fn starts_with(chars: &[char], s: &str) -> bool {
    s.chars().enumerate().all(|(k, c)| chars.get(k) == Some(&c))
}

fn ends_word(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | ';' | '|' | '&' | '<' | '>')
}

/// Appends literal text to the word, merging with a literal of the same quoting.
fn push_lit(word: &mut Word, c: char, quoted: bool) {
    if let Some(Part::Lit { text, quoted: q }) = word.last_mut() {
        if *q == quoted {
            text.push(c);
            return;
        }
    }
    word.push(Part::Lit { text: c.to_string(), quoted });
}

fn lex_word(chars: &[char], mut i: usize) -> Result<(Word, usize), ParseError> {
    let mut word = Word::new();
    while i < chars.len() && !ends_word(chars[i]) {
        match chars[i] {
            '\\' => {
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(&c) => push_lit(&mut word, c, true),
                    None => push_lit(&mut word, '\\', false),
                }
                i += 2;
            }
            '\'' => {
                let end = chars[i + 1..].iter().position(|&c| c == '\'').ok_or(ParseError::UnclosedQuote('\''))?;
                // '' is an empty argument: keep a quoted empty literal.
                word.push(Part::Lit { text: chars[i + 1..i + 1 + end].iter().collect(), quoted: true });
                i += end + 2;
            }
            '"' => {
                i += 1;
                word.push(Part::Lit { text: String::new(), quoted: true });
                loop {
                    match chars.get(i) {
                        None => return Err(ParseError::UnclosedQuote('"')),
                        Some('"') => break,
                        Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            push_lit(&mut word, chars[i + 1], true);
                            i += 2;
                        }
                        Some('$') => i = lex_var(chars, i, true, &mut word)?,
                        Some(&c) => {
                            push_lit(&mut word, c, true);
                            i += 1;
                        }
                    }
                }
                i += 1;
            }
            '$' => i = lex_var(chars, i, false, &mut word)?,
            c => {
                push_lit(&mut word, c, false);
                i += 1;
            }
        }
    }
    Ok((word, i))
}

/// `chars[i]` is `$`: reads the variable, returns the index after it. A `$`
/// that starts no name is literal.
fn lex_var(chars: &[char], i: usize, quoted: bool, word: &mut Word) -> Result<usize, ParseError> {
    let name_char = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    match chars.get(i + 1) {
        Some('{') => {
            let end = chars[i + 2..].iter().position(|&c| c == '}').ok_or(ParseError::BadSubstitution)?;
            let name: String = chars[i + 2..i + 2 + end].iter().collect();
            if name.is_empty() || !(name.chars().all(|c| name_char(&c)) || name == "?" || name == "#") {
                return Err(ParseError::BadSubstitution);
            }
            word.push(Part::Var { name, quoted });
            Ok(i + 3 + end)
        }
        Some(&c) if c == '?' || c == '#' || c.is_ascii_digit() => {
            word.push(Part::Var { name: c.to_string(), quoted });
            Ok(i + 2)
        }
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let len = chars[i + 1..].iter().take_while(|c| name_char(c)).count();
            word.push(Part::Var { name: chars[i + 1..i + 1 + len].iter().collect(), quoted });
            Ok(i + 1 + len)
        }
        _ => {
            push_lit(word, '$', quoted);
            Ok(i + 1)
        }
    }
}

/// Parses a whole script or command line.
pub fn parse(text: &str) -> Result<Vec<AndOr>, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let mut list = Vec::new();
    loop {
        while p.peek() == Some(&Token::Sep) {
            p.pos += 1;
        }
        if p.peek().is_none() {
            return Ok(list);
        }
        list.push(p.and_or()?);
        match p.next() {
            None | Some(Token::Sep) => {}
            Some(Token::Op(op)) => return Err(ParseError::Unexpected(op)),
            Some(Token::Word(_)) => return Err(ParseError::Unexpected("word")),
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let join = match self.peek() {
                Some(Token::Op("&&")) => Join::And,
                Some(Token::Op("||")) => Join::Or,
                _ => return Ok(AndOr { first, rest }),
            };
            self.pos += 1;
            // A newline may follow `&&` or `||`.
            while self.peek() == Some(&Token::Sep) {
                self.pos += 1;
            }
            rest.push((join, self.pipeline()?));
        }
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let mut cmds = vec![self.command()?];
        while self.peek() == Some(&Token::Op("|")) {
            self.pos += 1;
            while self.peek() == Some(&Token::Sep) {
                self.pos += 1;
            }
            cmds.push(self.command()?);
        }
        Ok(cmds)
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let mut cmd = Command::default();
        loop {
            match self.peek() {
                Some(Token::Word(_)) => {
                    if let Some(Token::Word(w)) = self.next() {
                        cmd.words.push(w);
                    }
                }
                Some(Token::Op("2>&1")) => {
                    self.pos += 1;
                    cmd.redirs.push(Redir { kind: RedirKind::ErrToOut, target: Word::new() });
                }
                Some(Token::Op(op @ ("<" | ">" | ">>" | "2>" | "2>>"))) => {
                    let kind = match *op {
                        "<" => RedirKind::In,
                        ">" => RedirKind::Out,
                        ">>" => RedirKind::Append,
                        "2>" => RedirKind::Err,
                        _ => RedirKind::ErrAppend,
                    };
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Word(target)) => cmd.redirs.push(Redir { kind, target }),
                        Some(Token::Op(op)) => return Err(ParseError::Unexpected(op)),
                        Some(Token::Sep) => return Err(ParseError::Unexpected("newline")),
                        None => return Err(ParseError::UnexpectedEnd),
                    }
                }
                _ => break,
            }
        }
        if cmd.words.is_empty() && cmd.redirs.is_empty() {
            return match self.peek() {
                Some(Token::Op(op)) => Err(ParseError::Unexpected(op)),
                Some(Token::Sep) => Err(ParseError::Unexpected(";")),
                _ => Err(ParseError::UnexpectedEnd),
            };
        }
        Ok(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Lit { text: s.into(), quoted: false }
    }
    fn qlit(s: &str) -> Part {
        Part::Lit { text: s.into(), quoted: true }
    }

    #[test]
    fn words_quotes_and_escapes() {
        let l = parse(r#"echo a\ b 'c d' "e $X f" g\$h ''"#).unwrap();
        let w = &l[0].first[0].words;
        assert_eq!(w[0], vec![lit("echo")]);
        assert_eq!(w[1], vec![lit("a"), qlit(" "), lit("b")]);
        assert_eq!(w[2], vec![qlit("c d")]);
        assert_eq!(w[3], vec![qlit("e "), Part::Var { name: "X".into(), quoted: true }, qlit(" f")]);
        assert_eq!(w[4], vec![lit("g"), qlit("$"), lit("h")]);
        assert_eq!(w[5], vec![qlit("")]);
    }

    #[test]
    fn operators_and_lists() {
        let l = parse("a | b > f 2>>e; c && d || e\nf < in 2>&1").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].first.len(), 2);
        assert_eq!(l[0].first[1].redirs.len(), 2);
        assert_eq!(l[0].first[1].redirs[1].kind, RedirKind::ErrAppend);
        assert_eq!(l[1].rest.iter().map(|(j, _)| *j).collect::<Vec<_>>(), vec![Join::And, Join::Or]);
        assert_eq!(l[2].first[0].redirs[0].kind, RedirKind::In);
        assert_eq!(l[2].first[0].redirs[1].kind, RedirKind::ErrToOut);
    }

    #[test]
    fn variables() {
        let l = parse("echo $? ${HOME}x $1 $ a$").unwrap();
        let w = &l[0].first[0].words;
        assert_eq!(w[1], vec![Part::Var { name: "?".into(), quoted: false }]);
        assert_eq!(w[2], vec![Part::Var { name: "HOME".into(), quoted: false }, lit("x")]);
        assert_eq!(w[3], vec![Part::Var { name: "1".into(), quoted: false }]);
        assert_eq!(w[4], vec![lit("$")]);
        assert_eq!(w[5], vec![lit("a$")]);
    }

    #[test]
    fn comments_and_blank_lines() {
        let l = parse("# c\n\n echo hi # tail\n;;\n").unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].first[0].words.len(), 2);
    }

    #[test]
    fn errors() {
        assert_eq!(parse("echo 'x"), Err(ParseError::UnclosedQuote('\'')));
        assert_eq!(parse("echo \"x"), Err(ParseError::UnclosedQuote('"')));
        assert_eq!(parse("| a"), Err(ParseError::Unexpected("|")));
        assert_eq!(parse("a |"), Err(ParseError::UnexpectedEnd));
        assert_eq!(parse("a >"), Err(ParseError::UnexpectedEnd));
        assert_eq!(parse("a && || b"), Err(ParseError::Unexpected("||")));
        assert_eq!(parse("a & b"), Err(ParseError::Unexpected("&")));
        assert_eq!(parse("echo ${"), Err(ParseError::BadSubstitution));
    }
}
