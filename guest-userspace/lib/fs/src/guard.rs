//! Our block-device layer under rsext4: every sector rsext4 reads or writes
//! passes through [`Guard`], which fixes two of the crate's defects
//! (docs/storage.md) without patching it:
//!
//! - **Inode checksums** (defect 1): rsext4 does not verify them. Every read
//!   that covers part of an inode table has each in-use inode in it checked
//!   (crc32c, metadata_csum); a mismatch fails the whole read with
//!   `ChecksumMismatch` and records the inode number.
//! - **needs_recovery** (defect 3): rsext4 leaves `INCOMPAT_RECOVER` clear
//!   while its journal holds transactions. Before the first write into the
//!   journal after it was empty, we write the superblock with the flag set and
//!   flush; after rsext4 writes the journal superblock back with `s_start` 0
//!   (empty after checkpoint) we flush and clear the flag. Every superblock
//!   write rsext4 makes itself carries the flag's current value.
//! - **i_blocks of growing htree directories**: rsext4's
//!   `append_directory_block` stores the block count it computed before
//!   inserting the new extent, dropping the extent-tree blocks the insert
//!   allocated. [`crate::ext4`] measures the shortfall after each operation
//!   that can grow a directory and queues it here ([`Report::queue_fixup`]).
//!   From then on, the inode's home copy on the device carries the missing
//!   sectors on top of rsext4's view: every home write of it gets them added,
//!   every read gets them taken off again (so rsext4's view and its later
//!   relative updates stay as they were), checksums recomputed both ways.
//!   Journal copies are left as rsext4 wrote them: after a crash, replay may
//!   bring back rsext4's undercount for that inode (as without this layer);
//!   a clean checkpoint or unmount leaves it right.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rsext4::{BlockIo, DeviceCapabilities, DeviceGeometry, Ext4Error, Ext4Result, SectorId};

use crate::layout::{self, Group, Super, SB_OFFSET, SB_SIZE};
use crate::metacache::MetaCache;
use crate::{BlkError, BlockDevice, MountError};

const SECTOR: u64 = 512;
/// Metadata blocks (inode tables, bitmaps) the layer keeps (src/metacache.rs).
const META_CACHE_BLOCKS: usize = 32;

/// What the layer reports to the file system above rsext4.
#[derive(Default)]
pub struct Report {
    /// The last inode whose checksum failed (0: none yet).
    pub bad_inode: AtomicU32,
    /// Superblock writes the layer made itself to set or clear needs_recovery.
    pub recover_writes: AtomicU64,
    /// Block-count fixups queued by the file system for the layer, each
    /// `inode << 32 | sectors` (0 sectors: forget the inode); 0 is a free slot.
    fixups: [AtomicU64; 16],
    /// Sectors the layer added to inodes' block counts on the device.
    pub fixed_sectors: AtomicU64,
}

impl Report {
    /// Queues `sectors` more missing from `inode`'s block count (0: the inode
    /// was freed, forget it). `false` if the queue is full.
    pub fn queue_fixup(&self, inode: u32, sectors: u32) -> bool {
        let v = u64::from(inode) << 32 | u64::from(sectors);
        self.fixups.iter().any(|slot| slot.compare_exchange(0, v, Ordering::AcqRel, Ordering::Relaxed).is_ok())
    }
}

pub struct Guard {
    dev: Box<dyn BlockDevice>,
    sb: Super,
    /// Inode tables sorted by device byte offset: (start, end, first inode number).
    tables: Vec<(u64, u64, u32)>,
    /// Device byte ranges of the journal inode's blocks, sorted.
    journal: Vec<(u64, u64)>,
    /// Device byte offset of the journal superblock (the journal's first block).
    journal_sb: Option<u64>,
    /// The superblock as last written (or read at mount), to rewrite the flag.
    shadow: Vec<u8>,
    /// Whether the superblock on the device says needs_recovery.
    recover_on_disk: bool,
    report: Arc<Report>,
    /// Sectors each inode's home copy carries beyond rsext4's view of it.
    extra: BTreeMap<u32, u64>,
    /// A reused buffer for patched writes (see src/metacache.rs on why the
    /// guest heap should not see a 4 KiB allocation per write).
    spare: Vec<u8>,
    /// Byte offsets of every group's block and inode bitmap, sorted.
    bitmaps: Vec<u64>,
    cache: MetaCache,
}

