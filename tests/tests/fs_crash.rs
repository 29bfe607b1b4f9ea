//! Crash safety (issue 11): `/bin/fs-crash` appends numbered 4 KiB records to
//! `/crash/log` on a private copy of the disk, `sync_all`ing each and
//! printing `synced <i>` after; the host SIGKILLs QEMU at a random moment
//! after the first `synced`. Then `e2fsck -fy` replays the journal (and must
//! repair nothing else), `e2fsck -fn` must be clean, and every record up to
//! the last `synced` seen must be in the log (read on the host with debugfs;
//! every few iterations also by booting `fs-crash check`).
//!
//! 20 iterations here; 100 with
//! `cargo test --release -p vireo-tests --test fs_crash -- --ignored`.
//! The kill moments come from a seed: `VIREO_CRASH_SEED` if set, a fixed one
//! under CI, else the clock; it is printed for replay.
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vireo_tests::disk::{assert_fsck_clean, debugfs, e2fs, program, text, DiskCopy};
use vireo_tests::{Machine, Qemu};

const RECORD: usize = 4096;
/// The kill comes this long (at most) after the first `synced` line.
const MAX_KILL_DELAY_MS: u64 = 1_500;
/// Boot and mount must reach the first `synced` within this.
const FIRST_SYNC_TIMEOUT: Duration = Duration::from_secs(120);
/// Every CHECK_BOOT_EVERY-th iteration also boots `fs-crash check`.
const CHECK_BOOT_EVERY: u32 = 10;
const CI_SEED: u64 = 0xc4a5_4f00;

/// Record i as fs-crash writes it (must match
/// guest-userspace/std-programs/fs-crash/src/main.rs).
fn record(i: u64) -> Vec<u8> {
    let mut r = vec![0u8; RECORD];
    r[..8].copy_from_slice(&i.to_le_bytes());
    for (k, b) in r.iter_mut().enumerate().skip(8) {
        *b = (i.wrapping_mul(131) as usize ^ k.wrapping_mul(7) ^ (k >> 8)) as u8 | 1;
    }
    r
}

fn seed() -> u64 {
    match std::env::var("VIREO_CRASH_SEED").ok().filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let s = s.trim();
            s.strip_prefix("0x").map_or_else(|| s.parse(), |h| u64::from_str_radix(h, 16)).expect("VIREO_CRASH_SEED")
        }
        None if std::env::var_os("CI").is_some() => CI_SEED,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    }
}

/// xorshift64*: the kill delays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// What one killed run printed.
struct Killed {
    last_synced: Option<u64>,
    output: String,
    delay_ms: u64,
}

/// Boots fs-crash on `disk`, waits for the first `synced`, then `delay_ms`
/// more, SIGKILLs QEMU and reads what it had printed until then.
fn run_and_kill(disk: &DiskCopy, delay_ms: u64) -> Killed {
    let q = Qemu::new(Machine::Microvm)
        .cpus(2)
        .with_initrd()
        .with_disk(&disk.path, false)
        .cmdline(&program("/bin/fs-crash"));
    let mut cmd = q.command();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start QEMU");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut output = String::new();
    let mut last_synced = None;
    let note = |l: &str, output: &mut String, last: &mut Option<u64>| {
        output.push_str(l);
        output.push('\n');
        if let Some(n) = l.trim_end().strip_prefix("synced ").and_then(|n| n.parse::<u64>().ok()) {
            *last = Some(n);
        }
    };
    let start = Instant::now();
    while last_synced.is_none() {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => note(&l, &mut output, &mut last_synced),
            Err(mpsc::RecvTimeoutError::Timeout) if start.elapsed() < FIRST_SYNC_TIMEOUT => {
                if let Ok(Some(st)) = child.try_wait() {
                    while let Ok(l) = rx.try_recv() {
                        note(&l, &mut output, &mut last_synced);
                    }
                    panic!("QEMU ended ({st}) before the first `synced`:\n{output}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let st = child.wait();
                let ran =
                    if output.contains("fs-crash:") { "" } else { " (fs-crash never printed: init did not run it)" };
                panic!("QEMU ended ({st:?}) before the first `synced`{ran}:\n{output}");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no `synced` line within {FIRST_SYNC_TIMEOUT:?}:\n{output}");
            }
        }
    }
    let kill_at = Instant::now() + Duration::from_millis(delay_ms);
    while let Some(left) = kill_at.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) => note(&l, &mut output, &mut last_synced),
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("QEMU ended before the kill:\n{output}"),
        }
    }
    // Child::kill is SIGKILL: no flush, no clean power-off.
    child.kill().expect("SIGKILL QEMU");
    let _ = child.wait();
    // Lines QEMU had written before it died are still in the pipe.
    let _ = reader.join();
    while let Ok(l) = rx.try_recv() {
        note(&l, &mut output, &mut last_synced);
    }
    Killed { last_synced, output, delay_ms }
}

