//! The contract between Vireo and Rust std programs for the upstream
//! `x86_64-unknown-motor` target (docs/runtime.md): where the kernel puts
//! the runtime and its vtable page, and the Vireo-only block it writes into
//! that page. The kernel writes these; `vireo-motor-rt` reads them (and
//! checks the addresses against moto-rt's own constants).

/// Where the runtime image is loaded (moto-rt `RT_VDSO_START`).
pub const RT_VDSO_START: u64 = 0x21FF_0000_0000;
/// The vtable page (moto-rt `RT_VDSO_VTABLE_VADDR`).
pub const RT_VDSO_VTABLE_VADDR: u64 = RT_VDSO_START - 4096;
/// The runtime's path in the initrd.
pub const RUNTIME_PATH: &str = "sys/motor-rt";
/// The moto-rt ABI version the runtime implements.
pub const SUPPORTED_VERSION: u64 = 16;
/// Exit status of a program built against a moto-rt ABI the runtime does not implement.
pub const STATUS_UNSUPPORTED_VERSION: i32 = 126;

/// Vireo's private block in the vtable page, after every moto-rt slot
/// (v16 uses 92 slots, 736 bytes).
pub mod info {
    /// Offset of the block in the vtable page.
    pub const OFFSET: u64 = 0x800;
    /// `u64`: [`MAGIC`], so the runtime knows the block is there.
    pub const MAGIC_AT: u64 = 0;
    pub const MAGIC: u64 = u64::from_le_bytes(*b"VIREO-RT");
    /// `u64`: Unix time in ns when the monotonic clock read 0.
    pub const WALL_AT_ZERO_AT: u64 = 8;
    /// `u64`: length of the program path that follows.
    pub const PATH_LEN_AT: u64 = 16;
    pub const PATH_AT: u64 = 24;
    /// Longest path stored (moto-rt's `MAX_PATH_LEN`); longer ones are cut.
    pub const PATH_MAX: usize = 1024;

    const _: () = assert!(OFFSET + PATH_AT + PATH_MAX as u64 <= 4096);
}
