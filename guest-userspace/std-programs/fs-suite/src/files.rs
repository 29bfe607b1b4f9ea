//! Checks on files: open, read, write, seek, set_len, sync, metadata.
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::util::{self, ctx, want_err, want_kind};
use crate::{ensure, Check};

pub fn create_write_read(dir: &Path) -> Check {
    let p = dir.join("f");
    let mut f = ctx(File::create(&p), "create")?;
    ctx(f.write_all(b"hello, disk\n"), "write_all")?;
    drop(f);
    ensure!(util::read_all(&p)? == b"hello, disk\n", "content read back differs");
    // File::create on an existing file truncates it.
    let mut f = ctx(File::create(&p), "create again")?;
    ctx(f.write_all(b"x"), "write")?;
    drop(f);
    ensure!(util::read_all(&p)? == b"x", "File::create did not truncate the existing file");
    // Reading at the end gives 0, not an error.
    let mut f = ctx(File::open(&p), "open")?;
    let mut buf = [0u8; 8];
    ensure!(ctx(f.read(&mut buf), "read")? == 1, "first read");
    ensure!(ctx(f.read(&mut buf), "read at eof")? == 0, "read at end of file returned data");
    Ok(String::new())
}

/// The six OpenOptions flags, as bits of a combination number.
const READ: u32 = 1;
const WRITE: u32 = 2;
const APPEND: u32 = 4;
const TRUNCATE: u32 = 8;
const CREATE: u32 = 16;
const CREATE_NEW: u32 = 32;

fn options(c: u32) -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(c & READ != 0)
        .write(c & WRITE != 0)
        .append(c & APPEND != 0)
        .truncate(c & TRUNCATE != 0)
        .create(c & CREATE != 0)
        .create_new(c & CREATE_NEW != 0);
    o
}

fn describe(c: u32) -> String {
    let names = ["read", "write", "append", "truncate", "create", "create_new"];
    let on: Vec<&str> = names.iter().enumerate().filter(|(i, _)| c & (1 << i) != 0).map(|(_, n)| *n).collect();
    if on.is_empty() {
        "(none)".into()
    } else {
        on.join("+")
    }
}

/// What std documents (and its Unix implementation does) for combination
/// `c` on a file that `exists` or not: Err(kind) or Ok(truncated-or-new).
fn expected(c: u32, exists: bool) -> Result<bool, ErrorKind> {
    let (read, write, append) = (c & READ != 0, c & WRITE != 0, c & APPEND != 0);
    let (truncate, create, create_new) = (c & TRUNCATE != 0, c & CREATE != 0, c & CREATE_NEW != 0);
    if !read && !write && !append {
        return Err(ErrorKind::InvalidInput);
    }
    if !write && !append && (truncate || create || create_new) {
        return Err(ErrorKind::InvalidInput);
    }
    if append && truncate && !create_new {
        return Err(ErrorKind::InvalidInput);
    }
    if create_new {
        return if exists { Err(ErrorKind::AlreadyExists) } else { Ok(true) };
    }
    if !exists && !create {
        return Err(ErrorKind::NotFound);
    }
    Ok(!exists || truncate)
}

/// One combination on one starting state; Err describes a mismatch.
fn try_combination(dir: &Path, c: u32, exists: bool) -> Result<(), String> {
    const OLD: &[u8] = b"old content";
    let p = dir.join(format!("c{c}-{}", if exists { "e" } else { "m" }));
    if exists {
        ctx(fs::write(&p, OLD), "setup write")?;
    }
    let got = options(c).open(&p);
    match (expected(c, exists), got) {
        (Err(k), Err(e)) if e.kind() == k => return Ok(()),
        (Err(k), Err(e)) => return Err(format!("want {k:?}, got {:?} ({e})", e.kind())),
        (Err(k), Ok(_)) => return Err(format!("want {k:?}, got success")),
        (Ok(_), Err(e)) => return Err(format!("want success, got {:?} ({e})", e.kind())),
        (Ok(emptied), Ok(mut f)) => {
            let before: &[u8] = if emptied { b"" } else { OLD };
            let meta = ctx(fs::metadata(&p), "metadata after open")?;
            ensure!(meta.len() == before.len() as u64, "length after open {} want {}", meta.len(), before.len());
            let mut content = Vec::new();
            let read = f.read_to_end(&mut content);
            if c & READ != 0 {
                ensure!(read.is_ok(), "read on a readable handle failed: {read:?}");
                ensure!(content == before, "read {content:?} want {before:?}");
            } else {
                ensure!(read.is_err(), "read on a handle opened without read succeeded");
            }
            // Seek to 0 first: appending must still write at the end.
            ctx(f.seek(SeekFrom::Start(0)), "seek 0")?;
            let wrote = f.write(b"N");
            let can_write = c & (WRITE | APPEND) != 0;
            ensure!(wrote.is_ok() == can_write, "write: {wrote:?} on a handle with write={can_write}");
            drop(f);
            let after = ctx(fs::read(&p), "read back")?;
            let mut want = before.to_vec();
            if can_write {
                if c & APPEND != 0 || want.is_empty() {
                    want.push(b'N');
                } else {
                    want[0] = b'N';
                }
            }
            ensure!(after == want, "content after write {:?} want {:?}", after, want);
        }
    }
    Ok(())
}