/// `e2fsck -fy` may replay the journal and fix the free counts the journal
/// does not carry, nothing else.
fn replay(disk: &DiskCopy, k: &Killed) -> String {
    let o = e2fs("e2fsck", &["-fy"], &disk.path);
    let out = text(&o);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "e2fsck -fy exit {:?}:\n{out}\n--- guest ---\n{}",
        o.status,
        k.output
    );
    let repairs: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("? yes") || l.contains("Fix? ") || l.contains("Clear? "))
        .filter(|l| !l.starts_with("Free blocks count wrong") && !l.starts_with("Free inodes count wrong"))
        .collect();
    assert!(repairs.is_empty(), "e2fsck -fy repaired more than the journal replay: {repairs:#?}\n{out}");
    out
}

/// Every record up to `last` is in the log, and every complete record is
/// valid (a torn tail shorter than a record is allowed).
fn check_log(log: &[u8], last: u64, k: &Killed) {
    let complete = log.len() / RECORD;
    assert!(
        complete as u64 > last,
        "lost synced records: the log holds {complete} complete records ({} bytes), `synced {last}` was printed\n{}",
        log.len(),
        k.output
    );
    for (i, r) in log.chunks_exact(RECORD).enumerate() {
        if r != record(i as u64) {
            let head = u64::from_le_bytes(r[..8].try_into().unwrap());
            let zeros = r.iter().all(|&b| b == 0);
            let synced = if i as u64 <= last { "a synced" } else { "an unsynced" };
            panic!("{synced} record {i} (last synced {last}) is invalid: header {head:#x}, all zeros {zeros}");
        }
    }
}

fn crash_iterations(n: u32) {
    let seed = seed();
    eprintln!("fs-crash: seed {seed:#x} (replay: VIREO_CRASH_SEED={seed:#x})");
    let mut rng = Rng(seed | 1);
    let start = Instant::now();
    let mut total_synced = 0;
    for it in 0..n {
        let delay_ms = rng.next() % (MAX_KILL_DELAY_MS + 1);
        let disk = DiskCopy::new(&format!("fs-crash-{it}"));
        let k = run_and_kill(&disk, delay_ms);
        let last = k.last_synced.expect("a synced line");
        replay(&disk, &k);
        assert_fsck_clean(&disk.path, &format!("the journal replay of iteration {it}"));
        let o = debugfs(&disk.path, "cat /crash/log");
        check_log(&o.stdout, last, &k);
        let mut how = "debugfs";
        if (it + 1) % CHECK_BOOT_EVERY == 0 {
            let run = Qemu::new(Machine::Microvm)
                .cpus(1)
                .with_initrd()
                .with_disk(&disk.path, false)
                .cmdline(&program("/bin/fs-crash check"))
                .timeout(Duration::from_secs(180))
                .run();
            run.assert_exit(0);
            let n: u64 = run
                .stdout
                .lines()
                .find_map(|l| l.trim_end().strip_prefix("records ").and_then(|n| n.parse().ok()))
                .unwrap_or_else(|| panic!("no `records` line\n{}", run.dump()));
            assert!(n > last, "the guest reads {n} records, `synced {last}` was printed\n{}", run.dump());
            assert_fsck_clean(&disk.path, "booting fs-crash check on the replayed image");
            how = "debugfs and a boot";
        }
        total_synced += last + 1;
        eprintln!(
            "fs-crash: iteration {it}: killed {} ms after the first sync, last synced {last}, log {} bytes, checked by {how}",
            k.delay_ms,
            o.stdout.len()
        );
    }
    eprintln!("fs-crash: {n} kills, {total_synced} synced records all present, {:?}", start.elapsed());
}

#[test]
fn every_synced_record_survives_20_kills_and_e2fsck_is_clean() {
    crash_iterations(20);
}

#[test]
#[ignore = "long: 100 kills (cargo test --release -p vireo-tests --test fs_crash -- --ignored)"]
fn every_synced_record_survives_100_kills_and_e2fsck_is_clean() {
    crash_iterations(100);
}
