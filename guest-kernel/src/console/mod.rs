//! The kernel console: COM1, shared by all CPUs behind one lock.
//! `kprint!`/`kprintln!` write through it; `kinfo!`/`kinfoln!` too, unless
//! the command line says `quiet`: each byte on the serial port is a VM exit
//! or two, so a quiet boot keeps only warnings and errors (Linux's `quiet`).
pub mod input;
mod output;
mod uart16550;

pub use output::{_info, _print, emergency_print, enable_input, set_quiet, write_bytes};

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

/// Boot chatter: dropped under `quiet`.
#[macro_export]
macro_rules! kinfo {
    ($($arg:tt)*) => ($crate::console::_info(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! kinfoln {
    () => ($crate::kinfo!("\n"));
    ($($arg:tt)*) => ($crate::console::_info(format_args!("{}\n", format_args!($($arg)*))));
}