/// Every combination of the six flags, on an existing and a missing file.
pub fn open_options(dir: &Path) -> Check {
    let mut bad = Vec::new();
    let mut n = 0;
    for c in 0..64 {
        for exists in [true, false] {
            n += 1;
            if let Err(e) = try_combination(dir, c, exists) {
                bad.push(format!(
                    "[{} on {} file: {e}]",
                    describe(c),
                    if exists { "an existing" } else { "a missing" }
                ));
            }
        }
    }
    ensure!(bad.is_empty(), "{} of {n} cases wrong: {}", bad.len(), bad.join(" "));
    Ok(format!("{n} cases"))
}

pub fn append(dir: &Path) -> Check {
    let p = dir.join("log");
    ctx(fs::write(&p, b"one\n"), "write")?;
    let mut f = ctx(OpenOptions::new().append(true).open(&p), "open append")?;
    ctx(f.write_all(b"two\n"), "append")?;
    ctx(f.seek(SeekFrom::Start(0)), "seek")?;
    ctx(f.write_all(b"three\n"), "append after seek")?;
    // A second appender sees the first one's writes: the end is the file's.
    let mut g = ctx(OpenOptions::new().append(true).open(&p), "open append 2")?;
    ctx(g.write_all(b"four\n"), "append 2")?;
    ctx(f.write_all(b"five\n"), "append 1 again")?;
    drop((f, g));
    let got = ctx(fs::read_to_string(&p), "read")?;
    ensure!(got == "one\ntwo\nthree\nfour\nfive\n", "content {got:?}");
    Ok(String::new())
}

pub fn seek(dir: &Path) -> Check {
    let p = dir.join("s");
    let mut f = ctx(OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&p), "open")?;
    ctx(f.write_all(b"0123456789"), "write")?;
    ensure!(ctx(f.stream_position(), "position")? == 10, "position after write");
    ensure!(ctx(f.seek(SeekFrom::Start(3)), "Start(3)")? == 3, "Start(3)");
    let mut b = [0u8; 2];
    ctx(f.read_exact(&mut b), "read")?;
    ensure!(&b == b"34", "read at 3: {b:?}");
    ensure!(ctx(f.seek(SeekFrom::Current(2)), "Current(2)")? == 7, "Current(2)");
    ensure!(ctx(f.seek(SeekFrom::Current(-6)), "Current(-6)")? == 1, "Current(-6)");
    ensure!(ctx(f.seek(SeekFrom::End(-1)), "End(-1)")? == 9, "End(-1)");
    ctx(f.read_exact(&mut b[..1]), "read last")?;
    ensure!(b[0] == b'9', "byte at End(-1)");
    ensure!(ctx(f.seek(SeekFrom::End(0)), "End(0)")? == 10, "End(0)");
    // Past the end: reading gives 0 bytes; writing leaves a hole of zeros.
    ensure!(ctx(f.seek(SeekFrom::End(100)), "End(100)")? == 110, "End(100)");
    ensure!(ctx(f.read(&mut b), "read past end")? == 0, "read past the end returned data");
    ensure!(ctx(fs::metadata(&p), "metadata")?.len() == 10, "seeking past the end changed the length");
    ctx(f.write_all(b"X"), "write past end")?;
    let got = ctx(fs::read(&p), "read back")?;
    ensure!(got.len() == 111, "length after write past end {} want 111", got.len());
    ensure!(got[10..110].iter().all(|&x| x == 0) && got[110] == b'X', "the hole is not zeros");
    // Negative positions are refused and leave the position alone.
    ctx(f.seek(SeekFrom::Start(5)), "Start(5)")?;
    want_kind(f.seek(SeekFrom::Current(-6)), ErrorKind::InvalidInput, "Current(-6) from 5")?;
    want_kind(f.seek(SeekFrom::End(-112)), ErrorKind::InvalidInput, "End(-112) on 111 bytes")?;
    ensure!(ctx(f.stream_position(), "position")? == 5, "a refused seek moved the position");
    Ok(String::new())
}

