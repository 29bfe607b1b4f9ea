//! The kernel's one lock: a ticket lock (first come, first served) whose
//! waiters spin briefly, then halt until the releaser kicks them.
//!
//! Why not `spin::Mutex`: on an overcommitted host a plain spinlock's waiters
//! burn the very CPU time the preempted holder needs, and an unfair lock hands
//! the lock to whichever vCPU happens to run. Linux's answer is the
//! paravirtual queued spinlock (`kernel/locking/qspinlock_paravirt.h`); this
//! is the older paravirtual ticket lock's shape (Linux 3.12-4.1), which keeps
//! the fast path to one atomic add and the slow path small:
//! - a waiter spins [`SPIN_LIMIT`] times, then records in its CPU's slot which
//!   lock and ticket it waits for, marks the lock as having sleepers, looks
//!   once more, and halts ([`SlowPath::wait`]);
//! - a releaser whose lock has sleepers finds the CPU waiting for the next
//!   ticket and kicks it ([`SlowPath::kick`]).
//!
//! How to halt and kick is the paravirtual layer's business (`crate::pv`
//! installs it with [`set_slow_path`]: KVM_HC_KICK_CPU under PV_UNHALT, a
//! wake-up IPI otherwise); until then, and with `nopv=spin`, waiters spin.
//! This module stays at the bottom of the kernel: it imports nothing above.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use pv_abi::MAX_CPUS;

/// Spins before a waiter halts. A lock is held for well under a microsecond
/// here; a waiter that has spun this long is most likely behind a preempted
/// holder or waiter, where spinning on only delays it.
pub const SPIN_LIMIT: u32 = 1 << 11;

/// How waiters halt and are woken; installed once by the paravirtual layer.
pub struct SlowPath {
    /// The calling CPU's index (< MAX_CPUS).
    pub cpu: fn() -> usize,
    /// How many CPU slots to scan (CPUs that may be waiting).
    pub cpus: fn() -> usize,
    /// Halts until `word` may no longer be `value` (a kick, an interrupt, or
    /// at once); may return early. Returns false if it cannot halt here (then
    /// the waiter spins on).
    pub wait: fn(word: &AtomicU32, value: u32) -> bool,
    /// Ends `cpu`'s wait.
    pub kick: fn(cpu: usize),
}

static SLOW_PATH: AtomicPtr<SlowPath> = AtomicPtr::new(core::ptr::null_mut());

/// Waits that ended in the slow path, and kicks sent (for self-tests and
/// the overcommit benchmark).
static HALTS: AtomicU64 = AtomicU64::new(0);
static KICKS: AtomicU64 = AtomicU64::new(0);

/// (waits that halted, kicks sent) since boot.
pub fn slow_path_counts() -> (u64, u64) {
    (HALTS.load(Ordering::Relaxed), KICKS.load(Ordering::Relaxed))
}

/// Makes waiters halt and releasers kick from now on.
pub fn set_slow_path(ops: &'static SlowPath) {
    SLOW_PATH.store(ops as *const SlowPath as *mut SlowPath, Ordering::Release);
}

fn slow_path() -> Option<&'static SlowPath> {
    let p = SLOW_PATH.load(Ordering::Acquire);
    // SAFETY: only `set_slow_path` stores here, from a `&'static`.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// What a halted CPU waits for: a lock's `serving` word and its ticket.
struct Slot {
    word: AtomicPtr<AtomicU32>,
    ticket: AtomicU32,
}

static SLOTS: [Slot; MAX_CPUS] =
    [const { Slot { word: AtomicPtr::new(core::ptr::null_mut()), ticket: AtomicU32::new(0) } }; MAX_CPUS];

pub struct SpinLock<T: ?Sized> {
    /// The next ticket to hand out.
    next: AtomicU32,
    /// The ticket that holds the lock.
    serving: AtomicU32,
    /// Some waiter may be halted (cleared by a releaser that finds none).
    sleepers: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Send for SpinLock<T> {}

pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self {
            next: AtomicU32::new(0),
            serving: AtomicU32::new(0),
            sleepers: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> SpinLock<T> {
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        if self.serving.load(Ordering::Acquire) != ticket {
            self.wait_for(ticket);
        }
        SpinLockGuard { lock: self }
    }

    #[cold]
    fn wait_for(&self, ticket: u32) {
        let mut spins = 0;
        loop {
            if self.serving.load(Ordering::Acquire) == ticket {
                return;
            }
            if spins < SPIN_LIMIT {
                spins += 1;
                core::hint::spin_loop();
                continue;
            }
            let Some(ops) = slow_path() else {
                spins = 0;
                continue;
            };
            if self.halt_until(ops, ticket) {
                HALTS.fetch_add(1, Ordering::Relaxed);
                return;
            }
            spins = 0;
        }
    }

    /// Registers, halts until `ticket` is served, deregisters. False when
    /// this CPU cannot halt here (the caller spins on).
    fn halt_until(&self, ops: &SlowPath, ticket: u32) -> bool {
        let slot = &SLOTS[(ops.cpu)() % MAX_CPUS];
        // An interrupt handler may wait for another lock while this CPU
        // waits with interrupts on: it restores what it found.
        let saved = (slot.word.load(Ordering::Relaxed), slot.ticket.load(Ordering::Relaxed));
        slot.ticket.store(ticket, Ordering::Relaxed);
        slot.word.store(&self.serving as *const AtomicU32 as *mut AtomicU32, Ordering::SeqCst);
        // SeqCst against the releaser's `serving` add and `sleepers` load:
        // either it sees the flag and the slot, or we see its new `serving`.
        self.sleepers.store(true, Ordering::SeqCst);
        let mut halted = true;
        while self.serving.load(Ordering::SeqCst) != ticket {
            if !(ops.wait)(&self.serving, ticket) {
                halted = false;
                break;
            }
        }
        slot.ticket.store(saved.1, Ordering::Relaxed);
        slot.word.store(saved.0, Ordering::SeqCst);
        halted
    }

    fn unlock(&self) {
        let next = self.serving.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        if self.sleepers.load(Ordering::SeqCst) {
            self.kick_next(next);
        }
    }

    /// Wakes the CPU halted for ticket `next`, if any; clears `sleepers`
    /// when no CPU waits for this lock.
    #[cold]
    fn kick_next(&self, next: u32) {
        let Some(ops) = slow_path() else { return };
        let me = &self.serving as *const AtomicU32;
        let n = (ops.cpus)().min(MAX_CPUS);
        let scan = |next: u32| {
            let mut any = false;
            for (cpu, slot) in SLOTS[..n].iter().enumerate() {
                if core::ptr::eq(slot.word.load(Ordering::SeqCst), me) {
                    any = true;
                    if slot.ticket.load(Ordering::Relaxed) == next {
                        KICKS.fetch_add(1, Ordering::Relaxed);
                        (ops.kick)(cpu);
                    }
                }
            }
            any
        };
        if scan(next) {
            return;
        }
        // Nobody waits: clear the flag, then look again, so that a waiter
        // that registered meanwhile keeps it set (it sets the flag after its
        // slot, and looks at `serving` after the flag).
        self.sleepers.store(false, Ordering::SeqCst);
        if scan(self.serving.load(Ordering::SeqCst)) {
            self.sleepers.store(true, Ordering::SeqCst);
        }
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the lock's only holder.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes this the only reference.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}
