//! ext4 volumes: rsext4 (=0.9.2) over our checking block-device layer
//! ([`crate::guard`]), with path resolution, open counts and orphan reaping
//! on top of its inode-number API.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use rsext4::{
    Clock, DirectoryCursor, DirectoryEntryType, Ext4, Ext4ErrorKind, Ext4Result, Ext4Timestamp, FilePermissions,
    InodeInfo, InodeMetadataUpdate, InodeNumber, MountOptions, MountServices, MountedServices, MutationContext,
    NoopObserver, RenameOptions,
};
use vireo_io_channel::{dirent, open};

use crate::datapath::{self, DataPath, FileMap, Miss, ReadError, SharedDevice};
use crate::guard::{Guard, Report};

mod convert;
mod resolve;

use crate::{Attr, BlockDevice, FileSystem, FsError, MountError, Node, Space};
use convert::{attr, decode_cursor, encode_cursor, ino, map_err, mount_err, name};

/// Directory records fetched from rsext4 per batch in `readdir`.
const READDIR_BATCH: usize = 32;
/// Heap bound for metadata, besides the per-group table (docs/storage.md):
/// rsext4's compile-time caches (128 inodes, 32 metadata blocks, 128 bitmap
/// blocks: about 0.7 MiB at 4 KiB blocks) plus its open transaction and our
/// bookkeeping.
const METADATA_BOUND: usize = 1 << 20;
/// Bytes our layer keeps per block group (its inode-table range and bitmap
/// offsets).
const PER_GROUP: usize = 40;

/// The wall clock rsext4 stamps inodes with: the server's clock, sampled at
/// the start of each request.
struct SharedClock(Arc<AtomicU64>);

