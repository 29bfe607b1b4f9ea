//! Checks on directories and names: read_dir, create/remove, rename, copy,
//! canonicalize, the current directory, and several threads at once.
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::util::{self, ctx, want_kind};
use crate::{ensure, Check};

/// 300 entries (long names, so the listing spans several directory blocks
/// and reply buffers), every 10th a directory, file i holding i bytes.
pub fn read_dir(dir: &Path) -> Check {
    let mut want = Vec::new();
    for i in 0..300usize {
        let name = format!("entry-{i:03}-{}", "n".repeat(40 + i % 60));
        if i.is_multiple_of(10) {
            ctx(fs::create_dir(dir.join(&name)), format!("create_dir {name}"))?;
        } else {
            ctx(fs::write(dir.join(&name), vec![b'x'; i]), format!("write {name}"))?;
        }
        want.push(name);
    }
    let mut got = Vec::new();
    for e in ctx(fs::read_dir(dir), "read_dir")? {
        let e = ctx(e, "read_dir entry")?;
        let name = e.file_name().into_string().map_err(|n| format!("name not UTF-8: {n:?}"))?;
        ensure!(e.path() == dir.join(&name), "path {:?} for {name}", e.path());
        let i: usize = name.get(6..9).and_then(|n| n.parse().ok()).ok_or(format!("unexpected entry {name:?}"))?;
        let ft = ctx(e.file_type(), "file_type")?;
        let m = ctx(e.metadata(), "entry metadata")?;
        if i.is_multiple_of(10) {
            ensure!(ft.is_dir() && m.is_dir(), "{name} is not a directory in the listing");
        } else {
            ensure!(ft.is_file() && m.is_file(), "{name} is not a file in the listing");
            ensure!(m.len() == i as u64, "{name}: listed length {} want {i}", m.len());
        }
        got.push(name);
    }
    got.sort();
    ensure!(got.len() == want.len(), "listed {} entries, want {} (first: {:?})", got.len(), want.len(), got.first());
    ensure!(got == want, "listed names differ from the created ones");
    Ok("300 entries".into())
}

pub fn read_dir_empty(dir: &Path) -> Check {
    let n = ctx(fs::read_dir(dir), "read_dir")?.count();
    ensure!(n == 0, "an empty directory lists {n} entries (. and .. must not be listed)");
    Ok(String::new())
}

pub fn create_dir(dir: &Path) -> Check {
    let d = dir.join("d");
    ctx(fs::create_dir(&d), "create_dir")?;
    ensure!(ctx(fs::metadata(&d), "metadata")?.is_dir(), "not a directory");
    want_kind(fs::create_dir(&d), ErrorKind::AlreadyExists, "create_dir on an existing dir")?;
    want_kind(fs::create_dir(dir.join("missing/d")), ErrorKind::NotFound, "create_dir with a missing parent")?;
    ctx(fs::write(dir.join("f"), b""), "write")?;
    want_kind(fs::create_dir(dir.join("f")), ErrorKind::AlreadyExists, "create_dir on an existing file")?;
    ctx(fs::write(d.join("inside"), b"in"), "write inside")?;
    ensure!(ctx(fs::read(d.join("inside")), "read")? == b"in", "file in a new directory");
    Ok(String::new())
}

pub fn create_dir_all(dir: &Path) -> Check {
    let deep = dir.join("a/b/c/d/e");
    ctx(fs::create_dir_all(&deep), "create_dir_all")?;
    ensure!(ctx(fs::metadata(&deep), "metadata")?.is_dir(), "deep dir");
    ctx(fs::create_dir_all(&deep), "create_dir_all again")?;
    ctx(fs::create_dir_all(dir.join("a/b/x/y")), "create_dir_all beside")?;
    ensure!(dir.join("a/b/c").is_dir() && dir.join("a/b/x/y").is_dir(), "intermediate dirs");
    ctx(fs::write(dir.join("file"), b""), "write")?;
    let note = util::want_err(fs::create_dir_all(dir.join("file/sub")), "create_dir_all through a file")?;
    Ok(note)
}

