//! `uptime`: the time, how long since boot, how many processes and CPUs,
//! and how busy the CPUs have been since boot (`SysInfo`, `ProcessList`).
use std::process::ExitCode;

use crate::common::{bad_args, usage_error};
use crate::sysfmt::{percent, time_of_day, up};

pub const USAGE: &str = "usage: uptime\nShows the time (UTC), the time since boot, the number of processes and CPUs, \
and the share of CPU time spent busy since boot.";

pub fn run(args: &[String]) -> ExitCode {
    match crate::args::parse(args, "", "") {
        Err(e) => bad_args("uptime", USAGE, &e),
        Ok(a) if !a.operands.is_empty() => usage_error("uptime", USAGE, "takes no operands"),
        Ok(_) => {
            let info = match vireo_sys::sys_info() {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("uptime: cannot read the system's figures: {}", e.name());
                    return ExitCode::FAILURE;
                }
            };
            let procs = vireo_sys::process_list().map_or(0, |l| l.len());
            println!("{}", line(info.wall_ns, info.boot_ns, procs, info.cpus, info.idle_ns));
            ExitCode::SUCCESS
        }
    }
}

/// ` 15:40:12 up 5 min, 7 processes, 2 CPUs, 3.1% busy` (no clock part
/// without a wall clock).
pub fn line(wall_ns: u64, boot_ns: u64, procs: usize, cpus: u32, idle_ns: u64) -> String {
    let capacity = boot_ns.saturating_mul(u64::from(cpus.max(1)));
    let busy = percent(capacity.saturating_sub(idle_ns), capacity);
    let clock = time_of_day(wall_ns).map_or(String::new(), |t| format!("{t} "));
    let s = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (procs, cpus) = (s(procs, "process", "processes"), s(cpus as usize, "CPU", "CPUs"));
    format!("{clock}up {}, {procs}, {cpus}, {busy}% busy", up(boot_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_everything() {
        let s = 1_000_000_000;
        assert_eq!(
            line(1_709_251_199 * s, 300 * s, 7, 2, 540 * s),
            "23:59:59 up 5 min, 7 processes, 2 CPUs, 10.0% busy"
        );
        assert_eq!(line(0, 42 * s, 1, 1, 0), "up 42 s, 1 process, 1 CPU, 100.0% busy");
    }
}
