//! Time (slots 7-11), futexes (12-14), TLS (24-27) and threads (28-32).
//!
//! Every thread of a motor process has a [`ThreadBlock`] that its FS base
//! points at: a self pointer at fs:0, the thread's TLS values, and a stack
//! protector canary at fs:0x28 (where code built with `-Z stack-protector`
//! looks for it). The main thread's block is made in `vdso_entry`; the
//! others' in [`spawn`], which passes it as the new thread's FS base.
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU32;
use moto_rt::error::{ErrorCode, E_BAD_HANDLE, E_OK, E_OUT_OF_MEMORY};
use vireo_rt::sync::Mutex;
use vireo_rt::sys::{self, prot, FOREVER};

// ---- time ------------------------------------------------------------------

/// Instants are ClockMonotonic nanoseconds, so a tick is a nanosecond.
pub const TICKS_PER_SEC: u64 = 1_000_000_000;

pub extern "C" fn instant_now() -> u64 {
    // Never 0: moto-rt treats a 0 Instant as "nan".
    sys::now_ns().max(1)
}

fn split(n: u128, hi: *mut u64, lo: *mut u64) {
    // SAFETY: moto-rt passes two u64 out-pointers.
    unsafe {
        hi.write((n >> 64) as u64);
        lo.write(n as u64);
    }
}

pub extern "C" fn ticks_to_nanos(ticks: u64, hi: *mut u64, lo: *mut u64) {
    split(ticks as u128, hi, lo)
}

pub extern "C" fn nanos_to_ticks(nanos: u64) -> u64 {
    nanos
}

/// SystemTime: Unix ns, from the kernel's wall clock at boot (info block).
pub extern "C" fn abs_ticks_to_nanos(ticks: u64, hi: *mut u64, lo: *mut u64) {
    split(crate::info::wall_at_zero() as u128 + ticks as u128, hi, lo)
}

// ---- futex -----------------------------------------------------------------

/// 1: woken (or the word already differed); 0: timed out.
pub extern "C" fn futex_wait(word: *const AtomicU32, expected: u32, timeout_ns: u64) -> u32 {
    // SAFETY: moto-rt passes a reference to a live AtomicU32.
    let word = unsafe { &*word };
    match sys::futex_wait(word, expected, timeout_ns) {
        Err(vireo_rt::Error::TimedOut) => 0,
        _ => 1,
    }
}

pub extern "C" fn futex_wake(word: *const AtomicU32) -> u32 {
    // SAFETY: as in `futex_wait`.
    let word = unsafe { &*word };
    matches!(sys::futex_wake(word, 1), Ok(n) if n > 0) as u32
}

pub extern "C" fn futex_wake_all(word: *const AtomicU32) {
    // SAFETY: as in `futex_wait`.
    let word = unsafe { &*word };
    let _ = sys::futex_wake(word, u32::MAX as u64);
}

// ---- per-thread block and TLS ---------------------------------------------

#[repr(C)]
pub struct ThreadBlock {
    /// fs:0, so the block can be found with one FS-relative load.
    self_ptr: *mut ThreadBlock,
    /// TLS values, indexed by key (key 0 is never handed out).
    tls: Vec<*mut u8>,
    _reserved: u64,
    /// fs:0x28: the stack protector canary.
    stack_guard: u64,
}
const _: () = assert!(core::mem::offset_of!(ThreadBlock, stack_guard) == 0x28);

/// A block for a new thread (the main thread's guard is the kernel's, so
/// reaching `main` needs no random generator).
fn new_block(guard: Option<u64>) -> *mut ThreadBlock {
    let guard = guard.unwrap_or_else(|| {
        let mut bytes = [0u8; 8];
        crate::random::fill_random_bytes(bytes.as_mut_ptr(), 8);
        u64::from_le_bytes(bytes)
    });
    let b = Box::into_raw(Box::new(ThreadBlock {
        self_ptr: core::ptr::null_mut(),
        tls: Vec::new(),
        _reserved: 0,
        // A zero byte first, as glibc does, so string overflows stop at it.
        stack_guard: guard & !0xff,
    }));
    // SAFETY: `b` is a fresh, valid allocation.
    unsafe { (*b).self_ptr = b };
    b
}

/// The calling thread's block.
fn current() -> &'static mut ThreadBlock {
    let b: *mut ThreadBlock;
    // SAFETY: every thread of a motor process has FS pointing at its block
    // (set in `init_main_thread` or by `spawn`), whose first word is itself.
    unsafe {
        core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) b, options(nostack, readonly, preserves_flags));
        &mut *b
    }
}

pub fn init_main_thread() {
    let b = new_block(crate::info::take_main_stack_guard());
    // SAFETY: FS-relative code in this process expects its block there, and
    // `b` lives for the rest of the process.
    if unsafe { sys::set_fs_base(b as u64) }.is_err() {
        vireo_rt::println!("vireo: cannot set the main thread's FS base");
        sys::exit(crate::STATUS_UNSUPPORTED_VERSION);
    }
}

/// Destructors by key (index = key); 0 = none.
static DTORS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

pub extern "C" fn tls_create(dtor: u64) -> usize {
    let mut d = DTORS.lock();
    if d.is_empty() {
        d.push(0); // key 0 stays unused: std's LazyKey treats 0 as "not yet made".
    }
    d.push(dtor);
    d.len() - 1
}

