//! `kill PID...`: ends processes by pid (`KillPid`, docs/abi.md). Vireo has
//! no signals: every kill is final (the process's status is the kernel's
//! "killed"), so `-9` and `-KILL` are accepted and change nothing.
use std::process::ExitCode;

use crate::common::{status, usage_error};
use vireo_sys::Error;

pub const USAGE: &str =
    "usage: kill [-9|-KILL] PID...\nEnds each process PID. A process may end only processes of its \
own session (what its shell started, and the shell); init and the I/O server are out of reach.";

pub fn run(args: &[String]) -> ExitCode {
    let pids: Vec<&String> = args.iter().filter(|a| !matches!(a.as_str(), "-9" | "-KILL" | "-s" | "KILL")).collect();
    if let Some(bad) = pids.iter().find(|a| a.starts_with('-') && a.len() > 1) {
        return usage_error("kill", USAGE, &format!("invalid option or signal '{bad}' (only KILL)"));
    }
    if pids.is_empty() {
        return usage_error("kill", USAGE, "expected a PID");
    }
    let mut ok = true;
    for a in pids {
        let result = parse_pid(a).ok_or(Error::Invalid).and_then(vireo_sys::kill_pid);
        if let Err(e) = result {
            eprintln!("kill: {a}: {}", reason(e));
            ok = false;
        }
    }
    status(ok)
}

/// A pid: a decimal number from 1 to u32::MAX.
pub fn parse_pid(s: &str) -> Option<u32> {
    s.parse::<u32>().ok().filter(|&p| p != 0 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// The usual words for why a kill failed.
pub fn reason(e: Error) -> &'static str {
    match e {
        Error::Invalid => "not a process id",
        Error::NotFound => "No such process",
        Error::AccessDenied => "Operation not permitted",
        e => e.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_plain_positive_numbers() {
        assert_eq!(parse_pid("42"), Some(42));
        assert_eq!(parse_pid("4294967295"), Some(u32::MAX));
        for bad in ["0", "-1", "+3", "x", "4294967296", "", " 1"] {
            assert_eq!(parse_pid(bad), None, "{bad}");
        }
        assert_eq!(reason(Error::AccessDenied), "Operation not permitted");
        assert_eq!(reason(Error::NotFound), "No such process");
    }
}