/// A write 4 GiB into an empty file: a sparse file far larger than the disk.
pub fn seek_far(dir: &Path) -> Check {
    let p = dir.join("sparse");
    let mut f = ctx(OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&p), "open")?;
    let far = 4u64 << 30;
    ensure!(ctx(f.seek(SeekFrom::Start(far)), "Start(4 GiB)")? == far, "Start(4 GiB)");
    ctx(f.write_all(b"far"), "write at 4 GiB")?;
    ensure!(ctx(f.metadata(), "metadata")?.len() == far + 3, "length after a write at 4 GiB");
    ctx(f.seek(SeekFrom::Start(far)), "Start(4 GiB) again")?;
    let mut b3 = [0u8; 3];
    ctx(f.read_exact(&mut b3), "read at 4 GiB")?;
    ensure!(&b3 == b"far", "read at 4 GiB: {b3:?}");
    ctx(f.set_len(0), "set_len 0")?;
    Ok(String::new())
}

pub fn set_len(dir: &Path) -> Check {
    let p = dir.join("l");
    let data = util::pattern(7, 10_000);
    ctx(fs::write(&p, &data), "write")?;
    let f = ctx(OpenOptions::new().read(true).write(true).open(&p), "open")?;
    ctx(f.set_len(50_000), "grow")?;
    ensure!(ctx(f.metadata(), "metadata")?.len() == 50_000, "length after grow");
    let got = ctx(fs::read(&p), "read grown")?;
    ensure!(got.len() == 50_000 && got[..10_000] == data[..], "grow changed the old bytes");
    ensure!(got[10_000..].iter().all(|&b| b == 0), "grown area is not zeros");
    ctx(f.set_len(3_000), "shrink")?;
    ensure!(ctx(fs::metadata(&p), "metadata")?.len() == 3_000, "length after shrink");
    ctx(f.set_len(5_000), "grow again")?;
    let got = ctx(fs::read(&p), "read")?;
    ensure!(got[..3_000] == data[..3_000], "shrink changed the kept bytes");
    ensure!(got[3_000..].iter().all(|&b| b == 0), "bytes cut by shrink came back after growing");
    ctx(f.set_len(0), "set_len 0")?;
    ensure!(ctx(fs::read(&p), "read")?.is_empty(), "set_len(0) left data");
    drop(f);
    let ro = ctx(File::open(&p), "open read-only")?;
    let note = want_err(ro.set_len(10), "set_len on a read-only handle")?;
    Ok(note)
}

pub fn sync(dir: &Path) -> Check {
    let p = dir.join("y");
    let mut f = ctx(File::create(&p), "create")?;
    ctx(f.write_all(&util::pattern(3, 70_000)), "write")?;
    ctx(f.sync_data(), "sync_data")?;
    ctx(f.write_all(b"more"), "write")?;
    ctx(f.sync_all(), "sync_all")?;
    ctx(f.flush(), "flush")?;
    ctx(f.sync_all(), "sync_all with nothing new")?;
    drop(f);
    let got = ctx(fs::read(&p), "read")?;
    ensure!(got.len() == 70_004 && util::mismatch(3, 0, &got[..70_000]).is_none(), "content after sync");
    Ok(String::new())
}

pub fn metadata(dir: &Path) -> Check {
    let p = dir.join("m");
    ctx(fs::write(&p, vec![1u8; 12_345]), "write")?;
    let m = ctx(fs::metadata(&p), "metadata")?;
    ensure!(m.len() == 12_345, "len {}", m.len());
    ensure!(m.is_file() && !m.is_dir() && !m.is_symlink(), "file type of a file: {:?}", m.file_type());
    ensure!(m.file_type().is_file(), "file_type().is_file()");
    let fm = ctx(ctx(File::open(&p), "open")?.metadata(), "File::metadata")?;
    ensure!(fm.len() == 12_345 && fm.is_file(), "File::metadata len {}", fm.len());
    let sm = ctx(fs::symlink_metadata(&p), "symlink_metadata")?;
    ensure!(sm.len() == 12_345 && sm.is_file(), "symlink_metadata");
    let d = ctx(fs::metadata(dir), "metadata of a dir")?;
    ensure!(d.is_dir() && !d.is_file() && d.file_type().is_dir(), "file type of a dir: {:?}", d.file_type());
    ensure!(ctx(fs::exists(&p), "exists")?, "fs::exists on a file");
    ensure!(!ctx(fs::exists(dir.join("nope")), "exists missing")?, "fs::exists on a missing path");
    ensure!(p.is_file() && dir.is_dir() && !dir.join("nope").exists(), "Path::is_file/is_dir/exists");
    Ok(String::new())
}

