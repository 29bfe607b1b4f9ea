//! The suite's other modes: persistence across a reboot, a read-only `/`,
//! and a file the file system cannot read (a corrupt image).
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::time::Instant;

use crate::util::{self, ctx, want_kind};
use crate::{ensure, report, Check};

/// Runs one mode's named checks, prints the summary, returns the exit code.
/// A mode's check: its name and body.
type ModeCheck<'a> = (&'static str, Box<dyn FnOnce() -> Check + 'a>);

fn run_all(mode: &str, checks: Vec<ModeCheck<'_>>) -> i32 {
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, f) in checks {
        let t = Instant::now();
        report(name, f(), t, &mut passed, &mut failed);
    }
    if failed.is_empty() {
        println!("fs-suite: {mode} all ok ({passed} checks)");
        0
    } else {
        println!("fs-suite: {mode} {} checks FAILED: {failed:?}", failed.len());
        1
    }
}

const BIG: usize = 1 << 20;

/// The tree `check-persist` expects, made with one of each kind of change.
pub fn write_persist(dir: &Path) -> i32 {
    let w = || -> Check {
        ctx(fs::create_dir_all(dir.join("sub/deeper")), "create_dir_all")?;
        ctx(fs::write(dir.join("a.txt"), b"persist a\n"), "write a.txt")?;
        let mut f = ctx(File::create(dir.join("big")), "create big")?;
        ctx(f.write_all(&util::pattern(0xb19, BIG)), "write big")?;
        ctx(f.sync_all(), "sync_all big")?;
        ctx(fs::write(dir.join("sub/deeper/c"), util::pattern(0xc, 5_000)), "write c")?;
        ctx(fs::write(dir.join("tmp"), b"renamed\n"), "write tmp")?;
        ctx(fs::rename(dir.join("tmp"), dir.join("renamed")), "rename")?;
        ctx(fs::write(dir.join("gone"), b"x"), "write gone")?;
        ctx(fs::remove_file(dir.join("gone")), "remove gone")?;
        ctx(fs::create_dir(dir.join("gone-dir")), "create gone-dir")?;
        ctx(fs::remove_dir(dir.join("gone-dir")), "remove gone-dir")?;
        let f = ctx(File::create(dir.join("sized")), "create sized")?;
        ctx(f.set_len(12_345), "set_len")?;
        ctx(f.sync_data(), "sync_data")?;
        ctx(fs::write(dir.join("ro"), b"read only\n"), "write ro")?;
        let mut perm = ctx(fs::metadata(dir.join("ro")), "metadata ro")?.permissions();
        perm.set_readonly(true);
        ctx(fs::set_permissions(dir.join("ro"), perm), "set_permissions")?;
        for i in 0..50 {
            ctx(fs::write(dir.join(format!("sub/n{i:02}")), format!("{i}\n")), "write sub/n")?;
        }
        Ok(String::new())
    };
    run_all("write-persist", vec![("write-persist", Box::new(w))])
}

pub fn check_persist(dir: &Path) -> i32 {
    let c = || -> Check {
        ensure!(ctx(fs::read(dir.join("a.txt")), "read a.txt")? == b"persist a\n", "a.txt");
        let big = ctx(fs::read(dir.join("big")), "read big")?;
        ensure!(big.len() == BIG, "big has {} bytes", big.len());
        ensure!(util::mismatch(0xb19, 0, &big).is_none(), "big differs");
        ensure!(ctx(fs::read(dir.join("sub/deeper/c")), "read c")? == util::pattern(0xc, 5_000), "c differs");
        ensure!(ctx(fs::read(dir.join("renamed")), "read renamed")? == b"renamed\n", "renamed");
        want_kind(fs::metadata(dir.join("tmp")), ErrorKind::NotFound, "tmp (renamed away)")?;
        want_kind(fs::metadata(dir.join("gone")), ErrorKind::NotFound, "gone (removed)")?;
        want_kind(fs::metadata(dir.join("gone-dir")), ErrorKind::NotFound, "gone-dir (removed)")?;
        let sized = ctx(fs::read(dir.join("sized")), "read sized")?;
        ensure!(sized.len() == 12_345 && sized.iter().all(|&b| b == 0), "sized: {} bytes", sized.len());
        ensure!(ctx(fs::metadata(dir.join("ro")), "metadata ro")?.permissions().readonly(), "ro lost readonly");
        let mut names: Vec<String> = ctx(fs::read_dir(dir.join("sub")), "read_dir sub")?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        names.sort();
        let mut want: Vec<String> = (0..50).map(|i| format!("n{i:02}")).collect();
        want.push("deeper".into());
        want.sort();
        ensure!(names == want, "sub lists {names:?}");
        for i in 0..50 {
            let got = ctx(fs::read_to_string(dir.join(format!("sub/n{i:02}"))), "read sub/n")?;
            ensure!(got == format!("{i}\n"), "sub/n{i:02} holds {got:?}");
        }
        Ok(String::new())
    };
    let clean = || -> Check {
        let mut perm = ctx(fs::metadata(dir.join("ro")), "metadata ro")?.permissions();
        perm.set_readonly(false);
        ctx(fs::set_permissions(dir.join("ro"), perm), "set_permissions")?;
        ctx(fs::remove_dir_all(dir), "remove_dir_all")?;
        want_kind(fs::metadata(dir), ErrorKind::NotFound, "the tree after remove_dir_all")?;
        Ok(String::new())
    };
    run_all("check-persist", vec![("check-persist", Box::new(c)), ("persist-cleanup", Box::new(clean))])
}

