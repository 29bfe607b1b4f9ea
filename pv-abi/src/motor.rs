//! The contract between Vireo and Rust std programs for the upstream
//! `x86_64-unknown-motor` target (docs/runtime.md): where the kernel puts
//! the runtime and its vtable page, the Vireo-only block it writes into
//! that page, and the ELF note by which Vireo's own raw-ABI programs say
//! they are not std programs. The kernel writes the page; `vireo-motor-rt`
//! reads it (and checks the addresses against moto-rt's own constants);
//! `vireo-rt` puts the note into every raw program.

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
    /// `[u8; SEED_LEN]`: this process's random seed, derived by the kernel
    /// from its per-boot key (never the key itself, never another
    /// process's seed). The runtime takes it once and zeroes it.
    pub const SEED_AT: u64 = PATH_AT + PATH_MAX as u64;
    pub const SEED_LEN: usize = 32;
    /// `u64`: the main thread's stack-guard value, derived like the seed.
    /// Handed over so that starting `main` needs no random generator.
    pub const STACK_GUARD_AT: u64 = SEED_AT + SEED_LEN as u64;
    /// The seed and the stack guard: one run of kernel-derived bytes.
    pub const SECRETS_LEN: usize = SEED_LEN + 8;

    const _: () = assert!(SEED_AT.is_multiple_of(8));
    const _: () = assert!(OFFSET + SEED_AT + SECRETS_LEN as u64 <= 4096);
}

/// The ELF note (in a `PT_NOTE` segment) that marks one of Vireo's own
/// raw-ABI programs (`vireo-rt`). The kernel gives every program *without*
/// it the std runtime, so a std program needs no symbol table to be
/// recognised (a stripped one runs too).
pub mod raw_note {
    /// The note's name, NUL included (`namesz` = 6).
    pub const NAME: &[u8] = b"Vireo\0";
    /// `n_type` of the raw-ABI note.
    pub const TYPE_RAW_ABI: u32 = 1;
    /// `descsz`: the desc is one little-endian `u32`, the raw ABI's version.
    pub const DESC_LEN: u32 = 4;
    /// The raw ABI version programs built now carry.
    pub const RAW_ABI_VERSION: u32 = 1;

    /// The whole note as it sits in the file: header, name padded to 4
    /// bytes, desc. `#[repr(C, align(4))]` so it can be emitted as a static.
    #[repr(C, align(4))]
    pub struct Note {
        pub namesz: u32,
        pub descsz: u32,
        pub n_type: u32,
        pub name: [u8; 8],
        pub desc: u32,
    }

    /// The note `vireo-rt` emits.
    pub const NOTE: Note = Note {
        namesz: NAME.len() as u32,
        descsz: DESC_LEN,
        n_type: TYPE_RAW_ABI,
        name: *b"Vireo\0\0\0",
        desc: RAW_ABI_VERSION,
    };

    const _: () = assert!(core::mem::size_of::<Note>() == 12 + 8 + DESC_LEN as usize);
}
