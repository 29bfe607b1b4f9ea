//! The Vireo system-call ABI, defined once for the kernel and user space.
//!
//! Convention (x86-64 `syscall`): number in RAX; arguments in RDI, RSI, RDX,
//! R10, R8, R9; result in RAX. A result in `[-4095, -1]` is an error
//! (`-(Error as i64)`), anything else is the call's value. RCX and R11 are
//! clobbered (the instruction uses them); every other register is preserved.
//! User pointers are checked by the kernel: a bad one gives `Fault`, never a
//! kernel crash.

/// System-call numbers.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
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
}

/// Most handles `Spawn` passes to a child.
pub const MAX_SPAWN_HANDLES: u64 = 16;

/// One past the highest call number.
pub const SYS_COUNT: u64 = 27;

impl Sys {
    pub const fn from_raw(n: u64) -> Option<Self> {
        Some(match n {
            0 => Self::ConsoleWrite,
            1 => Self::ConsoleRead,
            2 => Self::Exit,
            3 => Self::Yield,
            4 => Self::Sleep,
            5 => Self::ClockMonotonic,
            6 => Self::Map,
            7 => Self::Unmap,
            8 => Self::Protect,
            9 => Self::Spawn,
            10 => Self::Wait,
            11 => Self::Kill,
            12 => Self::ThreadSpawn,
            13 => Self::ThreadExit,
            14 => Self::FutexWait,
            15 => Self::FutexWake,
            16 => Self::SetFsBase,
            17 => Self::Close,
            18 => Self::Duplicate,
            19 => Self::ShmCreate,
            20 => Self::ShmMap,
            21 => Self::Args,
            22 => Self::SysInfo,
            23 => Self::BootMark,
            24 => Self::PipeCreate,
            25 => Self::Read,
            26 => Self::Write,
            _ => return None,
        })
    }
}

/// Error codes (returned negated in RAX).
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Unknown system-call number.
    NoSys = 1,
    /// An argument is out of range or malformed.
    Invalid = 2,
    /// A user pointer is unmapped, not user memory, or lacks the needed access.
    Fault = 3,
    /// Out of memory.
    NoMemory = 4,
    /// Not a valid handle in this process.
    BadHandle = 5,
    /// The handle lacks the right the call needs.
    AccessDenied = 6,
    /// No such file in the initrd.
    NotFound = 7,
    /// The timeout expired.
    TimedOut = 8,
    /// The futex word no longer held the expected value.
    WouldBlock = 9,
    /// The handle is of the wrong kind for this call.
    WrongKind = 10,
    /// Too many handles, threads or mappings.
    Limit = 11,
    /// W+X or other protection the kernel refuses.
    Protection = 12,
    /// The object is busy (e.g. waiting on yourself).
    Busy = 13,
    /// The other end of a pipe is closed (writing with no reader left).
    Closed = 14,
    // Executable-format errors from `Spawn`, one per way an ELF can be bad.
    /// Not an ELF file (bad magic).
    ElfBadMagic = 32,
    /// Not a 64-bit little-endian x86-64 executable (or not ET_DYN/ET_EXEC).
    ElfUnsupported = 33,
    /// Headers or segments extend past the end of the file.
    ElfTruncated = 34,
    /// Two PT_LOAD segments overlap.
    ElfOverlap = 35,
    /// A segment lies outside user address space or wraps.
    ElfOutOfRange = 36,
    /// A relocation is not R_X86_64_RELATIVE/NONE or points outside the image.
    ElfBadRelocation = 37,
    /// PT_TLS is not supported (Motor-target programs have none).
    ElfTls = 38,
    /// A segment is both writable and executable.
    ElfWriteExec = 39,
    /// PT_INTERP: dynamic linking is not supported.
    ElfDynamic = 40,
    /// A PT_NOTE segment is malformed (a note runs past it or past the file,
    /// or Vireo's raw-ABI note has the wrong size).
    ElfBadNote = 41,
}

impl Error {
    pub const fn from_raw(n: u16) -> Option<Self> {
        Some(match n {
            1 => Self::NoSys,
            2 => Self::Invalid,
            3 => Self::Fault,
            4 => Self::NoMemory,
            5 => Self::BadHandle,
            6 => Self::AccessDenied,
            7 => Self::NotFound,
            8 => Self::TimedOut,
            9 => Self::WouldBlock,
            10 => Self::WrongKind,
            11 => Self::Limit,
            12 => Self::Protection,
            13 => Self::Busy,
            14 => Self::Closed,
            32 => Self::ElfBadMagic,
            33 => Self::ElfUnsupported,
            34 => Self::ElfTruncated,
            35 => Self::ElfOverlap,
            36 => Self::ElfOutOfRange,
            37 => Self::ElfBadRelocation,
            38 => Self::ElfTls,
            39 => Self::ElfWriteExec,
            40 => Self::ElfDynamic,
            41 => Self::ElfBadNote,
            _ => return None,
        })
    }

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

    pub const fn name(self) -> &'static str {
        match self {
            Self::NoSys => "no such system call",
            Self::Invalid => "invalid argument",
            Self::Fault => "bad address",
            Self::NoMemory => "out of memory",
            Self::BadHandle => "bad handle",
            Self::AccessDenied => "access denied",
            Self::NotFound => "not found",
            Self::TimedOut => "timed out",
            Self::WouldBlock => "value changed",
            Self::WrongKind => "wrong kind of handle",
            Self::Limit => "limit reached",
            Self::Protection => "protection refused",
            Self::Busy => "busy",
            Self::Closed => "closed",
            Self::ElfBadMagic => "not an ELF file",
            Self::ElfUnsupported => "unsupported ELF (want x86-64 ELF64 executable)",
            Self::ElfTruncated => "ELF truncated",
            Self::ElfOverlap => "ELF segments overlap",
            Self::ElfOutOfRange => "ELF segment out of range",
            Self::ElfBadRelocation => "bad ELF relocation",
            Self::ElfTls => "ELF has PT_TLS (unsupported)",
            Self::ElfWriteExec => "ELF segment is writable and executable",
            Self::ElfDynamic => "ELF needs a dynamic linker",
            Self::ElfBadNote => "malformed ELF note",
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
    pub const ALL: u32 = WAIT | KILL | MAP | WRITE | DUPLICATE;
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

/// Filled by `SysInfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysInfo {
    pub cpus: u32,
    pub pid: u32,
    pub total_memory: u64,
    pub free_memory: u64,
    pub tsc_hz: u64,
    pub boot_ns: u64,
}

const _: () = {
    assert!(core::mem::size_of::<SysInfo>() == 40);
    assert!(core::mem::offset_of!(SysInfo, total_memory) == 8);
    assert!(core::mem::offset_of!(SysInfo, boot_ns) == 32);
};

/// Fixed parts of every process's address space.
pub mod layout {
    /// Programs are loaded (relocated) here: page 0 and the first 4 MiB stay
    /// unmapped so null dereferences fault.
    pub const PROGRAM_BASE: u64 = 0x40_0000;
    /// User space ends here (the lower half of the 48-bit address space).
    pub const USER_END: u64 = 0x0000_8000_0000_0000;
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
