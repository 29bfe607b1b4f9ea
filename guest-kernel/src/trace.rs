//! Boot-trace codes on the debug port (pv-abi `boot_trace`).
use crate::arch::x86_64::port::outb;
use pv_abi::boot_trace;

pub fn mark(code: u8) {
    outb(boot_trace::PORT, code);
}
