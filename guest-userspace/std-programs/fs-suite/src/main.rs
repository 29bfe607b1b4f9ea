//! `/bin/fs-suite`: proves std::fs end to end, through the Rust std API only
//! (nothing Vireo-specific), so the same source also runs on a Linux host to
//! check the suite's own expectations.
//!
//! Modes (argument 1):
//! - `[DIR]` (default `/tmp-fs-suite-<n>`): the suite. Each check works in its
//!   own subdirectory of DIR and prints `fs-suite: ok NAME` or
//!   `fs-suite: FAIL NAME: detail`; the suite removes DIR at the end and exits
//!   0 only if every check passed.
//! - `write-persist DIR` / `check-persist DIR`: write a tree, then (after a
//!   reboot on the same disk) check it and remove it.
//! - `readonly [MARKER]`: `/` is read-only: writes fail with PermissionDenied,
//!   reads work; MARKER (a path only the disk has) must exist if given.
//! - `expect-invalid BAD GOOD`: reading BAD fails with InvalidData (a corrupt
//!   inode or directory block) while GOOD still reads.
//!
//! Error kinds moto-rt v16 cannot express (IsADirectory, DirectoryNotEmpty)
//! are checked only as "some error", and the kind that came back is printed.
// The read-only round trip is an API under test: `set_readonly(false)` is
// what a std program calls, world-writable mode bits on Unix or not.
#![allow(clippy::permissions_set_readonly_false)]

mod dirs;
mod errors;
mod files;
mod modes;
mod util;

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The outcome of one check: a detail to print on success, or why it failed.
pub type Check = Result<String, String>;

/// Fails the current check with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// Runs named checks and counts failures.
pub struct Suite {
    base: PathBuf,
    passed: usize,
    failed: Vec<&'static str>,
}

impl Suite {
    fn new(base: PathBuf) -> Suite {
        Suite { base, passed: 0, failed: Vec::new() }
    }

    /// A fresh directory for check `name` under the suite's base.
    fn dir_for(&self, name: &str) -> Result<PathBuf, String> {
        let d = self.base.join(name);
        std::fs::create_dir(&d).map_err(|e| format!("create_dir({}): {e}", d.display()))?;
        Ok(d)
    }

    /// Runs `f` in a fresh directory and prints its outcome.
    fn run(&mut self, name: &'static str, f: fn(&Path) -> Check) {
        let start = Instant::now();
        let outcome = self.dir_for(name).and_then(|d| f(&d));
        report(name, outcome, start, &mut self.passed, &mut self.failed);
    }
}

fn report(name: &'static str, outcome: Check, start: Instant, passed: &mut usize, failed: &mut Vec<&'static str>) {
    let ms = start.elapsed().as_millis();
    match outcome {
        Ok(detail) if detail.is_empty() => println!("fs-suite: ok {name} ({ms} ms)"),
        Ok(detail) => println!("fs-suite: ok {name} ({detail}; {ms} ms)"),
        Err(e) => {
            println!("fs-suite: FAIL {name}: {e}");
            failed.push(name);
            return;
        }
    }
    *passed += 1;
}

/// Every check of the suite, in order.
/// A check's name and body (it gets its own fresh directory).
type NamedCheck = (&'static str, fn(&Path) -> Check);

const CHECKS: &[NamedCheck] = &[
    ("create-write-read", files::create_write_read),
    ("open-options", files::open_options),
    ("append", files::append),
    ("seek", files::seek),
    ("seek-far", files::seek_far),
    ("set-len", files::set_len),
    ("sync", files::sync),
    ("metadata", files::metadata),
    ("modified-time", files::modified_time),
    ("permissions", files::permissions),
    ("two-handles", files::two_handles),
    ("many-handles", files::many_handles),
    ("fs-read-write", files::read_write_helpers),
    ("large-file", files::large_file),
    ("read-dir", dirs::read_dir),
    ("read-dir-empty", dirs::read_dir_empty),
    ("create-dir", dirs::create_dir),
    ("create-dir-all", dirs::create_dir_all),
    ("remove-file", dirs::remove_file),
    ("remove-open-file", dirs::remove_open_file),
    ("remove-dir", dirs::remove_dir),
    ("remove-dir-all", dirs::remove_dir_all),
    ("rename-file", dirs::rename_file),
    ("rename-replace", dirs::rename_replace),
    ("rename-dir", dirs::rename_dir),
    ("rename-over-empty-dir", dirs::rename_over_empty_dir),
    ("rename-missing", dirs::rename_missing),
    ("copy", dirs::copy),
    ("canonicalize", dirs::canonicalize),
    ("current-dir", dirs::current_dir),
    ("threads", dirs::threads),
    ("not-found", errors::not_found),
    ("already-exists", errors::already_exists),
    ("permission-denied", errors::permission_denied),
    ("not-a-directory", errors::not_a_directory),
    ("is-a-directory", errors::is_a_directory),
    ("directory-not-empty", errors::directory_not_empty),
];

fn suite(base: PathBuf) -> i32 {
    let start = Instant::now();
    println!("fs-suite: base {}", base.display());
    if let Err(e) = std::fs::create_dir(&base) {
        println!("fs-suite: FAIL setup: create_dir({}): {e} ({:?})", base.display(), e.kind());
        return 1;
    }
    let mut s = Suite::new(base.clone());
    for &(name, f) in CHECKS {
        s.run(name, f);
    }
    let t = Instant::now();
    let cleanup = dirs::cleanup(&base);
    report("cleanup", cleanup, t, &mut s.passed, &mut s.failed);
    let ms = start.elapsed().as_millis();
    if s.failed.is_empty() {
        println!("fs-suite: all ok ({} checks, {ms} ms)", s.passed);
        0
    } else {
        println!("fs-suite: {} of {} checks FAILED: {:?}", s.failed.len(), s.passed + s.failed.len(), s.failed);
        1
    }
}

/// A base path no earlier run left behind.
fn default_base() -> PathBuf {
    let n = util::random_u64() % 1_000_000;
    PathBuf::from(format!("/tmp-fs-suite-{n}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let code = match arg(1) {
        Some("write-persist") => modes::write_persist(Path::new(arg(2).unwrap_or("/fs-persist"))),
        Some("check-persist") => modes::check_persist(Path::new(arg(2).unwrap_or("/fs-persist"))),
        Some("readonly") => modes::readonly(arg(2)),
        // Runs PATH (with the remaining arguments) through std::process::Command
        // and exits with its status: a program only on the disk proves that
        // spawning by path loads from the disk when the initrd lacks it.
        Some("spawn") => match arg(2) {
            Some(path) => match std::process::Command::new(path).args(args.iter().skip(3)).status() {
                Ok(status) => {
                    println!("fs-suite: spawn {path}: {status}");
                    status.code().unwrap_or(1)
                }
                Err(e) => {
                    println!("fs-suite: FAIL spawn {path}: {e} ({:?})", e.kind());
                    1
                }
            },
            None => {
                println!("fs-suite: usage: fs-suite spawn PATH [ARGS...]");
                2
            }
        },
        Some("expect-invalid") => match (arg(2), arg(3)) {
            (Some(bad), Some(good)) => modes::expect_invalid(Path::new(bad), Path::new(good)),
            _ => {
                println!("fs-suite: usage: fs-suite expect-invalid BAD_PATH GOOD_PATH");
                2
            }
        },
        Some(dir) => suite(PathBuf::from(dir)),
        None => suite(default_base()),
    };
    std::process::exit(code);
}
