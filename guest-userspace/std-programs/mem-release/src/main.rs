//! `/bin/mem-release [MIB [HOLD_S [ROUNDS]]]`: ROUNDS times (default 1),
//! allocates MIB MiB (default 200), checks it reads as zeros and writes
//! every page, keeps it for TOUCH_HOLD so the host can read the VM's
//! resident memory at its peak (the free and its report take a few ms of
//! guest time, less than a host poll), frees it, then lives on HOLD_S
//! seconds (default 8) so the host can watch the resident memory fall while
//! nothing else happens. With free-page reporting, later rounds get frames the host has
//! discarded, which must read as zeros like any others. Each step is a line:
//!
//! ```text
//! mem-release: touched 200 MiB
//! mem-release: freed 200 MiB
//! mem-release: done
//! ```
//!
//! Exit status 3 when fresh memory was not zero.
use std::process::ExitCode;
use std::time::Duration;

/// How long the touched block is kept before the free: many host polls
/// (50-100 ms each), with room for a loaded host.
const TOUCH_HOLD: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).map_or(Some(default), |a| a.parse().ok());
    let (Some(mib), Some(hold), Some(rounds)) = (num(0, 200), num(1, 8), num(2, 1)) else {
        eprintln!("usage: mem-release [MIB [HOLD_S [ROUNDS]]]");
        return ExitCode::from(2);
    };
    let len = usize::try_from(mib << 20).unwrap_or(usize::MAX);
    for round in 0..rounds {
        let mut block: Vec<u8> = Vec::new();
        if block.try_reserve_exact(len).is_err() {
            eprintln!("mem-release: cannot allocate {mib} MiB");
            return ExitCode::from(1);
        }
        block.resize(len, 0);
        // A write per page makes each one resident (the host backs it
        // too); each page's last word must still be zero.
        let mut dirty = 0u64;
        for page in block.chunks_mut(4096) {
            let n = page.len();
            dirty += u64::from(std::hint::black_box(page[n - 1]) != 0);
            page[0] = std::hint::black_box(round as u8 + 1);
        }
        if dirty != 0 {
            println!("mem-release: {dirty} fresh pages were not zero");
            return ExitCode::from(3);
        }
        let sum: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        println!("mem-release: touched {mib} MiB");
        std::thread::sleep(TOUCH_HOLD);
        drop(block);
        println!("mem-release: freed {mib} MiB (page sum {sum})");
        std::thread::sleep(Duration::from_secs(hold));
    }
    println!("mem-release: done");
    ExitCode::SUCCESS
}
