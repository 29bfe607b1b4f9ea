//! The kernel console: COM1, shared by all CPUs behind one lock.
//! `kprint!`/`kprintln!` write through it.
pub mod input;
mod uart16550;

use crate::sync::SpinLock;
use core::fmt::{self, Write};
use pv_abi::serial::COM1_PORT;
pub use uart16550::Uart16550;

static CONSOLE: SpinLock<Uart16550> = SpinLock::new(Uart16550::new(COM1_PORT));

/// Programs the UART (8N1, FIFOs on). Output works before this on every
/// supported VMM, so early messages are not lost.
pub fn init() {
    let mut uart = CONSOLE.lock();
    // Enabling the FIFO resets it: keep type-ahead that arrived before boot.
    while let Some(b) = uart.read_byte() {
        input::keep_early(b);
    }
    uart.init();
}

/// Turns on console input: COM1's receive interrupt, routed by the caller.
pub fn enable_input() {
    CONSOLE.lock().enable_rx_interrupt();
}

/// Drains the UART's receive FIFO into `sink`.
pub(crate) fn drain_rx(mut sink: impl FnMut(u8)) {
    let mut uart = CONSOLE.lock();
    while let Some(b) = uart.read_byte() {
        sink(b);
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    // A write error cannot happen on the UART; there is nowhere to report one.
    let _ = CONSOLE.lock().write_fmt(args);
}

/// Writes bytes verbatim (they need not be UTF-8).
pub fn write_bytes(bytes: &[u8]) {
    CONSOLE.lock().write_bytes(bytes);
}

/// Writes without taking the console lock: for the panic and exception
/// paths, where the lock may be held by the code that failed.
pub fn emergency_print(args: fmt::Arguments) {
    let _ = Uart16550::new(COM1_PORT).write_fmt(args);
}

#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => ($crate::console::_print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! kprintln {
    () => ($crate::kprint!("\n"));
    ($($arg:tt)*) => ($crate::console::_print(format_args!("{}\n", format_args!($($arg)*))));
}
