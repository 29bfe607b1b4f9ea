//! `coreutils`: small tools in one program, picked by the name it was run
//! as (`/bin/cat` is a copy of it) or by its first argument
//! (`coreutils cat FILE`). Each takes `--help`; an unknown flag is status 2
//! with the usage line, a failed operand `tool: OPERAND: reason` and status 1.
//! Plain std, except `ps`, `top`, `free`, `uptime` and `kill`, which ask
//! the kernel through `vireo-sys`; the unit tests run on the host
//! (`make test-coreutils`).
use std::process::ExitCode;

mod args;
mod cat;
mod common;
mod cp;
mod date;
mod df;
mod echo;
mod env;
mod fetch;
mod free;
mod grep;
mod head;
mod hexdump;
mod http;
mod ip;
mod kill;
mod ls;
mod mkdir;
mod mv;
mod ping;
mod ps;
mod pwd;
mod regex;
mod rm;
mod rmdir;
mod sleep;
mod sysfile;
mod sysfmt;
mod tail;
mod top;
mod touch;
mod uptime;
mod wc;

struct Tool {
    name: &'static str,
    usage: &'static str,
    run: fn(&[String]) -> ExitCode,
}

const TOOLS: &[Tool] = &[
    Tool { name: "cat", usage: cat::USAGE, run: cat::run },
    Tool { name: "cp", usage: cp::USAGE, run: cp::run },
    Tool { name: "date", usage: date::USAGE, run: date::run },
    Tool { name: "df", usage: df::USAGE, run: df::run },
    Tool { name: "echo", usage: echo::USAGE, run: echo::run },
    Tool { name: "env", usage: env::USAGE, run: env::run },
    Tool { name: "fetch", usage: fetch::USAGE, run: fetch::run },
    Tool { name: "free", usage: free::USAGE, run: free::run },
    Tool { name: "grep", usage: grep::USAGE, run: grep::run },
    Tool { name: "head", usage: head::USAGE, run: head::run },
    Tool { name: "hexdump", usage: hexdump::USAGE, run: hexdump::run },
    Tool { name: "ip", usage: ip::USAGE, run: ip::run },
    Tool { name: "kill", usage: kill::USAGE, run: kill::run },
    Tool { name: "ls", usage: ls::USAGE, run: ls::run },
    Tool { name: "mkdir", usage: mkdir::USAGE, run: mkdir::run },
    Tool { name: "mv", usage: mv::USAGE, run: mv::run },
    Tool { name: "ping", usage: ping::USAGE, run: ping::run },
    Tool { name: "ps", usage: ps::USAGE, run: ps::run },
    Tool { name: "pwd", usage: pwd::USAGE, run: pwd::run },
    Tool { name: "rm", usage: rm::USAGE, run: rm::run },
    Tool { name: "rmdir", usage: rmdir::USAGE, run: rmdir::run },
    Tool { name: "sleep", usage: sleep::USAGE, run: sleep::run },
    Tool { name: "tail", usage: tail::USAGE, run: tail::run },
    Tool { name: "top", usage: top::USAGE, run: top::run },
    Tool { name: "touch", usage: touch::USAGE, run: touch::run },
    Tool { name: "uptime", usage: uptime::USAGE, run: uptime::run },
    Tool { name: "wc", usage: wc::USAGE, run: wc::run },
];

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    if args.first().map(|a| base(a)) == Some("coreutils") {
        args.remove(0);
    }
    let Some(name) = args.first().map(|a| base(a).to_string()) else {
        return usage();
    };
    if name == "--help" {
        println!("{}", summary());
        return ExitCode::SUCCESS;
    }
    let Some(tool) = TOOLS.iter().find(|t| t.name == name) else {
        eprintln!("coreutils: {name}: no such tool");
        return usage();
    };
    let rest = &args[1..];
    if wants_help(&name, rest) {
        println!("{}", tool.usage);
        return ExitCode::SUCCESS;
    }
    (tool.run)(rest)
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `--help` among the flags; for `echo` and `env`, whose later words are
/// text or a command, only as the first argument.
fn wants_help(tool: &str, args: &[String]) -> bool {
    if matches!(tool, "echo" | "env") {
        return args.first().is_some_and(|a| a == "--help");
    }
    args.iter().take_while(|a| *a != "--").any(|a| a == "--help")
}

fn summary() -> String {
    let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
    format!("usage: coreutils TOOL [ARGS...] (or run it as TOOL); tools: {}", names.join(" "))
}

fn usage() -> ExitCode {
    eprintln!("{}", summary());
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_a_flag_except_where_words_are_text() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(wants_help("ls", &v(&["-l", "--help"])));
        assert!(!wants_help("ls", &v(&["--", "--help"])));
        assert!(wants_help("echo", &v(&["--help"])));
        assert!(!wants_help("echo", &v(&["hi", "--help"])));
        assert!(!wants_help("env", &v(&["sh", "--help"])));
    }

    #[test]
    fn every_tool_has_a_usage_line_naming_it() {
        for t in TOOLS {
            assert!(t.usage.starts_with(&format!("usage: {}", t.name)), "{}", t.name);
        }
    }
}
