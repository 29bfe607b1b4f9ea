//! `ps`: every process the kernel lists (`ProcessList`, docs/abi.md), one
//! line each: pid, parent, state, threads, CPU time, memory, command line.
use std::process::ExitCode;

use crate::common::{bad_args, usage_error};
use crate::sysfmt::{cpu_time, kib};
use vireo_sys::ProcessInfo;

pub const USAGE: &str =
    "usage: ps\nLists processes: PID, parent PID, state (R running or ready, S sleeping, X exiting), \
threads, CPU time (M:SS.cc, user and kernel), resident memory in KiB, and the command line (arguments only for \
processes of your own session; others show their name).";

pub const HEADER: &str = "  PID  PPID S THR     TIME    RSS CMD";

pub fn run(args: &[String]) -> ExitCode {
    match crate::args::parse(args, "", "") {
        Err(e) => bad_args("ps", USAGE, &e),
        Ok(a) if !a.operands.is_empty() => usage_error("ps", USAGE, "takes no operands"),
        Ok(_) => match vireo_sys::process_list() {
            Ok(list) => {
                println!("{HEADER}");
                for p in &list {
                    println!("{}", line(p));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ps: cannot list processes: {}", e.name());
                ExitCode::FAILURE
            }
        },
    }
}

/// One process under [`HEADER`].
pub fn line(p: &ProcessInfo) -> String {
    let state = p.state().map_or('?', |s| s.letter());
    format!(
        "{:5} {:5} {} {:3} {:>8} {:6} {}",
        p.pid,
        p.parent,
        state,
        p.threads,
        cpu_time(p.cpu_ns),
        kib(p.resident_bytes),
        command(p)
    )
}

/// The command line, marked `...` when the kernel truncated it.
pub fn command(p: &ProcessInfo) -> String {
    let text = String::from_utf8_lossy(p.cmdline_bytes()).into_owned();
    if p.cmdline_len as usize > p.cmdline_bytes().len() {
        format!("{text}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vireo_sys::ProcState;

    fn proc(pid: u32, cmd: &[u8], full_len: u32) -> ProcessInfo {
        let mut p = ProcessInfo {
            pid,
            parent: 3,
            state: ProcState::Sleeping as u32,
            threads: 2,
            cpu_ns: 1_500_000_000,
            resident_bytes: 3 << 20,
            cmdline_len: full_len,
            ..ProcessInfo::default()
        };
        p.cmdline[..cmd.len()].copy_from_slice(cmd);
        p
    }

    #[test]
    fn lines_line_up_under_the_header() {
        let l = line(&proc(12, b"sleep 100", 9));
        assert_eq!(l, "   12     3 S   2  0:01.50   3072 sleep 100");
        assert_eq!(l.find("sleep"), HEADER.find("CMD"));
        assert_eq!(l.find("3072").map(|i| i + 4), HEADER.find("RSS").map(|i| i + 3));
    }

    #[test]
    fn truncated_command_lines_say_so() {
        assert_eq!(command(&proc(1, b"cat a", 200)), "cat a...");
        let mut odd = proc(1, b"x", 1);
        odd.state = 99;
        assert!(line(&odd).contains(" ? "));
    }
}