impl Clock for SharedClock {
    fn now(&self) -> Ext4Result<Ext4Timestamp> {
        let ns = self.0.load(Ordering::Relaxed);
        Ok(Ext4Timestamp::new((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32))
    }
}

type Engine = Ext4<Guard, MountedServices<(), NoopObserver, ()>>;

/// A mounted ext4 volume.
pub struct Ext4Fs {
    fs: Engine,
    report: Arc<Report>,
    now: Arc<AtomicU64>,
    clock: Option<fn() -> u64>,
    /// Open count per inode.
    opens: BTreeMap<u64, u32>,
    /// Unlinked inodes still open: reaped at their last close.
    orphans: BTreeSet<u64>,
    read_only: bool,
    mounted: bool,
    device_name: String,
    bytes: u64,
    groups: usize,
    /// Bound of the block layer's metadata-block cache (src/metacache.rs).
    meta_cache: usize,
    /// File data reads that skip rsext4 (src/datapath.rs).
    data: DataPath,
}

/// Mounts the ext4 file system on `dev`, replaying its journal. Read-only if
/// the device is.
pub fn mount(dev: Box<dyn BlockDevice>, device_name: &str) -> Result<Ext4Fs, MountError> {
    let read_only = dev.read_only();
    let bytes = dev.sectors() * 512;
    let report = Arc::new(Report::default());
    let dev = SharedDevice::new(dev);
    let guard = Guard::new(Box::new(dev.clone()), report.clone())?;
    let groups = guard.groups();
    let meta_cache = guard.cache_bound();
    let now = Arc::new(AtomicU64::new(0));
    let services = MountServices::new(SharedClock(now.clone()), (), NoopObserver);
    let options = if read_only {
        MountOptions { readonly: true, replay_journal: true, block_validity: true }
    } else {
        MountOptions::read_write()
    };
    let fs = Ext4::mount(guard, services, options).map_err(mount_err)?;
    Ok(Ext4Fs {
        fs,
        report,
        now,
        clock: None,
        opens: BTreeMap::new(),
        orphans: BTreeSet::new(),
        read_only,
        mounted: true,
        device_name: String::from(device_name),
        bytes,
        groups,
        meta_cache,
        data: DataPath::new(dev),
    })
}

impl Ext4Fs {
    /// The inode whose checksum failed last (for the console line), if any.
    pub fn corrupt_inode(&self) -> Option<u32> {
        match self.report.bad_inode.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// Superblock writes our layer made to set or clear needs_recovery.
    pub fn recovery_flag_writes(&self) -> u64 {
        self.report.recover_writes.load(Ordering::Relaxed)
    }

    /// Every request starts here: mounted, clock sampled.
    fn begin(&mut self) -> Result<(), FsError> {
        if !self.mounted {
            return Err(FsError::Io);
        }
        if let Some(clock) = self.clock {
            self.now.store(clock(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Every change starts here; it may change any file's block map.
    fn writable(&mut self) -> Result<(), FsError> {
        self.begin()?;
        if self.read_only {
            return Err(FsError::ReadOnly);
        }
        self.data.forget_all();
        Ok(())
    }

    /// Builds the data path's map of `inode`; false when the data path cannot serve it.
    fn map_file(&mut self, inode: InodeNumber) -> Result<bool, FsError> {
        let info = self.fs.inode(inode).map_err(map_err)?;
        if info.is_directory() {
            return Err(FsError::IsADirectory);
        }
        if info.file_type() != DirectoryEntryType::RegularFile {
            return Ok(false);
        }
        let m = self
            .fs
            .inode_extents(inode, 0, info.size.max(1), rsext4::FileExtentTarget::Data, datapath::MAX_EXTENTS)
            .map_err(map_err)?;
        match FileMap::new(&info, m.extents, m.complete) {
            Some(map) => {
                self.data.insert(map);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// rsext4's own read, which stamps the access time.
    fn engine_read(&mut self, inode: InodeNumber, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        match self.fs.read_inode(inode, offset, buf) {
            Err(e) if e.kind() == Ext4ErrorKind::IsDirectory => Err(FsError::IsADirectory),
            r => r.map_err(map_err),
        }
    }

    fn info(&mut self, node: Node) -> Result<InodeInfo, FsError> {
        self.fs.inode(ino(node)?).map_err(map_err)
    }

    /// An inode whose last link went: free it now, or at its last close.
    fn reap(&mut self, inode: InodeNumber) -> Result<(), FsError> {
        let n = u64::from(inode.raw());
        if self.opens.contains_key(&n) {
            self.orphans.insert(n);
            Ok(())
        } else {
            self.fs.reap_unlinked_inode(inode).map_err(map_err)
        }
    }

    /// Before an operation that may add blocks to directory `dir`: the free
    /// block count and `dir`'s block count (sectors).
    fn before_growth(&mut self, dir: InodeNumber) -> Result<(u64, u64), FsError> {
        Ok((self.fs.statfs().free_blocks, self.fs.inode(dir).map_err(map_err)?.blocks))
    }

    /// After it: every block it allocated went to `dir` or to the new child
    /// (`child_sectors`), so what `dir`'s count lacks is rsext4's htree
    /// undercount (src/guard.rs), queued for the block layer to add.
    fn after_growth(&mut self, dir: InodeNumber, before: (u64, u64), child_sectors: u64) -> Result<(), FsError> {
        let st = self.fs.statfs();
        let allocated = before.0.saturating_sub(st.free_blocks) * (st.block_size / 512);
        let counted = self.fs.inode(dir).map_err(map_err)?.blocks.saturating_sub(before.1) + child_sectors;
        let Some(missing) = allocated.checked_sub(counted).filter(|&m| m > 0) else { return Ok(()) };
        let missing = u32::try_from(missing).map_err(|_| FsError::Corrupt)?;
        if !self.report.queue_fixup(dir.raw(), missing) {
            // The layer takes the queue at its next device request.
            self.fs.sync().map_err(map_err)?;
            if !self.report.queue_fixup(dir.raw(), missing) {
                return Err(FsError::Io);
            }
        }
        Ok(())
    }

    /// A directory inode was freed: its block-count fixup (if any) goes.
    fn forget_fixup(&mut self, inode: InodeNumber) -> Result<(), FsError> {
        if self.report.queue_fixup(inode.raw(), 0) {
            return Ok(());
        }
        self.fs.sync().map_err(map_err)?;
        self.report.queue_fixup(inode.raw(), 0).then_some(()).ok_or(FsError::Io)
    }

    fn context() -> MutationContext {
        MutationContext::new(0, 0, 0, 0)
    }
}

impl FileSystem for Ext4Fs {
    fn describe(&self) -> String {
        let rw = if self.read_only { "read-only" } else { "read-write" };
        format!("ext4 on {}, {} MiB, {}", self.device_name, self.bytes >> 20, rw)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn space(&self) -> Space {
        // The superblock's counters, which every allocation and free keeps.
        let st = self.fs.statfs();
        Space {
            kind: "ext4",
            block_size: st.block_size,
            blocks: st.total_blocks,
            free_blocks: st.free_blocks,
            inodes: u64::from(st.total_inodes),
            free_inodes: u64::from(st.free_inodes),
        }
    }

    fn set_clock(&mut self, now_ns: fn() -> u64) {
        self.clock = Some(now_ns);
    }

    fn open(&mut self, p: &str, flags: u64) -> Result<(Node, Attr), FsError> {
        self.begin()?;
        if flags & !open::ALL != 0 || (flags & (open::TRUNCATE | open::CREATE) != 0 && flags & open::WRITE == 0) {
            return Err(FsError::InvalidArgument);
        }
        if self.read_only && flags & (open::WRITE | open::CREATE) != 0 {
            return Err(FsError::ReadOnly);
        }
        let info = if flags & open::CREATE != 0 {
            let (dir, n) = self.parent(p)?;
            match self.lookup(&dir, n)? {
                Some(_) if flags & open::EXCLUSIVE != 0 => return Err(FsError::AlreadyExists),
                Some(_) => self.resolve(p, true)?,
                None => {
                    let perms = FilePermissions::new(0o644).map_err(map_err)?;
                    self.data.forget_all();
                    let before = self.before_growth(dir.number)?;
                    let child =
                        self.fs.create_regular_file(Self::context(), dir.number, name(n)?, perms).map_err(map_err)?;
                    self.after_growth(dir.number, before, child.blocks)?;
                    child
                }
            }
        } else {
            self.resolve(p, true)?
        };
        let is_dir = info.is_directory();
        if is_dir && (flags & open::DIRECTORY == 0 || flags & open::WRITE != 0) {
            return Err(FsError::IsADirectory);
        }
        if !is_dir && flags & open::DIRECTORY != 0 {
            return Err(FsError::NotADirectory);
        }
        let mut info = info;
        if flags & open::TRUNCATE != 0 && info.size != 0 {
            self.data.forget_all();
            self.fs.truncate_inode(info.number, 0).map_err(map_err)?;
            info = self.fs.inode(info.number).map_err(map_err)?;
        }
        let node = u64::from(info.number.raw());
        *self.opens.entry(node).or_insert(0) += 1;
        Ok((node, attr(&info)))
    }

    fn close(&mut self, node: Node) -> Result<(), FsError> {
        self.begin()?;
        let count = self.opens.get_mut(&node).ok_or(FsError::InvalidArgument)?;
        *count -= 1;
        if *count == 0 {
            self.opens.remove(&node);
            if self.orphans.remove(&node) {
                self.data.forget_all();
                self.fs.reap_unlinked_inode(ino(node)?).map_err(map_err)?;
            }
        }
        Ok(())
    }

    fn read(&mut self, node: Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        self.begin()?;
        let inode = ino(node)?;
        let now_s = self.now.load(Ordering::Relaxed) / 1_000_000_000;
        let stamp = !self.read_only;
        let mut mapped = false;
        loop {
            match self.data.read(inode.raw(), offset, buf, now_s, stamp) {
                Ok(n) => return Ok(n),
                Err(ReadError::Device(_)) => return Err(FsError::Io),
                Err(ReadError::Miss(Miss::NoMap)) if !mapped => {
                    if !self.map_file(inode)? {
                        return self.engine_read(inode, offset, buf);
                    }
                    mapped = true;
                }
                Err(ReadError::Miss(Miss::NoMap)) => return self.engine_read(inode, offset, buf),
                Err(ReadError::Miss(Miss::Atime)) => {
                    let n = self.engine_read(inode, offset, buf)?;
                    if n != 0 {
                        self.data.stamped(inode.raw(), now_s);
                    }
                    return Ok(n);
                }
            }
        }
    }

    fn write(&mut self, node: Node, offset: u64, data: &[u8]) -> Result<usize, FsError> {
        self.writable()?;
        let inode = ino(node)?;
        if self.fs.inode(inode).map_err(map_err)?.is_directory() {
            return Err(FsError::IsADirectory);
        }
        offset.checked_add(data.len() as u64).ok_or(FsError::TooLarge)?;
        self.fs.write_inode(inode, offset, data).map_err(map_err)?;
        Ok(data.len())
    }

    fn append(&mut self, node: Node, data: &[u8]) -> Result<(usize, u64), FsError> {
        self.writable()?;
        let size = self.info(node)?.size;
        let n = self.write(node, size, data)?;
        Ok((n, size + n as u64))
    }

    fn stat(&mut self, node: Node) -> Result<Attr, FsError> {
        self.begin()?;
        Ok(attr(&self.info(node)?))
    }

    fn stat_path(&mut self, p: &str) -> Result<Attr, FsError> {
        self.begin()?;
        Ok(attr(&self.resolve(p, true)?))
    }

    fn readdir(
        &mut self,
        dir: Node,
        cursor: u64,
        out: &mut dyn FnMut(&dirent::Entry) -> bool,
    ) -> Result<(u64, bool), FsError> {
        self.begin()?;
        let dir = ino(dir)?;
        if !self.fs.inode(dir).map_err(map_err)?.is_directory() {
            return Err(FsError::NotADirectory);
        }
        let mut at = decode_cursor(cursor);
        loop {
            let batch = self.fs.read_directory(dir, at, READDIR_BATCH).map_err(map_err)?;
            let full = batch.len() == READDIR_BATCH;
            for e in &batch {
                if e.name != b"." && e.name != b".." {
                    let a = attr(&self.fs.inode(e.inode).map_err(map_err)?);
                    let entry = dirent::Entry {
                        name: &e.name,
                        kind: a.kind,
                        mode: a.mode,
                        size: a.size,
                        modified_ns: a.modified_ns,
                    };
                    if !out(&entry) {
                        return Ok((encode_cursor(at), false));
                    }
                }
                at = e.next_cursor;
            }
            if !full || at == DirectoryCursor::End {
                return Ok((encode_cursor(at), true));
            }
        }
    }

    fn mkdir(&mut self, p: &str, mode: u32) -> Result<(), FsError> {
        self.writable()?;
        let (dir, n) = self.parent(p)?;
        let perms = FilePermissions::new((mode & 0o7777) as u16).map_err(map_err)?;
        if self.lookup(&dir, n)?.is_some() {
            return Err(FsError::AlreadyExists);
        }
        let before = self.before_growth(dir.number)?;
        let child = self.fs.create_directory(Self::context(), dir.number, name(n)?, perms).map_err(map_err)?;
        self.after_growth(dir.number, before, child.blocks)
    }

    fn unlink(&mut self, p: &str) -> Result<(), FsError> {
        self.writable()?;
        let (dir, n) = self.parent(p)?;
        let child = self.lookup(&dir, n)?.ok_or(FsError::NotFound)?;
        if child.is_directory() {
            return Err(FsError::IsADirectory);
        }
        let outcome = self.fs.unlink(dir.number, name(n)?).map_err(map_err)?;
        if outcome.requires_reap() {
            self.reap(outcome.inode)?;
        }
        Ok(())
    }

    fn rmdir(&mut self, p: &str) -> Result<(), FsError> {
        self.writable()?;
        let (dir, n) = self.parent(p)?;
        let child = self.lookup(&dir, n)?.ok_or(FsError::NotFound)?;
        if !child.is_directory() {
            return Err(FsError::NotADirectory);
        }
        let outcome = self.fs.remove_empty_directory(dir.number, name(n)?).map_err(map_err)?;
        self.forget_fixup(child.number)?;
        if outcome.requires_reap() {
            self.reap(outcome.inode)?;
        }
        Ok(())
    }

    fn rename(&mut self, old: &str, new: &str, no_replace: bool) -> Result<(), FsError> {
        self.writable()?;
        let (old_dir, old_name) = self.parent(old)?;
        let (new_dir, new_name) = self.parent(new)?;
        let src = self.lookup(&old_dir, old_name)?.ok_or(FsError::NotFound)?;
        let dst = self.lookup(&new_dir, new_name)?;
        if let Some(dst) = dst {
            if dst.number == src.number {
                return Ok(());
            }
            if no_replace {
                return Err(FsError::AlreadyExists);
            }
            match (src.is_directory(), dst.is_directory()) {
                (false, true) => return Err(FsError::IsADirectory),
                (true, false) => return Err(FsError::NotADirectory),
                _ => {}
            }
        }
        if src.is_directory() && (new.starts_with(old) && new.as_bytes().get(old.len()) == Some(&b'/')) {
            return Err(FsError::InvalidArgument);
        }
        let options = if no_replace { RenameOptions::NO_REPLACE } else { RenameOptions::REPLACE };
        // A new name may grow the target directory; a replaced one reuses its slot.
        let before = if dst.is_none() { Some(self.before_growth(new_dir.number)?) } else { None };
        let outcome = self
            .fs
            .rename(old_dir.number, name(old_name)?, new_dir.number, name(new_name)?, options)
            .map_err(map_err)?;
        if let Some(before) = before {
            self.after_growth(new_dir.number, before, 0)?;
        }
        if let Some(d) = dst.filter(|d| d.is_directory()) {
            self.forget_fixup(d.number)?;
        }
        if let Some(replaced) = outcome.replaced.filter(|r| r.requires_reap()) {
            self.reap(replaced.inode)?;
        }
        Ok(())
    }

    fn truncate(&mut self, node: Node, len: u64) -> Result<(), FsError> {
        self.writable()?;
        let inode = ino(node)?;
        if self.fs.inode(inode).map_err(map_err)?.is_directory() {
            return Err(FsError::IsADirectory);
        }
        self.fs.truncate_inode(inode, len).map_err(map_err)
    }

    fn set_mode(&mut self, node: Node, mode: u32) -> Result<(), FsError> {
        self.writable()?;
        if mode & !0o7777 != 0 {
            return Err(FsError::InvalidArgument);
        }
        let permissions = Some(FilePermissions::new(mode as u16).map_err(map_err)?);
        let update = InodeMetadataUpdate { permissions, ..InodeMetadataUpdate::default() };
        self.fs.update_inode_metadata(ino(node)?, update).map_err(map_err)?;
        Ok(())
    }

    fn set_mode_path(&mut self, p: &str, mode: u32) -> Result<(), FsError> {
        self.writable()?;
        let info = self.resolve(p, true)?;
        self.set_mode(u64::from(info.number.raw()), mode)
    }

    fn sync(&mut self, node: Node, _data_only: bool) -> Result<(), FsError> {
        self.begin()?;
        ino(node)?;
        // rsext4 writes file data in place before the commit that covers its
        // metadata, so data-only and full sync are the same commit + flush.
        self.fs.sync().map_err(map_err)
    }

    fn unmount(&mut self) -> Result<(), FsError> {
        self.begin()?;
        if !self.read_only {
            // Unlinked files still open lose their last reference now.
            for node in core::mem::take(&mut self.orphans) {
                self.fs.reap_unlinked_inode(ino(node)?).map_err(map_err)?;
            }
        }
        self.opens.clear();
        self.data.forget_all();
        self.fs.unmount().map_err(map_err)?;
        self.mounted = false;
        Ok(())
    }

    fn metadata_cache_bound(&self) -> usize {
        METADATA_BOUND + self.groups * PER_GROUP + self.meta_cache + datapath::CACHE_BOUND
    }
}
