//! COM1: a vm-superio 16550 whose output goes to stdout, whose interrupt is
//! an irqfd on IRQ 4, and whose input comes from stdin when there is any.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::EventFd;

use crate::timeline::{Kind, Timeline};

/// Longest line kept for `VIREO-EXIT` detection (the marker line is ~15 bytes).
const LINE_MAX: usize = 64;

/// Raises the UART's interrupt through an eventfd registered as an irqfd.
pub struct IrqTrigger(pub EventFd);

impl Trigger for IrqTrigger {
    type E = io::Error;
    fn trigger(&self) -> io::Result<()> {
        self.0.write(1)
    }
}

/// The UART's output side: stdout, plus first-byte timing and the last
/// `VIREO-EXIT n` line the guest printed.
pub struct Console {
    timeline: Arc<Timeline>,
    seen_first: bool,
    line: Vec<u8>,
    line_too_long: bool,
    last_exit: Option<u8>,
}

impl Console {
    pub fn new(timeline: Arc<Timeline>) -> Self {
        Console {
            timeline,
            seen_first: false,
            line: Vec::with_capacity(LINE_MAX),
            line_too_long: false,
            last_exit: None,
        }
    }

    fn parse_line(&self) -> Option<u8> {
        if self.line_too_long {
            return None;
        }
        std::str::from_utf8(&self.line).ok().and_then(pv_abi::exit::parse_line)
    }

    fn track(&mut self, byte: u8) {
        if byte == b'\n' {
            if let Some(code) = self.parse_line() {
                self.last_exit = Some(code);
            }
            self.line.clear();
            self.line_too_long = false;
        } else if self.line.len() < LINE_MAX {
            self.line.push(byte);
        } else {
            self.line_too_long = true;
        }
    }

    /// Code of the most recent `VIREO-EXIT n` line, counting an unterminated last line.
    pub fn exit_code(&self) -> Option<u8> {
        self.parse_line().or(self.last_exit)
    }
}

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.seen_first && !buf.is_empty() {
            self.seen_first = true;
            self.timeline.record(Kind::FirstSerialByte);
        }
        for &b in buf {
            self.track(b);
        }
        io::stdout().lock().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

/// COM1 shared between vCPU threads and the stdin reader.
pub struct SerialPort {
    uart: Mutex<Serial<IrqTrigger, NoEvents, Console>>,
}

impl SerialPort {
    pub fn new(trigger: IrqTrigger, console: Console) -> Self {
        SerialPort { uart: Mutex::new(Serial::new(trigger, console)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Serial<IrqTrigger, NoEvents, Console>> {
        self.uart.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self, offset: u8, value: u8) {
        // Output errors (closed stdout) and interrupt errors must not stop the guest.
        let _ = self.lock().write(offset, value);
    }

    pub fn read(&self, offset: u8) -> u8 {
        self.lock().read(offset)
    }

    /// Queue input bytes for the guest; returns how many fit in the FIFO.
    pub fn enqueue(&self, bytes: &[u8]) -> usize {
        self.lock().enqueue_raw_bytes(bytes).unwrap_or(0)
    }

    pub fn exit_code(&self) -> Option<u8> {
        self.lock().writer().exit_code()
    }

    /// The UART's registers and FIFO, for a snapshot.
    pub fn state(&self) -> vm_superio::serial::SerialState {
        self.lock().state()
    }

    /// A UART as a snapshot left it; `None` for a state vm-superio refuses
    /// (a FIFO longer than the hardware's).
    pub fn from_state(state: &vm_superio::serial::SerialState, trigger: IrqTrigger, console: Console) -> Option<Self> {
        Serial::from_state(state, trigger, NoEvents, console).ok().map(|u| SerialPort { uart: Mutex::new(u) })
    }
}

/// Should stdin feed the guest? Yes for a foreground terminal or a pipe,
/// socket or file; no for /dev/null, a closed descriptor, or a background tty
/// (reading it would stop the process with SIGTTIN).
pub fn stdin_wanted() -> bool {
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the owned, properly sized `st`.
    if unsafe { libc::fstat(libc::STDIN_FILENO, &mut st) } != 0 {
        return false;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFREG => true,
        libc::S_IFCHR => {
            // SAFETY: isatty, tcgetpgrp and getpgrp only inspect process/fd state.
            unsafe { libc::isatty(libc::STDIN_FILENO) == 1 && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
        }
        _ => false,
    }
}

/// Copy stdin into the UART until EOF (EOF or an error just ends the thread).
pub fn pump_stdin(serial: &SerialPort) {
    let mut buf = [0u8; 64];
    let mut stdin = io::stdin().lock();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut pos = 0;
        while pos < n {
            let took = serial.enqueue(&buf[pos..n]);
            pos += took;
            if took == 0 {
                // FIFO full: the guest has not drained it yet.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn console() -> Console {
        Console::new(Arc::new(Timeline::new(Instant::now())))
    }

    #[test]
    fn tracks_last_exit_line() {
        let mut c = console();
        for b in b"hello\nVIREO-EXIT 3\r\nmore\n" {
            c.track(*b);
        }
        assert_eq!(c.exit_code(), Some(3));
        for b in b"VIREO-EXIT 9" {
            c.track(*b);
        }
        assert_eq!(c.exit_code(), Some(9), "unterminated last line counts");
        let mut c = console();
        for b in "VIREO-EXIT 1".repeat(10).as_bytes() {
            c.track(*b);
        }
        c.track(b'\n');
        assert_eq!(c.exit_code(), None);
    }
}
