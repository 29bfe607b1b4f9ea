//! The Vireo system-call ABI, defined once for the kernel and user space.
//!
//! Convention (x86-64 `syscall`): number in RAX; arguments in RDI, RSI, RDX,
//! R10, R8, R9; result in RAX. A result in `[-4095, -1]` is an error
//! (`-(Error as i64)`), anything else is the call's value. RCX and R11 are
//! clobbered (the instruction uses them); every other register is preserved.
//! User pointers are checked by the kernel: a bad one gives `Fault`, never a
//! kernel crash.

/// Generates [`Sys`], its number table and names from the one list below:
/// adding a call is one entry there.
macro_rules! system_calls {
    ($($(#[$doc:meta])* $name:ident = $n:literal,)*) => {
        /// System-call numbers.
        #[repr(u64)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Sys {
            $($(#[$doc])* $name = $n,)*
        }

        impl Sys {
            /// Every call, in number order (numbers are dense from 0).
            pub const ALL: &'static [Sys] = &[$(Sys::$name,)*];

            pub const fn from_raw(n: u64) -> Option<Self> {
                match n {
                    $($n => Some(Sys::$name),)*
                    _ => None,
                }
            }

            /// The call's name, as in this list.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Sys::$name => stringify!($name),)*
                }
            }
        }
    };
}

system_calls! {
    /// `(ptr, len) -> len`: write bytes to the serial console.
    ConsoleWrite = 0,
    /// `(ptr, cap) -> len`: read one line from the console (blocks), without its terminator.
    ConsoleRead = 1,
    /// `(status: i32) -> !`: end the calling process (all its threads).
    Exit = 2,
    /// `() -> 0`: give up the CPU.
    Yield = 3,
    /// `(ns) -> 0`: sleep for at least `ns` nanoseconds.
    Sleep = 4,
    /// `() -> ns`: monotonic nanoseconds since boot.
    ClockMonotonic = 5,
    /// `(hint, len, prot) -> addr`: map zeroed anonymous memory, populated on first touch.
    Map = 6,
    /// `(addr, len) -> 0`: unmap memory mapped with `Map` or `ShmMap`.
    Unmap = 7,
    /// `(addr, len, prot) -> 0`: change protection (W^X is enforced).
    Protect = 8,
    /// `(path_ptr, path_len, args_ptr, args_len, handles_ptr, handles_len)
    /// -> handle`: start a program from the initrd. `args` are NUL-separated;
    /// the child reads them with `Args`. `handles` (u64 values, at most
    /// [`MAX_SPAWN_HANDLES`]) are copied into the child with the same rights,
    /// where they are handles 1, 2, … in order: how a child gets shared memory.
    Spawn = 9,
    /// `(handle, timeout_ns) -> status`: wait for a process or thread to end
    /// (`u64::MAX` = forever; `TimedOut` otherwise). Status as [`ExitStatus`].
    Wait = 10,
    /// `(handle) -> 0`: end a process (needs [`rights::KILL`]).
    Kill = 11,
    /// `(entry, stack_top, arg, fs_base) -> handle`: start a thread in this process.
    ThreadSpawn = 12,
    /// `(status: i32) -> !`: end the calling thread (the process ends with its last thread).
    ThreadExit = 13,
    /// `(addr, expected: u32, timeout_ns) -> 0`: sleep while `*addr == expected`
    /// until woken (`TimedOut`, or `WouldBlock` if the value differs).
    /// Keyed by physical address, so it works across processes on shared memory.
    FutexWait = 14,
    /// `(addr, count) -> woken`: wake up to `count` waiters on `addr`.
    FutexWake = 15,
    /// `(addr) -> 0`: set the calling thread's FS base (TLS).
    SetFsBase = 16,
    /// `(handle) -> 0`: close a handle.
    Close = 17,
    /// `(handle, rights) -> new handle` with at most `rights`.
    Duplicate = 18,
    /// `(len) -> handle`: create a shared-memory object.
    ShmCreate = 19,
    /// `(handle, prot) -> addr`: map a shared-memory object.
    ShmMap = 20,
    /// `(ptr, cap) -> len`: copy this process's NUL-separated arguments.
    Args = 21,
    /// `(ptr, len) -> len`: fill a [`SysInfo`] (at most `len` bytes of it).
    SysInfo = 22,
    /// `(code: u8) -> 0`: write a boot-trace code (init only: INIT_READY).
    BootMark = 23,
    /// `(out_ptr) -> 0`: create a pipe (a 64 KiB byte ring); writes its
    /// read-end handle and write-end handle as two u64 at `out_ptr`.
    PipeCreate = 24,
    /// `(handle, ptr, len) -> n`: read from a pipe's read end; blocks until
    /// a byte is there; 0 = end of file (every write end closed).
    Read = 25,
    /// `(handle, ptr, len) -> n`: write to a pipe's write end; blocks while
    /// it is full; may return fewer than `len`; `Closed` when every read end
    /// is closed.
    Write = 26,
    /// `(right, index, out_ptr, out_len) -> count`: describe device `index`
    /// as a [`device::DeviceInfo`] (at most `out_len` bytes of it); returns
    /// how many devices there are. Needs a handle with [`rights::DEVICE`] on
    /// the device right (init's handle 1). `NotFound` past the last device.
    DeviceInfo = 27,
    /// `(right, index) -> device handle`: open device `index` for driving it
    /// (one opener at a time, else `Busy`). When the last handle to it
    /// closes, the kernel resets the device and only then frees its DMA memory.
    DeviceOpen = 28,
    /// `(device, bar, offset, len) -> addr`: map `[offset, offset+len)` of a
    /// register window (PCI BAR `bar`; virtio-mmio: window 0) uncached,
    /// read-write. `NotFound`: no such window; `OutOfRange`: past its end.
    DeviceMap = 29,
    /// `(device, len, paddr_out) -> addr`: physically contiguous, zeroed,
    /// pinned memory for the device to read and write; its physical address
    /// is written as a u64 at `paddr_out`. At most [`device::DMA_MAX`] bytes.
    DmaAlloc = 30,
    /// `(device, kind, msi_out) -> irq handle`: an interrupt as a waitable
    /// handle. `kind` [`device::IRQ_LINE`]: the device's interrupt line
    /// (routed by the kernel, masked from each interrupt until `IrqAck`);
    /// [`device::IRQ_MSI`]: a vector for an MSI/MSI-X entry the driver
    /// programs with the [`device::MsiMessage`] written at `msi_out`.
    IrqOpen = 31,
    /// `(irq) -> 0`: done with the interrupt(s) seen: clear pending, unmask
    /// the line.
    IrqAck = 32,
    /// `(handles_ptr, count, timeout_ns) -> ready`: wait until any of
    /// `count` (1..=64) handles is ready; returns a bit mask (bit i =
    /// handle i). Ready: a pipe read end with data or no writer, a write
    /// end with room or no reader, an interrupt pending, a process or
    /// thread ended. `TimedOut` after `timeout_ns` (`u64::MAX` = forever;
    /// 0 = poll).
    WaitMany = 33,
    /// `(device, offset, width) -> value`: read PCI configuration space
    /// (width 1, 2 or 4, naturally aligned, offset < 4096).
    ConfigRead = 34,
    /// `(device, offset, width, value) -> 0`: write PCI configuration space;
    /// only the command register's memory/bus-master/INTx-disable bits and
    /// the MSI-X enable/mask bits may change (`AccessDenied` otherwise).
    ConfigWrite = 35,
    /// `(right, name_ptr, name_len) -> listener`: register a named service
    /// (1..=[`MAX_SERVICE_NAME`] bytes); needs [`rights::DEVICE`] on the
    /// device right, so only system servers can. `Busy` while another live
    /// listener holds the name; the name is free again when the listener's
    /// last handle closes (its process ended).
    ServiceRegister = 36,
    /// `(name_ptr, name_len, handle) -> 0`: connect to a service by passing
    /// it `handle` (usually a channel region's shared memory; it goes over
    /// with this handle's rights). `NotFound`: no such service; `Limit`:
    /// [`MAX_PENDING_CONNECTIONS`] wait to be accepted.
    ServiceConnect = 37,
    /// `(listener, out_ptr, timeout_ns) -> 0`: take the next connection,
    /// waiting up to `timeout_ns` (`u64::MAX` forever, 0 poll; `TimedOut`).
    /// Writes two u64 at `out_ptr`: the handle the client passed, and a
    /// handle (rights `WAIT`) to the client's process.
    ServiceAccept = 38,
    /// `(right, len_out) -> addr`: map the initrd read-only into this process
    /// (needs [`rights::DEVICE`]); writes its length in bytes as a u64 at
    /// `len_out`; `addr` is its first byte. `NotFound` without an initrd.
    InitrdMap = 39,
    /// `(spec_ptr, spec_len) -> process handle`: start a program from an ELF
    /// image in this process's memory (e.g. read from a disk), as `Spawn`
    /// does from the initrd. `spec` is a [`SpawnImage`].
    SpawnImage = 40,
    /// `(handle) -> len`: the size in bytes of a shared-memory object (needs
    /// `MAP`), so a process handed one can check it before trusting its size.
    ShmLen = 41,
    /// `(cpu, ptr, len) -> online CPUs`: fill a [`CpuStats`] for CPU index
    /// `cpu` (at most `len` bytes of it); `Invalid` when `cpu` is not online.
    CpuStats = 42,
    /// `(device, out_ptr, cap, min_bytes) -> runs`: free-page reporting
    /// (virtio-balloon, docs/paravirt.md). Takes free frames the host has
    /// not been told about out of the allocator, without touching their
    /// contents, and writes up to `cap` (1..=[`device::REPORT_MAX_RUNS`])
    /// [`device::FreeRun`]s at `out_ptr`; 0 runs when fewer than
    /// `min_bytes` of them are free. Needs an opened device's handle
    /// (`rights::DEVICE`); `Busy` while that batch is not given back.
    FreePagesTake = 43,
    /// `(device, reported) -> frames`: gives the batch `FreePagesTake` took
    /// back to the allocator; `reported` 1: the host discarded them (they
    /// read as zeros and are handed out last), 0: it did not. `NotFound`
    /// without a batch. Closing the device gives an unreturned batch back.
    FreePagesGive = 44,
    /// `(ptr, cap) -> len`: read console input as typed, without a line
    /// discipline or echo (for a line editor). Blocks until at least one byte
    /// is there; returns what is buffered, at most `cap` (≤ 1024) bytes; 0 when
    /// the process is being killed.
    ConsoleReadRaw = 45,
    /// `(handles ptr, count) -> 0`: make these processes (handles with `KILL`;
    /// count ≤ [`MAX_FOREGROUND`]) the console's foreground: the next Ctrl-C
    /// (0x03) typed kills them all (status `KILLED`) instead of being read,
    /// and empties the set. Count 0 empties it. Replaces any earlier set.
    ConsoleForeground = 46,
    /// `(ptr, cap) -> total`: write up to `cap` (≤ [`crate::procinfo::MAX_LIST`])
    /// [`crate::procinfo::ProcessInfo`] records, one per live process in pid
    /// order, at `ptr`; returns how many processes there are (`cap` 0 only
    /// counts). Arguments are shown only for the caller's session.
    ProcessList = 47,
    /// `(pid) -> 0`: end process `pid` with status `KILLED`, if the caller
    /// may: it is init, or the target is in its session (a process cannot
    /// reach init or another session, such as the I/O server). `Invalid`
    /// (pid 0 or over u32), `NotFound`, `AccessDenied`.
    KillPid = 48,
}

/// Most processes [`Sys::ConsoleForeground`] takes (a pipeline's stages).
pub const MAX_FOREGROUND: u64 = 16;
/// The console's interrupt character (Ctrl-C).
pub const CONSOLE_INTERRUPT: u8 = 0x03;

/// Longest service name ([`Sys::ServiceRegister`]).
pub const MAX_SERVICE_NAME: u64 = 32;
/// Connections that may wait for [`Sys::ServiceAccept`] per service.
pub const MAX_PENDING_CONNECTIONS: usize = 64;
/// Largest ELF image [`Sys::SpawnImage`] takes.
pub const MAX_SPAWN_IMAGE: u64 = 64 << 20;
/// The service name of the I/O server (files, and later the network).
pub const IO_SERVICE: &str = "io";

/// What [`Sys::SpawnImage`] reads (every field a u64; pointers are this
/// process's addresses, each range at most its limit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpawnImage {
    /// The ELF image (at most [`MAX_SPAWN_IMAGE`] bytes).
    pub image_ptr: u64,
    pub image_len: u64,
    /// The program's path (its name, and what the runtime reports as its
    /// executable), as for `Spawn`.
    pub path_ptr: u64,
    pub path_len: u64,
    /// NUL-separated arguments, as for `Spawn`.
    pub args_ptr: u64,
    pub args_len: u64,
    /// Handles passed on, as for `Spawn`.
    pub handles_ptr: u64,
    pub handles_len: u64,
}

