//! Command-line flags the way the tools take them: short flags, combinable
//! (`-la`), a value flag with its value joined or next (`-n5`, `-n 5`),
//! flags before or after operands, `--` ends the flags and `-` alone is an
//! operand (stdin).

/// The parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    flags: Vec<char>,
    values: Vec<(char, String)>,
    pub operands: Vec<String>,
}

/// Why a command line was refused (the tool exits 2 with its usage).
#[derive(Debug, PartialEq, Eq)]
pub enum ArgError {
    Unknown(char),
    UnknownLong(String),
    MissingValue(char),
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgError::Unknown(c) => write!(f, "invalid option -- '{c}'"),
            ArgError::UnknownLong(s) => write!(f, "unrecognized option '{s}'"),
            ArgError::MissingValue(c) => write!(f, "option requires an argument -- '{c}'"),
        }
    }
}

impl Args {
    /// Whether flag `c` was given.
    pub fn has(&self, c: char) -> bool {
        self.flags.contains(&c)
    }

    /// The last value given for value flag `c`.
    pub fn value(&self, c: char) -> Option<&str> {
        self.values.iter().rev().find(|(f, _)| *f == c).map(|(_, v)| v.as_str())
    }
}

/// Parses `args` (without the program name): `flags` are the plain flags the
/// tool knows, `valued` the ones that take a value.
pub fn parse(args: &[String], flags: &str, valued: &str) -> Result<Args, ArgError> {
    let mut out = Args::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.operands.extend(it.cloned());
            break;
        }
        if a.starts_with("--") {
            return Err(ArgError::UnknownLong(a.clone()));
        }
        let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) else {
            out.operands.push(a.clone());
            continue;
        };
        for (i, c) in cluster.char_indices() {
            if valued.contains(c) {
                let rest = &cluster[i + c.len_utf8()..];
                let v =
                    if rest.is_empty() { it.next().cloned().ok_or(ArgError::MissingValue(c))? } else { rest.into() };
                out.values.push((c, v));
                break;
            }
            if !flags.contains(c) {
                return Err(ArgError::Unknown(c));
            }
            out.flags.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str, flags: &str, valued: &str) -> Result<Args, ArgError> {
        let v: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&v, flags, valued)
    }

    #[test]
    fn combined_and_separate_flags_and_operands_in_any_order() {
        let a = p("-la /x -r /y", "lar", "").unwrap();
        assert!(a.has('l') && a.has('a') && a.has('r') && !a.has('f'));
        assert_eq!(a.operands, ["/x", "/y"]);
    }

    #[test]
    fn values_joined_or_next() {
        assert_eq!(p("-n5 f", "", "n").unwrap().value('n'), Some("5"));
        let a = p("-vn 3 f", "v", "n").unwrap();
        assert_eq!((a.has('v'), a.value('n')), (true, Some("3")));
        assert_eq!(a.operands, ["f"]);
        assert_eq!(p("-n", "", "n"), Err(ArgError::MissingValue('n')));
    }

    #[test]
    fn double_dash_and_lone_dash_are_operands() {
        let a = p("- -- -l --x", "l", "").unwrap();
        assert!(!a.has('l'));
        assert_eq!(a.operands, ["-", "-l", "--x"]);
    }

    #[test]
    fn unknown_flags_are_refused() {
        assert_eq!(p("-lz", "l", ""), Err(ArgError::Unknown('z')));
        assert_eq!(p("--long", "l", ""), Err(ArgError::UnknownLong("--long".into())));
        assert_eq!(ArgError::Unknown('z').to_string(), "invalid option -- 'z'");
    }
}