pub extern "C" fn tls_set(key: usize, value: *mut u8) {
    let tls = &mut current().tls;
    if tls.len() <= key {
        tls.resize(key + 1, core::ptr::null_mut());
    }
    tls[key] = value;
}

pub extern "C" fn tls_get(key: usize) -> *mut u8 {
    current().tls.get(key).copied().unwrap_or(core::ptr::null_mut())
}

pub extern "C" fn tls_destroy(key: usize) {
    if let Some(d) = DTORS.lock().get_mut(key) {
        *d = 0;
    }
}

/// pthread-style: values with a destructor are cleared and passed to it,
/// in rounds while destructors set new values (at most 4).
fn run_tls_dtors() {
    for _ in 0..4 {
        let mut ran = false;
        let n = current().tls.len();
        for key in 1..n {
            let v = core::mem::take(&mut current().tls[key]);
            let dtor = DTORS.lock().get(key).copied().unwrap_or(0);
            if v.is_null() || dtor == 0 {
                current().tls[key] = v;
                continue;
            }
            // SAFETY: std registered `dtor` as an `unsafe extern "C" fn(*mut u8)`
            // with tls_create, for values of this key.
            let f: unsafe extern "C" fn(*mut u8) = unsafe { core::mem::transmute(dtor as usize) };
            // SAFETY: see above; the value is no longer stored.
            unsafe { f(v) };
            ran = true;
        }
        if !ran {
            break;
        }
    }
}

// ---- threads ---------------------------------------------------------------

struct ThreadRec {
    f: extern "C" fn(u64),
    arg: u64,
    handle: u64,
    stack_base: u64,
    stack_len: u64,
    block: *mut ThreadBlock,
}

/// Threads spawned and not yet joined (their records' addresses), so `join`
/// can refuse a handle it never gave out.
static LIVE: Mutex<Vec<u64>> = Mutex::new(Vec::new());

const MIN_STACK: u64 = 64 << 10;

#[unsafe(naked)]
unsafe extern "C" fn trampoline() -> ! {
    // SAFETY: (naked) aligns the stack for a call into Rust; never returns.
    core::arch::naked_asm!("xor ebp, ebp", "and rsp, -16", "call {main}", "ud2", main = sym thread_main)
}

extern "C" fn thread_main(rec: *const ThreadRec) -> ! {
    // SAFETY: `spawn` passes a live record; only `f` and `arg` are read here
    // (the spawner may still be writing `handle`).
    let (f, arg) = unsafe { ((*rec).f, (*rec).arg) };
    f(arg);
    run_tls_dtors();
    sys::thread_exit(0)
}

/// A handle (the record's address, always above u16::MAX as moto-rt needs)
/// or an ErrorCode.
pub extern "C" fn spawn(f: extern "C" fn(u64), stack_size: usize, arg: u64) -> u64 {
    let len = ((stack_size as u64).max(MIN_STACK) + 4095) & !4095;
    let Ok(base) = sys::map(0, len, prot::READ | prot::WRITE) else { return E_OUT_OF_MEMORY as u64 };
    let block = new_block(None);
    let rec = Box::into_raw(Box::new(ThreadRec { f, arg, handle: 0, stack_base: base, stack_len: len, block }));
    LIVE.lock().push(rec as u64);
    // SAFETY: the trampoline runs on the new mapped stack with `rec` (live
    // until join) as its argument and `block` as its FS base.
    match unsafe { sys::thread_spawn_raw(trampoline as *const () as u64, base + len - 16, rec as u64, block as u64) } {
        Ok(h) => {
            // SAFETY: the record is live; the new thread never reads `handle`.
            unsafe { core::ptr::addr_of_mut!((*rec).handle).write(h) };
            rec as u64
        }
        Err(_) => {
            LIVE.lock().retain(|&r| r != rec as u64);
            // SAFETY: the thread never started: nothing else uses these.
            unsafe {
                drop(Box::from_raw(rec));
                drop(Box::from_raw(block));
                let _ = sys::unmap(base, len);
            }
            E_OUT_OF_MEMORY as u64
        }
    }
}

pub extern "C" fn join(handle: u64) -> ErrorCode {
    {
        let mut live = LIVE.lock();
        let Some(i) = live.iter().position(|&r| r == handle) else { return E_BAD_HANDLE };
        live.swap_remove(i);
    }
    // SAFETY: `handle` is a record from `spawn`, removed from LIVE, so only
    // this call owns it now.
    let rec = unsafe { Box::from_raw(handle as *mut ThreadRec) };
    if sys::wait(rec.handle, FOREVER).is_err() {
        return E_BAD_HANDLE;
    }
    let _ = sys::close(rec.handle);
    // SAFETY: the thread has ended: its stack and block are unused.
    unsafe {
        let _ = sys::unmap(rec.stack_base, rec.stack_len);
        drop(Box::from_raw(rec.block));
    }
    E_OK
}

/// Sleeps until the Instant `deadline` (ns of ClockMonotonic).
pub extern "C" fn sleep(deadline: u64) {
    loop {
        let now = sys::now_ns();
        if now >= deadline {
            return;
        }
        let _ = sys::sleep(deadline - now);
    }
}

pub extern "C" fn yield_now() {
    let _ = sys::yield_now();
}

pub extern "C" fn set_name(_name: *const u8, _len: usize) -> ErrorCode {
    E_OK
}
