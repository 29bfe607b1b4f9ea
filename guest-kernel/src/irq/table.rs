//! The handler table: one handler per interrupt vector, one system-call
//! handler, one handler for user-mode exceptions, one hook before every
//! return to user mode; and the dispatcher the arch trap entry calls.
use crate::arch::x86_64::trap::SYSCALL_VECTOR;
use crate::arch::x86_64::trap::{self, vector, TrapFrame};
use core::sync::atomic::{AtomicUsize, Ordering};

/// A handler, stored as a `fn(&mut TrapFrame)` address; 0 = none.
type Slot = AtomicUsize;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = AtomicUsize::new(0);
static VECTORS: [Slot; 256] = [EMPTY; 256];
static SYSCALL: Slot = AtomicUsize::new(0);
static USER_FAULT: Slot = AtomicUsize::new(0);
static USER_RETURN: Slot = AtomicUsize::new(0);

/// Installs [`dispatch`] as the trap handler. Runs first thing at boot,
/// before anything can trap; the kernel's own handlers are registered right
/// after (`crate::trap_handlers`).
pub fn install() {
    trap::set_dispatcher(dispatch);
}

/// Registers `h` for interrupt `vector` (replacing any earlier one). The
/// handler sends the EOI itself, so it decides whether that comes before
/// or after its work.
pub fn register(v: u8, h: fn(&mut TrapFrame)) {
    VECTORS[usize::from(v)].store(h as usize, Ordering::Release);
}

/// Removes the handler for `vector`; later interrupts on it are reported
/// as unexpected.
pub fn unregister(v: u8) {
    VECTORS[usize::from(v)].store(0, Ordering::Release);
}

/// The system-call handler (the `syscall` instruction's entry).
pub fn set_syscall_handler(h: fn(&mut TrapFrame)) {
    SYSCALL.store(h as usize, Ordering::Release);
}

/// The handler for CPU exceptions raised in user mode.
pub fn set_user_fault_handler(h: fn(&mut TrapFrame)) {
    USER_FAULT.store(h as usize, Ordering::Release);
}

/// Runs after every trap that returns to user mode.
pub fn set_user_return_hook(h: fn(&mut TrapFrame)) {
    USER_RETURN.store(h as usize, Ordering::Release);
}

fn load(slot: &Slot) -> Option<fn(&mut TrapFrame)> {
    match slot.load(Ordering::Acquire) {
        0 => None,
        // SAFETY: slots only ever hold a `fn(&mut TrapFrame)` stored by the setters above.
        f => Some(unsafe { core::mem::transmute::<usize, fn(&mut TrapFrame)>(f) }),
    }
}

/// Every trap arrives here (interrupts off, on the current kernel stack).
fn dispatch(frame: &mut TrapFrame) {
    if frame.vector == SYSCALL_VECTOR {
        if let Some(h) = load(&SYSCALL) {
            h(frame);
        }
    } else if frame.vector < vector::FIRST_EXTERNAL {
        match load(&USER_FAULT) {
            Some(h) if frame.is_from_user() => h(frame),
            _ => super::kernel_fault::handle(frame),
        }
    } else {
        match load(&VECTORS[frame.vector as usize & 0xff]) {
            Some(h) => h(frame),
            None => {
                crate::arch::x86_64::apic::eoi();
                kprintln!("interrupt: unexpected vector {:#x} on cpu {}", frame.vector, crate::percpu::index());
            }
        }
    }
    if frame.is_from_user() {
        if let Some(h) = load(&USER_RETURN) {
            h(frame);
        }
    }
}
