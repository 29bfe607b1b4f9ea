//! The call generators: for each system call, arguments drawn from typed
//! classes (our own objects, boundary values, addresses the kernel must
//! refuse) within the filter of worker.rs, and the rules the result must
//! follow beyond the per-call error list. Memory calls are in memory.rs,
//! processes, threads and handles in objects.rs, pipes in pipes.rs,
//! services, InitrdMap and SpawnImage in services.rs, the rest (and the
//! choice of call) here.
mod devices;
mod memory;
mod objects;
mod pipes;
mod services;

use crate::abi::outside_user;
use crate::values::{self, PAGE};
use crate::worker::*;
use vireo_rt::pv_abi::boot_trace::INIT_READY;
use vireo_rt::pv_abi::syscall::{layout::USER_END, prot, Sys, SysInfo, SYS_COUNT};
use vireo_rt::Error::{self, *};

pub(super) type R = Result<u64, Option<Error>>;

/// Where a buffer points.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Buf {
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

pub(super) const MMAP_BASE: u64 = 0x1000_0000_0000;

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
    2, // DeviceInfo
    2, // DeviceOpen
    2, // DeviceMap
    2, // DmaAlloc
    2, // IrqOpen
    2, // IrqAck
    5, // WaitMany
    2, // ConfigRead
    2, // ConfigWrite
    2, // ServiceRegister (no device right: always refused)
    3, // ServiceConnect
    3, // ServiceAccept
    2, // InitrdMap
    2, // SpawnImage
    0, // ShmLen
    0, // CpuStats (not generated yet)
    2, // FreePagesTake (no device right: always refused)
    2, // FreePagesGive (the same)
    0, // ConsoleReadRaw (would wait for input)
    2, // ConsoleForeground
    3, // ProcessList
    2, // KillPid (pids that cannot exist)
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
            33 => self.wait_many(),
            27..=35 | 43 | 44 => self.device_call(n as u64),
            40 => self.spawn_image(),
            46 => self.console_foreground(),
            47 => self.process_list(),
            48 => self.kill_pid(),
            36..=39 => self.service_call(n as u64),
            _ => self.unknown(),
        }
    }

    /// A buffer for the kernel to read or write, and its class. The length
    /// is forced for ranges that cross USER_END.
    pub(super) fn buffer(&mut self) -> (u64, Option<u64>, Buf) {
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

    /// Handles of every kind (ours, the data pipe's, bogus, stale) from our
    /// scratch memory, a bad buffer, or too many. It never blocks; a set it
    /// leaves armed only matters to a Ctrl-C, which nobody types here.
    fn console_foreground(&mut self) {
        let n = Sys::ConsoleForeground as u64;
        let a = match self.rng.below(4) {
            0 => [self.scratch, 17 + self.rng.below(1000), 0, 0, 0, 0],
            1 => {
                let (p, forced, _) = self.buffer();
                [p, forced.map_or(1 + self.rng.below(16), |l| (l / 8).clamp(1, 16)), 0, 0, 0, 0]
            }
            _ => {
                let k = self.rng.below(5);
                for i in 0..k {
                    let (h, _) = self.pick_handle();
                    // SAFETY: the first 32 bytes of our scratch mapping hold
                    // nothing of value (it is the fuzzer's own R/W memory).
                    unsafe { (self.scratch as *mut u64).add(i as usize).write(h) };
                }
                [self.scratch, k, 0, 0, 0, 0]
            }
        };
        let r = self.call(n, a, a[1] <= 16 && outside_user(a[0], a[1] * 8));
        if a[1] > 16 {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "more than 16 foreground processes must be Invalid");
        }
        // Leave no armed set behind for the next boot's console.
        if r.is_ok() && a[1] > 0 {
            let _ = self.call(n, [self.scratch, 0, 0, 0, 0, 0], false);
        }
    }

    /// Any buffer and capacity; a capacity within the limit and a good
    /// buffer must succeed and count at least the fuzzer itself.
    fn process_list(&mut self) {
        use vireo_rt::pv_abi::procinfo::{MAX_LIST, RECORD_SIZE};
        let n = Sys::ProcessList as u64;
        let (p, forced, class) = self.buffer();
        let cap = match forced {
            Some(l) => (l / RECORD_SIZE as u64).max(1),
            None => self.rng.pick(&[0, 1, 2, MAX_LIST + 1, u64::MAX]),
        };
        // Good buffers get few records: each fits in what is left of its mapping.
        let cap = if class == Buf::Good && cap <= MAX_LIST { cap.min(8) } else { cap };
        let in_scratch = (self.scratch..self.scratch + SCRATCH_LEN / 2).contains(&p);
        let a = [p, cap, 0, 0, 0, 0];
        let bytes = cap.saturating_mul(RECORD_SIZE as u64);
        let r = self.call(n, a, cap <= MAX_LIST && outside_user(p, bytes));
        if cap > MAX_LIST {
            self.expect(Self::is_err(r, Invalid), n, &a, r, "a capacity over MAX_LIST must be Invalid");
        }
        if in_scratch && cap <= MAX_LIST {
            self.expect(matches!(r, Ok(c) if c >= 1), n, &a, r, "ProcessList must count the caller");
        }
    }

    /// Pids that cannot name a process (0, over u32, or far beyond any
    /// this run makes): the fuzzer is init and may end anyone, itself too.
    fn kill_pid(&mut self) {
        let n = Sys::KillPid as u64;
        let pid = self.rng.pick(&[0, 1 << 32, u64::MAX, 0xffff_fff0, 0x7fff_ffff]);
        let a = [pid, 0, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        let want = if pid == 0 || pid > u64::from(u32::MAX) { Invalid } else { NotFound };
        self.expect(Self::is_err(r, want), n, &a, r, "KillPid of an impossible pid");
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

    fn set_fs_base(&mut self) {
        let n = Sys::SetFsBase as u64;
        // The raw runtime keeps nothing at FS, so any user value is harmless.
        let v = if self.rng.chance(1, 2) { values::bad_ptr(&mut self.rng) } else { self.rng.next() & (USER_END - 1) };
        let a = [v, 0, 0, 0, 0, 0];
        let r = self.call(n, a, false);
        let want = if v >= USER_END { Err(Some(Invalid)) } else { Ok(0) };
        self.expect(r == want, n, &a, r, "SetFsBase");
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