/// One past the highest call number.
pub const SYS_COUNT: u64 = Sys::ALL.len() as u64;

const _: () = {
    let mut i = 0;
    while i < Sys::ALL.len() {
        assert!(Sys::ALL[i] as u64 == i as u64, "system-call numbers must be dense and in order");
        i += 1;
    }
};

/// Most threads a process has at once; `ThreadSpawn` beyond it is `Limit`.
pub const MAX_THREADS: usize = 512;

/// Most handles `Spawn` passes to a child.
pub const MAX_SPAWN_HANDLES: u64 = 16;

/// Generates [`Error`], its decoding and its messages from the one list
/// below: each code with its number and the message users see.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $n:literal => $msg:literal,)*) => {
        /// Error codes (returned negated in RAX).
        #[repr(u16)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Error {
            $($(#[$doc])* $name = $n,)*
        }

        impl Error {
            pub const fn from_raw(n: u16) -> Option<Self> {
                match n {
                    $($n => Some(Error::$name),)*
                    _ => None,
                }
            }

            /// What went wrong, in words.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Error::$name => $msg,)*
                }
            }
        }
    };
}

error_codes! {
    /// Unknown system-call number.
    NoSys = 1 => "no such system call",
    /// An argument is out of range or malformed.
    Invalid = 2 => "invalid argument",
    /// A user pointer is unmapped, not user memory, or lacks the needed access.
    Fault = 3 => "bad address",
    /// Out of memory.
    NoMemory = 4 => "out of memory",
    /// Not a valid handle in this process.
    BadHandle = 5 => "bad handle",
    /// The handle lacks the right the call needs.
    AccessDenied = 6 => "access denied",
    /// No such file in the initrd.
    NotFound = 7 => "not found",
    /// The timeout expired.
    TimedOut = 8 => "timed out",
    /// The futex word no longer held the expected value.
    WouldBlock = 9 => "value changed",
    /// The handle is of the wrong kind for this call.
    WrongKind = 10 => "wrong kind of handle",
    /// Too many handles, threads or mappings.
    Limit = 11 => "limit reached",
    /// W+X or other protection the kernel refuses.
    Protection = 12 => "protection refused",
    /// The object is busy (e.g. waiting on yourself).
    Busy = 13 => "busy",
    /// The other end of a pipe is closed (writing with no reader left).
    Closed = 14 => "closed",
    /// An offset or length reaches past the end of a device window.
    OutOfRange = 15 => "out of range",
    // Executable-format errors from `Spawn`, one per way an ELF can be bad.
    /// Not an ELF file (bad magic).
    ElfBadMagic = 32 => "not an ELF file",
    /// Not a 64-bit little-endian x86-64 executable (or not ET_DYN/ET_EXEC).
    ElfUnsupported = 33 => "unsupported ELF (want x86-64 ELF64 executable)",
    /// Headers or segments extend past the end of the file.
    ElfTruncated = 34 => "ELF truncated",
    /// Two PT_LOAD segments overlap.
    ElfOverlap = 35 => "ELF segments overlap",
    /// A segment lies outside user address space or wraps.
    ElfOutOfRange = 36 => "ELF segment out of range",
    /// A relocation is not R_X86_64_RELATIVE/NONE or points outside the image.
    ElfBadRelocation = 37 => "bad ELF relocation",
    /// PT_TLS is not supported (Motor-target programs have none).
    ElfTls = 38 => "ELF has PT_TLS (unsupported)",
    /// A segment is both writable and executable.
    ElfWriteExec = 39 => "ELF segment is writable and executable",
    /// PT_INTERP: dynamic linking is not supported.
    ElfDynamic = 40 => "ELF needs a dynamic linker",
    /// A PT_NOTE segment is malformed (a note runs past it or past the file,
    /// or Vireo's raw-ABI note has the wrong size).
    ElfBadNote = 41 => "malformed ELF note",
}

