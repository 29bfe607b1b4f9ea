//! The few on-disk ext4 facts our block-device layer needs, parsed from raw
//! bytes with every offset and count checked (the image is untrusted).
//! rsext4 parses all of this again for itself; we do it independently so the
//! checks in [`crate::guard`] do not depend on the crate they guard.

use alloc::vec::Vec;

use crate::crc::crc32c;
use crate::MountError;

pub const SB_OFFSET: u64 = 1024;
pub const SB_SIZE: usize = 1024;
pub const MAGIC: u16 = 0xEF53;

pub const INCOMPAT_RECOVER: u32 = 0x4;
pub const INCOMPAT_64BIT: u32 = 0x80;
pub const INCOMPAT_CSUM_SEED: u32 = 0x2000;
/// What rsext4 0.9.2 mounts (`superblock/features.rs`): filetype, recover,
/// extents, 64bit, flex_bg, csum_seed, mmp.
pub const INCOMPAT_SUPPORTED: u32 = 0x2 | 0x4 | 0x40 | 0x80 | 0x200 | 0x2000 | 0x100;
pub const RO_COMPAT_GDT_CSUM: u32 = 0x10;
pub const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
pub const COMPAT_HAS_JOURNAL: u32 = 0x4;

/// `bg_flags`: the group's inode table was never written.
const BG_INODE_UNINIT: u16 = 0x1;

/// Offsets in an inode.
pub const I_MODE: usize = 0x00;
pub const I_LINKS: usize = 0x1A;
pub const I_FLAGS: usize = 0x20;
pub const I_BLOCK: usize = 0x28;
pub const I_GENERATION: usize = 0x64;
pub const I_CSUM_LO: usize = 0x7C;
pub const I_EXTRA_ISIZE: usize = 0x80;
pub const I_CSUM_HI: usize = 0x82;
const EXTENTS_FL: u32 = 0x80000;

pub fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

pub fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The superblock fields we use.
#[derive(Clone, Debug)]
pub struct Super {
    pub block_size: u64,
    pub blocks_count: u64,
    pub first_data_block: u64,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub inode_size: u32,
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub desc_size: u32,
    pub journal_inum: u32,
    /// The metadata_csum seed, when the file system has metadata_csum.
    pub csum_seed: Option<u32>,
}

impl Super {
    /// Parses and sanity-checks the 1024 superblock bytes.
    pub fn parse(sb: &[u8]) -> Result<Self, MountError> {
        if sb.len() < SB_SIZE || le16(sb, 0x38) != MAGIC {
            return Err(MountError::NotExt4);
        }
        let log = le32(sb, 0x18);
        if log > 2 {
            // rsext4 reads 1, 2 and 4 KiB blocks only.
            return Err(MountError::BadSuperblock("block size above 4 KiB or impossible"));
        }
        let block_size = 1024u64 << log;
        let incompat = le32(sb, 0x60);
        let ro_compat = le32(sb, 0x64);
        let unsupported = incompat & !INCOMPAT_SUPPORTED;
        if unsupported != 0 {
            return Err(MountError::Unsupported(unsupported));
        }
        let mut blocks_count = u64::from(le32(sb, 0x04));
        let desc_size = if incompat & INCOMPAT_64BIT != 0 {
            blocks_count |= u64::from(le32(sb, 0x150)) << 32;
            u32::from(le16(sb, 0xFE))
        } else {
            32
        };
        if !(32..=1024).contains(&desc_size) || !desc_size.is_power_of_two() {
            return Err(MountError::BadSuperblock("group descriptor size"));
        }
        let blocks_per_group = le32(sb, 0x20);
        let inodes_per_group = le32(sb, 0x28);
        if blocks_per_group == 0 || u64::from(blocks_per_group) > block_size * 8 {
            return Err(MountError::BadSuperblock("blocks per group"));
        }
        if inodes_per_group == 0 || u64::from(inodes_per_group) > block_size * 8 {
            return Err(MountError::BadSuperblock("inodes per group"));
        }
        let inode_size = if le32(sb, 0x4C) == 0 { 128 } else { u32::from(le16(sb, 0x58)) };
        if inode_size < 128 || !inode_size.is_power_of_two() || u64::from(inode_size) > block_size {
            return Err(MountError::BadSuperblock("inode size"));
        }
        let first_data_block = u64::from(le32(sb, 0x14));
        if blocks_count == 0 || first_data_block >= blocks_count {
            return Err(MountError::BadSuperblock("block count"));
        }
        let csum_seed = (ro_compat & RO_COMPAT_METADATA_CSUM != 0).then(|| {
            if incompat & INCOMPAT_CSUM_SEED != 0 {
                le32(sb, 0x270)
            } else {
                crc32c(!0, &sb[0x68..0x78])
            }
        });
        Ok(Self {
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inode_size,
            compat: le32(sb, 0x5C),
            incompat,
            ro_compat,
            desc_size,
            journal_inum: le32(sb, 0xE0),
            csum_seed,
        })
    }

