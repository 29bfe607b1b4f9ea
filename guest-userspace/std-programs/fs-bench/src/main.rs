//! `/bin/fs-bench [DIR]` (`make bench-fs`, docs/benchmarks.md "File system"):
//! file-system costs in guest instructions, on the disk mounted at DIR
//! (default `/`). Under QEMU `-icount shift=0,sleep=off` the TSC counts guest
//! instructions (plus any time the guest spends halted), so each figure is a
//! TSC difference around the operations, divided by their count.
//!
//! The Linux guest runs the same benchmark as a C program
//! (tests/src/bench/fs/fs-bench.c); the two print the same lines, which
//! `vireo-bench-fs` parses:
//!
//! ```text
//! fs-bench: begin NAME
//! fs-bench: NAME ops=N bytes=B tsc=T instr=I
//! fs-bench: NAME error=WHY
//! fs-bench: mem free_before_kib=A free_after_kib=B growth_kib=C
//! fs-bench: done errors=N
//! ```
//!
//! `instr` is instructions per operation; the host stamps the `begin` and
//! result lines to get each figure's wall time. Builds for the host too
//! (`cargo run` for x86_64-unknown-linux-gnu in a temporary directory), which
//! is how the program itself is checked; only the free-memory probe
//! differs ([`mem`]).

mod mem;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MIB: usize = 1 << 20;
/// The big file: 64 MiB, written and read in 1 MiB operations.
const BIG_MIB: usize = 64;
const BLOCK: usize = 4096;
const RANDOM_READS: usize = 2000;
const SMALL_FILES: usize = 1000;
/// Bytes in each small file.
const SMALL_LEN: usize = 100;
/// Seeds the random offsets and the file contents (the C program uses the same).
const SEED: u64 = 0x5eed_f00d_1234_5678;

/// xorshift64: the same sequence as the C program's, so both guests read the
/// same blocks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Runs `f` (which returns how many operations and bytes it did) between
/// two TSC reads and prints the figure, or the error; true if it worked.
fn figure(name: &str, errors: &mut u32, f: impl FnOnce() -> Result<(u64, u64), String>) -> bool {
    println!("fs-bench: begin {name}");
    let idle0 = mem::idle_ns();
    let t0 = tsc();
    let r = f();
    let t = tsc().wrapping_sub(t0);
    // Under -icount shift=0 a TSC tick is a nanosecond of guest time, so the
    // time the kernel spent halted comes off as it is (as the C program does
    // with Linux's idle time).
    let idle = mem::idle_ns().saturating_sub(idle0);
    match r {
        Ok((ops, bytes)) => {
            let per = t.saturating_sub(idle) / ops.max(1);
            println!("fs-bench: {name} ops={ops} bytes={bytes} tsc={t} idle_ns={idle} instr={per}");
            true
        }
        Err(e) => {
            *errors += 1;
            println!("fs-bench: {name} error={e}");
            false
        }
    }
}

fn pattern() -> Vec<u8> {
    let mut rng = Rng(SEED);
    let mut v = vec![0u8; MIB];
    for c in v.chunks_mut(8) {
        c.copy_from_slice(&rng.next().to_le_bytes());
    }
    v
}

fn write_big(path: &Path, buf: &[u8]) -> Result<(u64, u64), String> {
    let mut f = File::create(path).map_err(|e| format!("create {}: {e}", path.display()))?;
    for i in 0..BIG_MIB {
        f.write_all(buf).map_err(|e| format!("write MiB {i}: {e}"))?;
    }
    f.sync_all().map_err(|e| format!("sync_all: {e}"))?;
    Ok((BIG_MIB as u64, (BIG_MIB * MIB) as u64))
}

/// Reads the whole file in 1 MiB reads; the count of reads is the ops.
fn read_big(path: &Path, buf: &mut [u8]) -> Result<(u64, u64), String> {
    let mut f = File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let (mut ops, mut total) = (0u64, 0u64);
    loop {
        let n = f.read(buf).map_err(|e| format!("read at {total}: {e}"))?;
        if n == 0 {
            break;
        }
        ops += 1;
        total += n as u64;
    }
    if total != (BIG_MIB * MIB) as u64 {
        return Err(format!("read {total} bytes, wrote {}", BIG_MIB * MIB));
    }
    Ok((ops, total))
}

