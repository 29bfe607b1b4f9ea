//! `echo [-n] [WORD...]`: the words, separated by spaces, and a newline
//! unless `-n`. No escapes; other words starting with `-` are text.
use std::io::Write;
use std::process::ExitCode;

pub const USAGE: &str =
    "usage: echo [-n] [WORD...]\nPrints the WORDs separated by spaces, then a newline (none with -n).";

pub fn run(args: &[String]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(line(args).as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn line(args: &[String]) -> String {
    let newline = args.first().is_none_or(|a| a != "-n");
    let words = if newline { args } else { &args[1..] };
    let mut s = words.join(" ");
    if newline {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_joined_and_n_drops_the_newline() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(line(&v(&["a", "b c"])), "a b c\n");
        assert_eq!(line(&v(&["-n", "a"])), "a");
        assert_eq!(line(&v(&["a", "-n"])), "a -n\n");
        assert_eq!(line(&[]), "\n");
    }
}
