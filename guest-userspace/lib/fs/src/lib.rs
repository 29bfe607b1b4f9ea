//! The I/O server's file systems, behind one object-safe [`FileSystem`] trait:
//!
//! - [`ext4`]: a read-write ext4 volume on a [`BlockDevice`], with the rsext4
//!   crate as engine and our own block-device layer under it (`guard`) that
//!   fixes the crate's defects found in docs/storage.md (inode checksums,
//!   needs_recovery);
//! - [`initrd`]: the read-only boot cpio archive.
//!
//! File data is never cached here: every read goes to the device. The
//! metadata rsext4 caches is bounded (see [`FileSystem::metadata_cache_bound`]).
//! `no_std` + `alloc`; host-tested in guest-userspace/host-tools/fs-tests.
#![no_std]

extern crate alloc;

#[doc(hidden)]
pub mod crc;
mod datapath;
pub mod ext4;
mod guard;
pub mod initrd;
mod layout;
mod metacache;
mod path;

use core::fmt;

pub use vireo_io_channel::{dirent, kind, open};

/// A sector-addressed block device (512-byte sectors; buffers are a multiple of 512).
pub trait BlockDevice: Send {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlkError>;
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<(), BlkError>;
    fn flush(&mut self) -> Result<(), BlkError>;
    fn sectors(&self) -> u64;
    fn read_only(&self) -> bool;
}

/// A block device's failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlkError {
    Io,
    OutOfRange,
    ReadOnly,
    Gone,
}

/// An inode number (ext4) or an entry index (initrd).
pub type Node = u64;

/// What `stat` tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    pub size: u64,
    /// A [`vireo_io_channel::kind`] value.
    pub kind: u8,
    /// Permission bits (0o7777).
    pub mode: u32,
    pub modified_ns: u64,
    pub accessed_ns: u64,
}

/// Why a request failed; maps one to one onto [`vireo_io_channel::Status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsError {
    NotFound,
    AlreadyExists,
    PermissionDenied,
    IsADirectory,
    NotADirectory,
    DirectoryNotEmpty,
    InvalidArgument,
    ReadOnly,
    NoSpace,
    Io,
    NotSupported,
    InvalidName,
    Corrupt,
    TooLarge,
}

impl From<FsError> for vireo_io_channel::Status {
    fn from(e: FsError) -> Self {
        use vireo_io_channel::Status as S;
        match e {
            FsError::NotFound => S::NotFound,
            FsError::AlreadyExists => S::AlreadyExists,
            FsError::PermissionDenied => S::PermissionDenied,
            FsError::IsADirectory => S::IsADirectory,
            FsError::NotADirectory => S::NotADirectory,
            FsError::DirectoryNotEmpty => S::DirectoryNotEmpty,
            FsError::InvalidArgument => S::InvalidArgument,
            FsError::ReadOnly => S::ReadOnly,
            FsError::NoSpace => S::NoSpace,
            FsError::Io => S::Io,
            FsError::NotSupported => S::NotSupported,
            FsError::InvalidName => S::InvalidName,
            FsError::Corrupt => S::Corrupt,
            FsError::TooLarge => S::TooLarge,
        }
    }
}

/// Why a volume could not be mounted (one console line via `Display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    /// No ext4 superblock magic.
    NotExt4,
    /// A superblock field is impossible; says which.
    BadSuperblock(&'static str),
    /// Incompatible feature bits neither we nor rsext4 support.
    Unsupported(u32),
    /// The file system is longer than the device (blocks of the file system's size).
    Truncated { blocks: u64, device_blocks: u64 },
    /// Metadata read at mount is inconsistent; says which.
    Corrupt(&'static str),
    /// The device failed.
    Io,
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotExt4 => write!(f, "not an ext4 file system (no superblock magic)"),
            Self::BadSuperblock(what) => write!(f, "bad ext4 superblock: {what}"),
            Self::Unsupported(bits) => write!(f, "unsupported ext4 incompat features {bits:#x}"),
            Self::Truncated { blocks, device_blocks } => {
                write!(f, "device too short: file system has {blocks} blocks, device {device_blocks}")
            }
            Self::Corrupt(what) => write!(f, "corrupt ext4 metadata: {what}"),
            Self::Io => write!(f, "device I/O error while mounting"),
        }
    }
}

/// How full a file system is (`df`; the I/O server's `/sys/fs/root`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// "ext4", "initrd".
    pub kind: &'static str,
    pub block_size: u64,
    pub blocks: u64,
    pub free_blocks: u64,
    pub inodes: u64,
    pub free_inodes: u64,
}

/// A mounted file system as the I/O server serves it. Paths are absolute and
/// already normalised (`/a/b`, no `.` or `..`, no trailing `/` except `/`).
pub trait FileSystem {
    /// One line for the console, e.g. "ext4 on vda, 64 MiB, read-write".
    fn describe(&self) -> alloc::string::String;
    fn read_only(&self) -> bool;
    /// Sizes and free counts, as the file system's own counters say.
    fn space(&self) -> Space;
    /// The wall clock for file times (ns since the epoch); without one, times are 0.
    fn set_clock(&mut self, _now_ns: fn() -> u64) {}
    /// Opens (creating or truncating per [`open`] flags); counts opens of the node.
    fn open(&mut self, path: &str, flags: u64) -> Result<(Node, Attr), FsError>;
    /// The last close of an unlinked file frees it.
    fn close(&mut self, node: Node) -> Result<(), FsError>;
    fn read(&mut self, node: Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError>;
    fn write(&mut self, node: Node, offset: u64, data: &[u8]) -> Result<usize, FsError>;
    /// Writes at the end; returns (written, new end).
    fn append(&mut self, node: Node, data: &[u8]) -> Result<(usize, u64), FsError>;
    fn stat(&mut self, node: Node) -> Result<Attr, FsError>;
    fn stat_path(&mut self, path: &str) -> Result<Attr, FsError>;
    /// Lists `dir` from `cursor` (0: start), calling `out` until it returns
    /// false (no room: that entry is returned again from the next cursor).
    /// Returns (next cursor, end reached). `.` and `..` are skipped.
    fn readdir(
        &mut self,
        dir: Node,
        cursor: u64,
        out: &mut dyn FnMut(&dirent::Entry) -> bool,
    ) -> Result<(u64, bool), FsError>;
    fn mkdir(&mut self, path: &str, mode: u32) -> Result<(), FsError>;
    fn unlink(&mut self, path: &str) -> Result<(), FsError>;
    fn rmdir(&mut self, path: &str) -> Result<(), FsError>;
    /// Replaces an existing file atomically unless `no_replace`; a directory
    /// over a non-empty one is DirectoryNotEmpty, a file over a directory IsADirectory.
    fn rename(&mut self, old: &str, new: &str, no_replace: bool) -> Result<(), FsError>;
    fn truncate(&mut self, node: Node, len: u64) -> Result<(), FsError>;
    fn set_mode(&mut self, node: Node, mode: u32) -> Result<(), FsError>;
    fn set_mode_path(&mut self, path: &str, mode: u32) -> Result<(), FsError>;
    /// Journal commit and device flush before returning.
    fn sync(&mut self, node: Node, data_only: bool) -> Result<(), FsError>;
    /// Clean unmount: journal empty, needs_recovery clear.
    fn unmount(&mut self) -> Result<(), FsError>;
    /// Upper bound in bytes of the heap the file system keeps for metadata.
    fn metadata_cache_bound(&self) -> usize;
}
