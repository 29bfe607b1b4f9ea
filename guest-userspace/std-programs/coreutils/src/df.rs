//! `df [-h] [-i]`: how full `/` is, from the I/O server's `/sys/fs/root`
//! (the file system's own counters; std has no statfs).
use std::process::ExitCode;

use crate::common::bad_args;
use crate::sysfile;

pub const USAGE: &str = "usage: df [-h] [-i]
Shows the size, used and available space of / (1 KiB blocks; -h: in
K/M/G; -i: inodes instead of blocks).";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "hi", "") {
        Ok(a) => a,
        Err(e) => return bad_args("df", USAGE, &e),
    };
    if let Some(op) = a.operands.first() {
        return crate::common::usage_error("df", USAGE, &format!("unexpected operand '{op}' (only / is mounted)"));
    }
    match sysfile::read("/sys/fs/root", "no /sys/fs/root: the I/O server does not say") {
        Ok(text) => {
            print!("{}", table(&text, a.has('h'), a.has('i')));
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("df: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The header and the line for `/`.
fn table(text: &str, human: bool, inodes: bool) -> String {
    let f = sysfile::fields(text);
    let device = device(sysfile::get(&f, "source"));
    let kind = sysfile::get(&f, "type");
    let (total, free, unit) = if inodes {
        (sysfile::number(&f, "inodes"), sysfile::number(&f, "free_inodes"), 1)
    } else {
        (sysfile::number(&f, "blocks"), sysfile::number(&f, "free_blocks"), sysfile::number(&f, "block_size"))
    };
    let used = total.saturating_sub(free);
    let pct = if total == 0 { 0 } else { (used * 100).div_ceil(total) };
    let show = |n: u64| match (inodes, human) {
        (true, _) => n.to_string(),
        (false, true) => human_size(n * unit),
        (false, false) => (n * unit / 1024).to_string(),
    };
    let size_col = match (inodes, human) {
        (true, _) => "Inodes",
        (false, true) => "Size",
        (false, false) => "1K-blocks",
    };
    let (used_col, free_col) = if inodes { ("IUsed", "IFree") } else { ("Used", "Available") };
    format!(
        "{:<12} {:<6} {:>10} {:>10} {:>10} {:>4} Mounted on\n{:<12} {:<6} {:>10} {:>10} {:>10} {:>3}% /\n",
        "Filesystem",
        "Type",
        size_col,
        used_col,
        free_col,
        if inodes { "IUse" } else { "Use%" },
        device,
        kind,
        show(total),
        show(used),
        show(free),
        pct
    )
}

/// `virtio-blk` from "ext4 on virtio-blk (MMIO), 64 MiB, read-write" (one
/// word: the column has no blanks); `initrd` for the initrd.
fn device(source: &str) -> &str {
    let dev = match source.split_once(" on ") {
        Some((_, rest)) => rest.split(',').next().unwrap_or(rest),
        None => source.split(',').next().unwrap_or(source),
    };
    dev.split(' ').next().unwrap_or(dev)
}

/// 1024-based, one decimal below 10: `64M`, `1.5K`, `12G`.
pub fn human_size(bytes: u64) -> String {
    let mut v = bytes as f64;
    let mut unit = "";
    for next in ["K", "M", "G", "T"] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = next;
    }
    match unit {
        "" => bytes.to_string(),
        _ if v < 10.0 => format!("{v:.1}{unit}"),
        _ => format!("{v:.0}{unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str =
        "source ext4 on virtio-blk (MMIO), 64 MiB, read-write\ntype ext4\nread_only 0\nblock_size 4096\n\
        blocks 16384\nfree_blocks 12288\ninodes 16384\nfree_inodes 16000\n";

    #[test]
    fn blocks_inodes_and_human_sizes() {
        let t = table(ROOT, false, false);
        let line = t.lines().nth(1).unwrap();
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols, ["virtio-blk", "ext4", "65536", "16384", "49152", "25%", "/"]);
        let cols: Vec<String> =
            table(ROOT, true, false).lines().nth(1).unwrap().split_whitespace().map(String::from).collect();
        assert_eq!(cols[2..5], ["64M", "16M", "48M"]);
        let cols: Vec<String> =
            table(ROOT, false, true).lines().nth(1).unwrap().split_whitespace().map(String::from).collect();
        assert_eq!(cols[2..6], ["16384", "384", "16000", "3%"]);
        assert!(table(ROOT, false, true).starts_with("Filesystem"));
        assert_eq!(device("initrd, 900 KiB, read-only"), "initrd");
        assert_eq!((human_size(0), human_size(1536), human_size(10 << 30)), ("0".into(), "1.5K".into(), "10G".into()));
    }
}
