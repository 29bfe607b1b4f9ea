//! Globbing: `*` (any run of characters) and `?` (one character) in a word's
//! unquoted parts, matched against directory entries one path component at
//! a time. Names starting with `.` match only a pattern starting with `.`.
//! A pattern that matches nothing stays as written (POSIX sh).
use std::path::Path;

/// One pattern character: a wildcard only when it was unquoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pat {
    Char(char),
    Any,
    One,
}

pub fn has_wildcard(pat: &[Pat]) -> bool {
    pat.iter().any(|p| matches!(p, Pat::Any | Pat::One))
}

/// Whether `name` matches `pat` (iterative, with backtracking to the last `*`).
pub fn matches(pat: &[Pat], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(Pat::Any) => {
                star = Some((p, n));
                p += 1;
            }
            Some(Pat::One) => {
                p += 1;
                n += 1;
            }
            Some(Pat::Char(c)) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|c| *c == Pat::Any)
}

/// The paths `pat` names, sorted; empty when none (or no wildcard).
pub fn expand(pat: &[Pat]) -> Vec<String> {
    if !has_wildcard(pat) {
        return Vec::new();
    }
    let absolute = pat.first() == Some(&Pat::Char('/'));
    let comps: Vec<&[Pat]> = pat.split(|p| *p == Pat::Char('/')).filter(|c| !c.is_empty()).collect();
    let mut found = vec![if absolute { "/".to_string() } else { String::new() }];
    for comp in comps {
        let mut next = Vec::new();
        let literal = !has_wildcard(comp);
        for base in &found {
            let dir = if base.is_empty() { "." } else { base.as_str() };
            if literal {
                let name: String = comp.iter().map(|p| if let Pat::Char(c) = p { *c } else { '?' }).collect();
                let path = join(base, &name);
                if Path::new(&path).symlink_metadata().is_ok() {
                    next.push(path);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            let mut names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
            names.sort();
            for name in names {
                let hidden_ok = comp.first() == Some(&Pat::Char('.'));
                if (name.starts_with('.') && !hidden_ok) || !matches(comp, &name) {
                    continue;
                }
                next.push(join(base, &name));
            }
        }
        found = next;
        if found.is_empty() {
            break;
        }
    }
    // A trailing `/` in the pattern keeps only directories.
    if pat.last() == Some(&Pat::Char('/')) {
        found.retain(|p| Path::new(p).is_dir());
        found.iter_mut().for_each(|p| p.push('/'));
    }
    found
}

fn join(base: &str, name: &str) -> String {
    match base {
        "" => name.to_string(),
        b if b.ends_with('/') => format!("{b}{name}"),
        b => format!("{b}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Vec<Pat> {
        s.chars()
            .map(|c| match c {
                '*' => Pat::Any,
                '?' => Pat::One,
                c => Pat::Char(c),
            })
            .collect()
    }

    #[test]
    fn matching() {
        assert!(matches(&pat("*.txt"), "a.txt"));
        assert!(matches(&pat("*.txt"), ".txt"));
        assert!(!matches(&pat("*.txt"), "a.txt2"));
        assert!(matches(&pat("a?c"), "abc"));
        assert!(!matches(&pat("a?c"), "ac"));
        assert!(matches(&pat("*a*b*"), "xxaybzz"));
        assert!(matches(&pat("*"), ""));
        assert!(!matches(&pat("?"), ""));
        assert!(matches(&pat("é?"), "éé"));
    }

    #[test]
    fn expanding_in_a_directory() {
        let dir = std::env::temp_dir().join(format!("vireo-sh-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["a.txt", "b.txt", "c.log", ".hidden.txt", "sub/d.txt"] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        let base = dir.to_str().unwrap();
        let got = expand(&pat(&format!("{base}/*.txt")));
        assert_eq!(got, vec![format!("{base}/a.txt"), format!("{base}/b.txt")]);
        assert_eq!(expand(&pat(&format!("{base}/?.log"))), vec![format!("{base}/c.log")]);
        assert_eq!(expand(&pat(&format!("{base}/*/d.txt"))), vec![format!("{base}/sub/d.txt")]);
        assert_eq!(expand(&pat(&format!("{base}/.h*"))), vec![format!("{base}/.hidden.txt")]);
        assert!(expand(&pat(&format!("{base}/*.none"))).is_empty());
        assert_eq!(expand(&pat(&format!("{base}/*/"))), vec![format!("{base}/sub/")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
