//! The boot initrd (a newc cpio archive) as a read-only [`FileSystem`].
//! Directories need not be in the archive: every prefix of a member's path
//! is one. Nodes are indices into the path-sorted member list (0 is `/`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use vireo_io_channel::{dirent, kind, open};
use vireo_parse::cpio::{self, Archive, CpioError};

use crate::{path, Attr, FileSystem, FsError, Node, Space};

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

struct Member {
    /// Path without the leading `/` ("" for the root).
    path: &'static str,
    parent: usize,
    kind: u8,
    mode: u32,
    data: &'static [u8],
}

/// The initrd, read-only.
pub struct InitrdFs {
    members: Vec<Member>,
    bytes: usize,
}

fn kind_of(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFDIR => kind::DIRECTORY,
        S_IFREG => kind::FILE,
        S_IFLNK => kind::SYMLINK,
        _ => kind::OTHER,
    }
}

impl InitrdFs {
    /// Indexes `cpio` (validated whole first).
    pub fn new(cpio: &'static [u8]) -> Result<Self, CpioError> {
        let archive = Archive::parse(cpio)?;
        let mut by_path: BTreeMap<&'static str, (u8, u32, &'static [u8])> = BTreeMap::new();
        by_path.insert("", (kind::DIRECTORY, 0o755, &[]));
        for e in archive.entries() {
            let p = cpio::normalize(e.name).trim_end_matches('/');
            if p.is_empty() || p == "." {
                continue;
            }
            // Every prefix is a directory (unless the archive says more about it).
            for (i, _) in p.match_indices('/') {
                by_path.entry(&p[..i]).or_insert((kind::DIRECTORY, 0o755, &[]));
            }
            by_path.insert(p, (kind_of(e.mode), e.mode & 0o7777, e.data));
        }
        let index: BTreeMap<&str, usize> = by_path.keys().enumerate().map(|(i, p)| (*p, i)).collect();
        let members = by_path
            .iter()
            .map(|(&p, &(kind, mode, data))| {
                let parent = p.rfind('/').map_or(0, |i| index.get(&p[..i]).copied().unwrap_or(0));
                Member { path: p, parent, kind, mode, data }
            })
            .collect();
        Ok(Self { members, bytes: archive.size() })
    }

    fn member(&self, node: Node) -> Result<&Member, FsError> {
        usize::try_from(node).ok().and_then(|i| self.members.get(i)).ok_or(FsError::InvalidArgument)
    }

    fn find(&self, p: &str) -> Result<usize, FsError> {
        let names = path::components(p)?;
        let mut at = 0usize;
        let mut len = 0usize;
        let full = p.trim_start_matches('/').trim_end_matches('/');
        for n in names {
            let m = &self.members[at];
            if m.kind != kind::DIRECTORY {
                return Err(if m.kind == kind::SYMLINK { FsError::NotSupported } else { FsError::NotADirectory });
            }
            len += if len == 0 { n.len() } else { n.len() + 1 };
            let prefix = full.get(..len).ok_or(FsError::InvalidName)?;
            at = self.members.binary_search_by(|m| m.path.cmp(prefix)).map_err(|_| FsError::NotFound)?;
        }
        Ok(at)
    }

    fn attr(m: &Member) -> Attr {
        Attr { size: m.data.len() as u64, kind: m.kind, mode: m.mode, modified_ns: 0, accessed_ns: 0 }
    }
}

impl FileSystem for InitrdFs {
    fn describe(&self) -> String {
        format!("initrd, {} KiB, read-only", self.bytes >> 10)
    }

    fn space(&self) -> Space {
        // The archive in 512-byte blocks (cpio's unit), all of it used.
        let members = self.members.len() as u64;
        Space {
            kind: "initrd",
            block_size: 512,
            blocks: self.bytes.div_ceil(512) as u64,
            free_blocks: 0,
            inodes: members,
            free_inodes: 0,
        }
    }

