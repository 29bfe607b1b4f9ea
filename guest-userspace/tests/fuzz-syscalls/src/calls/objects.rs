//! Processes, threads and handles: Spawn, Wait, Kill, ThreadSpawn, Close, Duplicate.
use super::R;
use crate::abi::outside_user;
use crate::owner;
use crate::values;
use crate::worker::*;
use vireo_rt::pv_abi::syscall::{layout::USER_END, rights, Sys, MAX_SPAWN_HANDLES};
use vireo_rt::Error::*;

impl Worker {
    pub(super) fn spawn(&mut self) {
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

    pub(super) fn wait(&mut self) {
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

    pub(super) fn kill(&mut self) {
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

    pub(super) fn thread_spawn(&mut self) {
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

    pub(super) fn close(&mut self) {
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
                    self.expect(
                        Self::is_err(r, BadHandle),
                        n,
                        &a,
                        r,
                        "Close of a value no one holds must be BadHandle",
                    );
                }
            }
        }
    }

    pub(super) fn duplicate(&mut self) {
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
}