pub fn remove_file(dir: &Path) -> Check {
    let p = dir.join("r");
    ctx(fs::write(&p, b"gone soon"), "write")?;
    ctx(fs::remove_file(&p), "remove_file")?;
    want_kind(fs::metadata(&p), ErrorKind::NotFound, "metadata after remove")?;
    want_kind(fs::remove_file(&p), ErrorKind::NotFound, "remove_file twice")?;
    // The name can be used again at once.
    ctx(fs::write(&p, b"new"), "write again")?;
    ensure!(ctx(fs::read(&p), "read")? == b"new", "re-created file");
    Ok(String::new())
}

/// An open file can be removed (POSIX); its handle keeps working.
pub fn remove_open_file(dir: &Path) -> Check {
    let p = dir.join("r");
    ctx(fs::write(&p, b"new"), "write")?;
    let mut f = ctx(fs::OpenOptions::new().read(true).write(true).open(&p), "open")?;
    ctx(fs::remove_file(&p), "remove an open file")?;
    ensure!(!p.exists(), "removed open file still has its name");
    ctx(f.write_all(b"+more"), "write to a removed open file")?;
    ensure!(ctx(f.metadata(), "metadata of a removed open file")?.len() == 5, "length of the removed open file");
    drop(f);
    ensure!(ctx(fs::read_dir(dir), "read_dir")?.count() == 0, "directory not empty after removes");
    Ok(String::new())
}

pub fn remove_dir(dir: &Path) -> Check {
    let d = dir.join("e");
    ctx(fs::create_dir(&d), "create_dir")?;
    ctx(fs::remove_dir(&d), "remove_dir")?;
    ensure!(!d.exists(), "removed dir exists");
    want_kind(fs::remove_dir(&d), ErrorKind::NotFound, "remove_dir twice")?;
    ctx(fs::create_dir(&d), "create_dir again")?;
    ensure!(ctx(fs::read_dir(&d), "read_dir")?.count() == 0, "re-created dir not empty");
    Ok(String::new())
}

/// A tree: 3 levels, 4 dirs per level, 5 files (some 100 KB) per dir.
fn make_tree(root: &Path, depth: u32) -> Result<usize, String> {
    ctx(fs::create_dir_all(root), "create_dir_all")?;
    let mut n = 1;
    for i in 0..5 {
        ctx(fs::write(root.join(format!("f{i}")), util::pattern(i, if i == 0 { 100_000 } else { 10 })), "write")?;
        n += 1;
    }
    if depth > 0 {
        for i in 0..4 {
            n += make_tree(&root.join(format!("d{i}")), depth - 1)?;
        }
    }
    Ok(n)
}

pub fn remove_dir_all(dir: &Path) -> Check {
    let t = dir.join("tree");
    let n = make_tree(&t, 3)?;
    ctx(fs::remove_dir_all(&t), "remove_dir_all")?;
    want_kind(fs::metadata(&t), ErrorKind::NotFound, "metadata after remove_dir_all")?;
    want_kind(fs::remove_dir_all(&t), ErrorKind::NotFound, "remove_dir_all of a missing dir")?;
    ensure!(ctx(fs::read_dir(dir), "read_dir")?.count() == 0, "parent not empty");
    Ok(format!("{n} entries"))
}

pub fn rename_file(dir: &Path) -> Check {
    let (a, b) = (dir.join("a"), dir.join("b"));
    ctx(fs::write(&a, b"moving"), "write")?;
    ctx(fs::rename(&a, &b), "rename")?;
    want_kind(fs::metadata(&a), ErrorKind::NotFound, "old name after rename")?;
    ensure!(ctx(fs::read(&b), "read")? == b"moving", "content after rename");
    // Into another directory.
    ctx(fs::create_dir(dir.join("sub")), "create_dir")?;
    ctx(fs::rename(&b, dir.join("sub/c")), "rename into a subdir")?;
    ensure!(ctx(fs::read(dir.join("sub/c")), "read")? == b"moving", "content after a move");
    // To itself: nothing changes.
    ctx(fs::rename(dir.join("sub/c"), dir.join("sub/c")), "rename to itself")?;
    ensure!(ctx(fs::read(dir.join("sub/c")), "read")? == b"moving", "content after renaming to itself");
    Ok(String::new())
}

