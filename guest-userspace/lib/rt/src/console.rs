//! `print!`/`println!` over `ConsoleWrite`.
//!
//! Output is formatted into a stack buffer and written with as few calls as
//! possible, so that a `println!` of a short line is one `ConsoleWrite` and
//! lines from different threads or processes do not interleave mid-line.

use core::fmt::{self, Write};

const BUF: usize = 256;

struct LineBuf {
    buf: [u8; BUF],
    len: usize,
}

impl LineBuf {
    const fn new() -> Self {
        Self { buf: [0; BUF], len: 0 }
    }

    fn flush(&mut self) {
        let mut rest = &self.buf[..self.len];
        while !rest.is_empty() {
            match crate::sys::console_write(rest) {
                Ok(n) if n > 0 => rest = &rest[(n as usize).min(rest.len())..],
                // Nothing sensible to do with a console that refuses output:
                // drop the text rather than spin.
                _ => break,
            }
        }
        self.len = 0;
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(BUF) {
            if self.len + chunk.len() > BUF {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments, newline: bool) {
    let mut b = LineBuf::new();
    // LineBuf::write_str never fails; a Display impl that does just truncates.
    let _ = b.write_fmt(args);
    if newline {
        let _ = b.write_str("\n");
    }
    b.flush();
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(::core::format_args!($($arg)*), false) };
}

/// Prints a line to the serial console (one `ConsoleWrite` when it fits in 256 bytes).
#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(::core::format_args!(""), true) };
    ($($arg:tt)*) => { $crate::console::_print(::core::format_args!($($arg)*), true) };
}