/// `/` is read-only (the initrd, or a read-only disk): every write fails with
/// PermissionDenied and reads work. `marker` is a file only the disk has.
pub fn readonly(marker: Option<&str>) -> i32 {
    let k = ErrorKind::PermissionDenied;
    let writes = move || -> Check {
        want_kind(fs::write("/fs-suite-readonly-probe", b"x"), k, "fs::write of a new file in /")?;
        want_kind(File::create("/bin/fs-suite-probe"), k, "File::create in /bin")?;
        want_kind(OpenOptions::new().write(true).open("/bin/hello-std"), k, "open /bin/hello-std for write")?;
        want_kind(OpenOptions::new().append(true).open("/bin/hello-std"), k, "open /bin/hello-std for append")?;
        want_kind(fs::create_dir("/fs-suite-readonly-dir"), k, "create_dir in /")?;
        want_kind(fs::remove_file("/bin/hello-std"), k, "remove_file /bin/hello-std")?;
        want_kind(fs::rename("/bin/hello-std", "/bin/hs"), k, "rename /bin/hello-std")?;
        want_kind(fs::copy("/bin/hello-std", "/bin/hs"), k, "copy into /bin")?;
        ensure!(!Path::new("/fs-suite-readonly-probe").exists(), "a refused write left a file");
        Ok(String::new())
    };
    let reads = move || -> Check {
        let data = ctx(fs::read("/bin/hello-std"), "read /bin/hello-std")?;
        ensure!(data.starts_with(b"\x7fELF"), "/bin/hello-std is not an ELF file");
        let len = ctx(fs::metadata("/bin/hello-std"), "metadata")?.len();
        ensure!(len == data.len() as u64, "metadata len {len} but read {} bytes", data.len());
        let names: Vec<String> = ctx(fs::read_dir("/bin"), "read_dir /bin")?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        ensure!(names.iter().any(|n| n == "fs-suite") && names.iter().any(|n| n == "hello-std"), "/bin: {names:?}");
        if let Some(m) = marker {
            let got = ctx(fs::read_to_string(m), format!("read marker {m}"))?;
            return Ok(format!("{} bytes; marker {m}: {:?}", data.len(), got.trim_end()));
        }
        Ok(format!("{} bytes", data.len()))
    };
    run_all("readonly", vec![("readonly-writes-fail", Box::new(writes)), ("readonly-reads-work", Box::new(reads))])
}

/// Reading `bad` fails with InvalidData; `good` still reads afterwards.
pub fn expect_invalid(bad: &Path, good: &Path) -> i32 {
    let b = move || -> Check {
        let r = fs::read(bad);
        want_kind(r.map(|v| v.len()), ErrorKind::InvalidData, &format!("read {}", bad.display()))?;
        Ok(String::new())
    };
    let g = move || -> Check {
        let data = ctx(fs::read(good), format!("read {}", good.display()))?;
        ensure!(!data.is_empty(), "{} is empty", good.display());
        let len = ctx(fs::metadata(good), "metadata")?.len();
        ensure!(len == data.len() as u64, "metadata len {len} but read {} bytes", data.len());
        Ok(format!("{} bytes", data.len()))
    };
    run_all("expect-invalid", vec![("bad-file-invalid-data", Box::new(b)), ("good-file-reads", Box::new(g))])
}
