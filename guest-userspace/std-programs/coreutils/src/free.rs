//! `free`: the machine's memory as the kernel counts it (`SysInfo`):
//! total, used (by programs and the kernel) and free frames.
use std::process::ExitCode;

use crate::common::{bad_args, usage_error};
use crate::sysfmt::{human, kib};

pub const USAGE: &str = "usage: free [-k|-m|-h]\nShows total, used and free memory in KiB (-k, the default), MiB \
(-m) or units for people (-h).";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Kib,
    Mib,
    Human,
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "kmh", "") {
        Err(e) => return bad_args("free", USAGE, &e),
        Ok(a) if !a.operands.is_empty() => return usage_error("free", USAGE, "takes no operands"),
        Ok(a) => a,
    };
    let unit = if a.has('h') {
        Unit::Human
    } else if a.has('m') {
        Unit::Mib
    } else {
        Unit::Kib
    };
    match vireo_sys::sys_info() {
        Ok(i) => {
            print!("{}", table(i.total_memory, i.free_memory, unit));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("free: cannot read memory figures: {}", e.name());
            ExitCode::FAILURE
        }
    }
}

/// The header and the `Mem:` line.
pub fn table(total: u64, free: u64, unit: Unit) -> String {
    let used = total.saturating_sub(free);
    let f = |b: u64| match unit {
        Unit::Kib => kib(b).to_string(),
        Unit::Mib => (b >> 20).to_string(),
        Unit::Human => human(b),
    };
    format!(
        "{:>5}{:>12}{:>12}{:>12}\nMem: {:>12}{:>12}{:>12}\n",
        "",
        "total",
        "used",
        "free",
        f(total),
        f(used),
        f(free)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_in_every_unit() {
        let t = table(256 << 20, 200 << 20, Unit::Kib);
        assert_eq!(t, "            total        used        free\nMem:       262144       57344      204800\n");
        assert!(table(256 << 20, 200 << 20, Unit::Mib).contains("         256          56         200"));
        assert!(table(256 << 20, 300 << 20, Unit::Human).contains("256.0M          0B      300.0M"));
    }
}
