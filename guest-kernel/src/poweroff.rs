//! Power-off with an exit status, per pv-abi's exit protocol: the status
//! line on serial, the isa-debug-exit style port, ACPI S5, the Cloud
//! Hypervisor sleep port, then halt.
use crate::arch::x86_64::port::{outb, outl};
use crate::console;
use core::sync::atomic::{AtomicBool, Ordering};
use pv_abi::exit::{KernelExit, CHV_SLEEP_PORT, CHV_SLEEP_S5, EXIT_PORT, MARKER};

static EXITING: AtomicBool = AtomicBool::new(false);

/// Prints `VIREO-EXIT <code>` and powers the VM off. Never returns.
pub fn exit(code: u8) -> ! {
    // Only the first CPU to get here reports; others just stop.
    if !EXITING.swap(true, Ordering::SeqCst) {
        console::emergency_print(format_args!("{MARKER} {code}\n"));
        outl(EXIT_PORT, u32::from(code));
        // Returns if S5 is unknown or the VMM ignored it.
        crate::acpi::power_off();
        outb(CHV_SLEEP_PORT, CHV_SLEEP_S5);
    }
    halt_forever()
}

/// Shorthand for the kernel's own exit statuses.
pub fn exit_with(status: KernelExit) -> ! {
    exit(status.code())
}

pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
