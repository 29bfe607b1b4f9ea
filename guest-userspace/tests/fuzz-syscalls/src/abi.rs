//! What the ABI (docs/abi.md, pv_abi::syscall) allows each call to return:
//! the documented errors per call, and the rule that a buffer outside user
//! space (a kernel or non-canonical address, a wrapping or USER_END-crossing
//! range) is never accepted.
use vireo_rt::pv_abi::syscall::{layout, Sys, SYS_COUNT};
use vireo_rt::Error::{self, *};

/// Slot for unknown call numbers in per-call tables.
pub const UNKNOWN: usize = SYS_COUNT as usize;
pub const SLOTS: usize = UNKNOWN + 1;

pub fn name(n: u64) -> &'static str {
    Sys::from_raw(n).map_or("unknown", Sys::name)
}

/// Every way `Spawn` can say an image is malformed.
pub const ELF: [Error; 10] = [
    ElfBadMagic,
    ElfUnsupported,
    ElfTruncated,
    ElfOverlap,
    ElfOutOfRange,
    ElfBadRelocation,
    ElfTls,
    ElfWriteExec,
    ElfDynamic,
    ElfBadNote,
];

/// The errors docs/abi.md allows call `n` to return (for any arguments).
pub fn allowed(n: u64) -> &'static [Error] {
    let Some(s) = Sys::from_raw(n) else { return &[NoSys] };
    match s {
        Sys::ConsoleWrite => &[Invalid, Fault],
        Sys::ConsoleRead => &[Fault],
        Sys::Exit | Sys::ThreadExit => &[],
        Sys::Yield | Sys::Sleep | Sys::ClockMonotonic => &[],
        Sys::Map => &[Invalid, Protection, NoMemory, Limit],
        Sys::Unmap => &[Invalid],
        Sys::Protect => &[Invalid, Protection],
        Sys::Spawn => {
            const E: [Error; 16] = [
                Invalid, Fault, NotFound, NoMemory, BadHandle, Limit, ELF[0], ELF[1], ELF[2], ELF[3], ELF[4], ELF[5],
                ELF[6], ELF[7], ELF[8], ELF[9],
            ];
            &E
        }
        Sys::Wait => &[BadHandle, AccessDenied, WrongKind, Busy, TimedOut],
        Sys::Kill => &[BadHandle, AccessDenied, WrongKind],
        Sys::ThreadSpawn => &[Invalid, NoMemory, Limit],
        Sys::FutexWait => &[Invalid, Fault, NoMemory, WouldBlock, TimedOut],
        Sys::FutexWake => &[Invalid, Fault, NoMemory],
        Sys::SetFsBase => &[Invalid],
        Sys::Close => &[BadHandle],
        Sys::Duplicate => &[Invalid, BadHandle, AccessDenied, Limit],
        Sys::ShmCreate => &[Invalid, NoMemory, Limit],
        Sys::ShmLen => &[BadHandle, AccessDenied, WrongKind],
        Sys::ShmMap => &[BadHandle, AccessDenied, WrongKind, Invalid, Protection, NoMemory, Limit],
        Sys::Args | Sys::SysInfo => &[Fault, NoMemory],
        Sys::CpuStats => &[Invalid, Fault],
        Sys::ConsoleReadRaw => &[Invalid, Fault],
        Sys::ConsoleForeground => &[Invalid, Fault, BadHandle, AccessDenied, WrongKind],
        Sys::BootMark => &[AccessDenied, Invalid],
        Sys::ProcessList => &[Invalid, Fault, NoMemory],
        // The fuzzer runs as init, which may end anyone: it only names pids
        // that cannot exist (calls/mod.rs).
        Sys::KillPid => &[Invalid, NotFound, AccessDenied],
        Sys::PipeCreate => &[Fault, NoMemory, Limit],
        Sys::Read => &[Fault, BadHandle, WrongKind, NoMemory],
        Sys::Write => &[Fault, BadHandle, WrongKind, Closed, NoMemory],
        // Without the device right (docs/abi.md, "Devices for user-space
        // drivers"): the handle is bad, lacks the right, or is the wrong kind;
        // argument checks may come first.
        Sys::DeviceInfo
        | Sys::DeviceOpen
        | Sys::DeviceMap
        | Sys::DmaAlloc
        | Sys::IrqOpen
        | Sys::IrqAck
        | Sys::ConfigRead
        | Sys::ConfigWrite
        | Sys::FreePagesTake
        | Sys::FreePagesGive => {
            &[BadHandle, AccessDenied, WrongKind, NotFound, OutOfRange, Invalid, Limit, NoMemory, Fault, Busy]
        }
        Sys::WaitMany => &[Invalid, BadHandle, AccessDenied, WrongKind, Fault, TimedOut, NoMemory],
        // Without the device right (the fuzzer's case) Register and
        // InitrdMap fail on the handle; argument checks may come first.
        Sys::ServiceRegister => &[BadHandle, AccessDenied, WrongKind, Invalid, Fault, Busy, Limit, NoMemory],
        Sys::ServiceConnect => &[Invalid, Fault, BadHandle, AccessDenied, NotFound, Limit, NoMemory],
        Sys::ServiceAccept => &[BadHandle, AccessDenied, WrongKind, Fault, TimedOut, Invalid, Limit, NoMemory],
        Sys::InitrdMap => &[BadHandle, AccessDenied, WrongKind, NotFound, Fault, NoMemory, Limit, Invalid],
        // As Spawn, plus Invalid for a wrong spec length or an image over
        // MAX_SPAWN_IMAGE.
        Sys::SpawnImage => {
            const E: [Error; 16] = [
                Invalid, Fault, NotFound, NoMemory, BadHandle, Limit, ELF[0], ELF[1], ELF[2], ELF[3], ELF[4], ELF[5],
                ELF[6], ELF[7], ELF[8], ELF[9],
            ];
            &E
        }
    }
}

/// A buffer the kernel must refuse whatever its length: it starts at or
/// above USER_END, or `len` bytes from it wrap or cross USER_END.
pub fn outside_user(ptr: u64, len: u64) -> bool {
    ptr >= layout::USER_END || ptr.checked_add(len).is_none_or(|e| e > layout::USER_END)
}

/// Decodes RAX strictly: `Err(None)` for a value in the error range that is
/// not a documented error code.
pub fn decode(rax: u64) -> Result<u64, Option<Error>> {
    let s = rax as i64;
    if (-4095..0).contains(&s) {
        Err(Error::from_raw((-s) as u16))
    } else {
        Ok(rax)
    }
}