    pub fn groups(&self) -> u64 {
        (self.blocks_count - self.first_data_block).div_ceil(u64::from(self.blocks_per_group))
    }

    /// First block of the group descriptor table (no meta_bg: rsext4 has none).
    pub fn gdt_block(&self) -> u64 {
        self.first_data_block + 1
    }

    pub fn gdt_bytes(&self) -> u64 {
        self.groups() * u64::from(self.desc_size)
    }
}

/// Sets or clears `needs_recovery` in superblock bytes and recomputes the
/// superblock checksum when the file system has metadata_csum.
pub fn set_recover(sb: &mut [u8], on: bool) {
    let mut incompat = le32(sb, 0x60);
    if on {
        incompat |= INCOMPAT_RECOVER;
    } else {
        incompat &= !INCOMPAT_RECOVER;
    }
    sb[0x60..0x64].copy_from_slice(&incompat.to_le_bytes());
    if le32(sb, 0x64) & RO_COMPAT_METADATA_CSUM != 0 {
        let csum = crc32c(!0, &sb[..0x3FC]);
        sb[0x3FC..0x400].copy_from_slice(&csum.to_le_bytes());
    }
}

/// One group's inode table as far as checking goes.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// Byte offset of the inode table on the device.
    pub itable: u64,
    /// Inodes in the table that may hold data (the rest were never written).
    pub live: u32,
    /// Byte offsets of the block and inode bitmaps.
    pub bitmaps: [u64; 2],
}

/// Decodes one group descriptor.
pub fn parse_desc(sb: &Super, d: &[u8]) -> Group {
    let mut itable = u64::from(le32(d, 0x08));
    if sb.desc_size >= 64 {
        itable |= u64::from(le32(d, 0x28)) << 32;
    }
    let flags = le16(d, 0x12);
    let mut unused = u32::from(le16(d, 0x1C));
    if sb.desc_size >= 64 {
        unused |= u32::from(le16(d, 0x32)) << 16;
    }
    let has_csum = sb.ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM) != 0;
    let live = if !has_csum {
        sb.inodes_per_group
    } else if flags & BG_INODE_UNINIT != 0 {
        0
    } else {
        sb.inodes_per_group.saturating_sub(unused)
    };
    let wide = |lo: usize, hi: usize| {
        let mut v = u64::from(le32(d, lo));
        if sb.desc_size >= 64 {
            v |= u64::from(le32(d, hi)) << 32;
        }
        v.saturating_mul(sb.block_size)
    };
    Group { itable: itable.saturating_mul(sb.block_size), live, bitmaps: [wide(0x00, 0x20), wide(0x04, 0x24)] }
}

/// The metadata_csum checksum of one on-disk inode (both halves; the low
/// 16 bits only when the inode has no room for the high half).
fn inode_csum(seed: u32, inum: u32, inode: &[u8]) -> u32 {
    let has_hi = has_csum_hi(inode);
    let mut crc = crc32c(seed, &inum.to_le_bytes());
    crc = crc32c(crc, &le32(inode, I_GENERATION).to_le_bytes());
    crc = crc32c(crc, &inode[..I_CSUM_LO]);
    crc = crc32c(crc, &[0, 0]);
    if has_hi {
        crc = crc32c(crc, &inode[I_CSUM_LO + 2..I_CSUM_HI]);
        crc = crc32c(crc, &[0, 0]);
        crc32c(crc, &inode[I_CSUM_HI + 2..])
    } else {
        crc32c(crc, &inode[I_CSUM_LO + 2..]) & 0xFFFF
    }
}

fn has_csum_hi(inode: &[u8]) -> bool {
    inode.len() > 128 && le16(inode, I_EXTRA_ISIZE) >= 4
}

/// Verifies one on-disk inode's checksum; `true` when it matches or the inode
/// was never used (mode and links count both zero).
pub fn inode_ok(seed: u32, inum: u32, inode: &[u8]) -> bool {
    if le16(inode, I_MODE) == 0 && le16(inode, I_LINKS) == 0 {
        return true;
    }
    let stored = if has_csum_hi(inode) {
        u32::from(le16(inode, I_CSUM_HI)) << 16 | u32::from(le16(inode, I_CSUM_LO))
    } else {
        u32::from(le16(inode, I_CSUM_LO))
    };
    inode_csum(seed, inum, inode) == stored
}

