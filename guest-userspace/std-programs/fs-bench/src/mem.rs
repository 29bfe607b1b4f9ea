//! Free guest memory in KiB and the guest's idle time. On Vireo: the raw
//! `SysInfo` system call (std has no such API); on Linux (the host check):
//! `/proc/meminfo`'s MemFree, and no idle time. bench-mark (`make bench-http`)
//! compiles this file too (`#[path]`), so both report the same figures.

/// Free memory in KiB, or why it is unknown.
#[cfg(target_os = "motor")]
pub fn free_kib() -> Result<u64, String> {
    sysinfo().map(|i| i.free_memory / 1024)
}

/// Nanoseconds the guest's CPUs have been halted (0 if unknown).
#[cfg(target_os = "motor")]
pub fn idle_ns() -> u64 {
    sysinfo().map_or(0, |i| i.idle_ns)
}

/// Nanoseconds the guest's CPUs have been halted (0 if unknown).
#[cfg(not(target_os = "motor"))]
pub fn idle_ns() -> u64 {
    0
}

#[cfg(target_os = "motor")]
fn sysinfo() -> Result<SysInfo, String> {
    /// pv-abi `Sys::SysInfo`: `(ptr, len) -> len`.
    const SYS_INFO: u64 = 22;
    let mut info = SysInfo::default();
    let ret: i64;
    // The `syscall` instruction clobbers only RCX and R11 (pv-abi convention).
    // SAFETY: the kernel writes at most `len` bytes to our own SysInfo of that size.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") SYS_INFO as i64 => ret,
            in("rdi") &mut info as *mut SysInfo as u64,
            in("rsi") core::mem::size_of::<SysInfo>() as u64,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if (-4095..0).contains(&ret) {
        return Err(format!("SysInfo failed ({ret})"));
    }
    let _ = (info.cpus, info.pid, info.total_memory, info.tsc_hz, info.boot_ns, info.wall_ns);
    Ok(info)
}

/// pv-abi's `SysInfo` (pv-abi/src/syscall/stats.rs), copied because this
/// workspace builds for another target than pv-abi's users.
#[cfg(target_os = "motor")]
#[repr(C)]
#[derive(Default)]
struct SysInfo {
    cpus: u32,
    pid: u32,
    total_memory: u64,
    free_memory: u64,
    tsc_hz: u64,
    boot_ns: u64,
    wall_ns: u64,
    idle_ns: u64,
}
#[cfg(target_os = "motor")]
const _: () = assert!(core::mem::size_of::<SysInfo>() == 56);

/// Free memory in KiB, or why it is unknown.
#[cfg(not(target_os = "motor"))]
pub fn free_kib() -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("/proc/meminfo: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("MemFree:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no MemFree in /proc/meminfo".to_string())
}