impl Error {
    /// The value a failing call leaves in RAX.
    pub const fn to_ret(self) -> u64 {
        (-(self as i64)) as u64
    }

    /// Decodes RAX: `Ok(value)` or `Err(error)`.
    pub fn from_ret(ret: u64) -> Result<u64, Error> {
        let s = ret as i64;
        if (-4095..0).contains(&s) {
            Err(Error::from_raw((-s) as u16).unwrap_or(Error::Invalid))
        } else {
            Ok(ret)
        }
    }
}

/// Memory protection bits for `Map`, `Protect`, `ShmMap`.
pub mod prot {
    pub const READ: u64 = 1;
    pub const WRITE: u64 = 2;
    pub const EXEC: u64 = 4;
    pub const ALL: u64 = READ | WRITE | EXEC;
}

/// Handle rights.
pub mod rights {
    /// Wait for the object (process/thread end).
    pub const WAIT: u32 = 1 << 0;
    /// End the process.
    pub const KILL: u32 = 1 << 1;
    /// Map the object (shared memory).
    pub const MAP: u32 = 1 << 2;
    /// Map it writable.
    pub const WRITE: u32 = 1 << 3;
    /// Duplicate the handle.
    pub const DUPLICATE: u32 = 1 << 4;
    /// Drive devices: only the kernel creates a handle with it (init's
    /// handle 1); it can be passed on or dropped, never added.
    pub const DEVICE: u32 = 1 << 5;
    pub const ALL: u32 = WAIT | KILL | MAP | WRITE | DUPLICATE | DEVICE;
}