fn blk(e: BlkError) -> Ext4Error {
    match e {
        BlkError::ReadOnly => Ext4Error::read_only(),
        _ => Ext4Error::io(),
    }
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> Option<(u64, u64)> {
    let (s, e) = (a.0.max(b.0), a.1.min(b.1));
    (s < e).then_some((s, e))
}

impl Guard {
    /// Reads the superblock, group descriptors and journal inode; checks that
    /// the device holds the whole file system.
    pub fn new(mut dev: Box<dyn BlockDevice>, report: Arc<Report>) -> Result<Self, MountError> {
        let mut shadow = vec![0u8; SB_SIZE];
        if dev.sectors() < (SB_OFFSET + SB_SIZE as u64) / SECTOR {
            return Err(MountError::NotExt4);
        }
        dev.read(SB_OFFSET / SECTOR, &mut shadow).map_err(|_| MountError::Io)?;
        let sb = Super::parse(&shadow)?;
        let device_blocks = dev.sectors() * SECTOR / sb.block_size;
        if sb.blocks_count > device_blocks {
            return Err(MountError::Truncated { blocks: sb.blocks_count, device_blocks });
        }
        let read_bytes = |dev: &mut Box<dyn BlockDevice>, at: u64, buf: &mut [u8]| -> Result<(), MountError> {
            // `at` and the length are block-aligned, so sector-aligned.
            dev.read(at / SECTOR, buf).map_err(|_| MountError::Io)
        };
        // Group descriptors, read whole blocks.
        let gdt_len = sb.gdt_bytes().div_ceil(sb.block_size) * sb.block_size;
        if gdt_len > 64 << 20 {
            return Err(MountError::BadSuperblock("group count"));
        }
        let mut gdt = vec![0u8; gdt_len as usize];
        read_bytes(&mut dev, sb.gdt_block() * sb.block_size, &mut gdt)?;
        let end = sb.blocks_count * sb.block_size;
        let table_len = u64::from(sb.inodes_per_group) * u64::from(sb.inode_size);
        let mut groups = Vec::new();
        for g in 0..sb.groups() {
            let at = (g * u64::from(sb.desc_size)) as usize;
            let d = layout::parse_desc(&sb, &gdt[at..at + sb.desc_size as usize]);
            if d.itable < sb.block_size || d.itable.checked_add(table_len).is_none_or(|e| e > end) {
                return Err(MountError::Corrupt("inode table outside the file system"));
            }
            groups.push(d);
        }
        drop(gdt);
        let sb_block = sb.block_size;
        let mut guard = Self {
            dev,
            tables: Vec::new(),
            journal: Vec::new(),
            journal_sb: None,
            recover_on_disk: sb.incompat & layout::INCOMPAT_RECOVER != 0,
            sb,
            shadow,
            report,
            extra: BTreeMap::new(),
            spare: Vec::new(),
            bitmaps: groups.iter().flat_map(|d| d.bitmaps).collect(),
            cache: MetaCache::new(META_CACHE_BLOCKS, sb_block as usize),
        };
        guard.bitmaps.sort_unstable();
        for (g, d) in groups.iter().enumerate() {
            let t = guard.table(g as u32, *d);
            guard.tables.push(t);
        }
        guard.tables.sort_unstable_by_key(|t| t.0);
        guard.find_journal()?;
        Ok(guard)
    }

    /// Bytes the metadata-block cache may hold.
    pub fn cache_bound(&self) -> usize {
        MetaCache::bound(META_CACHE_BLOCKS, self.sb.block_size as usize)
    }

    /// Number of block groups (their inode-table ranges are kept in memory).
    pub fn groups(&self) -> usize {
        self.tables.len()
    }

    /// Group `g`'s checked inode-table range: (start, end, first inode).
    fn table(&self, g: u32, d: Group) -> (u64, u64, u32) {
        let first = g * self.sb.inodes_per_group + 1;
        (d.itable, d.itable + u64::from(d.live) * u64::from(self.sb.inode_size), first)
    }

    fn find_journal(&mut self) -> Result<(), MountError> {
        if self.sb.compat & layout::COMPAT_HAS_JOURNAL == 0 || self.sb.journal_inum == 0 {
            return Ok(());
        }
        let inum = self.sb.journal_inum;
        let isz = u64::from(self.sb.inode_size);
        let g = u64::from((inum - 1) / self.sb.inodes_per_group);
        let idx = u64::from((inum - 1) % self.sb.inodes_per_group);
        let bs = self.sb.block_size;
        // The descriptor again (the live count may exclude nothing here: the
        // journal inode is always in group 0's first block).
        let mut gd = vec![0u8; bs as usize];
        let gd_at = self.sb.gdt_block() * bs + (g * u64::from(self.sb.desc_size) / bs) * bs;
        self.dev.read(gd_at / SECTOR, &mut gd).map_err(|_| MountError::Io)?;
        let d = layout::parse_desc(&self.sb, &gd[((g * u64::from(self.sb.desc_size)) % bs) as usize..]);
        let at = d.itable + idx * isz;
        let block_at = at / bs * bs;
        let mut block = vec![0u8; bs as usize];
        self.dev.read(block_at / SECTOR, &mut block).map_err(|_| MountError::Io)?;
        let inode = &block[(at - block_at) as usize..(at - block_at + isz) as usize];
        if let Some(seed) = self.sb.csum_seed {
            if !layout::inode_ok(seed, inum, inode) {
                self.report.bad_inode.store(inum, Ordering::Relaxed);
                return Err(MountError::Corrupt("journal inode checksum"));
            }
        }
        let dev = &mut self.dev;
        let mut read_block = |b: u64, buf: &mut [u8]| dev.read(b * bs / SECTOR, buf).map_err(|_| MountError::Io);
        let extents = layout::extents(&self.sb, inode, &mut read_block)?;
        self.journal_sb = extents.first().map(|e| e.0 * bs);
        self.journal = extents.iter().map(|&(s, l)| (s * bs, (s + l) * bs)).collect();
        self.journal.sort_unstable();
        Ok(())
    }

    /// Checks every in-use inode wholly inside `[at, at + buf.len())`.
    fn check_inodes(&self, at: u64, buf: &[u8]) -> Ext4Result<()> {
        let Some(seed) = self.sb.csum_seed else { return Ok(()) };
        let end = at + buf.len() as u64;
        let isz = u64::from(self.sb.inode_size);
        // Tables that start before `end`, scanned back while they may overlap.
        // No table is longer than a full group's, so one starting that far
        // before `at` cannot reach it.
        let longest = u64::from(self.sb.inodes_per_group) * isz;
        let upto = self.tables.partition_point(|t| t.0 < end);
        for &(ts, te, first) in self.tables[..upto].iter().rev() {
            if ts + longest <= at {
                break;
            }
            let Some((s, e)) = overlap((ts, te), (at, end)) else { continue };
            let mut off = (s - ts).div_ceil(isz) * isz + ts;
            while off + isz <= e {
                let inum = first + ((off - ts) / isz) as u32;
                let b = (off - at) as usize;
                if !layout::inode_ok(seed, inum, &buf[b..b + isz as usize]) {
                    self.report.bad_inode.store(inum, Ordering::Relaxed);
                    return Err(Ext4Error::checksum().with_operation("vireo:inode_checksum"));
                }
                off += isz;
            }
        }
        Ok(())
    }

    /// `buffer` copied into the spare buffer, taken out (put it back after).
    fn scratch(&mut self, buffer: &[u8]) -> Vec<u8> {
        let mut v = core::mem::take(&mut self.spare);
        v.clear();
        v.extend_from_slice(buffer);
        v
    }

    /// Whether `[at, at + len)` is one whole inode-table or bitmap block.
    fn is_meta(&self, at: u64, len: usize) -> bool {
        let bs = self.sb.block_size;
        if len as u64 != bs || !at.is_multiple_of(bs) {
            return false;
        }
        if self.bitmaps.binary_search(&at).is_ok() {
            return true;
        }
        let full = u64::from(self.sb.inodes_per_group) * u64::from(self.sb.inode_size);
        let upto = self.tables.partition_point(|t| t.0 <= at);
        upto > 0 && at < self.tables[upto - 1].0 + full
    }

    /// Writes `data` at `sector`, keeping the metadata cache equal to the device.
    fn dev_write(&mut self, sector: u64, data: &[u8]) -> Ext4Result<()> {
        let at = sector * SECTOR;
        self.cache.invalidate(at, data.len() as u64);
        self.dev.write(sector, data).map_err(blk)?;
        if self.is_meta(at, data.len()) {
            self.cache.insert(at, data);
        }
        Ok(())
    }

    /// Byte offset of inode `inum` on the device (its group's whole table,
    /// not only the part in use when last seen).
    fn inode_at(&self, inum: u32) -> Option<u64> {
        let isz = u64::from(self.sb.inode_size);
        self.tables.iter().find_map(|&(ts, _, first)| {
            let i = inum.checked_sub(first).filter(|&i| i < self.sb.inodes_per_group)?;
            Some(ts + u64::from(i) * isz)
        })
    }

    /// Takes the fixups the file system queued; each new shortfall is also
    /// added to the inode's home copy now, which may already hold rsext4's
    /// latest view (a later checkpoint write gets it added again).
    fn drain_fixups(&mut self) -> Ext4Result<()> {
        let report = self.report.clone();
        for slot in &report.fixups {
            let v = slot.swap(0, Ordering::AcqRel);
            if v == 0 {
                continue;
            }
            let (inum, sectors) = ((v >> 32) as u32, v & 0xFFFF_FFFF);
            if sectors == 0 {
                self.extra.remove(&inum);
                continue;
            }
            let (Some(seed), Some(at)) = (self.sb.csum_seed, self.inode_at(inum)) else { continue };
            *self.extra.entry(inum).or_insert(0) += sectors;
            self.report.fixed_sectors.fetch_add(sectors, Ordering::Relaxed);
            // A home copy not (yet) live is older than rsext4's view and will
            // be overwritten by a checkpoint write, which gets the sectors.
            let bs = self.sb.block_size;
            let block_at = at / bs * bs;
            let mut block = vec![0u8; bs as usize];
            self.dev.read(block_at / SECTOR, &mut block).map_err(blk)?;
            let o = (at - block_at) as usize;
            let inode = &mut block[o..o + self.sb.inode_size as usize];
            if !layout::inode_ok(seed, inum, inode) || !layout::adjust_blocks(inode, sectors as i64) {
                continue;
            }
            layout::set_inode_csum(seed, inum, inode);
            self.dev_write(block_at / SECTOR, &block)?;
        }
        Ok(())
    }

    /// Adds (`sign` 1) or takes off (-1) the extra sectors of every fixed-up
    /// inode wholly inside `buf`, which sits at device byte `at`.
    fn shift_blocks(&self, at: u64, buf: &mut [u8], sign: i64) {
        let Some(seed) = self.sb.csum_seed else { return };
        let isz = self.sb.inode_size as usize;
        for (&inum, &extra) in &self.extra {
            let Some(i) = self.inode_at(inum) else { continue };
            if i < at || i + isz as u64 > at + buf.len() as u64 {
                continue;
            }
            let inode = &mut buf[(i - at) as usize..(i - at) as usize + isz];
            if layout::inode_ok(seed, inum, inode) && layout::adjust_blocks(inode, sign * extra as i64) {
                layout::set_inode_csum(seed, inum, inode);
            }
        }
    }

    /// Whether `[at, at + len)` holds one of the fixed-up inodes.
    fn holds_fixed(&self, at: u64, len: usize) -> bool {
        let isz = u64::from(self.sb.inode_size);
        self.extra.keys().filter_map(|&n| self.inode_at(n)).any(|i| i >= at && i + isz <= at + len as u64)
    }

    fn in_journal(&self, range: (u64, u64)) -> bool {
        self.journal.iter().any(|&j| overlap(j, range).is_some())
    }

    /// Writes the shadow superblock with needs_recovery = `on`.
    fn write_recover(&mut self, on: bool) -> Ext4Result<()> {
        layout::set_recover(&mut self.shadow, on);
        self.dev.write(SB_OFFSET / SECTOR, &self.shadow).map_err(blk)?;
        self.recover_on_disk = on;
        self.report.recover_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// After a write of group descriptors: refresh the checked ranges.
    fn snoop_gdt(&mut self, at: u64, buf: &[u8]) {
        let gdt = self.sb.gdt_block() * self.sb.block_size;
        let Some((s, e)) = overlap((gdt, gdt + self.sb.gdt_bytes()), (at, at + buf.len() as u64)) else {
            return;
        };
        let ds = u64::from(self.sb.desc_size);
        let mut g = (s - gdt).div_ceil(ds);
        while gdt + (g + 1) * ds <= e {
            let b = (gdt + g * ds - at) as usize;
            let d = layout::parse_desc(&self.sb, &buf[b..b + ds as usize]);
            // Only the live count may change; a descriptor that moves its
            // table is not trusted (the old range is kept, order stays sorted).
            let new = self.table(g as u32, d);
            if let Ok(i) = self.tables.binary_search_by_key(&new.0, |t| t.0) {
                if self.tables[i].2 == new.2 {
                    self.tables[i] = new;
                }
            }
            g += 1;
        }
    }
}

impl BlockIo for Guard {
    fn read(&mut self, buffer: &mut [u8], sector: SectorId, _count: u32) -> Ext4Result<()> {
        self.drain_fixups()?;
        let at = sector.raw() * SECTOR;
        let meta = self.is_meta(at, buffer.len());
        // Cached blocks were checked when read, or written by rsext4 or us.
        if !(meta && self.cache.get(at, buffer)) {
            self.dev.read(sector.raw(), buffer).map_err(blk)?;
            self.check_inodes(at, buffer)?;
            if meta {
                self.cache.insert(at, buffer);
            }
        }
        if !self.extra.is_empty() {
            self.shift_blocks(sector.raw() * SECTOR, buffer, -1);
        }
        Ok(())
    }

    fn write(&mut self, buffer: &[u8], sector: SectorId, _count: u32) -> Ext4Result<()> {
        if self.dev.read_only() {
            return Err(Ext4Error::read_only());
        }
        self.drain_fixups()?;
        let at = sector.raw() * SECTOR;
        let range = (at, at + buffer.len() as u64);
        // The journal superblock going back with s_start 0: the journal is
        // empty; anything else written into the journal means it is not.
        let mut journal_emptied = false;
        if self.in_journal(range) {
            let jsb = self.journal_sb.filter(|&j| j >= at && j + 1024 <= range.1);
            journal_emptied = jsb.is_some_and(|j| layout::be32(buffer, (j - at) as usize + 0x1C) == 0);
            if !journal_emptied && !self.recover_on_disk {
                self.write_recover(true)?;
                self.dev.flush().map_err(blk)?;
            }
        }
        let sb_range = (SB_OFFSET, SB_OFFSET + SB_SIZE as u64);
        if let Some((s, e)) = overlap(range, sb_range) {
            // rsext4's own superblock write: keep the flag's true value.
            let mut patched = self.scratch(buffer);
            let b = (s - at) as usize;
            let k = (s - SB_OFFSET) as usize;
            self.shadow[k..k + (e - s) as usize].copy_from_slice(&patched[b..b + (e - s) as usize]);
            layout::set_recover(&mut self.shadow, self.recover_on_disk);
            if s == SB_OFFSET && e == sb_range.1 {
                patched[b..b + SB_SIZE].copy_from_slice(&self.shadow);
            }
            let r = self.dev_write(sector.raw(), &patched);
            self.spare = patched;
            r?;
        } else if !self.extra.is_empty() && !self.in_journal(range) && self.holds_fixed(at, buffer.len()) {
            // A home copy of a fixed-up inode: it carries the extra sectors.
            let mut patched = self.scratch(buffer);
            self.shift_blocks(at, &mut patched, 1);
            let r = self.dev_write(sector.raw(), &patched);
            self.spare = patched;
            r?;
        } else {
            self.dev_write(sector.raw(), buffer)?;
        }
        self.snoop_gdt(at, buffer);
        if journal_emptied && self.recover_on_disk {
            self.dev.flush().map_err(blk)?;
            self.write_recover(false)?;
        }
        Ok(())
    }

    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry::new(SECTOR as u32, self.dev.sectors())
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities { read_only: self.dev.read_only(), flush: true, ..DeviceCapabilities::default() }
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.dev.flush().map_err(blk)
    }
}
