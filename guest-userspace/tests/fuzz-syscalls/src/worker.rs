//! One fuzzing thread: its own handles, mappings, scratch memory and pipe,
//! the call wrapper that checks every result against the ABI, and the
//! clean-up that leaves nothing behind. The calls themselves: calls.rs.
//!
//! The filter that keeps the fuzzer alive: it never exits, never unmaps or
//! re-protects memory it did not map itself (only its own mappings, or
//! ranges the kernel must refuse), lets the kernel write only into its
//! scratch mapping or its own mappings, closes only its own handles and
//! values no thread holds, blocks only with short timeouts (or on things
//! certain to end), and starts threads only at [`stub`], which exits at once.
use crate::abi;
use crate::owner;
use crate::rng::Rng;
use crate::stats;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};
use vireo_rt::pv_abi::syscall::{rights, status, Sys};
use vireo_rt::raw::syscall6;
use vireo_rt::sys::{self, prot};
use vireo_rt::Error;

/// Threads started with ThreadSpawn that have not reached ThreadExit yet.
pub static STUBS_LIVE: AtomicI64 = AtomicI64::new(0);

/// Entry of every thread the fuzzer starts: it touches no stack (RSP may be
/// anything) and ends itself at once.
// SAFETY: (naked) the body is only the asm below: a decrement of a static and
// the ThreadExit call, which does not return.
#[unsafe(naked)]
pub unsafe extern "C" fn stub() -> ! {
    core::arch::naked_asm!(
        "lock dec qword ptr [rip + {live}]",
        "mov eax, 13",
        "xor edi, edi",
        "syscall",
        "ud2",
        live = sym STUBS_LIVE,
    )
}

/// Scratch mapping per thread: the one place (besides its own mappings) the
/// kernel may write for it.
pub const SCRATCH_LEN: u64 = 128 << 10;
/// Pipe capacity (docs/abi.md).
pub const PIPE_CAP: u64 = 64 << 10;
const MAX_OWN: usize = 24;
const MAX_CHILDREN: usize = 2;
const MAX_MAPS: usize = 12;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Child {
    /// /bin/hello: exits 0 by itself.
    Hello,
    /// `/test/fuzz park`: sleeps about 2 s, exits 0 unless killed first.
    Park,
    /// `/test/fuzz child`: fuzzes its inherited handles, exits 0 (1 on a violation).
    Fuzz,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Child(Child),
    /// A duplicate of a child's handle.
    Process,
    Thread,
    Shm(u64),
    PipeRead,
    PipeWrite,
    /// A duplicate of a handle whose kind we do not know.
    Unknown,
}

#[derive(Clone, Copy)]
pub struct Own {
    pub h: u64,
    pub kind: Kind,
    pub rights: u32,
    /// We killed it (a child) or it ends by itself (a stub thread): waiting forever is safe.
    pub ends: bool,
}

#[derive(Clone, Copy)]
pub struct MapRec {
    pub addr: u64,
    /// Rounded up to whole pages.
    pub len: u64,
    pub prot: u64,
}

/// A pipe only this thread reads and writes, with its exact fill level, so
/// reads and writes on it never block and their bytes can be checked.
pub struct DataPipe {
    pub rd: u64,
    pub wr: u64,
    pub count: u64,
    pub wseq: u8,
    pub rseq: u8,
}

/// Where a handle argument came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HArg {
    /// Index into `own`.
    Own(usize),
    DataRd,
    DataWr,
    /// A value no handle can have.
    Bogus,
    /// Closed by us earlier, or a small number (possibly another thread's
    /// or a child's): its result cannot be predicted.
    Unknown,
}

pub struct Worker {
    pub id: u8,
    pub who: String,
    pub rng: Rng,
    /// A child-mode process: single-threaded, its handles inherited, so
    /// ownership is not tracked and no processes or threads are started.
    pub child_mode: bool,
    pub own: Vec<Own>,
    pub stale: Vec<u64>,
    pub maps: Vec<MapRec>,
    pub scratch: u64,
    pub pipe: Option<DataPipe>,
    pub last_clock: u64,
    /// This thread's handle in the main thread's table (Wait on it: Busy).
    pub self_handle: u64,
    pub pid: u32,
    pub args_len: u64,
    /// Calls made so far.
    pub made: u64,
    /// The calls to make, a bit per call number (`only=N,M`: to narrow
    /// down a finding; the Exit calls stay out whatever it says).
    pub only: u64,
}

