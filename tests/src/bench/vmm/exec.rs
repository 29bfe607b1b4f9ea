//! Start a program with CLOCK_MONOTONIC taken in the forked child just
//! before its execve, handed over in `VMM_HARNESS_EXEC_NS`: "exec -> first
//! KVM_RUN" then starts at the exec, not at the parent's fork or spawn.
//!
//! Everything the child needs is allocated before the fork; after it the
//! child only calls async-signal-safe functions (dup2, clock_gettime,
//! execve, _exit) and writes the time into its own copy of the environment.
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub const EXEC_ENV: &str = "VMM_HARNESS_EXEC_NS";
/// Digits reserved for the nanoseconds (i64::MAX has 19).
const DIGITS: usize = 19;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Status(i32),
    Signal(i32),
    /// Killed after the deadline.
    TimedOut,
}

fn cstr(s: &OsStr) -> Result<CString, String> {
    CString::new(s.as_bytes()).map_err(|_| format!("{} contains a NUL byte", s.to_string_lossy()))
}

/// Writes `v` as exactly [`DIGITS`] decimal digits, zero-padded.
pub fn put_digits(buf: &mut [u8], mut v: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Runs `program args...` with stdin, stdout and stderr on /dev/null, the
/// environment plus [`EXEC_ENV`]; kills it after `limit`. `before` runs
/// in the parent once the child exists (e.g. to signal it), with its pid.
pub fn run(program: &Path, args: &[&OsStr], limit: Duration, before: impl FnOnce(i32)) -> Result<Ended, String> {
    let prog = cstr(program.as_os_str())?;
    let mut argv_c = vec![prog.clone()];
    for a in args {
        argv_c.push(cstr(a)?);
    }
    let env_c: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != EXEC_ENV)
        .map(|(k, v)| {
            let mut b = k.as_bytes().to_vec();
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            CString::new(b).map_err(|_| "an environment variable contains a NUL byte".to_string())
        })
        .collect::<Result<_, _>>()?;
    // The child writes its time into this one, hence a buffer of our own.
    let mut stamp_buf = format!("{EXEC_ENV}={}\0", "0".repeat(DIGITS)).into_bytes();
    let stamp = stamp_buf.as_mut_ptr();
    let stamp_at = EXEC_ENV.len() + 1;
    let argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).chain([std::ptr::null()]).collect();
    let envp: Vec<*const libc::c_char> =
        env_c.iter().map(|c| c.as_ptr()).chain([stamp.cast_const().cast(), std::ptr::null()]).collect();
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").map_err(|e| e.to_string())?;
    let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);

    // SAFETY: fork has no preconditions; the child below only makes
    // async-signal-safe calls on memory allocated before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the fds are open; `ts` is ours; `stamp` points at the
        // DIGITS zeros after `VMM_HARNESS_EXEC_NS=` in the child's copy of
        // `env_c`, and `argv`/`envp` are NULL-terminated arrays of live
        // C strings. execve only returns on failure, then _exit.
        unsafe {
            for fd in 0..3 {
                libc::dup2(null_fd, fd);
            }
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
            let ns = (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64);
            put_digits(std::slice::from_raw_parts_mut(stamp.add(stamp_at), DIGITS), ns);
            libc::execve(argv[0], argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    before(pid);
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child, writing into `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Ok(if libc::WIFEXITED(status) {
                Ended::Status(libc::WEXITSTATUS(status))
            } else {
                Ended::Signal(libc::WTERMSIG(status))
            });
        }
        if r < 0 {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
        if Instant::now() > deadline {
            // SAFETY: our own child, not yet reaped, so the pid is still ours.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Ok(Ended::TimedOut);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_fixed_width() {
        let mut b = [0u8; DIGITS];
        put_digits(&mut b, 1_234_567);
        assert_eq!(&b, b"0000000000001234567");
        put_digits(&mut b, i64::MAX as u64);
        assert_eq!(&b, b"9223372036854775807");
    }

    #[test]
    fn the_child_sees_the_stamp() {
        let out = std::env::temp_dir().join(format!("vireo-exec-stamp-{}", std::process::id()));
        let script = format!("echo ${EXEC_ENV} > {}", out.display());
        let before = crate::bench::capture::monotonic_ns();
        let ended =
            run(Path::new("/bin/sh"), &[OsStr::new("-c"), OsStr::new(&script)], Duration::from_secs(10), drop).unwrap();
        assert_eq!(ended, Ended::Status(0));
        let v: i64 = std::fs::read_to_string(&out).unwrap().trim().parse().unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(v >= before && v <= crate::bench::capture::monotonic_ns(), "{v} {before}");
    }
}
