//! The call generators: for each system call, arguments drawn from typed
//! classes (our own objects, boundary values, addresses the kernel must
//! refuse) within the filter of worker.rs, and the rules the result must
//! follow beyond the per-call error list.
use crate::abi::outside_user;
use crate::owner;
use crate::values::{self, PAGE};
use crate::worker::*;
use vireo_rt::pv_abi::boot_trace::INIT_READY;
use vireo_rt::pv_abi::syscall::{layout::USER_END, prot, rights, Sys, SysInfo, MAX_SPAWN_HANDLES, SYS_COUNT};
use vireo_rt::Error::{self, *};

type R = Result<u64, Option<Error>>;

/// Where a buffer points.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Buf {
    /// Our scratch mapping, or one of ours that is readable and writable.
    Good,
    /// One of our mappings without WRITE (and perhaps without READ).
    ReadOnly,
    /// One of ours with WRITE but not READ: the kernel's writes succeed
    /// into pages already populated, fail on others.
    WriteOnly,
    /// Unmapped user memory.
    Unmapped,
    /// Outside user space, or a range crossing its end.
    Outside,
}

const MMAP_BASE: u64 = 0x1000_0000_0000;

/// Relative weights of the calls (index = call number; the last entry is
/// "an unknown number").
const WEIGHTS: [u64; SYS_COUNT as usize + 1] = [
    4, // ConsoleWrite
    2, // ConsoleRead
    0, // Exit: never on the fuzzer itself (child processes exit)
    2, // Yield
    1, // Sleep
    2, // ClockMonotonic
    6, // Map
    6, // Unmap
    6, // Protect
    2, // Spawn
    5, // Wait
    4, // Kill
    2, // ThreadSpawn
    0, // ThreadExit: only the stub threads
    4, // FutexWait
    4, // FutexWake
    2, // SetFsBase
    6, // Close
    6, // Duplicate
    3, // ShmCreate
    4, // ShmMap
    3, // Args
    3, // SysInfo
    1, // BootMark
    3, // PipeCreate
    7, // Read
    7, // Write
    6, // unknown numbers
];

impl Worker {
    /// One random call.
    pub fn step(&mut self) {
        let w = |n: usize| if self.only & (1 << n) != 0 { WEIGHTS[n].max(1) } else { 0 };
        let total: u64 = (0..WEIGHTS.len()).map(w).sum();
        let mut roll = self.rng.below(total);
        let mut n = 0;
        while roll >= w(n) {
            roll -= w(n);
            n += 1;
        }
        match n as u64 {
            0 => self.console_write(),
            1 => self.console_read(),
            3 => {
                let r = self.call(Sys::Yield as u64, [0; 6], false);
                self.expect(r == Ok(0), 3, &[0; 6], r, "Yield must return 0");
            }
            4 => self.sleep(),
            5 => self.clock(),
            6 => self.map(),
            7 | 8 => self.unmap_or_protect(n == 8),
            9 => self.spawn(),
            10 => self.wait(),
            11 => self.kill(),
            12 => self.thread_spawn(),
            14 => self.futex_wait(),
            15 => self.futex_wake(),
            16 => self.set_fs_base(),
            17 => self.close(),
            18 => self.duplicate(),
            19 => self.shm_create(),
            20 => self.shm_map(),
            21 | 22 => self.args_or_sysinfo(n == 22),
            23 => self.boot_mark(),
            24 => self.pipe_create(),
            25 => self.read(),
            26 => self.write(),
            _ => self.unknown(),
        }
    }

    /// A buffer for the kernel to read or write, and its class. The length
    /// is forced for ranges that cross USER_END.
    fn buffer(&mut self) -> (u64, Option<u64>, Buf) {
        match self.rng.below(12) {
            0..=4 => (self.scratch + self.rng.below(SCRATCH_LEN / 2), None, Buf::Good),
            5..=6 if !self.maps.is_empty() => {
                let m = self.maps[self.rng.below(self.maps.len() as u64) as usize];
                let p = m.addr + self.rng.below(m.len.min(2 * PAGE));
                let rw = prot::READ | prot::WRITE;
                let class = if m.prot & rw == rw {
                    Buf::Good
                } else if m.prot & prot::WRITE == 0 {
                    Buf::ReadOnly
                } else {
                    Buf::WriteOnly
                };
                (p, None, class)
            }
            7 => (values::low_ptr(&mut self.rng), None, Buf::Unmapped),
            8 => {
                let (p, l) = values::crossing_range(&mut self.rng);
                (p, Some(l), Buf::Outside)
            }
            _ => (values::bad_ptr(&mut self.rng), None, Buf::Outside),
        }
    }

