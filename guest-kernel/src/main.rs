//! Vireo guest kernel.
#![no_std]
#![no_main]

mod arch;
mod boot;
#[macro_use]
mod console;
mod mm;
mod power;
mod sync;
mod trace;

use boot::cmdline::Cmdline;
use boot::start_info::BootInfo;
use pv_abi::{boot_trace, exit::KernelExit};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Called from the PVH entry code on the boot stack, in long mode.
#[no_mangle]
extern "C" fn kernel_main(start_info_paddr: u64) -> ! {
    console::init();
    kprintln!("Vireo {VERSION} (x86_64, PVH)");
    let info = match BootInfo::parse(start_info_paddr) {
        Ok(info) => info,
        Err(e) => {
            kprintln!("boot: unusable start_info at {start_info_paddr:#x}: {e}");
            power::exit_with(KernelExit::BadBootInfo);
        }
    };
    print_memory_map(&info);
    let cmdline = Cmdline::new(info.cmdline);
    kprint!("cmdline: ");
    console::write_bytes(cmdline.raw());
    kprintln!();

    trace::mark(boot_trace::KERNEL_INIT_DONE);
    // No user space yet: the end of kernel init is where the first user
    // instruction will go.
    trace::mark(boot_trace::USER_ENTRY);
    power::exit_with(KernelExit::Success)
}

fn print_memory_map(info: &BootInfo) {
    let (ram, ranges) = info.usable_ram();
    kprintln!(
        "memory: {} MiB usable in {} ranges, {} map entries, {} modules",
        ram >> 20,
        ranges,
        info.memmap().len(),
        info.modules().len()
    );
    for e in info.memmap() {
        let kind = e.mem_type().map_or("unknown", |t| t.name());
        kprintln!("  [{:#012x}-{:#012x}] {kind}", e.addr, e.addr + e.size - 1);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::sync::atomic::{AtomicBool, Ordering};
    static PANICKING: AtomicBool = AtomicBool::new(false);
    if !PANICKING.swap(true, Ordering::SeqCst) {
        match info.location() {
            Some(l) => console::emergency_print(format_args!(
                "KERNEL PANIC at {}:{}: {}\n",
                l.file(),
                l.line(),
                info.message()
            )),
            None => console::emergency_print(format_args!("KERNEL PANIC: {}\n", info.message())),
        }
    }
    power::exit_with(KernelExit::Panic)
}
