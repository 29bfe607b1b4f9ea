//! `env [NAME=VALUE...] [COMMAND [ARG...]]`: prints the environment (sorted),
//! or runs COMMAND with the assignments added and gives its status.
use std::io::Write;
use std::process::{Command, ExitCode};

pub const USAGE: &str = "usage: env [NAME=VALUE...] [COMMAND [ARG...]]\n\
Without COMMAND prints the environment as NAME=VALUE lines (sorted); with one runs it with the\n\
assignments added and exits with its status (127 if it cannot be started).";

pub fn run(args: &[String]) -> ExitCode {
    let split = args.iter().position(|a| !a.contains('=')).unwrap_or(args.len());
    let sets: Vec<(&str, &str)> = args[..split].iter().filter_map(|a| a.split_once('=')).collect();
    let Some((cmd, rest)) = args[split..].split_first() else {
        let mut vars: Vec<(String, String)> = std::env::vars().collect();
        for (k, v) in &sets {
            vars.retain(|(n, _)| n != k);
            vars.push((k.to_string(), v.to_string()));
        }
        vars.sort();
        let mut out = std::io::stdout().lock();
        for (k, v) in vars {
            if writeln!(out, "{k}={v}").is_err() {
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    };
    match Command::new(cmd).args(rest).envs(sets).status() {
        Ok(s) => ExitCode::from(s.code().map_or(1, |c| (c & 0xff) as u8)),
        Err(e) => {
            crate::common::fail("env", cmd, &e);
            ExitCode::from(127)
        }
    }
}