    fn console_write(&mut self) {
        let n = Sys::ConsoleWrite as u64;
        let (p, forced, class) = self.buffer();
        // A good buffer prints nothing (length 0) or is too long to print.
        let len = match (forced, class) {
            (Some(l), _) => l,
            (None, Buf::Outside | Buf::Unmapped) => values::len(&mut self.rng),
            _ => self.rng.pick(&[0, (1 << 20) + 1, u64::MAX]),
        };
        let a = [p, len, 0, 0, 0, 0];
        let r = self.call(n, a, outside_user(p, len));
        if len > 1 << 20 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "a write over 1 MiB must be Invalid");
        }
        if let Ok(v) = r {
            self.expect(v == len, n, &a, r, "ConsoleWrite must return the length");
        }
        if class == Buf::Unmapped && len > 0 && len <= 1 << 20 {
            self.expect(r.is_err(), n, &a, r, "unmapped buffer accepted");
        }
    }

    /// Only with buffers the kernel must refuse before it waits for a line.
    fn console_read(&mut self) {
        let n = Sys::ConsoleRead as u64;
        let (p, len) = match self.rng.below(3) {
            // The kernel checks only the part it may write (at most 1024
            // bytes), so the range must cross USER_END within that.
            0 => {
                let back = 1 + self.rng.below(64);
                (USER_END - back, back + 1 + self.rng.below(4096))
            }
            // A kernel-half pointer with any capacity: the kernel clamps the
            // capacity to 1024, so 0 at USER_END would be an empty range and
            // wait for input; keep the pointer strictly above it.
            _ => (values::bad_ptr(&mut self.rng).max(USER_END + 1), values::len(&mut self.rng).max(1)),
        };
        let a = [p, len, 0, 0, 0, 0];
        let r = self.call(n, a, true);
        self.expect(Self::is_err(r, Fault), n, &a, r, "ConsoleRead into a bad buffer must be Fault");
    }

    fn sleep(&mut self) {
        let ns = self.rng.pick(&[0, 1, 1_000, 20_000]);
        let a = [ns, 0, 0, 0, 0, 0];
        let r = self.call(Sys::Sleep as u64, a, false);
        self.expect(r == Ok(0), Sys::Sleep as u64, &a, r, "Sleep must return 0");
    }

    fn clock(&mut self) {
        let n = Sys::ClockMonotonic as u64;
        let a = [self.rng.next(), self.rng.next(), 0, 0, 0, 0];
        let r = self.call(n, a, false);
        let ok = matches!(r, Ok(t) if t >= self.last_clock);
        self.expect(ok, n, &a, r, "the clock went backwards");
        if let Ok(t) = r {
            self.last_clock = t;
        }
    }

    fn map(&mut self) {
        let n = Sys::Map as u64;
        let len = match self.rng.below(10) {
            0..=5 => 1 + self.rng.below(64 << 10),
            6 => self.rng.pick(&[1 << 30, 1 << 40, 1 << 46]),
            _ => values::len(&mut self.rng),
        };
        let p = if self.rng.chance(3, 4) { self.rng.below(8) } else { values::prot(&mut self.rng) };
        let any = self.rng.next();
        let a = [self.rng.pick(&[0, any, values::KERNEL, self.scratch]), len, p, 0, 0, 0];
        let r = self.call(n, a, false);
        let wx = p & prot::WRITE != 0 && p & prot::EXEC != 0;
        if len == 0 || p & !prot::ALL != 0 {
            // Which of two broken rules is reported first is the kernel's choice.
            let ok = Self::is_err(r, Invalid) || (wx && Self::is_err(r, Protection));
            self.expect(ok, n, &a, r, "Map of length 0 or unknown prot bits must be Invalid");
        } else if wx {
            self.expect(Self::is_err(r, Protection), n, &a, r, "Map W+X must be Protection");
        }
        if let Ok(addr) = r {
            let rounded = len.div_ceil(PAGE) * PAGE;
            let inside = addr % PAGE == 0 && addr >= MMAP_BASE && addr.checked_add(rounded).is_some_and(|e| e <= USER_END);
            self.expect(inside, n, &a, r, "Map returned a range outside the mapping area");
            if !inside {
                return;
            }
            if p & prot::READ != 0 && rounded <= 64 << 10 {
                // SAFETY: a fresh readable mapping of ours, at least one page.
                let v = unsafe { core::ptr::read_volatile(addr as *const u64) };
                self.expect(v == 0, n, &a, r, "fresh mapping is not zeroed");
                if p & prot::WRITE != 0 {
                    // SAFETY: as above, and writable.
                    unsafe { core::ptr::write_volatile((addr + rounded - 8) as *mut u64, 0x5a5a) };
                }
            }
            self.add_map(addr, len, p);
        }
    }

    fn unmap_or_protect(&mut self, protect: bool) {
        let n = if protect { Sys::Protect as u64 } else { Sys::Unmap as u64 };
        let p = if self.rng.chance(3, 4) { self.rng.below(8) } else { values::prot(&mut self.rng) };
        // (addr, len, index of the own mapping it covers exactly (with its
        // guard pages), or None: then the kernel must refuse the range).
        let (addr, len, whole) = match self.rng.below(10) {
            0..=5 if !self.maps.is_empty() => {
                let i = self.rng.below(self.maps.len() as u64) as usize;
                let m = self.maps[i];
                match self.rng.below(6) {
                    0 | 1 => (m.addr, m.len, Some(i)),
                    // Any length that rounds up to the same pages.
                    2 => (m.addr, m.len - PAGE + 1 + self.rng.below(PAGE), Some(i)),
                    // The guard pages on either side hold no mapping.
                    3 => (m.addr - PAGE, m.len + 2 * PAGE, Some(i)),
                    4 if m.len > PAGE => (m.addr + PAGE * self.rng.below(2), m.len - PAGE, None),
                    _ => (m.addr + 1 + self.rng.below(PAGE - 1), m.len, None),
                }
            }
            6 => (values::low_ptr(&mut self.rng) & !(PAGE - 1), PAGE * (1 + self.rng.below(4)), None),
            7 => {
                let (a, l) = values::crossing_range(&mut self.rng);
                (a & !(PAGE - 1), l, None)
            }
            8 => (values::bad_ptr(&mut self.rng) & !(PAGE - 1), self.rng.pick(&[PAGE, 1 << 30, u64::MAX]), None),
            _ => (self.scratch, self.rng.pick(&[0, u64::MAX, u64::MAX - PAGE + 2]), None),
        };
        let a = [addr, len, p, 0, 0, 0];
        let r = self.call(n, a, false);
        match whole {
            // Protect of a range that holds no mapping at all succeeds
            // (counted, see stats::note); anything else must be refused.
            None if protect && r == Ok(0) && addr % PAGE == 0 && !crate::abi::outside_user(addr, len) => {
                crate::stats::note_protect_empty();
            }
            None => {
                let why = "a range that is not whole mappings of ours must be refused";
                self.expect(r.is_err(), n, &a, r, why);
            }
            Some(i) if protect => {
                let want: R = if p & !prot::ALL != 0 {
                    Err(Some(Invalid))
                } else if p & prot::WRITE != 0 && p & prot::EXEC != 0 {
                    Err(Some(Protection))
                } else {
                    Ok(0)
                };
                self.expect(r == want, n, &a, r, "Protect of a whole mapping of ours");
                if r.is_ok() {
                    self.maps[i].prot = p;
                }
            }
            Some(i) => {
                self.expect(r == Ok(0), n, &a, r, "Unmap of a whole mapping of ours must succeed");
                if r.is_ok() {
                    self.maps.swap_remove(i);
                }
            }
        }
    }

    fn spawn(&mut self) {
        if self.child_mode {
            return;
        }
        let n = Sys::Spawn as u64;
        // The path: (bytes in scratch, what to expect, which child it makes).
        const FIXTURES: [&str; 4] = ["/test/elf/bad-magic", "/test/elf/truncated", "/test/elf/overlap", "/test/elf/ok"];
        let child_args = alloc::format!("child\0calls=60\0seed={:#x}", self.rng.next());
        let mut args: &[u8] = b"";
        let mut bad_path = false;
        let (path, child): (&[u8], Option<Child>) = match self.rng.below(12) {
            0..=2 => {
                args = b"park";
                (b"/test/fuzz", Some(Child::Park))
            }
            3..=4 => {
                args = child_args.as_bytes();
                (b"/test/fuzz", Some(Child::Fuzz))
            }
            5 => (b"/bin/hello", Some(Child::Hello)),
            6 => (b"/no/such/program", None),
            7 => (self.rng.pick(&FIXTURES).as_bytes(), None),
            8 => (b"\xff\xfe/bin/hello", None),
            9 => (b"", None),
            _ => {
                bad_path = true;
                (b"", None)
            }
        };
        let pbuf = self.scratch;
        // SAFETY: the scratch mapping is ours and at least 128 KiB.
        unsafe { core::ptr::copy_nonoverlapping(path.as_ptr(), pbuf as *mut u8, path.len()) };
        let abuf = self.scratch + 512;
        // SAFETY: as above.
        unsafe { core::ptr::copy_nonoverlapping(args.as_ptr(), abuf as *mut u8, args.len()) };
        let (mut pp, mut pl) = (pbuf, path.len() as u64);
        if bad_path {
            pp = values::bad_ptr(&mut self.rng);
            pl = 1 + self.rng.below(256);
        } else if self.rng.chance(1, 20) {
            pl = self.rng.pick(&[257, u64::MAX]);
        }
        let (mut ap, mut al) = (abuf, args.len() as u64);
        if self.rng.chance(1, 12) {
            (ap, al) = match self.rng.below(3) {
                0 => (values::bad_ptr(&mut self.rng), 1 + self.rng.below(64)),
                1 => (abuf, (64 << 10) + 1),
                _ => values::crossing_range(&mut self.rng),
            };
        }
        // Handles to pass: ours, bogus, unknown (a child gets whatever they name).
        let hbuf = self.scratch + 1024;
        let count = if self.rng.chance(1, 2) { 0 } else { self.rng.below(MAX_SPAWN_HANDLES + 1) };
        for k in 0..count {
            let (h, _) = self.pick_handle();
            // SAFETY: within the scratch mapping.
            unsafe { ((hbuf + 8 * k) as *mut u64).write(h) };
        }
        let (mut hp, mut hl) = (hbuf, count);
        if self.rng.chance(1, 12) {
            (hp, hl) = match self.rng.below(3) {
                0 => (values::bad_ptr(&mut self.rng), 1 + self.rng.below(16)),
                1 => (hbuf, MAX_SPAWN_HANDLES + 1 + self.rng.below(4)),
                _ => (USER_END - 8, 2),
            };
        }
        let a = [pp, pl, ap, al, hp, hl];
        let refuse = outside_user(pp, pl) || outside_user(ap, al) || outside_user(hp, hl * 8);
        let r = {
            let _g = owner::LOCK.lock();
            let r = self.call(n, a, refuse);
            if let Ok(h) = r {
                let kind = child.map_or(Kind::Process, Kind::Child);
                self.adopt(h, kind, CHILD_RIGHTS, n, &a);
            }
            r
        };
        if r.is_ok() && child.is_none() {
            let ok = path == b"/test/elf/ok";
            self.expect(ok, n, &a, r, "Spawn of a program that is not there or malformed succeeded");
        }
        if pl == 0 || pl > 256 || al > 64 << 10 || hl > MAX_SPAWN_HANDLES {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "Spawn beyond a documented limit must be Invalid");
        }
        self.trim();
    }

    fn wait(&mut self) {
        let n = Sys::Wait as u64;
        if self.self_handle != 0 && self.rng.chance(1, 20) {
            let a = [self.self_handle, 0, 0, 0, 0, 0];
            let r = self.call(n, a, false);
            self.expect(Self::is_err(r, Busy), n, &a, r, "waiting on yourself must be Busy");
            return;
        }
        let (h, what) = self.pick_handle();
        let forever = matches!(what, HArg::Own(i) if self.own[i].ends) && self.rng.chance(1, 2);
        let t = if forever { u64::MAX } else { values::short_timeout(&mut self.rng) };
        let a = [h, t, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        match what {
            HArg::Bogus => self.expect(Self::is_err(r, BadHandle), n, &a, r, "bogus handle must be BadHandle"),
            HArg::DataRd | HArg::DataWr => {
                let want = [Err(Some(WrongKind)), Err(Some(AccessDenied))];
                self.expect(want.contains(&r), n, &a, r, "Wait on a pipe must fail");
            }
            HArg::Own(i) => {
                let o = self.own[i];
                let ok = match o.kind {
                    _ if o.rights & rights::WAIT == 0 => Self::is_err(r, AccessDenied),
                    Kind::Child(c) => match r {
                        Ok(s) => {
                            check_child_status(&self.who, c, s as i32);
                            true
                        }
                        Err(e) => e == Some(TimedOut),
                    },
                    Kind::Thread => r == Ok(0) || Self::is_err(r, TimedOut),
                    Kind::Shm(_) | Kind::PipeRead | Kind::PipeWrite => r.is_err(),
                    Kind::Process | Kind::Unknown => true,
                };
                self.expect(ok, n, &a, r, "Wait on our own handle");
            }
            HArg::Unknown => {}
        }
    }

    fn kill(&mut self) {
        let n = Sys::Kill as u64;
        let (h, what) = self.pick_handle();
        let a = [h, 0, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        match what {
            HArg::Bogus => self.expect(Self::is_err(r, BadHandle), n, &a, r, "bogus handle must be BadHandle"),
            HArg::DataRd | HArg::DataWr => {
                self.expect(Self::is_err(r, AccessDenied), n, &a, r, "a pipe end has no KILL right")
            }
            HArg::Own(i) => {
                let o = self.own[i];
                let want: R = match o.kind {
                    Kind::Child(_) => Ok(0),
                    Kind::Process if o.rights & rights::KILL != 0 => Ok(0),
                    Kind::Unknown => r,
                    _ => Err(Some(AccessDenied)),
                };
                self.expect(r == want, n, &a, r, "Kill on our own handle");
                if r.is_ok() {
                    self.own[i].ends = true;
                }
            }
            HArg::Unknown => {}
        }
    }

    fn thread_spawn(&mut self) {
        if self.child_mode {
            return;
        }
        let n = Sys::ThreadSpawn as u64;
        let good_entry = self.rng.chance(2, 3);
        let entry = if good_entry { Self::stub_entry() } else { values::bad_ptr(&mut self.rng) };
        let stack = match self.rng.below(4) {
            0 => values::bad_ptr(&mut self.rng),
            1 => 0,
            _ => self.rng.next() & (USER_END - 1),
        };
        let fs = if self.rng.chance(1, 4) { values::bad_ptr(&mut self.rng) } else { self.rng.next() & (USER_END - 1) };
        let a = [entry, stack, self.rng.next(), fs, 0, 0];
        let invalid = entry >= USER_END || stack >= USER_END || fs >= USER_END;
        let r = {
            let _g = owner::LOCK.lock();
            if good_entry {
                Self::stub_started(1);
            }
            let r = self.call(n, a, false);
            match r {
                Ok(h) => self.adopt(h, Kind::Thread, THREAD_RIGHTS, n, &a),
                Err(_) if good_entry => Self::stub_started(-1),
                Err(_) => {}
            }
            r
        };
        if invalid {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "ThreadSpawn outside user space must be Invalid");
        }
        self.trim();
    }

    fn futex_wait(&mut self) {
        let n = Sys::FutexWait as u64;
        let word = self.scratch + 8 * self.rng.below(64);
        let (addr, class) = match self.rng.below(8) {
            0..=3 => (word, Buf::Good),
            4 => (word + 1 + self.rng.below(3), Buf::Good),
            _ => {
                let (p, _, c) = self.buffer();
                (p, c)
            }
        };
        let current = if class == Buf::Good && addr % 4 == 0 && addr >= self.scratch && addr < self.scratch + SCRATCH_LEN {
            // SAFETY: an aligned word in our scratch mapping.
            Some(unsafe { core::ptr::read_volatile(addr as *const u32) })
        } else {
            None
        };
        let (expected, timeout) = match (current, self.rng.below(4)) {
            (Some(v), 0) => (v as u64, values::short_timeout(&mut self.rng)),
            (Some(v), 1) => (v.wrapping_add(1) as u64, u64::MAX),
            (_, 2) => (1 << 32 | self.rng.below(4), values::short_timeout(&mut self.rng)),
            _ => (self.rng.below(4), values::short_timeout(&mut self.rng)),
        };
        // Never block forever on a word that might hold the value.
        let timeout = if current.is_some_and(|v| v as u64 != expected) { timeout } else { timeout.min(50_000) };
        let a = [addr, expected, timeout, 0, 0, 0];
        let r = self.call(n, a, outside_user(addr, 4));
        if expected > u32::MAX as u64 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "an expected value over 32 bits must be Invalid");
        } else if addr % 4 != 0 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "a misaligned futex must be Invalid");
        } else if let Some(v) = current {
            let want = if v as u64 == expected { Err(Some(TimedOut)) } else { Err(Some(WouldBlock)) };
            // Ok(0): a spurious wake by another thread's FutexWake.
            self.expect(r == want || r == Ok(0), n, &a, r, "FutexWait on our own word");
        }
        if class == Buf::Unmapped {
            self.expect(r.is_err(), n, &a, r, "FutexWait on unmapped memory accepted");
        }
    }

    fn futex_wake(&mut self) {
        let n = Sys::FutexWake as u64;
        let (addr, _, class) = self.buffer();
        let addr = if self.rng.chance(3, 4) { addr & !3 } else { addr };
        let any = self.rng.next();
        let count = self.rng.pick(&[0, 1, u64::MAX, any]);
        let a = [addr, count, 0, 0, 0, 0];
        let r = self.call(n, a, outside_user(addr, 4));
        if let Ok(k) = r {
            self.expect(k <= count, n, &a, r, "FutexWake woke more than asked");
        }
        if addr % 4 != 0 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "a misaligned futex must be Invalid");
        }
        if class == Buf::Unmapped {
            self.expect(r.is_err(), n, &a, r, "FutexWake on unmapped memory accepted");
        }
    }

    fn set_fs_base(&mut self) {
        let n = Sys::SetFsBase as u64;
        // The raw runtime keeps nothing at FS, so any user value is harmless.
        let v = if self.rng.chance(1, 2) { values::bad_ptr(&mut self.rng) } else { self.rng.next() & (USER_END - 1) };
        let a = [v, 0, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        let want = if v >= USER_END { Err(Some(Invalid)) } else { Ok(0) };
        self.expect(r == want, n, &a, r, "SetFsBase");
    }

    fn close(&mut self) {
        let n = Sys::Close as u64;
        let (h, what) = self.pick_handle();
        match what {
            HArg::Own(i) => self.close_own(i),
            HArg::DataRd | HArg::DataWr => self.drop_pipe(),
            HArg::Bogus | HArg::Unknown => {
                // A small number may be one of ours after all.
                if let Some(i) = self.own.iter().position(|o| o.h == h) {
                    return self.close_own(i);
                }
                if self.pipe.as_ref().is_some_and(|p| p.rd == h || p.wr == h) {
                    return self.drop_pipe();
                }
                let a = [h, 0, 0, 0, 0, 0];
                let _g = owner::LOCK.lock();
                // Another thread's handle is not ours to close (in a child,
                // every inherited handle is fair game).
                if !self.child_mode && owner::owner(h) != owner::NONE {
                    return;
                }
                let r = self.call(n, a, false);
                if !self.child_mode {
                    self.expect(Self::is_err(r, BadHandle), n, &a, r, "Close of a value no one holds must be BadHandle");
                }
            }
        }
    }

    fn duplicate(&mut self) {
        let n = Sys::Duplicate as u64;
        let (h, what) = self.pick_handle();
        let r_arg = match self.rng.below(8) {
            0 => u64::MAX,
            1 => 1 << 32 | rights::ALL as u64,
            2 => rights::ALL as u64,
            3 => 0xffff_ffff,
            _ => self.rng.below(32),
        };
        let a = [h, r_arg, 0, 0, 0, 0];
        let _g = owner::LOCK.lock();
        let r = self.call(n, a, false);
        if r_arg > u32::MAX as u64 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "rights over 32 bits must be Invalid");
        }
        let (kind, have) = match what {
            HArg::Own(i) => {
                let o = self.own[i];
                let kind = match o.kind {
                    Kind::Child(_) => Kind::Process,
                    k => k,
                };
                (kind, o.rights)
            }
            HArg::DataRd => (Kind::PipeRead, PIPE_RIGHTS),
            HArg::DataWr => (Kind::PipeWrite, PIPE_RIGHTS),
            HArg::Bogus => {
                self.expect(r.is_err(), n, &a, r, "bogus handle duplicated");
                (Kind::Unknown, 0)
            }
            HArg::Unknown => (Kind::Unknown, rights::ALL),
        };
        if matches!(what, HArg::Own(_) | HArg::DataRd | HArg::DataWr) && r_arg <= u32::MAX as u64 {
            let want_ok = have & rights::DUPLICATE != 0;
            let ok = if want_ok { r.is_ok() || Self::is_err(r, Limit) } else { Self::is_err(r, AccessDenied) };
            self.expect(ok, n, &a, r, "Duplicate of our own handle");
        }
        if let Ok(nh) = r {
            self.adopt(nh, kind, have & r_arg as u32, n, &a);
        }
        drop(_g);
        self.trim();
    }

    fn shm_create(&mut self) {
        let n = Sys::ShmCreate as u64;
        let len = match self.rng.below(10) {
            0..=5 => 1 + self.rng.below(64 << 10),
            6 => self.rng.pick(&[(64 << 20) + 1, u64::MAX, 0]),
            7 if self.rng.chance(1, 8) => 64 << 20,
            _ => self.rng.pick(&[1, PAGE, 1 << 20]),
        };
        let a = [len, 0, 0, 0, 0, 0];
        let _g = owner::LOCK.lock();
        let r = self.call(n, a, false);
        if len == 0 || len > 64 << 20 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "ShmCreate of 0 or over 64 MiB must be Invalid");
        }
        if let Ok(h) = r {
            self.adopt(h, Kind::Shm(len.div_ceil(PAGE) * PAGE), SHM_RIGHTS, n, &a);
        }
        drop(_g);
        // Big objects go at once, so the fuzzer does not pin the VM's memory.
        if r.is_ok() && len > 1 << 20 {
            if let Some(i) = self.own.iter().position(|o| Ok(o.h) == r) {
                self.close_own(i);
            }
        }
        self.trim();
    }

    fn shm_map(&mut self) {
        let n = Sys::ShmMap as u64;
        let (h, what) = self.pick_handle();
        let own_shm = match what {
            HArg::Own(i) => match self.own[i].kind {
                Kind::Shm(len) => Some((len, self.own[i].rights)),
                _ => None,
            },
            _ => None,
        };
        // Only our own objects with a valid protection may be mapped (we
        // must know the length to unmap it); others get one that cannot be.
        let p = if own_shm.is_some() && self.rng.chance(3, 4) {
            self.rng.below(8)
        } else {
            self.rng.pick(&[prot::WRITE | prot::EXEC, prot::ALL, 8, u64::MAX, 1 << 40])
        };
        let a = [h, p, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        let bad_prot = p & !prot::ALL != 0 || (p & prot::WRITE != 0 && p & prot::EXEC != 0);
        if bad_prot {
            self.expect(r.is_err(), n, &a, r, "ShmMap with a refused protection succeeded");
        }
        if what == HArg::Bogus {
            self.expect(Self::is_err(r, BadHandle), n, &a, r, "bogus handle must be BadHandle");
        }
        if let Some((len, have)) = own_shm {
            let need = if p & prot::WRITE != 0 { rights::MAP | rights::WRITE } else { rights::MAP };
            if have & need != need {
                self.expect(Self::is_err(r, AccessDenied), n, &a, r, "ShmMap without the right must be AccessDenied");
            } else if !bad_prot {
                self.expect(r.is_ok() || Self::is_err(r, NoMemory), n, &a, r, "ShmMap of our own object");
            }
            if let Ok(addr) = r {
                let inside = addr % PAGE == 0 && addr >= MMAP_BASE && addr + len <= USER_END;
                self.expect(inside, n, &a, r, "ShmMap returned a range outside the mapping area");
                if inside {
                    self.add_map(addr, len, p);
                }
            }
        } else if r.is_ok() {
            self.expect(false, n, &a, r, "ShmMap succeeded on a handle that is not our shared memory");
        }
    }

    fn args_or_sysinfo(&mut self, sysinfo: bool) {
        let n = if sysinfo { Sys::SysInfo as u64 } else { Sys::Args as u64 };
        let size = if sysinfo { core::mem::size_of::<SysInfo>() as u64 } else { self.args_len };
        let (p, forced, class) = self.buffer();
        let len = forced.unwrap_or_else(|| values::len(&mut self.rng));
        let eff = len.min(size);
        let a = [p, len, 0, 0, 0, 0];
        let r = self.call(n, a, outside_user(p, eff));
        if let Ok(v) = r {
            self.expect(v == size, n, &a, r, "must return the full size");
        }
        if eff > 0 && matches!(class, Buf::ReadOnly | Buf::Unmapped) {
            self.expect(r.is_err(), n, &a, r, "the kernel wrote into read-only or unmapped memory");
        }
        if class == Buf::Good && p >= self.scratch && p + eff <= self.scratch + SCRATCH_LEN && sysinfo {
            self.expect(r.is_ok(), n, &a, r, "SysInfo into our scratch memory failed");
            if r.is_ok() && eff >= 8 {
                // SAFETY: the kernel just wrote these bytes of our scratch mapping.
                let pid = unsafe { core::ptr::read_unaligned((p + 4) as *const u32) };
                self.expect(pid == self.pid, n, &a, r, "SysInfo gave another pid");
            }
        }
    }

    fn boot_mark(&mut self) {
        let n = Sys::BootMark as u64;
        let any = self.rng.next();
        let code = self.rng.pick(&[INIT_READY as u64, 0, 0xff, u64::MAX, any]);
        let a = [code, 0, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        let want = if self.pid != 1 {
            Err(Some(AccessDenied))
        } else if code == INIT_READY as u64 {
            Ok(0)
        } else {
            Err(Some(Invalid))
        };
        self.expect(r == want, n, &a, r, "BootMark");
    }

    fn pipe_create(&mut self) {
        let n = Sys::PipeCreate as u64;
        let (p, forced, class) = self.buffer();
        // Our scratch at an 8-byte boundary (the ends are read back from it).
        let p = if class == Buf::Good { self.scratch + 8 * self.rng.below(64) } else { p };
        let a = [p, 0, 0, 0, 0, 0];
        let _g = owner::LOCK.lock();
        let r = self.call(n, a, outside_user(p, forced.unwrap_or(16)));
        match class {
            Buf::ReadOnly | Buf::Unmapped => self.expect(r.is_err(), n, &a, r, "PipeCreate wrote into read-only or unmapped memory"),
            Buf::Good => self.expect(r.is_ok() || Self::is_err(r, NoMemory) || Self::is_err(r, Limit), n, &a, r, "PipeCreate into our scratch memory"),
            Buf::Outside | Buf::WriteOnly => {}
        }
        if r.is_ok() && class != Buf::Outside {
            // SAFETY: the kernel just wrote two u64 here, in our scratch
            // mapping or one of ours it could write (so it is populated, and
            // a present page is readable). Unaligned in our own mappings.
            let (rd, wr) = unsafe { ((p as *const u64).read_unaligned(), ((p + 8) as *const u64).read_unaligned()) };
            if rd == wr || !owner::in_range(rd) || !owner::in_range(wr) {
                self.expect(false, n, &a, r, "PipeCreate wrote bad handles");
                return;
            }
            if self.pipe.is_none() && (self.child_mode || (owner::claim(rd, self.id) && owner::claim(wr, self.id))) {
                self.pipe = Some(DataPipe { rd, wr, count: 0, wseq: 0, rseq: 0 });
            } else {
                self.adopt(rd, Kind::PipeRead, PIPE_RIGHTS, n, &a);
                self.adopt(wr, Kind::PipeWrite, PIPE_RIGHTS, n, &a);
            }
        }
        drop(_g);
        self.trim();
    }

    fn read(&mut self) {
        self.pipe_io(false);
    }

    fn write(&mut self) {
        self.pipe_io(true);
    }

    /// Read and Write. Real transfers only on the data pipe, where the fill
    /// level is known (so nothing blocks and every byte is checked); on any
    /// other handle only calls that cannot block or take bytes: length 0 or
    /// a buffer outside user space, which is refused before the handle is
    /// looked at.
    fn pipe_io(&mut self, write: bool) {
        let n = if write { Sys::Write as u64 } else { Sys::Read as u64 };
        let (h, what) = self.pick_handle();
        let mine = if write { HArg::DataWr } else { HArg::DataRd };
        if what == mine && self.rng.chance(3, 4) {
            return self.data_transfer(write);
        }
        let (p, len, outside) = match self.rng.below(3) {
            0 => {
                let (p, l) = values::crossing_range(&mut self.rng);
                (p, l, true)
            }
            1 => (values::bad_ptr(&mut self.rng), values::len(&mut self.rng), true),
            _ => (self.scratch + self.rng.below(PAGE), 0, false),
        };
        // An own non-pipe handle can take a real buffer: the kind check
        // comes before any transfer.
        let (p, len) = match what {
            HArg::Own(i) if !outside && matches!(self.own[i].kind, Kind::Child(_) | Kind::Thread | Kind::Shm(_)) => {
                (self.scratch, 1 + self.rng.below(PAGE))
            }
            _ => (p, len),
        };
        let a = [h, p, len, 0, 0, 0];
        let r = self.call(n, a, outside_user(p, len));
        if outside {
            self.expect(Self::is_err(r, Fault), n, &a, r, "a buffer outside user space must be Fault");
            return;
        }
        match what {
            HArg::Bogus => self.expect(Self::is_err(r, BadHandle), n, &a, r, "bogus handle must be BadHandle"),
            HArg::DataRd | HArg::DataWr => {
                let want = if what == mine { Ok(0) } else { Err(Some(WrongKind)) };
                self.expect(r == want, n, &a, r, "length-0 transfer on the data pipe");
            }
            HArg::Own(i) => {
                let want = match (self.own[i].kind, write) {
                    (Kind::PipeRead, false) | (Kind::PipeWrite, true) => r,
                    (Kind::Unknown, _) => r,
                    (Kind::PipeRead, true) | (Kind::PipeWrite, false) => Err(Some(WrongKind)),
                    _ => Err(Some(WrongKind)),
                };
                self.expect(r == want || (write && Self::is_err(r, Closed)), n, &a, r, "Read/Write on our own handle");
            }
            HArg::Unknown => {}
        }
    }

    fn data_transfer(&mut self, write: bool) {
        let Some(pipe) = &self.pipe else { return };
        let (rd, wr, count, wseq, rseq) = (pipe.rd, pipe.wr, pipe.count, pipe.wseq, pipe.rseq);
        let buf = self.scratch;
        if write {
            if count >= PIPE_CAP {
                return;
            }
            let cap = if self.rng.chance(1, 8) { SCRATCH_LEN } else { 512 };
            let len = 1 + self.rng.below(cap);
            for i in 0..len {
                // SAFETY: within our scratch mapping (len <= SCRATCH_LEN).
                unsafe { ((buf + i) as *mut u8).write(wseq.wrapping_add(i as u8)) };
            }
            let n = Sys::Write as u64;
            let a = [wr, buf, len, 0, 0, 0];
            let r = self.call(n, a, false);
            let ok = matches!(r, Ok(k) if k >= 1 && k <= len && count + k <= PIPE_CAP);
            self.expect(ok, n, &a, r, "Write to our pipe with room");
            match r {
                Ok(k) if ok => {
                    let p = self.pipe.as_mut().expect("checked above");
                    p.count += k;
                    p.wseq = wseq.wrapping_add(k as u8);
                }
                _ => self.drop_pipe(),
            }
        } else {
            if count == 0 {
                return;
            }
            let cap = if self.rng.chance(1, 8) { SCRATCH_LEN } else { 512 };
            let len = 1 + self.rng.below(cap);
            let n = Sys::Read as u64;
            let a = [rd, buf, len, 0, 0, 0];
            let r = self.call(n, a, false);
            let ok = matches!(r, Ok(k) if k >= 1 && k <= len.min(count));
            self.expect(ok, n, &a, r, "Read from our pipe holding bytes");
            match r {
                Ok(k) if ok => {
                    let same = (0..k).all(|i| {
                        // SAFETY: the kernel just wrote k bytes at buf, in our scratch mapping.
                        unsafe { ((buf + i) as *const u8).read() == rseq.wrapping_add(i as u8) }
                    });
                    self.expect(same, n, &a, r, "Read returned other bytes than were written");
                    let p = self.pipe.as_mut().expect("checked above");
                    p.count -= k;
                    p.rseq = rseq.wrapping_add(k as u8);
                }
                _ => self.drop_pipe(),
            }
        }
    }

    fn unknown(&mut self) {
        let n = match self.rng.below(6) {
            0 => SYS_COUNT + self.rng.below(64),
            1 => u64::MAX - self.rng.below(4),
            2 => 1 << 63 | self.rng.below(SYS_COUNT),
            // A known number in the low 32 bits: the kernel must not truncate.
            3 => 1 << 32 | self.rng.pick(&[Sys::Yield as u64, Sys::ClockMonotonic as u64]),
            4 => 0x1_0000_0000_0000 | Sys::Yield as u64,
            _ => self.rng.next() | 1 << 40,
        };
        let a = [self.rng.next(), values::bad_ptr(&mut self.rng), self.rng.next(), 0, u64::MAX, 1];
        let r = self.call(n, a, false);
        self.expect(Self::is_err(r, NoSys), n, &a, r, "an unknown call number must be NoSys");
    }
}
