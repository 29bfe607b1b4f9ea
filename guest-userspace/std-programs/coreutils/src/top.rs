//! `top`: a full-screen view redrawn every `-d` seconds (VT100: home, draw,
//! erase the rest): memory, each CPU's busy/idle/steal share and each
//! process's CPU share and memory over the last interval (the first frame:
//! since boot, or since each process started). `-n COUNT` stops after COUNT
//! frames (for scripts); `q` or Ctrl-C quits.
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{bad_args, usage_error};
use crate::sysfmt::{cpu_time, interval, kib, percent, time_of_day, up};
use vireo_sys::{CpuStats, ProcessInfo, SysInfo};

pub const USAGE: &str = "usage: top [-d SECONDS] [-n COUNT]\nShows memory, per-CPU busy/idle/steal and per-process \
CPU and memory, redrawn every SECONDS (default 2; at least 0.1); -n stops after COUNT screens; q or Ctrl-C quits.";

/// Process rows drawn at most (a 24-line terminal holds the rest of a screen).
const MAX_ROWS: usize = 14;

/// One reading of everything a frame shows.
pub struct Sample {
    pub info: SysInfo,
    pub cpus: Vec<CpuStats>,
    pub procs: Vec<ProcessInfo>,
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "dn") {
        Err(e) => return bad_args("top", USAGE, &e),
        Ok(a) if !a.operands.is_empty() => return usage_error("top", USAGE, "takes no operands"),
        Ok(a) => a,
    };
    let Some(delay) = a.value('d').map_or(Some(Duration::from_secs(2)), interval) else {
        return usage_error("top", USAGE, "-d wants a number of seconds from 0.1 to 86400");
    };
    let count = match a.value('n').map(|n| n.parse::<u64>().ok().filter(|&n| n > 0)) {
        None => u64::MAX,
        Some(Some(n)) => n,
        Some(None) => return usage_error("top", USAGE, "-n wants a positive count"),
    };
    let keys = key_reader();
    let mut last: Option<Sample> = None;
    for frame in 0..count {
        let now = match sample() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("top: cannot read the system's figures: {}", e.name());
                return ExitCode::FAILURE;
            }
        };
        print!("\x1b[H{}\x1b[J", screen(last.as_ref(), &now, delay));
        last = Some(now);
        if frame + 1 == count {
            break;
        }
        if let Ok(b'q' | b'Q' | 0x03) = keys.recv_timeout(delay) {
            break;
        }
    }
    ExitCode::SUCCESS
}

fn sample() -> Result<Sample, vireo_sys::Error> {
    Ok(Sample { info: vireo_sys::sys_info()?, cpus: vireo_sys::all_cpu_stats()?, procs: vireo_sys::process_list()? })
}

/// Keys typed on the console, read raw by a thread of their own (its read
/// blocks; it ends with the process). None arrive off Vireo.
fn key_reader() -> mpsc::Receiver<u8> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        while let Ok(n @ 1..) = vireo_sys::console_read_raw(&mut buf) {
            if buf[..n].iter().any(|&b| tx.send(b).is_err()) {
                return;
            }
        }
    });
    rx
}

/// One frame's text, each line ended with erase-to-end-of-line and CR LF.
pub fn screen(before: Option<&Sample>, now: &Sample, delay: Duration) -> String {
    let mut out = Vec::new();
    let clock = time_of_day(now.info.wall_ns).map_or(String::new(), |t| format!("{t} "));
    out.push(format!(
        "top - {clock}up {}, {} processes, {} CPUs, every {:.1} s (q quits)",
        up(now.info.boot_ns),
        now.procs.len(),
        now.cpus.len(),
        delay.as_secs_f64()
    ));
    let (total, free) = (now.info.total_memory, now.info.free_memory);
    out.push(format!(
        "Mem: {} KiB total, {} KiB used, {} KiB free",
        kib(total),
        kib(total.saturating_sub(free)),
        kib(free)
    ));
    out.push(String::new());
    out.push("CPU    BUSY%  IDLE%  STEAL%".into());
    let elapsed = now.info.boot_ns.saturating_sub(before.map_or(0, |b| b.info.boot_ns));
    for (i, c) in now.cpus.iter().enumerate() {
        let b = before.and_then(|b| b.cpus.get(i)).copied().unwrap_or_default();
        out.push(cpu_row(i, &b, c, elapsed));
    }
    out.push(String::new());
    out.push("  PID  PPID S THR  CPU%    RSS     TIME CMD".into());
    let mut rows: Vec<(u64, &ProcessInfo)> = now
        .procs
        .iter()
        .map(|p| {
            let prev = before.and_then(|b| b.procs.iter().find(|q| q.pid == p.pid));
            let (used, span) = match prev {
                Some(q) => (p.cpu_ns.saturating_sub(q.cpu_ns), elapsed),
                None => (p.cpu_ns, now.info.boot_ns.saturating_sub(p.start_ns)),
            };
            // Per mille, for sorting and printing with one decimal.
            (used.saturating_mul(1000).checked_div(span).unwrap_or(0), p)
        })
        .collect();
    rows.sort_by_key(|&(share, p)| (std::cmp::Reverse(share), p.pid));
    for (share, p) in rows.into_iter().take(MAX_ROWS) {
        out.push(format!(
            "{:5} {:5} {} {:3} {:>5} {:6} {:>8} {}",
            p.pid,
            p.parent,
            p.state().map_or('?', |s| s.letter()),
            p.threads,
            format!("{}.{}", share / 10, share % 10),
            kib(p.resident_bytes),
            cpu_time(p.cpu_ns),
            crate::ps::command(p)
        ));
    }
    // CR LF: the console passes bytes as they are, and a raw terminal needs both.
    out.iter().map(|l| format!("{l}\x1b[K\r\n")).collect()
}