pub fn rename_replace(dir: &Path) -> Check {
    let (a, b) = (dir.join("a"), dir.join("b"));
    ctx(fs::write(&a, b"new content"), "write a")?;
    ctx(fs::write(&b, util::pattern(1, 50_000)), "write b")?;
    ctx(fs::rename(&a, &b), "rename over a file")?;
    ensure!(!a.exists(), "source still exists");
    ensure!(ctx(fs::read(&b), "read")? == b"new content", "target not replaced");
    let n = ctx(fs::read_dir(dir), "read_dir")?.count();
    ensure!(n == 1, "{n} entries after a replacing rename, want 1");
    Ok(String::new())
}

pub fn rename_dir(dir: &Path) -> Check {
    let (a, b) = (dir.join("da"), dir.join("db"));
    ctx(fs::create_dir_all(a.join("in/deeper")), "create_dir_all")?;
    ctx(fs::write(a.join("in/deeper/f"), b"deep"), "write")?;
    ctx(fs::rename(&a, &b), "rename dir")?;
    ensure!(!a.exists(), "old dir still exists");
    ensure!(ctx(fs::read(b.join("in/deeper/f")), "read")? == b"deep", "file in a renamed dir");
    // Into itself: refused.
    let note = util::want_err(fs::rename(&b, b.join("in/x")), "rename a dir into itself")?;
    ensure!(b.join("in/deeper/f").is_file(), "a refused rename changed the tree");
    Ok(note)
}

/// A directory renamed over an empty one replaces it (POSIX).
pub fn rename_over_empty_dir(dir: &Path) -> Check {
    let (a, b) = (dir.join("da"), dir.join("db"));
    ctx(fs::create_dir_all(b.join("in/deeper")), "create_dir_all")?;
    ctx(fs::write(b.join("in/deeper/f"), b"deep"), "write")?;
    ctx(fs::create_dir(&a), "create_dir")?;
    ctx(fs::rename(&b, &a), "rename over an empty dir")?;
    ensure!(ctx(fs::read(a.join("in/deeper/f")), "read")? == b"deep", "after rename over an empty dir");
    ensure!(!b.exists(), "old name of a dir renamed over an empty one still exists");
    Ok(String::new())
}

pub fn rename_missing(dir: &Path) -> Check {
    let a = dir.join("a");
    ctx(fs::write(&a, b"stay"), "write")?;
    want_kind(fs::rename(&a, dir.join("missing/a")), ErrorKind::NotFound, "rename into a missing dir")?;
    ensure!(ctx(fs::read(&a), "read")? == b"stay", "source changed by a failed rename");
    want_kind(fs::rename(dir.join("nope"), dir.join("b")), ErrorKind::NotFound, "rename of a missing file")?;
    ensure!(!dir.join("b").exists(), "a failed rename made its target");
    Ok(String::new())
}

pub fn copy(dir: &Path) -> Check {
    let (a, b) = (dir.join("a"), dir.join("b"));
    let data = util::pattern(9, 200_003);
    ctx(fs::write(&a, &data), "write")?;
    let n = ctx(fs::copy(&a, &b), "copy")?;
    ensure!(n == 200_003, "copy returned {n}");
    ensure!(ctx(fs::read(&b), "read copy")? == data, "copy's content differs");
    ensure!(ctx(fs::read(&a), "read source")? == data, "source changed");
    // Over an existing, longer file: replaced, not merged.
    ctx(fs::write(dir.join("short"), b"short"), "write short")?;
    ensure!(ctx(fs::copy(dir.join("short"), &b), "copy over")? == 5, "copy over returned a wrong length");
    ensure!(ctx(fs::read(&b), "read")? == b"short", "copy over a longer file did not truncate it");
    ctx(fs::write(dir.join("empty"), b""), "write empty")?;
    ensure!(ctx(fs::copy(dir.join("empty"), dir.join("e2")), "copy empty")? == 0, "copy of an empty file");
    want_kind(fs::copy(dir.join("nope"), dir.join("c")), ErrorKind::NotFound, "copy of a missing file")?;
    Ok(String::new())
}

