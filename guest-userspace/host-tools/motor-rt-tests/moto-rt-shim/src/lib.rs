//! The moto-rt 0.16.0 (ABI 16) items that `lib/motor-rt/src/fs/pure.rs`
//! uses, with the same names, types and values, so the host can compile
//! that file: moto-rt itself needs nightly (`#![feature(linkage)]`). The
//! guest build of the runtime compiles the same file against the real
//! crate, so a name or type that differs fails there; the values are frozen
//! by ABI 16.

pub mod error {
    pub type ErrorCode = u16;
    pub const E_OK: u16 = 0;
    pub const E_UNSPECIFIED: u16 = 1;
    pub const E_UNKNOWN: u16 = 2;
    pub const E_NOT_READY: u16 = 3;
    pub const E_NOT_IMPLEMENTED: u16 = 4;
    pub const E_VERSION_TOO_HIGH: u16 = 5;
    pub const E_VERSION_TOO_LOW: u16 = 6;
    pub const E_INVALID_ARGUMENT: u16 = 7;
    pub const E_OUT_OF_MEMORY: u16 = 8;
    pub const E_NOT_ALLOWED: u16 = 9;
    pub const E_NOT_FOUND: u16 = 10;
    pub const E_INTERNAL_ERROR: u16 = 11;
    pub const E_TIMED_OUT: u16 = 12;
    pub const E_ALREADY_IN_USE: u16 = 13;
    pub const E_UNEXPECTED_EOF: u16 = 14;
    pub const E_INVALID_FILENAME: u16 = 15;
    pub const E_NOT_A_DIRECTORY: u16 = 16;
    pub const E_BAD_HANDLE: u16 = 17;
    pub const E_FILE_TOO_LARGE: u16 = 18;
    pub const E_NOT_CONNECTED: u16 = 19;
    pub const E_STORAGE_FULL: u16 = 20;
    pub const E_INVALID_DATA: u16 = 21;
}

pub mod fs {
    pub const MAX_PATH_LEN: usize = 1024;
    pub const MAX_FILENAME_LEN: usize = 256;
    pub const FILETYPE_FILE: u8 = 1;
    pub const FILETYPE_DIRECTORY: u8 = 2;
    pub const PERM_READ: u64 = 1;
    pub const PERM_WRITE: u64 = 2;
    pub const O_READ: u32 = 1 << 0;
    pub const O_WRITE: u32 = 1 << 1;
    pub const O_APPEND: u32 = 1 << 2;
    pub const O_TRUNCATE: u32 = 1 << 3;
    pub const O_CREATE: u32 = 1 << 4;
    pub const O_CREATE_NEW: u32 = 1 << 5;
    pub const O_NONBLOCK: u32 = 1 << 6;

    #[repr(C, align(16))]
    #[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
    pub struct FileAttr {
        pub version: u64,
        pub size: u64,
        pub perm: u64,
        pub file_type: u8,
        pub _reserved: [u8; 7],
        pub created: u128,
        pub modified: u128,
        pub accessed: u128,
    }

    impl FileAttr {
        pub const VERSION: u64 = 1;
    }

    #[repr(C, align(16))]
    #[derive(Clone, Copy)]
    pub struct DirEntry {
        pub version: u64,
        pub _reserved: u64,
        pub attr: FileAttr,
        pub fname_size: u16,
        pub fname: [u8; MAX_FILENAME_LEN],
    }

    impl DirEntry {
        pub const VERSION: u64 = 1;
    }
}
