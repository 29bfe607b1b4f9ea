//! Threads: a stack from `Map`, an entry trampoline that calls a
//! `fn(usize)` and then `ThreadExit`, and a join that waits and frees the stack.

use crate::sys::{self, prot, Result, FOREVER};
use alloc::boxed::Box;

/// Stack size of threads started here (populated lazily by the kernel).
pub const STACK_SIZE: u64 = 256 << 10;

/// A started thread. Dropping it without `join` leaks its stack (the thread
/// may still be running on it) and closes the handle.
pub struct JoinHandle {
    handle: u64,
    stack_base: u64,
    stack_len: u64,
}

impl JoinHandle {
    /// The kernel handle (for `wait`/`kill`-style calls).
    pub fn raw(&self) -> u64 {
        self.handle
    }

    /// Waits for the thread to end; returns its status and frees its stack.
    pub fn join(self) -> Result<i32> {
        let status = sys::wait(self.handle, FOREVER)?;
        // SAFETY: the thread has ended, so nothing runs on its stack any more.
        let _ = unsafe { sys::unmap(self.stack_base, self.stack_len) };
        let _ = sys::close(self.handle);
        core::mem::forget(self);
        Ok(status)
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        let _ = sys::close(self.handle);
    }
}

/// What the trampoline needs, stored at the top of the new stack.
#[repr(C)]
struct Start {
    f: fn(usize),
    arg: usize,
}

/// Thread entry. The kernel starts us with RSP = the stack top we gave and
/// RDI = the argument; we do not rely on the top's alignment but align RSP
/// ourselves and `call`, so the Rust side sees the SysV entry state.
// SAFETY: (naked) the body is only the asm below, which sets up a valid
// stack frame before calling Rust and never returns.
#[unsafe(naked)]
unsafe extern "C" fn trampoline() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "and rsp, -16",
        "call {main}",
        "ud2",
        main = sym thread_main,
    )
}

extern "C" fn thread_main(start: *const Start) -> ! {
    // SAFETY: `spawn_raw` wrote a `Start` at this address on our own stack,
    // above the stack pointer it gave us, and nothing else writes there.
    let Start { f, arg } = unsafe { start.read() };
    f(arg);
    sys::thread_exit(0)
}

/// Starts a thread running `f(arg)`; it exits with status 0 when `f` returns.
pub fn spawn_raw(f: fn(usize), arg: usize) -> Result<JoinHandle> {
    // No explicit guard: the kernel leaves an unmapped page after every
    // mapping, so the page below this stack is never mapped and an overflow
    // faults (stack probes touch every page of a big frame in order).
    let len = STACK_SIZE;
    let base = sys::map(0, len, prot::READ | prot::WRITE)?;
    let top = base + len;
    let start = (top - 16) as *mut Start;
    // SAFETY: `start` is in the fresh mapping we own, 16-byte aligned, and
    // `Start` is 16 bytes.
    unsafe { start.write(Start { f, arg }) };
    // The stack pointer starts below the `Start` record, 16-byte aligned.
    let stack_top = top - 32;
    // SAFETY: the trampoline runs on the stack we just mapped, which stays
    // mapped until `join` (after the thread ended) or forever; it reads only
    // the `Start` we wrote and ends with `thread_exit`.
    match unsafe { sys::thread_spawn_raw(trampoline as *const () as u64, stack_top, start as u64, 0) } {
        Ok(handle) => Ok(JoinHandle { handle, stack_base: base, stack_len: len }),
        Err(e) => {
            // SAFETY: no thread was started, so nothing uses the stack.
            let _ = unsafe { sys::unmap(base, len) };
            Err(e)
        }
    }
}

/// Starts a thread running the closure `f`.
pub fn spawn<F: FnOnce() + Send + 'static>(f: F) -> Result<JoinHandle> {
    fn run(p: usize) {
        // SAFETY: `p` came from `Box::into_raw` below and is consumed once.
        let f = unsafe { Box::from_raw(p as *mut Box<dyn FnOnce() + Send>) };
        f();
    }
    let boxed: Box<Box<dyn FnOnce() + Send>> = Box::new(Box::new(f));
    let p = Box::into_raw(boxed);
    spawn_raw(run, p as usize).inspect_err(|_| {
        // SAFETY: the thread did not start, so the box is still ours.
        drop(unsafe { Box::from_raw(p) });
    })
}
