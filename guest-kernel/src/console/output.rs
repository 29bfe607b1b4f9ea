//! Console output (and the UART it shares with input), behind one lock.
use super::uart16550::Uart16550;
use crate::sync::SpinLock;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
use pv_abi::serial::COM1_PORT;

static CONSOLE: SpinLock<Uart16550> = SpinLock::new(Uart16550::new(COM1_PORT));

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

/// `quiet` on the command line: [`_info`] prints nothing.
static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

#[doc(hidden)]
pub fn _info(args: fmt::Arguments) {
    if !QUIET.load(Ordering::Relaxed) {
        _print(args);
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

pub(super) fn init_uart() {
    CONSOLE.lock().init();
}