pub fn canonicalize(dir: &Path) -> Check {
    ctx(fs::create_dir_all(dir.join("a/b")), "create_dir_all")?;
    ctx(fs::write(dir.join("a/b/f"), b""), "write")?;
    let base = ctx(fs::canonicalize(dir), "canonicalize dir")?;
    ensure!(base.is_absolute(), "{} is not absolute", base.display());
    let got = ctx(fs::canonicalize(dir.join("a/./b/../b/f")), "canonicalize with . and ..")?;
    ensure!(got == base.join("a/b/f"), "canonicalize gave {}, want {}", got.display(), base.join("a/b/f").display());
    let got = ctx(fs::canonicalize(dir.join("a/b/..")), "canonicalize ending in ..")?;
    ensure!(got == base.join("a"), "canonicalize(a/b/..) gave {}", got.display());
    want_kind(fs::canonicalize(dir.join("a/nope")), ErrorKind::NotFound, "canonicalize of a missing path")?;
    Ok(String::new())
}

/// Restores the current directory when dropped, whatever the check did.
struct Cwd(PathBuf);
impl Drop for Cwd {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

pub fn current_dir(dir: &Path) -> Check {
    let _restore = Cwd(ctx(std::env::current_dir(), "current_dir")?);
    let canon = ctx(fs::canonicalize(dir), "canonicalize")?;
    ctx(std::env::set_current_dir(dir), "set_current_dir")?;
    let cwd = ctx(std::env::current_dir(), "current_dir after set")?;
    ensure!(cwd == canon, "current_dir {} want {}", cwd.display(), canon.display());
    ctx(fs::write("rel.txt", b"relative"), "write a relative path")?;
    ensure!(ctx(fs::read(dir.join("rel.txt")), "read by absolute path")? == b"relative", "relative write");
    ensure!(ctx(fs::read("./rel.txt"), "read ./rel.txt")? == b"relative", "read ./");
    ctx(fs::create_dir("sub"), "create_dir relative")?;
    ctx(std::env::set_current_dir("sub"), "set_current_dir relative")?;
    ensure!(ctx(fs::read("../rel.txt"), "read ../rel.txt")? == b"relative", "read ../");
    ensure!(ctx(std::env::current_dir(), "current_dir")? == canon.join("sub"), "current_dir in sub");
    ctx(std::env::set_current_dir(".."), "set_current_dir ..")?;
    let got = ctx(fs::canonicalize("rel.txt"), "canonicalize relative")?;
    ensure!(got == canon.join("rel.txt"), "canonicalize(rel.txt) gave {}", got.display());
    let names: Vec<_> = ctx(fs::read_dir("."), "read_dir .")?.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    ensure!(names.len() == 2, "read_dir(.) lists {names:?}");
    ctx(fs::rename("rel.txt", "sub/moved.txt"), "rename relative")?;
    ensure!(dir.join("sub/moved.txt").is_file(), "relative rename");
    want_kind(std::env::set_current_dir("nope"), ErrorKind::NotFound, "set_current_dir to a missing dir")?;
    let note = util::want_err(std::env::set_current_dir("sub/moved.txt"), "set_current_dir to a file")?;
    ensure!(ctx(std::env::current_dir(), "current_dir")? == canon, "a failed set_current_dir moved the cwd");
    Ok(note)
}

/// Four threads, each its own files and directory, at once.
pub fn threads(dir: &Path) -> Check {
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4u64)
            .map(|t| {
                s.spawn(move || -> Result<(), String> {
                    let d = dir.join(format!("t{t}"));
                    ctx(fs::create_dir(&d), "create_dir")?;
                    for i in 0..20u64 {
                        let p = d.join(format!("f{i}"));
                        let data = util::pattern(t * 100 + i, 1_000 + (i as usize) * 997);
                        let mut f = ctx(File::create(&p), "create")?;
                        ctx(f.write_all(&data), "write")?;
                        drop(f);
                        ensure!(ctx(fs::read(&p), "read")? == data, "thread {t} file {i} differs");
                        if i.is_multiple_of(2) {
                            ctx(fs::remove_file(&p), "remove")?;
                        }
                    }
                    ensure!(ctx(fs::read_dir(&d), "read_dir")?.count() == 10, "thread {t}: wrong entry count");
                    Ok(())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    for r in results {
        r?;
    }
    Ok("4 threads".into())
}

/// Removes the suite's base directory; it must then be gone.
pub fn cleanup(base: &Path) -> Check {
    ctx(fs::remove_dir_all(base), "remove_dir_all")?;
    want_kind(fs::metadata(base), ErrorKind::NotFound, "base after remove_dir_all")?;
    Ok(String::new())
}
