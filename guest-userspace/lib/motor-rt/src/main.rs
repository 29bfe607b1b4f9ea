//! `vireo-motor-rt`: Vireo's runtime for Rust std programs built by upstream
//! rustc for `x86_64-unknown-motor` (docs/runtime.md).
//!
//! That target's std talks to the OS only through moto-rt, and moto-rt only
//! through the table of function pointers [`RtVdsoVtable`] at the fixed
//! address `RT_VDSO_VTABLE_VADDR`. The kernel loads this image at
//! `RT_VDSO_START`, writes slot 0 (= [`vdso_entry`]) and slot 1 (the image
//! size) plus Vireo's info block ([`info`]); std's `motor_start` calls
//! `vdso_entry(RT_VERSION)` on the main thread before `main`, and this fills
//! every other slot with an implementation on Vireo's system calls
//! (`vireo-rt`) or with a stub returning moto-rt's `E_NOT_IMPLEMENTED` in the
//! slot's own return convention. No slot is ever null.
#![no_std]
#![no_main]

extern crate alloc;

// The raw runtime provides the system calls, the global allocator (used for
// both this runtime's own data and std's heap), a futex mutex and the panic
// handler (a bug here prints and ends the process with #UD).
use vireo_rt as _;

pub mod channel;
mod child;
mod fd;
mod fs;
mod info;
mod io;
mod mem;
mod net;
mod net_dns;
mod process;
mod random;
mod spawn_block;
mod thread;

use core::sync::atomic::{AtomicU64, Ordering};
use moto_rt::error::{ErrorCode, E_NOT_IMPLEMENTED};
use moto_rt::{RtVdsoVtable, RT_VDSO_VTABLE_VADDR};

/// Exit status of a process whose std asks for another ABI version.
pub use pv_abi::motor::STATUS_UNSUPPORTED_VERSION;
/// The one moto-rt ABI version this runtime implements (moto-rt 0.16.x).
pub use pv_abi::motor::SUPPORTED_VERSION;
/// v16 slots: the 90 fields of moto-rt 0.16.0's `RtVdsoVtable`, then
/// `fs_file_lock` (90) and `fs_move_noreplace` (91), the optional ABI-16
/// extensions of moto-rt 0.16.2+.
const V16_SLOTS: usize = 92;
const _: () = assert!(core::mem::size_of::<RtVdsoVtable>() == 90 * 8);
const _: () = assert!((V16_SLOTS * 8) as u64 <= pv_abi::motor::info::OFFSET);

/// The runtime's entry (vtable slot 0), called by moto-rt's `init()` on the
/// main thread before `main`.
#[no_mangle]
pub extern "C" fn vdso_entry(version: u64) {
    if version != SUPPORTED_VERSION {
        vireo_rt::println!("vireo: unsupported moto-rt ABI version {version} (supported: {SUPPORTED_VERSION})");
        vireo_rt::sys::exit(STATUS_UNSUPPORTED_VERSION);
    }
    thread::init_main_thread();
    // Environment and stdio from the parent's spawn block, if it made one.
    match spawn_block::take() {
        Some(b) => {
            process::set_env(b.env);
            fd::init(b.stdio);
        }
        None => fd::init([fd::Fd::Console, fd::Fd::Console, fd::Fd::Console]),
    }
    fs::init_cwd(process::env_var(b"PWD").as_deref());
    fill_vtable();
}

/// Not-supported stub for slots returning an `ErrorCode` (u16, 0 = OK).
extern "C" fn unsupported_code() -> ErrorCode {
    E_NOT_IMPLEMENTED
}

