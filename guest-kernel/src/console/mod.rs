//! The kernel console: COM1, shared by all CPUs behind one lock.
//! `kprint!`/`kprintln!` write through it.
pub mod input;
mod output;
mod uart16550;

pub use output::{_print, emergency_print, enable_input, write_bytes};

/// Programs the UART (8N1, FIFOs on). Output works before this on every
/// supported VMM, so early messages are not lost.
pub fn init() {
    // Enabling the FIFO resets it: keep type-ahead that arrived before boot.
    output::drain_rx(input::keep_early);
    output::init_uart();
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