/// `cpu0    12.5   87.5    0.0` over `elapsed` ns between two readings.
pub fn cpu_row(index: usize, before: &CpuStats, now: &CpuStats, elapsed: u64) -> String {
    let idle = now.idle_ns.saturating_sub(before.idle_ns).min(elapsed);
    let steal = now.steal_ns.saturating_sub(before.steal_ns).min(elapsed - idle);
    let busy = elapsed - idle - steal;
    format!(
        "{:<6}{:>6} {:>6} {:>7}",
        format!("cpu{index}"),
        percent(busy, elapsed),
        percent(idle, elapsed),
        percent(steal, elapsed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vireo_sys::ProcState;

    fn proc(pid: u32, cpu_ns: u64, start_ns: u64) -> ProcessInfo {
        let mut p = ProcessInfo {
            pid,
            parent: 1,
            state: ProcState::Running as u32,
            threads: 1,
            cpu_ns,
            resident_bytes: 8192,
            start_ns,
            cmdline_len: 4,
            ..ProcessInfo::default()
        };
        p.cmdline[..4].copy_from_slice(b"spin");
        p
    }

    fn sample(boot_ns: u64, idle: u64, procs: Vec<ProcessInfo>) -> Sample {
        let info = SysInfo { cpus: 1, total_memory: 1 << 30, free_memory: 1 << 29, boot_ns, ..SysInfo::default() };
        Sample { info, cpus: vec![CpuStats { idle_ns: idle, steal_ns: idle / 10, ..CpuStats::default() }], procs }
    }

    #[test]
    fn cpu_rows_split_the_interval() {
        let before = CpuStats { idle_ns: 100, steal_ns: 10, ..CpuStats::default() };
        let now = CpuStats { idle_ns: 850, steal_ns: 60, ..CpuStats::default() };
        assert_eq!(cpu_row(1, &before, &now, 1000), "cpu1    20.0   75.0     5.0");
        // Counters that ran ahead of the clock never give a share over 100%.
        let wild = CpuStats { idle_ns: 5000, steal_ns: 5000, ..CpuStats::default() };
        assert_eq!(cpu_row(0, &CpuStats::default(), &wild, 1000), "cpu0     0.0  100.0     0.0");
        assert_eq!(cpu_row(0, &CpuStats::default(), &wild, 0), "cpu0     0.0    0.0     0.0");
    }

    #[test]
    fn frames_show_shares_over_the_interval_busiest_first() {
        let s = 1_000_000_000;
        let first = sample(10 * s, 5 * s, vec![proc(2, s, 8 * s), proc(5, 0, 9 * s)]);
        let second = sample(12 * s, 6 * s, vec![proc(2, 2 * s, 8 * s), proc(5, s, 9 * s)]);
        let text = screen(Some(&first), &second, Duration::from_secs(2));
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches("\x1b[K")).collect();
        assert!(lines[0].starts_with("top - up 12 s, 2 processes, 1 CPUs, every 2.0 s"), "{}", lines[0]);
        assert_eq!(lines[1], "Mem: 1048576 KiB total, 524288 KiB used, 524288 KiB free");
        assert_eq!(lines[4], "cpu0    45.0   50.0     5.0");
        assert_eq!(lines[7], "    2     1 R   1  50.0      8  0:02.00 spin");
        assert_eq!(lines[8], "    5     1 R   1  50.0      8  0:01.00 spin");
        // The first frame: each process's share since it started.
        let text = screen(None, &first, Duration::from_secs(2));
        assert!(text.contains("    2     1 R   1  50.0      8  0:01.00 spin"), "{text}");
    }
}
