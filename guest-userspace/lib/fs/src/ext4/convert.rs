//! Conversions between rsext4's types and the server's: errors, names,
//! inode numbers, attributes and readdir cursors.

use rsext4::{DirectoryCursor, DirectoryEntryType, Ext4Error, Ext4ErrorKind, FileName, InodeInfo, InodeNumber};
use vireo_io_channel::kind;

use crate::{Attr, FsError, MountError, Node};

pub(super) fn map_err(e: Ext4Error) -> FsError {
    use Ext4ErrorKind as K;
    match e.kind() {
        K::Corrupted | K::ChecksumMismatch | K::BadSuperblock | K::InvalidMagic => FsError::Corrupt,
        K::UnsupportedFeature | K::UnsupportedCapability | K::Unsupported => FsError::NotSupported,
        K::ReadOnly => FsError::ReadOnly,
        K::NoSpace | K::QuotaExceeded | K::TooManyLinks | K::NoMemory => FsError::NoSpace,
        K::PermissionDenied => FsError::PermissionDenied,
        K::NotFound => FsError::NotFound,
        K::AlreadyExists => FsError::AlreadyExists,
        K::NotDirectory => FsError::NotADirectory,
        K::IsDirectory => FsError::IsADirectory,
        K::NotEmpty => FsError::DirectoryNotEmpty,
        K::InvalidInput | K::BadFileDescriptor => FsError::InvalidArgument,
        K::Overflow | K::FileTooLarge => FsError::TooLarge,
        _ => FsError::Io,
    }
}

pub(super) fn mount_err(e: Ext4Error) -> MountError {
    use Ext4ErrorKind as K;
    match e.kind() {
        K::InvalidMagic => MountError::NotExt4,
        K::BadSuperblock => MountError::BadSuperblock("rejected by rsext4"),
        K::UnsupportedFeature => MountError::Unsupported(0),
        K::Io | K::ReadOnly | K::Timeout | K::Busy => MountError::Io,
        K::ChecksumMismatch => MountError::Corrupt("checksum mismatch"),
        _ => MountError::Corrupt("rejected by rsext4"),
    }
}

pub(super) fn name(n: &str) -> Result<FileName<'_>, FsError> {
    FileName::new(n.as_bytes()).map_err(|_| FsError::InvalidName)
}

pub(super) fn ino(node: Node) -> Result<InodeNumber, FsError> {
    u32::try_from(node).ok().and_then(|n| InodeNumber::new(n).ok()).ok_or(FsError::InvalidArgument)
}

pub(super) fn kind_of(t: DirectoryEntryType) -> u8 {
    match t {
        DirectoryEntryType::RegularFile => kind::FILE,
        DirectoryEntryType::Directory => kind::DIRECTORY,
        DirectoryEntryType::Symlink => kind::SYMLINK,
        _ => kind::OTHER,
    }
}

pub(super) fn attr(i: &InodeInfo) -> Attr {
    Attr {
        size: i.size,
        kind: kind_of(i.file_type()),
        mode: u32::from(i.mode) & 0o7777,
        modified_ns: u64::from(i.mtime) * 1_000_000_000,
        accessed_ns: u64::from(i.atime) * 1_000_000_000,
    }
}

/// Readdir cursors: 0 is the start; a linear directory's byte offset + 1;
/// an htree position as bit 63, the major hash's top 31 bits, the minor hash.
/// The htree collision ordinal does not fit and restarts at 0: two names with
/// the same 64-bit hash pair across a batch boundary may be listed twice.
pub(super) fn encode_cursor(c: DirectoryCursor) -> u64 {
    match c {
        DirectoryCursor::Start | DirectoryCursor::End => 0,
        DirectoryCursor::Linear { offset } => offset.saturating_add(1) & !(1 << 63),
        DirectoryCursor::HTree { major, minor, .. } => 1 << 63 | u64::from(major >> 1) << 32 | u64::from(minor),
    }
}

pub(super) fn decode_cursor(c: u64) -> DirectoryCursor {
    if c == 0 {
        DirectoryCursor::Start
    } else if c & 1 << 63 != 0 {
        DirectoryCursor::HTree { major: ((c >> 32) as u32 & 0x7FFF_FFFF) << 1, minor: c as u32, collision: 0 }
    } else {
        DirectoryCursor::Linear { offset: c - 1 }
    }
}
