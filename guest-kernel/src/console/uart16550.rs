//! Minimal 16550 UART driver, transmit side.
use crate::arch::x86_64::port::{inb, outb};
use core::fmt;

const THR: u16 = 0; // transmit holding register
const IER: u16 = 1; // interrupt enable
const FCR: u16 = 2; // FIFO control
const LCR: u16 = 3; // line control
const MCR: u16 = 4; // modem control
const LSR: u16 = 5; // line status
const LSR_THR_EMPTY: u8 = 1 << 5;
const LSR_DATA_READY: u8 = 1 << 0;
const IER_RX_AVAILABLE: u8 = 1 << 0;
/// Polls of LSR before writing anyway: a VMM UART that never reports ready
/// must not hang the kernel (virtual UARTs normally are always ready). Large,
/// because a host that reads the console slowly (a loaded machine) keeps
/// the FIFO full for a while, and writing anyway drops bytes; a UART that
/// times out once is taken to never report and is written blindly after.
const MAX_POLLS: u32 = 1 << 22;
/// Transmit FIFO depth of a 16550A once FIFOs are enabled.
const FIFO_DEPTH: u8 = 16;

/// Every byte is a port write and so a VM exit; with the FIFO on, one LSR
/// poll (THR empty means the whole FIFO is empty) buys 16 writes, which
/// halves the exits per byte on a hypervisor that traps port I/O.
pub struct Uart16550 {
    base: u16,
    /// Bytes we may still write without polling LSR.
    tx_room: u8,
    /// FIFO depth in effect: 1 until `init` enables the FIFO.
    depth: u8,
    /// LSR never reported room within `MAX_POLLS`: stop polling it.
    deaf: bool,
}

impl Uart16550 {
    pub const fn new(base: u16) -> Self {
        Self { base, tx_room: 0, depth: 1, deaf: false }
    }

    pub fn init(&mut self) {
        outb(self.base + IER, 0x00);
        outb(self.base + LCR, 0x80); // DLAB on
        outb(self.base + THR, 0x01); // divisor 1: 115200 baud
        outb(self.base + IER, 0x00);
        outb(self.base + LCR, 0x03); // 8N1, DLAB off
        outb(self.base + FCR, 0x07); // FIFOs on and cleared
        outb(self.base + MCR, 0x0b); // DTR, RTS, OUT2
        self.depth = FIFO_DEPTH;
        self.tx_room = 0;
    }

    pub fn write_byte(&mut self, byte: u8) {
        if self.tx_room == 0 && !self.deaf {
            let mut polls = 0;
            while inb(self.base + LSR) & LSR_THR_EMPTY == 0 {
                polls += 1;
                if polls == MAX_POLLS {
                    self.deaf = true;
                    break;
                }
                core::hint::spin_loop();
            }
            self.tx_room = self.depth;
        }
        outb(self.base + THR, byte);
        self.tx_room = self.tx_room.saturating_sub(1);
    }

    /// Interrupt when a received byte is waiting (the IOAPIC routes IRQ 4).
    pub fn enable_rx_interrupt(&mut self) {
        outb(self.base + IER, IER_RX_AVAILABLE);
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&mut self) -> Option<u8> {
        (inb(self.base + LSR) & LSR_DATA_READY != 0).then(|| inb(self.base + THR))
    }

    /// Writes raw bytes (no newline translation), e.g. a command line verbatim.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }
}

impl fmt::Write for Uart16550 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        Ok(())
    }
}
