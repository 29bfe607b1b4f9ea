//! `/bin/fs-crash [LOG]`: appends numbered 4 KiB records to LOG (default
//! `/crash/log`), calls `sync_all` after each, and prints `synced <i>` once
//! `sync_all` for record i has returned; runs until killed (the host kills
//! the VM at a random moment). Record i holds i (u64, little endian) in its
//! first 8 bytes and a pattern derived from i in the rest, so a record that
//! is torn, zeroed or out of place is recognisable.
//!
//! `/bin/fs-crash check [LOG]`: reads LOG, prints `records <n>` (how many
//! complete valid records it starts with, in order), and exits 0 if every
//! complete record present is valid (a shorter tail, a record torn by the
//! kill, is reported and allowed).
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

pub const RECORD: usize = 4096;
/// Stops appending here (16 MiB), so a run left going cannot fill the disk.
const MAX_RECORDS: u64 = 4096;

fn record(i: u64) -> Vec<u8> {
    let mut r = vec![0u8; RECORD];
    r[..8].copy_from_slice(&i.to_le_bytes());
    for (k, b) in r.iter_mut().enumerate().skip(8) {
        *b = (i.wrapping_mul(131) as usize ^ k.wrapping_mul(7) ^ (k >> 8)) as u8 | 1;
    }
    r
}

fn write(log: &Path) -> i32 {
    if let Some(dir) = log.parent() {
        if let Err(e) = fs::create_dir_all(dir) {
            println!("fs-crash: FAIL create_dir_all {}: {e} ({:?})", dir.display(), e.kind());
            return 1;
        }
    }
    let mut f = match OpenOptions::new().create(true).truncate(true).write(true).open(log) {
        Ok(f) => f,
        Err(e) => {
            println!("fs-crash: FAIL open {}: {e} ({:?})", log.display(), e.kind());
            return 1;
        }
    };
    println!("fs-crash: appending to {}", log.display());
    for i in 0..MAX_RECORDS {
        if let Err(e) = f.write_all(&record(i)) {
            println!("fs-crash: FAIL write record {i}: {e} ({:?})", e.kind());
            return 1;
        }
        if let Err(e) = f.sync_all() {
            println!("fs-crash: FAIL sync_all after record {i}: {e} ({:?})", e.kind());
            return 1;
        }
        println!("synced {i}");
    }
    println!("fs-crash: {MAX_RECORDS} records written, waiting to be killed");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

fn check(log: &Path) -> i32 {
    let data = match fs::read(log) {
        Ok(d) => d,
        Err(e) => {
            println!("fs-crash: FAIL read {}: {e} ({:?})", log.display(), e.kind());
            return 1;
        }
    };
    let complete = data.len() / RECORD;
    let valid = data.chunks_exact(RECORD).enumerate().take_while(|(i, r)| **r == record(*i as u64)[..]).count();
    println!("records {valid}");
    if valid < complete {
        let bad = &data[valid * RECORD..(valid + 1) * RECORD];
        let head = u64::from_le_bytes(bad[..8].try_into().unwrap_or([0; 8]));
        let zeros = bad.iter().all(|&b| b == 0);
        println!("fs-crash: FAIL record {valid} of {complete} is invalid (header {head:#x}, all zeros: {zeros})");
        return 1;
    }
    let tail = data.len() % RECORD;
    if tail != 0 {
        println!("fs-crash: torn tail of {tail} bytes after record {}", valid.saturating_sub(1));
    }
    println!("fs-crash: check ok ({} bytes)", data.len());
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("check") => check(Path::new(args.get(2).map(String::as_str).unwrap_or("/crash/log"))),
        Some(path) => write(Path::new(path)),
        None => write(Path::new("/crash/log")),
    };
    std::process::exit(code);
}
