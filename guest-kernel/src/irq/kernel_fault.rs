//! An exception in kernel mode is a kernel bug: dump it (arch's
//! `exception::dump`) and power off with a failure status.
use crate::arch::x86_64::cr3;
use crate::arch::x86_64::exception::{dump, DumpContext};
use crate::arch::x86_64::trap::TrapFrame;
use crate::console::emergency_print;
use core::sync::atomic::{AtomicBool, Ordering};
use pv_abi::exit::KernelExit;

static DUMPING: AtomicBool = AtomicBool::new(false);

pub fn handle(frame: &mut TrapFrame) {
    // A kernel fault (a double fault above all) may come from page tables
    // that were freed and reused under it: print from the kernel's own, so
    // the dump appears instead of a reset. It reads only kernel memory.
    cr3::load_kernel();
    // Nested fault while dumping: say so and stop, do not recurse.
    if DUMPING.swap(true, Ordering::SeqCst) {
        emergency_print(format_args!("exception: vector {} while dumping; stopping\n", frame.vector));
        crate::poweroff::exit_with(KernelExit::CpuException);
    }
    let thread = crate::sched::current_if_safe();
    let ctx = DumpContext {
        cpu: crate::percpu::index(),
        thread: thread.as_ref().map(|t| (t.name, t.id)),
        is_mapped: &crate::mm::is_kernel_mapped,
    };
    dump(frame, &ctx, &emergency_print);
    crate::poweroff::exit_with(KernelExit::CpuException)
}