#[inline(never)] // a symbol, so a profiler can mark the phase
fn random_reads(path: &Path, expect: &[u8]) -> Result<(u64, u64), String> {
    let mut f = File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut rng = Rng(SEED ^ 0x4b1d);
    let mut buf = [0u8; BLOCK];
    let blocks = (BIG_MIB * MIB / BLOCK) as u64;
    let mut last = 0usize;
    for _ in 0..RANDOM_READS {
        let off = (rng.next() % blocks) as usize * BLOCK;
        f.seek(SeekFrom::Start(off as u64)).map_err(|e| format!("seek {off}: {e}"))?;
        f.read_exact(&mut buf).map_err(|e| format!("read 4 KiB at {off}: {e}"))?;
        last = off;
    }
    // Every MiB of the file holds the pattern: check the last block read.
    let at = last % MIB;
    if buf[..] != expect[at..at + BLOCK] {
        return Err(format!("the 4 KiB at {last} differ from what was written"));
    }
    Ok((RANDOM_READS as u64, (RANDOM_READS * BLOCK) as u64))
}

fn small_name(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("fsb-s{i:04}"))
}

#[inline(never)] // a symbol, so a profiler can mark the phase
fn small_files(dir: &Path, errors: &mut u32) {
    let data = [b'x'; SMALL_LEN];
    let n = SMALL_FILES as u64;
    figure("create_1000", errors, || {
        for i in 0..SMALL_FILES {
            let p = small_name(dir, i);
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
                .map_err(|e| format!("create {}: {e}", p.display()))?;
            f.write_all(&data).map_err(|e| format!("write {}: {e}", p.display()))?;
        }
        Ok((n, n * SMALL_LEN as u64))
    });
    figure("stat_1000", errors, || {
        for i in 0..SMALL_FILES {
            let p = small_name(dir, i);
            let m = fs::metadata(&p).map_err(|e| format!("stat {}: {e}", p.display()))?;
            if m.len() != SMALL_LEN as u64 {
                return Err(format!("{} has {} bytes, not {SMALL_LEN}", p.display(), m.len()));
            }
        }
        Ok((n, 0))
    });
    figure("delete_1000", errors, || {
        for i in 0..SMALL_FILES {
            let p = small_name(dir, i);
            fs::remove_file(&p).map_err(|e| format!("remove {}: {e}", p.display()))?;
        }
        Ok((n, 0))
    });
}

/// The design's point: guest memory after reading the 64 MiB file twice,
/// and what the second read costs.
fn memory_point(big: &Path, buf: &mut [u8], errors: &mut u32) {
    let before = mem::free_kib();
    let read =
        figure("read1_64MiB", errors, || read_big(big, buf)) & figure("read2_64MiB", errors, || read_big(big, buf));
    let after = mem::free_kib();
    match (before, after) {
        // A figure only when both reads did read the file.
        _ if !read => {
            *errors += 1;
            println!("fs-bench: mem error=the reads failed");
        }
        (Ok(b), Ok(a)) => {
            let growth = b as i64 - a as i64;
            println!("fs-bench: mem free_before_kib={b} free_after_kib={a} growth_kib={growth}");
        }
        (Err(e), _) | (_, Err(e)) => {
            *errors += 1;
            println!("fs-bench: mem error={e}");
        }
    }
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/".into()));
    let big = dir.join("fsb-big");
    let mut errors = 0u32;
    let pat = pattern();
    let mut buf = vec![0u8; MIB];
    println!("fs-bench: start dir={}", dir.display());
    figure("seq_write_64MiB", &mut errors, || write_big(&big, &pat));
    figure("seq_read_64MiB", &mut errors, || read_big(&big, &mut buf));
    figure("rand_read_4KiB", &mut errors, || random_reads(&big, &pat));
    small_files(&dir, &mut errors);
    memory_point(&big, &mut buf, &mut errors);
    if let Err(e) = fs::remove_file(&big) {
        println!("fs-bench: cleanup error=remove {}: {e}", big.display());
    }
    println!("fs-bench: done errors={errors}");
    std::process::exit(if errors == 0 { 0 } else { 1 });
}
