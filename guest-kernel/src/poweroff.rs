//! Power-off with an exit status, per pv-abi's exit protocol: the status
//! line on serial, the isa-debug-exit style port, ACPI S5, the Cloud
//! Hypervisor sleep port, then halt. And restart: ACPI reset, the Cloud
//! Hypervisor reset value, the PCI reset control port, then a triple fault.
use crate::arch::x86_64::port::{outb, outl};
use crate::console;
use core::sync::atomic::{AtomicBool, Ordering};
use pv_abi::exit::{KernelExit, CHV_RESET_VALUE, CHV_SLEEP_PORT, CHV_SLEEP_S5, EXIT_PORT, MARKER};

/// The PIIX/ICH reset control register (q35): 0x06 is a hard reset.
const RESET_CONTROL_PORT: u16 = 0xcf9;
const RESET_CONTROL_HARD: u8 = 0x06;
/// What the console says before a restart (tests look for it).
pub const REBOOT_MESSAGE: &str = "vireo: restarting";

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

/// Restarts the machine (init asked for it, `pv_abi::exit::init::REBOOT_REQUEST`).
/// A VMM started with `-no-reboot` (QEMU) ends instead, with status 0.
pub fn reboot() -> ! {
    if !EXITING.swap(true, Ordering::SeqCst) {
        console::emergency_print(format_args!("{REBOOT_MESSAGE}\n"));
        crate::acpi::reset();
        outb(CHV_SLEEP_PORT, CHV_RESET_VALUE);
        outb(RESET_CONTROL_PORT, RESET_CONTROL_HARD);
        // Nothing above took: an empty IDT makes the next exception a
        // triple fault, which every x86 VMM turns into a reset.
        let empty = x86_64::structures::DescriptorTablePointer { limit: 0, base: x86_64::VirtAddr::zero() };
        // The breakpoint after it faults into a triple fault (a reset).
        // SAFETY: deliberately leaves this CPU without exception handlers.
        unsafe { x86_64::instructions::tables::lidt(&empty) };
        x86_64::instructions::interrupts::int3();
    }
    halt_forever()
}

pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