impl Worker {
    pub fn new(id: u8, seed: u64, child_mode: bool) -> Result<Self, Error> {
        let scratch = sys::map(0, SCRATCH_LEN, prot::READ | prot::WRITE)?;
        let info = sys::sysinfo()?;
        let args_len = sys::args_raw(&mut [])?;
        let who = if child_mode { format!("child pid {}", info.pid) } else { format!("t{id}") };
        Ok(Self {
            id,
            who,
            rng: Rng::new(seed ^ (id as u64) << 56),
            child_mode,
            own: Vec::new(),
            stale: Vec::new(),
            maps: Vec::new(),
            scratch,
            pipe: None,
            last_clock: 0,
            self_handle: 0,
            pid: info.pid,
            args_len,
            made: 0,
            only: !((1 << 2) | (1 << 13)),
        })
    }

    /// Issues one call and checks what every call must satisfy: the result
    /// is a success or an error documented for it, and a call given a buffer
    /// outside user space (`refuse`) does not succeed.
    pub fn call(&mut self, n: u64, a: [u64; 6], refuse: bool) -> Result<u64, Option<Error>> {
        if !self.child_mode {
            stats::doing(self.id, n, &a);
        }
        // SAFETY: the generators in calls.rs only build calls that cannot
        // break this program (the filter in this module's doc): no exit, no
        // unmap or protect of memory it did not map itself, kernel writes only
        // into memory that holds nothing of value, threads only at `stub`.
        let rax = unsafe { syscall6(n, a[0], a[1], a[2], a[3], a[4], a[5]) };
        let r = abi::decode(rax);
        stats::count(n, r);
        self.made += 1;
        match r {
            Err(None) => stats::violation(&self.who, n, &a, rax, "undocumented error code"),
            Err(Some(e)) if !abi::allowed(n).contains(&e) => {
                stats::violation(&self.who, n, &a, rax, "error not documented for this call")
            }
            Ok(_) if refuse => stats::violation(&self.who, n, &a, rax, "accepted a buffer outside user space"),
            _ => {}
        }
        r
    }

    /// A call-specific rule: `ok` must hold.
    pub fn expect(&self, ok: bool, n: u64, a: &[u64; 6], r: Result<u64, Option<Error>>, why: &str) {
        if !ok {
            let rax = match r {
                Ok(v) => v,
                Err(Some(e)) => e.to_ret(),
                Err(None) => u64::MAX,
            };
            stats::violation(&self.who, n, a, rax, why);
        }
    }

    pub fn is_err(r: Result<u64, Option<Error>>, e: Error) -> bool {
        r == Err(Some(e))
    }

    /// A handle argument: one of ours, the data pipe's, a bogus value or an
    /// unknown one (stale, or a small number that may be anyone's).
    pub fn pick_handle(&mut self) -> (u64, HArg) {
        let roll = self.rng.below(100);
        if roll < 45 && !self.own.is_empty() {
            let i = self.rng.below(self.own.len() as u64) as usize;
            return (self.own[i].h, HArg::Own(i));
        }
        if roll < 55 {
            if let Some(p) = &self.pipe {
                return if roll < 50 { (p.rd, HArg::DataRd) } else { (p.wr, HArg::DataWr) };
            }
        }
        if roll < 65 && !self.stale.is_empty() {
            let i = self.rng.below(self.stale.len() as u64) as usize;
            return (self.stale[i], HArg::Unknown);
        }
        if roll < 80 {
            return (1 + self.rng.below(40), HArg::Unknown);
        }
        (crate::values::bogus_handle(&mut self.rng), HArg::Bogus)
    }

    /// Records a handle the kernel just gave us (under `owner::LOCK`; call
    /// [`Self::trim`] after releasing it).
    pub fn adopt(&mut self, h: u64, kind: Kind, rights: u32, n: u64, a: &[u64; 6]) {
        if !self.child_mode && !owner::claim(h, self.id) {
            stats::violation(&self.who, n, a, h, "new handle is out of range or still open");
            return;
        }
        let ends = kind == Kind::Thread;
        self.own.push(Own { h, kind, rights, ends });
    }

    /// Keeps the handle and child counts bounded (outside `owner::LOCK`).
    pub fn trim(&mut self) {
        if self.own.len() > MAX_OWN {
            let i = self.rng.below(self.own.len() as u64) as usize;
            self.retire(i);
        }
        let children = self.own.iter().filter(|o| matches!(o.kind, Kind::Child(_))).count();
        if children > MAX_CHILDREN {
            if let Some(i) = self.own.iter().position(|o| matches!(o.kind, Kind::Child(_))) {
                self.retire(i);
            }
        }
    }