/// Rewrites one on-disk inode's checksum after a change to its bytes.
pub fn set_inode_csum(seed: u32, inum: u32, inode: &mut [u8]) {
    let crc = inode_csum(seed, inum, inode);
    inode[I_CSUM_LO..I_CSUM_LO + 2].copy_from_slice(&(crc as u16).to_le_bytes());
    if has_csum_hi(inode) {
        inode[I_CSUM_HI..I_CSUM_HI + 2].copy_from_slice(&((crc >> 16) as u16).to_le_bytes());
    }
}

/// `i_blocks_lo` and `l_i_blocks_high` (osd2), in 512-byte sectors unless
/// the inode has HUGE_FILE_FL.
const I_BLOCKS_LO: usize = 0x1C;
const I_BLOCKS_HI: usize = 0x74;
const HUGE_FILE_FL: u32 = 0x40000;

/// Adds `delta` sectors to a live inode's block count (a negative delta
/// removes them). `false`, with the inode untouched, when the inode is not
/// in use, counts in file-system blocks (HUGE_FILE_FL), or the result would
/// not fit in 48 bits or be negative.
pub fn adjust_blocks(inode: &mut [u8], delta: i64) -> bool {
    if le16(inode, I_LINKS) == 0 || le32(inode, I_FLAGS) & HUGE_FILE_FL != 0 || inode.len() < I_BLOCKS_HI + 2 {
        return false;
    }
    let now = u64::from(le16(inode, I_BLOCKS_HI)) << 32 | u64::from(le32(inode, I_BLOCKS_LO));
    let Some(next) = now.checked_add_signed(delta).filter(|&n| n < 1 << 48) else { return false };
    inode[I_BLOCKS_LO..I_BLOCKS_LO + 4].copy_from_slice(&(next as u32).to_le_bytes());
    inode[I_BLOCKS_HI..I_BLOCKS_HI + 2].copy_from_slice(&((next >> 32) as u16).to_le_bytes());
    true
}

/// Reads file-system block `n` into the buffer.
pub type ReadBlock<'a> = dyn FnMut(u64, &mut [u8]) -> Result<(), MountError> + 'a;

/// The leaf extents of an inode whose extent tree root is `i_block`:
/// `(first physical block, length)`; depth > 0 nodes are read with `read_block`.
pub fn extents(sb: &Super, inode: &[u8], read_block: &mut ReadBlock<'_>) -> Result<Vec<(u64, u64)>, MountError> {
    if le32(inode, I_FLAGS) & EXTENTS_FL == 0 {
        return Err(MountError::Corrupt("journal inode without extents"));
    }
    let root = inode.get(I_BLOCK..I_BLOCK + 60).ok_or(MountError::Corrupt("journal inode"))?;
    let mut out = Vec::new();
    walk(sb, root, 0, &mut out, read_block)?;
    Ok(out)
}

fn walk(
    sb: &Super,
    node: &[u8],
    level: u32,
    out: &mut Vec<(u64, u64)>,
    read_block: &mut ReadBlock<'_>,
) -> Result<(), MountError> {
    const BAD: MountError = MountError::Corrupt("journal inode extent tree");
    if le16(node, 0) != 0xF30A || level > 5 {
        return Err(BAD);
    }
    let entries = usize::from(le16(node, 2));
    let depth = le16(node, 6);
    if 12 + entries * 12 > node.len() {
        return Err(BAD);
    }
    for i in 0..entries {
        let e = &node[12 + i * 12..24 + i * 12];
        if depth == 0 {
            let len = u64::from(le16(e, 4) & 0x7FFF);
            let start = u64::from(le16(e, 6)) << 32 | u64::from(le32(e, 8));
            if start.checked_add(len).is_none_or(|end| end > sb.blocks_count) {
                return Err(BAD);
            }
            out.push((start, len));
            if out.len() > 4096 {
                return Err(BAD);
            }
        } else {
            let child = u64::from(le16(e, 8)) << 32 | u64::from(le32(e, 4));
            if child >= sb.blocks_count {
                return Err(BAD);
            }
            let mut child_node = alloc::vec![0u8; sb.block_size as usize];
            read_block(child, &mut child_node)?;
            walk(sb, &child_node, level + 1, out, read_block)?;
        }
    }
    Ok(())
}
