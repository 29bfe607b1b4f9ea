//! `/bin/fs-stress [THREADS] [procs K] [secs S] [dir D]`: THREADS threads
//! (default 4) each create, write, read back, rename, re-read and delete their
//! own files in the shared directory D (default `/fs-stress`) for S seconds
//! (default 3), while also listing D. With `procs K` the program also spawns
//! K copies of itself (std::process::Command) doing the same at once in D.
//! Every byte read is checked; at the end D must be empty (each worker
//! removed what it made) and is removed. Exits 0 if nothing was corrupt and
//! every child exited 0; prints `fs-stress: ok ...` or `fs-stress: FAIL ...`.
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Config {
    threads: u64,
    procs: u64,
    secs: u64,
    dir: PathBuf,
    /// Names this process's files apart from its siblings' (`p0`, `p1`, ...).
    tag: String,
    /// A child: do not create or remove the shared directory.
    child: bool,
}

fn parse() -> Result<Config, String> {
    let mut c = Config { threads: 4, procs: 0, secs: 3, dir: "/fs-stress".into(), tag: "main".into(), child: false };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    let num = |v: Option<&String>, what: &str| -> Result<u64, String> {
        v.and_then(|s| s.parse().ok()).ok_or(format!("{what} needs a number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "procs" => c.procs = num(it.next(), "procs")?,
            "secs" => c.secs = num(it.next(), "secs")?,
            "dir" => c.dir = it.next().ok_or("dir needs a path")?.into(),
            "child" => {
                c.tag = it.next().ok_or("child needs a tag")?.clone();
                c.child = true;
            }
            n => c.threads = n.parse().map_err(|_| format!("unknown argument {n:?}"))?,
        }
    }
    Ok(c)
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The content of one file: its length and every byte follow from `seed`,
/// and the first 16 bytes name it, so a mixed-up file is recognisable.
fn content(seed: u64) -> Vec<u8> {
    let len = 16 + (mix(seed) % 150_000) as usize;
    let mut v: Vec<u8> = (0..len).map(|i| (mix(seed ^ (i as u64 >> 3)) >> ((i & 7) * 8)) as u8).collect();
    v[..8].copy_from_slice(&seed.to_le_bytes());
    v[8..16].copy_from_slice(&(len as u64).to_le_bytes());
    v
}

fn describe(got: &[u8], want: &[u8]) -> String {
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    let head = got.get(..8).map(|h| u64::from_le_bytes(h.try_into().unwrap_or([0; 8])));
    format!("{} bytes (want {}), first difference at {first:?}, header seed {head:x?}", got.len(), want.len())
}

fn check(path: &Path, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("CORRUPT {}: {}", path.display(), describe(got, want)))
    }
}

fn io<T>(r: std::io::Result<T>, what: &str, p: &Path) -> Result<T, String> {
    r.map_err(|e| format!("{what} {}: {e} ({:?})", p.display(), e.kind()))
}