    /// Ends what `own[i]` names (kills a child, waits for it or for a
    /// stub thread) and closes it.
    pub fn retire(&mut self, i: usize) {
        let o = self.own[i];
        let a = [o.h, u64::MAX, 0, 0, 0, 0];
        match o.kind {
            Kind::Child(c) => {
                let r = self.call(Sys::Kill as u64, a, false);
                self.expect(r == Ok(0), Sys::Kill as u64, &a, r, "Kill of our own child must succeed");
                let r = self.call(Sys::Wait as u64, a, false);
                match r {
                    Ok(s) => check_child_status(&self.who, c, s as i32),
                    Err(_) => self.expect(false, Sys::Wait as u64, &a, r, "Wait for our own killed child failed"),
                }
            }
            Kind::Thread if o.rights & rights::WAIT != 0 => {
                let r = self.call(Sys::Wait as u64, a, false);
                self.expect(r == Ok(0), Sys::Wait as u64, &a, r, "a stub thread must end with status 0");
            }
            _ => {}
        }
        self.close_own(i);
    }

    /// Closes `own[i]`, which must succeed.
    pub fn close_own(&mut self, i: usize) {
        let o = self.own.swap_remove(i);
        self.close_mine(o.h);
    }

    /// Closes a handle of ours (under the ownership lock, so its value is
    /// free for others only once it is closed), which must succeed.
    fn close_mine(&mut self, h: u64) {
        let _g = owner::LOCK.lock();
        let a = [h, 0, 0, 0, 0, 0];
        let r = self.call(Sys::Close as u64, a, false);
        self.expect(r == Ok(0), Sys::Close as u64, &a, r, "Close of our own handle must succeed");
        if !self.child_mode {
            owner::release(h);
        }
        self.remember_stale(h);
    }

    /// Unmaps a mapping of ours, which must succeed.
    fn unmap_mine(&mut self, m: MapRec) {
        let a = [m.addr, m.len, 0, 0, 0, 0];
        let r = self.call(Sys::Unmap as u64, a, false);
        self.expect(r == Ok(0), Sys::Unmap as u64, &a, r, "Unmap of our own mapping must succeed");
    }

    pub fn remember_stale(&mut self, h: u64) {
        if self.stale.len() >= 16 {
            self.stale.remove(0);
        }
        self.stale.push(h);
    }

    /// Records a mapping we made; unmaps the oldest past the limit.
    pub fn add_map(&mut self, addr: u64, len: u64, p: u64) {
        let len = len.div_ceil(crate::values::PAGE) * crate::values::PAGE;
        self.maps.push(MapRec { addr, len, prot: p });
        if self.maps.len() > MAX_MAPS {
            let m = self.maps.remove(0);
            self.unmap_mine(m);
        }
    }

    /// Closes the data pipe's two ends.
    pub fn drop_pipe(&mut self) {
        if let Some(p) = self.pipe.take() {
            self.close_mine(p.rd);
            self.close_mine(p.wr);
        }
    }

    /// Leaves nothing behind: children ended, stub threads waited for,
    /// handles closed, mappings unmapped.
    pub fn finish(&mut self) {
        while !self.own.is_empty() {
            self.retire(self.own.len() - 1);
        }
        self.drop_pipe();
        for m in core::mem::take(&mut self.maps) {
            self.unmap_mine(m);
        }
        // SAFETY: the scratch mapping is ours and unused from here on.
        let _ = unsafe { sys::unmap(self.scratch, SCRATCH_LEN) };
    }

    pub fn stub_entry() -> u64 {
        stub as *const () as u64
    }

    pub fn stubs_live() -> i64 {
        STUBS_LIVE.load(Ordering::Acquire)
    }

    pub fn stub_started(delta: i64) {
        STUBS_LIVE.fetch_add(delta, Ordering::AcqRel);
    }
}

/// How an own child may have ended: by itself with 0 (a fuzzing child
/// found nothing), or by our Kill.
pub fn check_child_status(who: &str, c: Child, s: i32) {
    let _ = c;
    let fine = s == status::KILLED || s == 0;
    if !fine {
        stats::violation_note(&format!("[{who}] child {c:?} ended with status {s:#x}"));
    }
}

/// Rights each kind of new handle carries (docs/abi.md).
pub const CHILD_RIGHTS: u32 = rights::WAIT | rights::KILL | rights::DUPLICATE;
pub const THREAD_RIGHTS: u32 = rights::WAIT | rights::DUPLICATE;
pub const SHM_RIGHTS: u32 = rights::MAP | rights::WRITE | rights::DUPLICATE;
pub const PIPE_RIGHTS: u32 = rights::DUPLICATE;