/// Exit statuses: a program's own `exit(code)` is `code` (any i32 the program
/// chose, conventionally 0-255); the kernel reports how it ended a process
/// with statuses above [`KILLED_BASE`].
pub mod status {
    /// Killed by the kernel: `KILLED_BASE + CPU exception vector` for a fault.
    pub const KILLED_BASE: i32 = 0x1000;
    /// Killed because memory ran out while it faulted a page in.
    pub const OUT_OF_MEMORY: i32 = KILLED_BASE + 0x100;
    /// Ended by another process's `Kill`.
    pub const KILLED: i32 = KILLED_BASE + 0x101;
    /// A bad program image (the ELF error is returned by `Spawn` instead, so
    /// this is only seen for images that fail after loading).
    pub const BAD_IMAGE: i32 = KILLED_BASE + 0x102;

    pub const fn killed_by_exception(vector: u8) -> i32 {
        KILLED_BASE + vector as i32
    }

    pub const fn is_killed(status: i32) -> bool {
        status >= KILLED_BASE
    }
}

mod stats;
pub use stats::{CpuStats, SysInfo};

pub mod device;

/// Fixed parts of every process's address space.
pub mod layout {
    /// Programs are loaded (relocated) here: page 0 and the first 4 MiB stay
    /// unmapped so null dereferences fault.
    pub const PROGRAM_BASE: u64 = 0x40_0000;
    /// End of the lower (canonical) half of the 48-bit address space.
    pub const LOWER_HALF_END: u64 = 0x0000_8000_0000_0000;
    /// User space ends here, one page below the lower half's end: the last
    /// page can never be mapped, so no `syscall` can sit in its last bytes
    /// and return to the non-canonical address after it (on Intel CPUs a
    /// SYSRET there faults in ring 0 on the user's stack, CVE-2012-0217).
    pub const USER_END: u64 = LOWER_HALF_END - 0x1000;
    /// Main-thread stack size (lazily populated).
    pub const MAIN_STACK_SIZE: u64 = 1 << 20;
    /// Unmapped guard below every user stack.
    pub const STACK_GUARD: u64 = 64 << 10;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for n in 0..SYS_COUNT {
            if let Some(s) = Sys::from_raw(n) {
                assert_eq!(s as u64, n);
            }
        }
        assert_eq!(Sys::from_raw(SYS_COUNT), None);
        assert_eq!(Sys::from_raw(u64::MAX), None);
        assert_eq!(Sys::from_raw(24), Some(Sys::PipeCreate));
        assert_eq!(Sys::from_raw(26), Some(Sys::Write));
    }

    #[test]
    fn errors_round_trip_through_rax() {
        for n in 0..64u16 {
            if let Some(e) = Error::from_raw(n) {
                assert_eq!(Error::from_ret(e.to_ret()), Err(e));
                assert!(!e.name().is_empty());
            }
        }
        assert_eq!(Error::from_ret(Error::Closed.to_ret()), Err(Error::Closed));
        assert_eq!(Error::from_ret(0), Ok(0));
        assert_eq!(Error::from_ret(0x40_0000), Ok(0x40_0000));
        assert_eq!(Error::from_ret(u64::MAX - 5000), Ok(u64::MAX - 5000));
    }

    #[test]
    fn killed_statuses_are_distinct_from_exit_codes() {
        assert!(!status::is_killed(255));
        assert!(status::is_killed(status::killed_by_exception(14)));
        assert!(status::is_killed(status::OUT_OF_MEMORY));
    }
}
