//! The error kinds std::fs reports. NotFound, AlreadyExists, PermissionDenied
//! and NotADirectory must be exactly those kinds; IsADirectory and
//! DirectoryNotEmpty have no moto-rt v16 error code, so any error passes and
//! the kind that came back is printed.
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

use crate::util::{ctx, want_err, want_kind, ON_HOST};
use crate::{ensure, Check};

pub fn not_found(dir: &Path) -> Check {
    let p = dir.join("missing");
    let k = ErrorKind::NotFound;
    want_kind(File::open(&p), k, "File::open")?;
    want_kind(OpenOptions::new().write(true).open(&p), k, "open for write without create")?;
    want_kind(fs::metadata(&p), k, "metadata")?;
    want_kind(fs::read(&p), k, "fs::read")?;
    want_kind(fs::read_dir(&p), k, "read_dir")?;
    want_kind(fs::remove_file(&p), k, "remove_file")?;
    want_kind(fs::remove_dir(&p), k, "remove_dir")?;
    want_kind(fs::set_permissions(&p, ctx(fs::metadata(dir), "metadata")?.permissions()), k, "set_permissions")?;
    want_kind(File::create(dir.join("no/such/dir/f")), k, "File::create in a missing dir")?;
    want_kind(fs::metadata(dir.join("no/such")), k, "metadata under a missing dir")?;
    Ok(String::new())
}

pub fn already_exists(dir: &Path) -> Check {
    let p = dir.join("here");
    ctx(fs::write(&p, b"1"), "write")?;
    let k = ErrorKind::AlreadyExists;
    want_kind(OpenOptions::new().write(true).create_new(true).open(&p), k, "create_new on a file")?;
    want_kind(File::create_new(&p), k, "File::create_new on a file")?;
    want_kind(fs::create_dir(&p), k, "create_dir on a file")?;
    ctx(fs::create_dir(dir.join("d")), "create_dir")?;
    want_kind(fs::create_dir(dir.join("d")), k, "create_dir on a dir")?;
    want_kind(OpenOptions::new().write(true).create_new(true).open(dir.join("d")), k, "create_new on a dir")?;
    ensure!(ctx(fs::read(&p), "read")? == b"1", "a refused create_new changed the file");
    Ok(String::new())
}

/// Opening a read-only file for writing. A root user on the Linux host
/// bypasses permissions, so there success is allowed (and reported).
pub fn permission_denied(dir: &Path) -> Check {
    let p = dir.join("ro");
    ctx(fs::write(&p, b"keep"), "write")?;
    let mut perm = ctx(fs::metadata(&p), "metadata")?.permissions();
    perm.set_readonly(true);
    ctx(fs::set_permissions(&p, perm.clone()), "set_permissions")?;
    let k = ErrorKind::PermissionDenied;
    let cases: [(&str, std::io::Result<File>); 4] = [
        ("open write", OpenOptions::new().write(true).open(&p)),
        ("open append", OpenOptions::new().append(true).open(&p)),
        ("open read+write", OpenOptions::new().read(true).write(true).open(&p)),
        ("File::create", File::create(&p)),
    ];
    let mut note = String::new();
    for (what, r) in cases {
        match r {
            Ok(_) if ON_HOST => note = "the host let root write a read-only file".into(),
            r => want_kind(r, k, what)?,
        }
    }
    if note.is_empty() {
        ensure!(ctx(fs::read(&p), "read")? == b"keep", "a read-only file changed");
    }
    ctx(File::open(&p), "open a read-only file for reading")?;
    perm.set_readonly(false);
    ctx(fs::set_permissions(&p, perm), "set_permissions writable")?;
    ctx(fs::write(&p, b"changed"), "write after making writable")?;
    Ok(note)
}

pub fn not_a_directory(dir: &Path) -> Check {
    let f = dir.join("file");
    ctx(fs::write(&f, b"x"), "write")?;
    let k = ErrorKind::NotADirectory;
    want_kind(File::open(f.join("x")), k, "File::open through a file")?;
    want_kind(File::create(f.join("x")), k, "File::create through a file")?;
    want_kind(fs::metadata(f.join("x")), k, "metadata through a file")?;
    want_kind(fs::create_dir(f.join("x")), k, "create_dir through a file")?;
    want_kind(fs::read_dir(&f), k, "read_dir of a file")?;
    let note = want_err(fs::remove_dir(&f), "remove_dir of a file")?;
    ensure!(f.is_file(), "remove_dir removed a file");
    Ok(note)
}

pub fn is_a_directory(dir: &Path) -> Check {
    let d = dir.join("d");
    ctx(fs::create_dir(&d), "create_dir")?;
    let notes = [
        want_err(OpenOptions::new().write(true).open(&d), "open a dir for write")?,
        want_err(fs::write(&d, b"x"), "fs::write to a dir")?,
        want_err(fs::remove_file(&d), "remove_file of a dir")?,
        want_err(fs::read(&d), "fs::read of a dir")?,
    ];
    ensure!(d.is_dir(), "the directory is gone");
    Ok(notes.join(", "))
}

pub fn directory_not_empty(dir: &Path) -> Check {
    let d = dir.join("full");
    ctx(fs::create_dir(&d), "create_dir")?;
    ctx(fs::write(d.join("f"), b"x"), "write")?;
    ctx(fs::create_dir(dir.join("other")), "create_dir")?;
    ctx(fs::write(dir.join("other/g"), b"y"), "write")?;
    let notes = [
        want_err(fs::remove_dir(&d), "remove_dir of a non-empty dir")?,
        want_err(fs::rename(dir.join("other"), &d), "rename a dir over a non-empty dir")?,
    ];
    ensure!(d.join("f").is_file() && dir.join("other/g").is_file(), "a refused call changed the tree");
    Ok(notes.join(", "))
}
