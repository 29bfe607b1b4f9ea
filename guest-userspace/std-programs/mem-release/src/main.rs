//! `/bin/mem-release [MIB [HOLD_S]]`: allocates MIB MiB (default 200),
//! writes every page of it, frees it, then lives on HOLD_S seconds
//! (default 8) so the host can watch the VM's resident memory fall while
//! nothing else happens. It says each step on a line of its own:
//!
//! ```text
//! mem-release: touched 200 MiB
//! mem-release: freed 200 MiB
//! mem-release: done
//! ```
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).map_or(Some(default), |a| a.parse().ok());
    let (Some(mib), Some(hold)) = (num(0, 200), num(1, 8)) else {
        eprintln!("usage: mem-release [MIB [HOLD_S]]");
        return ExitCode::from(2);
    };
    let len = usize::try_from(mib << 20).unwrap_or(usize::MAX);
    let mut block: Vec<u8> = Vec::new();
    if block.try_reserve_exact(len).is_err() {
        eprintln!("mem-release: cannot allocate {mib} MiB");
        return ExitCode::from(1);
    }
    block.resize(len, 0);
    // A write per page makes each one resident (the host backs it too),
    // whether or not the allocator already zeroed it.
    for page in block.chunks_mut(4096) {
        page[0] = std::hint::black_box(1);
    }
    let sum: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    println!("mem-release: touched {mib} MiB");
    drop(block);
    println!("mem-release: freed {mib} MiB ({sum} pages written)");
    std::thread::sleep(Duration::from_secs(hold));
    println!("mem-release: done");
    ExitCode::SUCCESS
}
