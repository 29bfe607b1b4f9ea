//! PipeCreate, Read and Write.
use super::Buf;
use crate::abi::outside_user;
use crate::owner;
use crate::values::{self, PAGE};
use crate::worker::*;
use vireo_rt::pv_abi::syscall::Sys;
use vireo_rt::Error::*;

impl Worker {
    pub(super) fn pipe_create(&mut self) {
        let n = Sys::PipeCreate as u64;
        let (p, forced, class) = self.buffer();
        // Our scratch at an 8-byte boundary (the ends are read back from it).
        let p = if class == Buf::Good { self.scratch + 8 * self.rng.below(64) } else { p };
        let a = [p, 0, 0, 0, 0, 0];
        let _g = owner::LOCK.lock();
        let r = self.call(n, a, outside_user(p, forced.unwrap_or(16)));
        match class {
            Buf::ReadOnly | Buf::Unmapped => {
                self.expect(r.is_err(), n, &a, r, "PipeCreate wrote into read-only or unmapped memory")
            }
            Buf::Good => self.expect(
                r.is_ok() || Self::is_err(r, NoMemory) || Self::is_err(r, Limit),
                n,
                &a,
                r,
                "PipeCreate into our scratch memory",
            ),
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

    pub(super) fn read(&mut self) {
        self.pipe_io(false);
    }

    pub(super) fn write(&mut self) {
        self.pipe_io(true);
    }

    /// Read and Write. Real transfers only on the data pipe, where the fill
    /// level is known (so nothing blocks and every byte is checked); on any
    /// other handle only calls that cannot block or take bytes: length 0 or
    /// a buffer outside user space, which is refused before the handle is
    /// looked at.
    pub(super) fn pipe_io(&mut self, write: bool) {
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

    pub(super) fn data_transfer(&mut self, write: bool) {
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
}
