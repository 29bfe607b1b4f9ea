//! Every way a run can fail before the program's own status is known. Each
//! is one line on stderr (`vireo-run: ...`), and the runner then exits with
//! [`RUNNER_FAILED`] (or [`TIMED_OUT`]), statuses a program rarely uses.
use std::fmt;
use std::path::PathBuf;

/// The runner itself could not run the program (bad input, no QEMU, the VM
/// stopped without a status), like `docker run`'s 125.
pub const RUNNER_FAILED: i32 = 125;
/// `--timeout` passed, like timeout(1).
pub const TIMED_OUT: i32 = 124;

#[derive(Debug)]
pub enum RunError {
    Usage(String),
    NoProgram,
    Missing { what: &'static str, path: PathBuf, hint: &'static str },
    Read { path: PathBuf, err: std::io::Error },
    Write { path: PathBuf, err: std::io::Error },
    NotElf(PathBuf),
    WrongTarget { path: PathBuf, why: &'static str },
    Argument { index: usize, why: &'static str },
    BadInitrd(PathBuf),
    Pack(String),
    KvmUnusable(String),
    QemuMissing,
    QemuFailed(String),
    NoStatus(String),
    KernelCrash(String),
    Guest(String),
    TimedOut(u64),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) => write!(f, "{m} (vireo-run --help)"),
            Self::NoProgram => write!(f, "no program to run: vireo-run [OPTIONS] PROGRAM [ARGS...] (vireo-run --help)"),
            Self::Missing { what, path, hint } => write!(f, "no {what} at {}: {hint}", path.display()),
            Self::Read { path, err } => write!(f, "cannot read {}: {err}", path.display()),
            Self::Write { path, err } => write!(f, "cannot write {}: {err}", path.display()),
            Self::NotElf(p) => write!(f, "{} is not an ELF executable", p.display()),
            Self::WrongTarget { path, why } => {
                write!(
                    f,
                    "{} is not an x86_64-unknown-motor program ({why}); build with --target x86_64-unknown-motor",
                    path.display()
                )
            }
            Self::Argument { index, why } => write!(f, "argument {index} {why}"),
            Self::BadInitrd(p) => {
                write!(f, "{} is not a cpio newc archive of Vireo's (run `make initrd`)", p.display())
            }
            Self::Pack(m) => write!(f, "cannot pack the program into an initrd: {m}"),
            Self::KvmUnusable(why) => write!(f, "KVM was asked for but cannot run Vireo here: {why} (use --accel tcg)"),
            Self::QemuMissing => {
                write!(f, "qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86; `make deps`)")
            }
            Self::QemuFailed(m) => write!(f, "QEMU failed: {m}"),
            Self::NoStatus(m) => write!(f, "the VM stopped without reporting the program's status{m}"),
            Self::Guest(line) => write!(f, "Vireo could not run the program: {line}"),
            Self::KernelCrash(line) => write!(f, "the guest kernel crashed: {line}"),
            Self::TimedOut(s) => write!(f, "the program did not finish within {s} s (--timeout); the VM was stopped"),
        }
    }
}

impl RunError {
    pub fn exit_status(&self) -> i32 {
        match self {
            Self::TimedOut(_) => TIMED_OUT,
            _ => RUNNER_FAILED,
        }
    }
}
