//! Tab completion: the first word of a command completes to builtins and
//! programs in `$PATH` (default `/bin`); any other word, or one with a `/`,
//! to paths.
use crate::builtins::BUILTINS;

pub struct Completion {
    /// Char index where the completed word starts.
    pub start: usize,
    /// Whole replacement words, sorted; a directory ends in `/`.
    pub candidates: Vec<String>,
}

impl Completion {
    /// What to put in place of the word: the only candidate (with a space
    /// after a finished word), or the candidates' longest common prefix.
    pub fn replacement(&self) -> Option<String> {
        match self.candidates.as_slice() {
            [] => None,
            [one] if one.ends_with('/') => Some(one.clone()),
            [one] => Some(format!("{one} ")),
            [first, rest @ ..] => {
                let mut prefix: Vec<char> = first.chars().collect();
                for c in rest {
                    let n = prefix.iter().zip(c.chars()).take_while(|(a, b)| **a == *b).count();
                    prefix.truncate(n);
                }
                Some(prefix.into_iter().collect())
            }
        }
    }
}

/// Completions for the word before `cursor` (a char index) in `line`.
pub fn complete(line: &str, cursor: usize) -> Completion {
    let chars: Vec<char> = line.chars().collect();
    let cursor = cursor.min(chars.len());
    let start = chars[..cursor].iter().rposition(|c| c.is_whitespace() || ";|&<>".contains(*c)).map_or(0, |i| i + 1);
    let word: String = chars[start..cursor].iter().collect();
    let before = chars[..start].iter().rev().find(|c| !c.is_whitespace());
    let command_position = before.is_none_or(|c| ";|&".contains(*c));
    let candidates = if command_position && !word.contains('/') { commands(&word) } else { paths(&word) };
    Completion { start, candidates }
}

fn commands(prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = BUILTINS.iter().filter(|b| b.starts_with(prefix)).map(|b| b.to_string()).collect();
    let path = std::env::var("PATH").unwrap_or_else(|_| "/bin".into());
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let Ok(name) = e.file_name().into_string() else { continue };
            if name.starts_with(prefix) && e.file_type().is_ok_and(|t| !t.is_dir()) {
                out.push(name);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn paths(word: &str) -> Vec<String> {
    let (dir, base) = match word.rfind('/') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    };
    let Ok(entries) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with(base) || (name.starts_with('.') && !base.starts_with('.')) {
                return None;
            }
            let slash = if e.file_type().is_ok_and(|t| t.is_dir()) { "/" } else { "" };
            Some(format!("{dir}{name}{slash}"))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_positions() {
        let c = complete("ech", 3);
        assert_eq!(c.start, 0);
        assert!(c.candidates.contains(&"echo".to_string()), "{:?}", c.candidates);
        // On the host, $PATH adds its own programs to the builtins.
        let c = complete("true; ex", 8);
        assert_eq!(c.start, 6);
        assert!(c.candidates.contains(&"exit".to_string()) && c.candidates.contains(&"export".to_string()));
        assert!(c.replacement().unwrap().starts_with("ex"));
        assert_eq!(complete("cat x | ec", 10).start, 8);
    }

    #[test]
    fn paths_complete_with_slashes() {
        let dir = std::env::temp_dir().join(format!("vireo-sh-comp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("subdir")).unwrap();
        std::fs::write(dir.join("file-one"), "").unwrap();
        std::fs::write(dir.join("file-two"), "").unwrap();
        let base = dir.to_str().unwrap();
        let line = format!("cat {base}/su");
        let c = complete(&line, line.chars().count());
        assert_eq!(c.start, 4);
        assert_eq!(c.replacement(), Some(format!("{base}/subdir/")));
        let line = format!("cat {base}/fi");
        assert_eq!(complete(&line, line.chars().count()).replacement(), Some(format!("{base}/file-")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
