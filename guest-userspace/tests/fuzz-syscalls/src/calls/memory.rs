//! Map, Unmap, Protect, shared memory and futexes.
use super::{Buf, MMAP_BASE, R};
use crate::abi::outside_user;
use crate::owner;
use crate::values::{self, PAGE};
use crate::worker::*;
use vireo_rt::pv_abi::syscall::{layout::USER_END, prot, rights, Sys};
use vireo_rt::Error::*;

impl Worker {
    pub(super) fn map(&mut self) {
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
            let inside =
                addr % PAGE == 0 && addr >= MMAP_BASE && addr.checked_add(rounded).is_some_and(|e| e <= USER_END);
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

    pub(super) fn unmap_or_protect(&mut self, protect: bool) {
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
            // A range that is not ours may hold other threads' whole
            // mappings, which Protect may change (counted, see stats); a
            // range with no mapping at all is Invalid, as for Unmap.
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

    pub(super) fn shm_create(&mut self) {
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
        match r {
            // Big objects go at once, still under the lock, so no other
            // thread duplicates one or passes it to a child (as an unknown
            // value) and the fuzzer never pins the VM's memory.
            Ok(h) if len > 1 << 20 => {
                if !self.child_mode && !owner::claim(h, self.id) {
                    self.expect(false, n, &a, r, "new handle is out of range or still open");
                }
                let c = [h, 0, 0, 0, 0, 0];
                let rc = self.call(Sys::Close as u64, c, false);
                self.expect(rc == Ok(0), Sys::Close as u64, &c, rc, "Close of our own handle must succeed");
                if !self.child_mode {
                    owner::release(h);
                }
            }
            Ok(h) => self.adopt(h, Kind::Shm(len.div_ceil(PAGE) * PAGE), SHM_RIGHTS, n, &a),
            Err(_) => {}
        }
        drop(_g);
        self.trim();
    }

    pub(super) fn shm_map(&mut self) {
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

    pub(super) fn futex_wait(&mut self) {
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
        let current =
            if class == Buf::Good && addr % 4 == 0 && addr >= self.scratch && addr < self.scratch + SCRATCH_LEN {
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

    pub(super) fn futex_wake(&mut self) {
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
}