/// One iteration of one worker; returns the bytes it checked.
fn iteration(dir: &Path, tag: &str, t: u64, i: u64) -> Result<u64, String> {
    let seed = mix(u64::from_le_bytes(*b"fsstress") ^ mix(t << 32 | i) ^ mix(tag.len() as u64 ^ fnv(tag)));
    let want = content(seed);
    let tmp = dir.join(format!("{tag}-t{t}-{i}.tmp"));
    let dat = dir.join(format!("{tag}-t{t}-{i}.dat"));
    let mut f = io(OpenOptions::new().read(true).write(true).create_new(true).open(&tmp), "create_new", &tmp)?;
    // Write in two pieces, the second first, to exercise seeking and holes.
    let cut = want.len() / 3;
    io(f.seek(SeekFrom::Start(cut as u64)), "seek", &tmp)?;
    io(f.write_all(&want[cut..]), "write", &tmp)?;
    io(f.seek(SeekFrom::Start(0)), "seek", &tmp)?;
    io(f.write_all(&want[..cut]), "write", &tmp)?;
    if i.is_multiple_of(8) {
        io(f.sync_all(), "sync_all", &tmp)?;
    }
    io(f.seek(SeekFrom::Start(0)), "seek", &tmp)?;
    let mut got = Vec::new();
    io(f.read_to_end(&mut got), "read", &tmp)?;
    check(&tmp, &got, &want)?;
    drop(f);
    io(fs::rename(&tmp, &dat), "rename", &tmp)?;
    let got = io(fs::read(&dat), "read", &dat)?;
    check(&dat, &got, &want)?;
    let len = io(fs::metadata(&dat), "metadata", &dat)?.len();
    if len != want.len() as u64 {
        return Err(format!("CORRUPT {}: metadata len {len} want {}", dat.display(), want.len()));
    }
    if i.is_multiple_of(4) {
        // A file that outlives this iteration: checked and removed next time.
        let keep = dir.join(format!("{tag}-t{t}-keep"));
        if let Ok(old) = fs::read(&keep) {
            let old_seed = u64::from_le_bytes(old.get(..8).and_then(|h| h.try_into().ok()).unwrap_or([0; 8]));
            check(&keep, &old, &content(old_seed))?;
        }
        io(fs::rename(&dat, &keep), "rename over", &dat)?;
    } else {
        io(fs::remove_file(&dat), "remove_file", &dat)?;
        match fs::metadata(&dat) {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            r => return Err(format!("{} after remove_file: {r:?}", dat.display())),
        }
    }
    if i.is_multiple_of(16) {
        // A listing while others create and delete: names only, no errors.
        for e in io(fs::read_dir(dir), "read_dir", dir)? {
            io(e, "read_dir entry", dir)?;
        }
    }
    Ok(2 * want.len() as u64)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn worker(dir: &Path, tag: &str, t: u64, until: Instant) -> Result<(u64, u64), String> {
    let (mut i, mut bytes) = (0, 0);
    while Instant::now() < until || i == 0 {
        bytes += iteration(dir, tag, t, i)?;
        i += 1;
    }
    let keep = dir.join(format!("{tag}-t{t}-keep"));
    if let Ok(old) = fs::read(&keep) {
        let old_seed = u64::from_le_bytes(old.get(..8).and_then(|h| h.try_into().ok()).unwrap_or([0; 8]));
        check(&keep, &old, &content(old_seed))?;
        io(fs::remove_file(&keep), "remove_file", &keep)?;
    }
    Ok((i, bytes))
}

fn spawn_children(c: &Config) -> Result<Vec<std::process::Child>, String> {
    // argv[0] when it is a path (the runtime's current_exe may not be).
    let me = std::env::args()
        .next()
        .filter(|a| a.starts_with('/'))
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .ok_or("neither argv[0] nor current_exe names this program")?;
    (0..c.procs)
        .map(|k| {
            Command::new(&me)
                .arg(c.threads.to_string())
                .args(["secs", &c.secs.to_string(), "dir"])
                .arg(&c.dir)
                .args(["child", &format!("p{k}")])
                .spawn()
                .map_err(|e| format!("spawn {}: {e}", me.display()))
        })
        .collect()
}

fn run(c: &Config) -> Result<String, String> {
    if !c.child {
        io(fs::create_dir_all(&c.dir), "create_dir_all", &c.dir)?;
    }
    let children = spawn_children(c)?;
    let until = Instant::now() + Duration::from_secs(c.secs);
    let results: Vec<Result<(u64, u64), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..c.threads).map(|t| s.spawn(move || worker(&c.dir, &c.tag, t, until))).collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into()))).collect()
    });
    let mut errors = Vec::new();
    for (k, mut ch) in children.into_iter().enumerate() {
        match ch.wait() {
            Ok(st) if st.success() => {}
            r => errors.push(format!("child p{k}: {r:?}")),
        }
    }
    let (mut iters, mut bytes) = (0, 0);
    for r in results {
        match r {
            Ok((i, b)) => {
                iters += i;
                bytes += b;
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    if !c.child {
        let left: Vec<_> =
            io(fs::read_dir(&c.dir), "read_dir", &c.dir)?.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        if !left.is_empty() {
            return Err(format!(
                "{} entries left in {}: {:?}",
                left.len(),
                c.dir.display(),
                &left[..left.len().min(8)]
            ));
        }
        io(fs::remove_dir(&c.dir), "remove_dir", &c.dir)?;
    }
    Ok(format!("{} threads, {} procs, {iters} iterations, {} KiB checked", c.threads, c.procs, bytes >> 10))
}

fn main() {
    let c = match parse() {
        Ok(c) => c,
        Err(e) => {
            println!("fs-stress: FAIL usage: {e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    match run(&c) {
        Ok(s) => println!("fs-stress: ok {} ({s}, {} ms)", c.tag, start.elapsed().as_millis()),
        Err(e) => {
            println!("fs-stress: FAIL {}: {e}", c.tag);
            std::process::exit(1);
        }
    }
}
