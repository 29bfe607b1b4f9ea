//! `/bin/sh`: Vireo's shell (docs/shell.md).
//!
//! `sh FILE [ARGS]` runs a script, `sh -c TEXT [NAME ARGS]` a command line;
//! with neither it reads commands from stdin: on the console with a line
//! editor (history, completion), from anything else line by line. A std
//! program; only `console.rs` calls Vireo directly.

mod builtins;
mod complete;
mod console;
mod editor;
mod exec;
mod expand;
mod glob;
mod interactive;
mod parse;
mod wiring;

use exec::Shell;
use std::io::{BufRead, IsTerminal};

const USAGE: &str = "usage: sh [FILE [ARGS...] | -c COMMANDS [NAME [ARGS...]]]
Runs COMMANDS, the script FILE, or (with neither) commands from stdin;
interactive on the console. `help` lists the builtins; docs/shell.md.";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if std::env::var_os("PATH").is_none() {
        std::env::set_var("PATH", "/bin");
    }
    let code = match args.get(1).map(String::as_str) {
        Some("--help" | "-h") => {
            println!("{USAGE}");
            0
        }
        Some("-c") => match args.get(2) {
            Some(text) => {
                let positional = if args.len() > 3 { args[3..].to_vec() } else { vec![args[0].clone()] };
                let mut sh = Shell::new(positional, false);
                sh.run_text(text);
                sh.exit.unwrap_or(sh.status)
            }
            None => {
                eprintln!("sh: -c: option requires an argument\n{USAGE}");
                2
            }
        },
        Some(file) => match std::fs::read_to_string(file) {
            Ok(text) => {
                let mut sh = Shell::new(args[1..].to_vec(), false);
                sh.run_text(&text);
                sh.exit.unwrap_or(sh.status)
            }
            Err(e) => {
                eprintln!("sh: {file}: {}", error_text(&e));
                NOT_READABLE
            }
        },
        None if std::io::stdin().is_terminal() => interactive::run(Shell::new(vec![args[0].clone()], true)),
        None => {
            let mut sh = Shell::new(vec![args[0].clone()], false);
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                sh.run_text(&line);
                if sh.exit.is_some() {
                    break;
                }
            }
            sh.exit.unwrap_or(sh.status)
        }
    };
    std::process::exit(code);
}

/// `$?` when the script cannot be read (as other shells do).
const NOT_READABLE: i32 = 127;

/// An I/O error in words, without std's "(os error N)".
pub fn error_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "No such file or directory".into(),
        PermissionDenied => "Permission denied".into(),
        AlreadyExists => "File exists".into(),
        NotADirectory => "Not a directory".into(),
        IsADirectory => "Is a directory".into(),
        DirectoryNotEmpty => "Directory not empty".into(),
        _ => e.to_string(),
    }
}