/// Within a day of now: the file system's clock is the system's.
fn plausible(t: SystemTime) -> bool {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    t < now + day && now < t + day
}

pub fn modified_time(dir: &Path) -> Check {
    let p = dir.join("t");
    ctx(fs::write(&p, b"a"), "write")?;
    let m0 = ctx(ctx(fs::metadata(&p), "metadata")?.modified(), "modified")?;
    ensure!(plausible(m0), "modified time {m0:?} is not near now {:?}", SystemTime::now());
    // More than a second: a file system that keeps only seconds still ticks.
    std::thread::sleep(Duration::from_millis(1_100));
    let mut f = ctx(OpenOptions::new().append(true).open(&p), "open")?;
    ctx(f.write_all(b"b"), "write")?;
    ctx(f.sync_all(), "sync_all")?;
    drop(f);
    let m1 = ctx(ctx(fs::metadata(&p), "metadata")?.modified(), "modified")?;
    ensure!(m1 > m0, "modified did not advance after a write: {m0:?} then {m1:?}");
    let step = m1.duration_since(m0).unwrap_or_default();
    ensure!(step < Duration::from_secs(60), "modified jumped by {step:?}");
    Ok(format!("advanced {} ms", step.as_millis()))
}

pub fn permissions(dir: &Path) -> Check {
    let p = dir.join("p");
    ctx(fs::write(&p, b"perm"), "write")?;
    let mut perm = ctx(fs::metadata(&p), "metadata")?.permissions();
    ensure!(!perm.readonly(), "a new file is read-only");
    perm.set_readonly(true);
    ctx(fs::set_permissions(&p, perm.clone()), "set_permissions readonly")?;
    ensure!(ctx(fs::metadata(&p), "metadata")?.permissions().readonly(), "readonly did not stick");
    ensure!(ctx(fs::read(&p), "read a read-only file")? == b"perm", "read a read-only file");
    perm.set_readonly(false);
    ctx(fs::set_permissions(&p, perm), "set_permissions writable")?;
    ensure!(!ctx(fs::metadata(&p), "metadata")?.permissions().readonly(), "writable did not stick");
    ctx(fs::write(&p, b"again"), "write after making writable")?;
    // Through a handle (File::set_permissions).
    let f = ctx(OpenOptions::new().read(true).write(true).open(&p), "open")?;
    let mut perm = ctx(f.metadata(), "metadata")?.permissions();
    perm.set_readonly(true);
    ctx(f.set_permissions(perm.clone()), "File::set_permissions readonly")?;
    ensure!(ctx(fs::metadata(&p), "metadata")?.permissions().readonly(), "File::set_permissions did not stick");
    perm.set_readonly(false);
    ctx(f.set_permissions(perm), "File::set_permissions writable")?;
    ensure!(!ctx(f.metadata(), "metadata")?.permissions().readonly(), "File::set_permissions writable");
    // Directories have permissions too.
    let dp = ctx(fs::metadata(dir), "metadata dir")?.permissions();
    ensure!(!dp.readonly(), "a new directory is read-only");
    Ok(String::new())
}

/// Two handles on one file see each other's writes at once: the guest keeps
/// no file data of its own.
pub fn two_handles(dir: &Path) -> Check {
    let p = dir.join("h");
    let mut w = ctx(File::create(&p), "create")?;
    let mut r = ctx(File::open(&p), "open")?;
    ctx(w.write_all(b"first"), "write")?;
    let mut s = String::new();
    ctx(r.read_to_string(&mut s), "read")?;
    ensure!(s == "first", "second handle read {s:?}");
    ctx(w.seek(SeekFrom::Start(0)), "seek")?;
    ctx(w.write_all(b"FI"), "overwrite")?;
    ctx(r.seek(SeekFrom::Start(0)), "seek")?;
    s.clear();
    ctx(r.read_to_string(&mut s), "read again")?;
    ensure!(s == "FIrst", "second handle read {s:?} after an overwrite");
    // try_clone shares the position.
    let mut c = ctx(w.try_clone(), "try_clone")?;
    ctx(w.seek(SeekFrom::Start(1)), "seek")?;
    ensure!(ctx(c.stream_position(), "clone position")? == 1, "try_clone does not share the position");
    ctx(c.write_all(b"x"), "write via clone")?;
    ensure!(ctx(w.stream_position(), "position")? == 2, "position after a write through the clone");
    drop((w, c, r));
    ensure!(ctx(fs::read(&p), "read")? == b"Fxrst", "content after the clone's write");
    Ok(String::new())
}

