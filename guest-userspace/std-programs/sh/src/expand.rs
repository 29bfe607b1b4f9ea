//! Words to arguments: variables (`$NAME` from the environment, `$?`, the
//! script's `$0`-`$9` and `$#`), then globbing of unquoted `*`/`?`. An
//! unquoted variable's value is not split into fields: `$X` is one argument
//! whatever it holds (a deliberate simplification of POSIX sh).
use crate::glob::{self, Pat};
use crate::parse::{Part, Word};

/// What expansion reads besides the environment.
pub struct Vars<'a> {
    pub status: i32,
    /// `$0`, `$1`, ...
    pub positional: &'a [String],
}

impl Vars<'_> {
    pub fn get(&self, name: &str) -> String {
        match name {
            "?" => self.status.to_string(),
            "#" => self.positional.len().saturating_sub(1).to_string(),
            n if n.chars().all(|c| c.is_ascii_digit()) => {
                n.parse::<usize>().ok().and_then(|i| self.positional.get(i)).cloned().unwrap_or_default()
            }
            n => std::env::var(n).unwrap_or_default(),
        }
    }
}

/// One word to its text and its glob pattern.
fn expand_one(word: &Word, vars: &Vars) -> (String, Vec<Pat>) {
    let mut text = String::new();
    let mut pat = Vec::new();
    for part in word {
        let (s, quoted) = match part {
            Part::Lit { text, quoted } => (text.clone(), *quoted),
            // A variable's value is data: its `*` is not a wildcard.
            Part::Var { name, .. } => (vars.get(name), true),
        };
        for c in s.chars() {
            pat.push(match c {
                '*' if !quoted => Pat::Any,
                '?' if !quoted => Pat::One,
                c => Pat::Char(c),
            });
        }
        text.push_str(&s);
    }
    (text, pat)
}

/// A word as a single string (redirection targets; no globbing).
pub fn word_text(word: &Word, vars: &Vars) -> String {
    expand_one(word, vars).0
}

/// Words to arguments. A word that expands to nothing unquoted (`$UNSET`)
/// disappears; `""` stays as an empty argument.
pub fn expand_words(words: &[Word], vars: &Vars) -> Vec<String> {
    let mut out = Vec::new();
    for word in words {
        let (text, pat) = expand_one(word, vars);
        let any_quoted =
            word.iter().any(|p| matches!(p, Part::Lit { quoted: true, .. } | Part::Var { quoted: true, .. }));
        if text.is_empty() && !any_quoted {
            continue;
        }
        let found = glob::expand(&pat);
        if found.is_empty() {
            out.push(text);
        } else {
            out.extend(found);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn words(line: &str) -> Vec<Word> {
        parse(line).unwrap().remove(0).first.remove(0).words
    }

    #[test]
    fn variables_status_and_positional() {
        std::env::set_var("VIREO_SH_T", "v a l");
        let pos = vec!["script".to_string(), "one".to_string()];
        let vars = Vars { status: 3, positional: &pos };
        let got = expand_words(&words("x $VIREO_SH_T \"$?\" $1 $2 \"$2\" $# ${VIREO_SH_T}!"), &vars);
        assert_eq!(got, vec!["x", "v a l", "3", "one", "", "1", "v a l!"]);
    }

    #[test]
    fn quoted_wildcards_stay() {
        let vars = Vars { status: 0, positional: &[] };
        std::env::set_var("VIREO_SH_STAR", "*");
        let got = expand_words(&words("'*' \\? $VIREO_SH_STAR /no-such-dir-x/*"), &vars);
        assert_eq!(got, vec!["*", "?", "*", "/no-such-dir-x/*"]);
    }
}
