//! `ProcessList` and `KillPid`: bad arguments get their errors, the list
//! shows this process and its child, init may end its child, and a process
//! outside init's session may end neither init nor another session (run as
//! a child of this program: `/test/syscalls kill-denied PID`).
use crate::{r, Checker};
use vireo_rt::pv_abi::procinfo::{flags, ProcState, ProcessInfo, MAX_LIST, RECORD_SIZE};
use vireo_rt::pv_abi::syscall::{status, Sys};
use vireo_rt::raw::*;
use vireo_rt::sys;
use vireo_rt::{println, Error};

const KERNEL: u64 = 0xffff_8000_0000_0000;

fn kill_pid(pid: u64) -> Result<u64, Error> {
    // SAFETY: KillPid takes no pointer; the tests below name only pids that
    // do not exist or that this test started.
    r(unsafe { syscall1(Sys::KillPid as u64, pid) })
}

/// Up to 16 records.
fn list() -> Result<(u64, [ProcessInfo; 16]), Error> {
    let mut raw = [[0u8; RECORD_SIZE]; 16];
    // SAFETY: the kernel writes at most 16 records into `raw`.
    let total = r(unsafe { syscall2(Sys::ProcessList as u64, raw.as_mut_ptr() as u64, 16) })?;
    Ok((total, raw.map(|b| ProcessInfo::from_bytes(&b))))
}

pub fn check(c: &mut Checker) {
    use Error::*;
    let pl = Sys::ProcessList as u64;
    let mut one = [0u8; RECORD_SIZE];
    let p = one.as_mut_ptr() as u64;
    // SAFETY: the kernel must refuse this before writing anything.
    c.check("process_list(kernel, 1)", r(unsafe { syscall2(pl, KERNEL, 1) }), &[Fault]);
    // SAFETY: as above.
    c.check("process_list(kernel, 0)", r(unsafe { syscall2(pl, KERNEL, 0) }), &[Fault]);
    // SAFETY: as above.
    c.check("process_list(cap over MAX_LIST)", r(unsafe { syscall2(pl, p, MAX_LIST + 1) }), &[Invalid]);
    // SAFETY: address 0 is never mapped: the kernel's write faults.
    c.check("process_list(null, 2)", r(unsafe { syscall2(pl, 0, 2) }), &[Fault]);
    c.check("kill_pid(0)", kill_pid(0), &[Invalid]);
    c.check("kill_pid(2^32)", kill_pid(1 << 32), &[Invalid]);
    c.check("kill_pid(no such pid)", kill_pid(0xffff_fff0), &[NotFound]);

    let me = sys::sysinfo().map(|i| i.pid).unwrap_or(0);
    let child = match sys::spawn("/bin/spin", &[]) {
        Ok(h) => h,
        Err(e) => {
            println!("test-syscalls: spawn /bin/spin: {}", e.name());
            c.failed += 1;
            return;
        }
    };
    // SAFETY: a null buffer with capacity 0 is only counted.
    let counted = r(unsafe { syscall2(pl, 0, 0) });
    c.expect("process_list(cap 0) counts this process and its child", matches!(counted, Ok(n) if n >= 2));
    match list() {
        Ok((total, recs)) => {
            let recs = &recs[..(total as usize).min(16)];
            let shown = |x: &ProcessInfo| {
                let cmd = core::str::from_utf8(x.cmdline_bytes()).unwrap_or("?");
                println!(
                    "test-syscalls: pid {} parent {} state {} threads {} rss {} flags {:#x} {cmd:?}",
                    x.pid, x.parent, x.state, x.threads, x.resident_bytes, x.flags
                );
            };
            let before = c.failed;
            let mine = recs.iter().find(|x| x.pid == me);
            c.expect(
                "process_list shows this process, running, one thread, itself",
                mine.is_some_and(|x| {
                    x.threads == 1
                        && x.state() == Some(ProcState::Running)
                        && x.flags & flags::SELF != 0
                        && x.cmdline_bytes().starts_with(b"syscalls")
                        && x.resident_bytes > 0
                }),
            );
            let spin = recs.iter().find(|x| x.parent == me && x.cmdline_bytes() == b"spin");
            c.expect("process_list shows the child with this process as parent", spin.is_some());
            if c.failed != before {
                println!("test-syscalls: I am pid {me}; the list ({total}):");
                recs.iter().for_each(shown);
            }
            if let Some(s) = spin {
                c.expect("init may kill its child", s.flags & flags::KILLABLE != 0 && s.session == s.pid);
                deny_from_a_child(c, s.pid);
                c.expect("kill_pid(child) as init", kill_pid(u64::from(s.pid)) == Ok(0));
                c.expect("the child ends as killed", sys::wait(child, sys::FOREVER) == Ok(status::KILLED));
            }
        }
        Err(e) => {
            println!("test-syscalls: process_list: {}", e.name());
            c.failed += 1;
        }
    }
    let _ = sys::kill(child);
    let _ = sys::close(child);
}

/// Another child of init (a session of its own) may end neither init nor
/// `target` (a third session); it exits 0 when both were refused.
fn deny_from_a_child(c: &mut Checker, target: u32) {
    let mut pid = [0u8; 10];
    let s = fmt_u32(target, &mut pid);
    match sys::spawn("/test/syscalls", &["kill-denied", s]) {
        Ok(h) => {
            c.expect("a child of init may kill neither init nor another session", sys::wait(h, sys::FOREVER) == Ok(0));
            let _ = sys::close(h);
        }
        Err(e) => {
            println!("test-syscalls: spawn /test/syscalls: {}", e.name());
            c.failed += 1;
        }
    }
}

/// The child's side: 0 when `KillPid` refused init and `target`.
pub fn kill_denied(target: &str) -> i32 {
    let target = target.bytes().try_fold(0u64, |n, d| d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0')));
    let init = kill_pid(1);
    let other = target.map(kill_pid);
    if init == Err(Error::AccessDenied) && other == Some(Err(Error::AccessDenied)) {
        0
    } else {
        println!("test-syscalls: kill-denied: init {init:?}, other {other:?}");
        1
    }
}

fn fmt_u32(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or("0")
}
