//! Console input: bytes from COM1's receive interrupt, buffered until a
//! thread reads them, line by line (`ConsoleRead`) or as typed
//! (`ConsoleReadRaw`, for a line editor). While a foreground is set
//! (`ConsoleForeground`), Ctrl-C is not buffered: the interrupt handler
//! reports it and the caller ends the foreground processes.
use crate::sched::{self, Thread};
use crate::sync::SpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use pv_abi::syscall::CONSOLE_INTERRUPT;

/// Bytes kept while nobody reads; the oldest input is dropped past this.
/// Fixed-size so the interrupt path never allocates and bytes can be kept
/// before the heap exists.
const CAPACITY: usize = 4096;

struct Ring {
    buf: [u8; CAPACITY],
    head: usize,
    len: usize,
}

impl Ring {
    fn push(&mut self, b: u8) {
        if self.len == CAPACITY {
            self.head = (self.head + 1) % CAPACITY;
            self.len -= 1;
        }
        self.buf[(self.head + self.len) % CAPACITY] = b;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<u8> {
        (self.len > 0).then(|| {
            let b = self.buf[self.head];
            self.head = (self.head + 1) % CAPACITY;
            self.len -= 1;
            b
        })
    }
}

static RX: SpinLock<Ring> = SpinLock::new(Ring { buf: [0; CAPACITY], head: 0, len: 0 });
static READER: SpinLock<Option<Arc<Thread>>> = SpinLock::new(None);
/// Ctrl-C is an interrupt rather than input (a foreground is set).
static INTERRUPT_ARMED: AtomicBool = AtomicBool::new(false);
/// A thread waits in `read_raw`: a line editor, which takes Ctrl-C as a key
/// (a nested shell at its prompt is not ended by its parent's foreground).
static RAW_WAITING: AtomicBool = AtomicBool::new(false);

/// Whether the next Ctrl-C interrupts (true) or is read as a byte.
pub fn arm_interrupt(armed: bool) {
    INTERRUPT_ARMED.store(armed, Ordering::Release);
}

/// Keeps a byte received before input was enabled (boot-time type-ahead).
pub(super) fn keep_early(b: u8) {
    RX.lock().push(b);
}

/// COM1 receive interrupt (interrupts are off; the CPU was idle). True
/// when an armed Ctrl-C arrived: the caller ends the foreground (which
/// disarms it; one Ctrl-C is one interrupt, the rest of the bytes are input).
pub fn on_interrupt() -> bool {
    let mut got = false;
    let mut interrupted = false;
    {
        let mut rx = RX.lock();
        super::output::drain_rx(|b| {
            if b == CONSOLE_INTERRUPT
                && !RAW_WAITING.load(Ordering::Acquire)
                && INTERRUPT_ARMED.swap(false, Ordering::AcqRel)
            {
                interrupted = true;
                return;
            }
            rx.push(b);
            got = true;
        });
    }
    if got {
        if let Some(t) = READER.lock().take() {
            sched::wake(&t);
        }
    }
    interrupted
}

/// Reads what has been typed into `buf`, as it is, parking until at least
/// one byte is there. Returns the count (0 only when `abort` says so).
/// A raw reader is a line editor or a full-screen program, which takes
/// Ctrl-C as a key: the call disarms the interrupt (until the next
/// `ConsoleForeground`), and while it waits Ctrl-C is input in any case (a
/// foreground set while it waits does not end it).
pub fn read_raw(buf: &mut [u8], abort: &dyn Fn() -> bool) -> usize {
    INTERRUPT_ARMED.store(false, Ordering::Release);
    loop {
        if abort() || buf.is_empty() {
            RAW_WAITING.store(false, Ordering::Release);
            return 0;
        }
        {
            let mut rx = RX.lock();
            let mut len = 0;
            while len < buf.len() {
                match rx.pop() {
                    Some(b) => {
                        buf[len] = b;
                        len += 1;
                    }
                    None => break,
                }
            }
            if len > 0 {
                RAW_WAITING.store(false, Ordering::Release);
                return len;
            }
            // Under the RX lock, which the interrupt handler holds while it
            // sorts the bytes: it sees the flag for every byte after this.
            RAW_WAITING.store(true, Ordering::Release);
            *READER.lock() = Some(sched::current());
        }
        sched::park();
    }
}

/// Reads one line (without its terminator) into `buf`, parking until a
/// newline or carriage return arrives. Returns the line's length; a line
/// longer than `buf` is truncated to it.
pub fn read_line(buf: &mut [u8], abort: &dyn Fn() -> bool) -> usize {
    let mut len = 0;
    loop {
        if abort() {
            return len;
        }
        {
            let mut rx = RX.lock();
            while let Some(b) = rx.pop() {
                if b == b'\n' || b == b'\r' {
                    if len == 0 && b == b'\n' {
                        continue; // the \n of a \r\n pair
                    }
                    return len;
                }
                if len < buf.len() {
                    buf[len] = b;
                    len += 1;
                }
            }
            *READER.lock() = Some(sched::current());
        }
        sched::park();
    }
}