    fn read_only(&self) -> bool {
        true
    }

    fn open(&mut self, p: &str, flags: u64) -> Result<(Node, Attr), FsError> {
        if flags & !open::ALL != 0 || (flags & (open::TRUNCATE | open::CREATE) != 0 && flags & open::WRITE == 0) {
            return Err(FsError::InvalidArgument);
        }
        if flags & (open::WRITE | open::CREATE | open::TRUNCATE | open::APPEND) != 0 {
            return Err(FsError::ReadOnly);
        }
        let i = self.find(p)?;
        let m = &self.members[i];
        match m.kind {
            kind::DIRECTORY if flags & open::DIRECTORY == 0 => Err(FsError::IsADirectory),
            kind::SYMLINK => Err(FsError::NotSupported),
            k if k != kind::DIRECTORY && flags & open::DIRECTORY != 0 => Err(FsError::NotADirectory),
            _ => Ok((i as Node, Self::attr(m))),
        }
    }

    fn close(&mut self, node: Node) -> Result<(), FsError> {
        self.member(node).map(|_| ())
    }

    fn read(&mut self, node: Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let m = self.member(node)?;
        if m.kind == kind::DIRECTORY {
            return Err(FsError::IsADirectory);
        }
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(m.data.len());
        let n = buf.len().min(m.data.len() - start);
        buf[..n].copy_from_slice(&m.data[start..start + n]);
        Ok(n)
    }

    fn write(&mut self, _: Node, _: u64, _: &[u8]) -> Result<usize, FsError> {
        Err(FsError::ReadOnly)
    }

    fn append(&mut self, _: Node, _: &[u8]) -> Result<(usize, u64), FsError> {
        Err(FsError::ReadOnly)
    }

    fn stat(&mut self, node: Node) -> Result<Attr, FsError> {
        self.member(node).map(Self::attr)
    }

    fn stat_path(&mut self, p: &str) -> Result<Attr, FsError> {
        let i = self.find(p)?;
        Ok(Self::attr(&self.members[i]))
    }

    fn readdir(
        &mut self,
        dir: Node,
        cursor: u64,
        out: &mut dyn FnMut(&dirent::Entry) -> bool,
    ) -> Result<(u64, bool), FsError> {
        let d = usize::try_from(dir).map_err(|_| FsError::InvalidArgument)?;
        if self.member(dir)?.kind != kind::DIRECTORY {
            return Err(FsError::NotADirectory);
        }
        // The cursor is the member index to look at next; children follow their parent.
        let mut at = usize::try_from(cursor).unwrap_or(usize::MAX).max(d + 1);
        while let Some(m) = self.members.get(at) {
            if at != 0 && m.parent == d {
                let name = m.path.rsplit('/').next().unwrap_or(m.path);
                let e = dirent::Entry {
                    name: name.as_bytes(),
                    kind: m.kind,
                    mode: m.mode,
                    size: m.data.len() as u64,
                    modified_ns: 0,
                };
                if !out(&e) {
                    return Ok((at as u64, false));
                }
            }
            at += 1;
        }
        Ok((at as u64, true))
    }

    fn mkdir(&mut self, _: &str, _: u32) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn unlink(&mut self, _: &str) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn rmdir(&mut self, _: &str) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn rename(&mut self, _: &str, _: &str, _: bool) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn truncate(&mut self, _: Node, _: u64) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn set_mode(&mut self, _: Node, _: u32) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn set_mode_path(&mut self, _: &str, _: u32) -> Result<(), FsError> {
        Err(FsError::ReadOnly)
    }

    fn sync(&mut self, node: Node, _: bool) -> Result<(), FsError> {
        self.member(node).map(|_| ())
    }

    fn unmount(&mut self) -> Result<(), FsError> {
        Ok(())
    }

    fn metadata_cache_bound(&self) -> usize {
        self.members.len() * core::mem::size_of::<Member>()
    }
}
