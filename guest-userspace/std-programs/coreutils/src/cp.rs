//! `cp [-r] SRC DST`, `cp [-r] SRC... DIR`: copies files (`-r`: directories
//! with all they hold).
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str = "usage: cp [-r] SRC DST | cp [-r] SRC... DIR\n\
Copies the file SRC to DST, or each SRC into the directory DIR; -r copies directories and what is in them.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "rR", "") {
        Ok(a) => a,
        Err(e) => return bad_args("cp", USAGE, &e),
    };
    let recursive = a.has('r') || a.has('R');
    let Some((dst, srcs)) = a.operands.split_last().filter(|(_, s)| !s.is_empty()) else {
        return usage_error("cp", USAGE, "needs a source and a destination");
    };
    let into = Path::new(dst).is_dir();
    if srcs.len() > 1 && !into {
        return fail("cp", dst, &io::Error::from(io::ErrorKind::NotADirectory));
    }
    let mut ok = true;
    for s in srcs {
        let target = if into { inside(dst, s) } else { PathBuf::from(dst) };
        if let Err((what, e)) = copy(Path::new(s), &target, recursive) {
            ok = false;
            fail("cp", &what, &e);
        }
    }
    status(ok)
}

/// `dir/NAME` for the last component of `src`.
pub fn inside(dir: &str, src: &str) -> PathBuf {
    let name = Path::new(src).file_name().map_or_else(|| src.into(), |n| n.to_os_string());
    Path::new(dir).join(name)
}

type Failure = (String, io::Error);

/// Tags an error with the path it happened at.
fn at(p: &Path) -> impl Fn(io::Error) -> Failure + '_ {
    move |e| (p.display().to_string(), e)
}

fn copy(src: &Path, dst: &Path, recursive: bool) -> Result<(), Failure> {
    let meta = std::fs::metadata(src).map_err(at(src))?;
    if !meta.is_dir() {
        return std::fs::copy(src, dst).map(drop).map_err(at(src));
    }
    if !recursive {
        let e = io::Error::new(io::ErrorKind::IsADirectory, "is a directory (use -r)");
        return Err((src.display().to_string(), e));
    }
    if within(src, dst) {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "cannot copy a directory into itself");
        return Err((src.display().to_string(), e));
    }
    match std::fs::create_dir(dst) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dst.is_dir() => {}
        r => r.map_err(at(dst))?,
    }
    let mut entries: Vec<_> = std::fs::read_dir(src).map_err(at(src))?.collect::<io::Result<_>>().map_err(at(src))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        copy(&e.path(), &dst.join(e.file_name()), true)?;
    }
    Ok(())
}

/// Whether `dst` is `src` or below it, going by the (absolute) path text:
/// copying a directory there would never end.
fn within(src: &Path, dst: &Path) -> bool {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    abs(dst).starts_with(abs(src))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_takes_the_last_component() {
        assert_eq!(inside("/d", "/a/b.txt"), PathBuf::from("/d/b.txt"));
        assert_eq!(inside("d/", "x"), PathBuf::from("d/x"));
    }

    #[test]
    fn a_directory_is_not_copied_into_itself() {
        assert!(within(Path::new("/a"), Path::new("/a/b")));
        assert!(within(Path::new("/a"), Path::new("/a")));
        assert!(!within(Path::new("/a"), Path::new("/ab")));
    }
}
