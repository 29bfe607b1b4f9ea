//! Path resolution over rsext4's inode-number API: `..`, and symbolic links
//! (absolute and relative) followed up to a bound.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use rsext4::{DirectoryEntryType, InodeInfo};

use super::convert::{map_err, name};
use super::Ext4Fs;
use crate::{path, FsError};

/// Symbolic links followed while resolving one path.
const MAX_SYMLINK_HOPS: u32 = 8;
/// Longest symlink target we follow.
const MAX_TARGET: u64 = 4096;

impl Ext4Fs {
    pub(super) fn lookup(&mut self, dir: &InodeInfo, n: &str) -> Result<Option<InodeInfo>, FsError> {
        if !dir.is_directory() {
            return Err(FsError::NotADirectory);
        }
        self.fs.lookup_child(dir.number, name(n)?).map_err(map_err)
    }

    /// Resolves `path`, following symlinks in it (the last one too if `follow_last`).
    pub(super) fn resolve(&mut self, path: &str, follow_last: bool) -> Result<InodeInfo, FsError> {
        let root = self.fs.inode(self.fs.root_inode()).map_err(map_err)?;
        let mut stack: Vec<InodeInfo> = vec![root];
        let mut pending: VecDeque<Vec<u8>> = path::components(path)?.map(|c| c.as_bytes().to_vec()).collect();
        let mut hops = 0;
        while let Some(c) = pending.pop_front() {
            match &c[..] {
                b"" | b"." => continue,
                b".." => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                    continue;
                }
                _ => {}
            }
            let dir = *stack.last().ok_or(FsError::Corrupt)?;
            let n = core::str::from_utf8(&c).map_err(|_| FsError::InvalidName)?;
            let child = self.lookup(&dir, n)?.ok_or(FsError::NotFound)?;
            if child.file_type() == DirectoryEntryType::Symlink && (follow_last || !pending.is_empty()) {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS || child.size > MAX_TARGET {
                    return Err(FsError::InvalidArgument);
                }
                let mut target = vec![0u8; child.size as usize];
                let got = self.fs.read_inode(child.number, 0, &mut target).map_err(map_err)?;
                target.truncate(got);
                if target.first() == Some(&b'/') {
                    stack.truncate(1);
                }
                for part in target.split(|&b| b == b'/').rev() {
                    if part.len() > path::MAX_NAME {
                        return Err(FsError::InvalidName);
                    }
                    pending.push_front(part.to_vec());
                }
                continue;
            }
            stack.push(child);
        }
        stack.pop().ok_or(FsError::Corrupt)
    }

    /// The directory that would hold `path`'s last name, and that name.
    pub(super) fn parent<'p>(&mut self, p: &'p str) -> Result<(InodeInfo, &'p str), FsError> {
        let (dir, n) = path::split(p)?;
        let dir = self.resolve(dir, true)?;
        if !dir.is_directory() {
            return Err(FsError::NotADirectory);
        }
        Ok((dir, n))
    }
}