pub fn many_handles(dir: &Path) -> Check {
    let mut files = Vec::new();
    for i in 0..64u64 {
        let f = ctx(File::create(dir.join(format!("h{i}"))), format!("create h{i}"))?;
        files.push(f);
    }
    for round in 0..4u64 {
        for (i, f) in files.iter_mut().enumerate() {
            let mut b = vec![0u8; 1000 + i * 10];
            util::fill(i as u64, round * 5_000, &mut b);
            ctx(f.write_all(&b), format!("write h{i}"))?;
            // Keep the next round's offset at round * 5000.
            ctx(f.seek(SeekFrom::Start((round + 1) * 5_000)), "seek")?;
        }
    }
    drop(files);
    for i in 0..64u64 {
        let got = ctx(fs::read(dir.join(format!("h{i}"))), "read")?;
        for round in 0..4u64 {
            let at = (round * 5_000) as usize;
            let n = 1000 + i as usize * 10;
            ensure!(util::mismatch(i, at as u64, &got[at..at + n]).is_none(), "h{i} round {round} differs");
        }
    }
    Ok("64 open at once".into())
}

pub fn read_write_helpers(dir: &Path) -> Check {
    let p = dir.join("w");
    ctx(fs::write(&p, "some text\n"), "fs::write")?;
    ensure!(ctx(fs::read_to_string(&p), "read_to_string")? == "some text\n", "read_to_string");
    ctx(fs::write(&p, b"hi"), "fs::write shorter")?;
    ensure!(ctx(fs::read(&p), "fs::read")? == b"hi", "fs::write did not replace");
    ctx(fs::write(&p, [0xff, 0xfe, 0x00]), "write invalid utf-8")?;
    want_kind(fs::read_to_string(&p), ErrorKind::InvalidData, "read_to_string of invalid UTF-8")?;
    ctx(fs::write(&p, b""), "fs::write empty")?;
    ensure!(ctx(fs::read(&p), "read")?.is_empty(), "empty write");
    Ok(String::new())
}

const LARGE: u64 = 8 << 20;

/// 8 MiB of pattern written in uneven chunks and read back in others.
pub fn large_file(dir: &Path) -> Check {
    let p = dir.join("big");
    let seed = 0x1a_46e;
    let t = std::time::Instant::now();
    let mut f = ctx(File::create(&p), "create")?;
    let mut pos = 0u64;
    let mut want = util::FNV_START;
    for &n in [65_536usize, 4_093, 1, 131_072, 777, 1 << 20].iter().cycle() {
        if pos == LARGE {
            break;
        }
        let n = n.min((LARGE - pos) as usize);
        let mut b = vec![0; n];
        util::fill(seed, pos, &mut b);
        want = util::fnv(want, &b);
        ctx(f.write_all(&b), format!("write at {pos}"))?;
        pos += n as u64;
    }
    ctx(f.sync_all(), "sync_all")?;
    drop(f);
    let write_ms = t.elapsed().as_millis();
    ensure!(ctx(fs::metadata(&p), "metadata")?.len() == LARGE, "length");
    let t = std::time::Instant::now();
    let mut f = ctx(File::open(&p), "open")?;
    let (mut pos, mut got) = (0u64, util::FNV_START);
    for &n in [4_093usize, 65_537, 1, 12_345, 300_000].iter().cycle() {
        let mut b = vec![0; n];
        let k = ctx(f.read(&mut b), format!("read at {pos}"))?;
        if k == 0 {
            break;
        }
        if let Some(at) = util::mismatch(seed, pos, &b[..k]) {
            return Err(format!("byte {at} differs"));
        }
        got = util::fnv(got, &b[..k]);
        pos += k as u64;
    }
    let read_ms = t.elapsed().as_millis();
    ensure!(pos == LARGE, "read {pos} bytes of {LARGE}");
    ensure!(got == want, "checksum {got:#x} want {want:#x}");
    // Random-offset reads.
    let mut b = vec![0; 4_096];
    for i in 0..32u64 {
        let at = util::mix(i) % (LARGE - 4_096);
        ctx(f.seek(SeekFrom::Start(at)), "seek")?;
        ctx(f.read_exact(&mut b), format!("read 4 KiB at {at}"))?;
        ensure!(util::mismatch(seed, at, &b).is_none(), "4 KiB at {at} differs");
    }
    Ok(format!("8 MiB: write {write_ms} ms, read {read_ms} ms, checksum {want:#x}"))
}