fn fill_vtable() {
    let v = RtVdsoVtable::get();
    let set = |slot: &AtomicU64, f: *const ()| slot.store(f as u64, Ordering::Relaxed);
    let code = unsupported_code as *const ();

    set(&v.alloc, mem::alloc as *const ());
    set(&v.alloc_zeroed, mem::alloc_zeroed as *const ());
    set(&v.realloc, mem::realloc as *const ());
    set(&v.dealloc, mem::dealloc as *const ());
    set(&v.release_handle, process::release_handle as *const ());

    set(&v.time_instant_now, thread::instant_now as *const ());
    set(&v.time_ticks_to_nanos, thread::ticks_to_nanos as *const ());
    set(&v.time_nanos_to_ticks, thread::nanos_to_ticks as *const ());
    // A value, not a function: ticks are nanoseconds of ClockMonotonic.
    v.time_ticks_in_sec.store(thread::TICKS_PER_SEC, Ordering::Relaxed);
    set(&v.time_abs_ticks_to_nanos, thread::abs_ticks_to_nanos as *const ());

    set(&v.futex_wait, thread::futex_wait as *const ());
    set(&v.futex_wake, thread::futex_wake as *const ());
    set(&v.futex_wake_all, thread::futex_wake_all as *const ());

    set(&v.proc_args, process::args as *const ());
    set(&v.proc_get_full_env, process::get_full_env as *const ());
    set(&v.proc_getenv, process::getenv as *const ());
    set(&v.proc_setenv, process::setenv as *const ());
    set(&v.proc_spawn, child::spawn as *const ());
    set(&v.proc_kill, child::kill as *const ());
    set(&v.proc_wait, child::wait as *const ());
    set(&v.proc_status, child::status as *const ());
    set(&v.proc_exit, process::exit as *const ());

    set(&v.tls_create, thread::tls_create as *const ());
    set(&v.tls_set, thread::tls_set as *const ());
    set(&v.tls_get, thread::tls_get as *const ());
    set(&v.tls_destroy, thread::tls_destroy as *const ());

    set(&v.thread_spawn, thread::spawn as *const ());
    set(&v.thread_sleep, thread::sleep as *const ());
    set(&v.thread_yield, thread::yield_now as *const ());
    set(&v.thread_set_name, thread::set_name as *const ());
    set(&v.thread_join, thread::join as *const ());

    set(&v.fs_is_terminal, fd::is_terminal as *const ());
    set(&v.fs_open, fs::file::open as *const ());
    set(&v.fs_close, fd::close as *const ());
    set(&v.fs_get_file_attr, fs::file::get_file_attr as *const ());
    set(&v.fs_fsync, fs::file::fsync as *const ());
    set(&v.fs_datasync, fs::file::datasync as *const ());
    set(&v.fs_truncate, fs::file::truncate as *const ());
    set(&v.fs_read, fd::read as *const ());
    set(&v.fs_read_vectored, fd::read_vectored as *const ());
    set(&v.fs_write, fd::write as *const ());
    set(&v.fs_write_vectored, fd::write_vectored as *const ());
    set(&v.fs_flush, fd::flush as *const ());
    set(&v.fs_seek, fs::file::seek as *const ());
    set(&v.fs_mkdir, fs::ops::mkdir as *const ());
    set(&v.fs_unlink, fs::ops::unlink as *const ());
    set(&v.fs_rename, fs::ops::rename as *const ());
    set(&v.fs_rmdir, fs::ops::rmdir as *const ());
    set(&v.fs_rmdir_all, fs::ops::rmdir_all as *const ());
    set(&v.fs_set_perm, fs::ops::set_perm as *const ());
    set(&v.fs_set_file_perm, fs::file::set_file_perm as *const ());
    set(&v.fs_stat, fs::ops::stat as *const ());
    set(&v.fs_canonicalize, fs::ops::canonicalize as *const ());
    set(&v.fs_copy, fs::ops::copy as *const ());
    set(&v.fs_opendir, fs::dir::opendir as *const ());
    set(&v.fs_closedir, fs::dir::closedir as *const ());
    set(&v.fs_readdir, fs::dir::readdir as *const ());
    set(&v.fs_getcwd, fs::ops::getcwd as *const ());
    set(&v.fs_chdir, fs::ops::chdir as *const ());
    set(&v.fs_duplicate, fd::duplicate as *const ());

    set(&v.dns_lookup, net_dns::dns_lookup as *const ());
    set(&v.net_bind, net::bind as *const ());
    set(&v.net_listen, net::listen as *const ());
    set(&v.net_accept, net::accept as *const ());
    set(&v.net_tcp_connect, net::tcp_connect as *const ());
    set(&v.net_udp_connect, net::udp_connect as *const ());
    set(&v.net_socket_addr, net::socket_addr as *const ());
    set(&v.net_peer_addr, net::peer_addr as *const ());
    set(&v.net_setsockopt, net::setsockopt as *const ());
    set(&v.net_getsockopt, net::getsockopt as *const ());
    set(&v.net_peek, net::peek as *const ());
    set(&v.net_udp_recv_from, net::udp_recv_from as *const ());
    set(&v.net_udp_peek_from, net::udp_peek_from as *const ());
    set(&v.net_udp_send_to, net::udp_send_to as *const ());
    set(&v.net_udp_multicast_op_v4, net::multicast_op as *const ());
    set(&v.net_udp_multicast_op_v6, net::multicast_op as *const ());

    set(&v.poll_new, net::poll::new as *const ());
    set(&v.poll_add, net::poll::add as *const ());
    set(&v.poll_set, net::poll::set as *const ());
    set(&v.poll_del, net::poll::del as *const ());
    set(&v.poll_wait, net::poll::wait as *const ());
    set(&v.poll_wake, net::poll::wake as *const ());

    set(&v.log_to_kernel, io::log_to_kernel as *const ());
    set(&v.log_backtrace, io::log_backtrace as *const ());
    set(&v.fill_random_bytes, random::fill_random_bytes as *const ());
    set(&v.num_cpus, io::num_cpus as *const ());
    set(&v.internal_helper, io::internal_helper as *const ());
    set(&v.current_exe, process::current_exe as *const ());

    // Slots 90 (fs_file_lock) and 91 (fs_move_noreplace): past the end of
    // 0.16.0's struct, both return an ErrorCode.
    let table = RT_VDSO_VTABLE_VADDR as *const AtomicU64;
    for slot in 90..V16_SLOTS {
        // Slot 91 ends at byte 736, below Vireo's info block (asserted above).
        // SAFETY: the kernel maps the whole vtable page RW.
        unsafe { (*table.add(slot)).store(code as u64, Ordering::Relaxed) };
    }
    core::sync::atomic::fence(Ordering::Release);
}
