//! System description table headers, the checksum, and the walk of the root
//! table (XSDT or RSDT) that finds the few tables the kernel uses.
use super::error::{AcpiError, Sig};
use crate::{le, PhysMem};

pub const HEADER_LEN: usize = 36;
/// Upper bound on a table's length. VM tables are a few KiB; this only stops
/// a corrupt length from making us checksum gigabytes at emulated speed.
pub const MAX_TABLE_LEN: u32 = 4 << 20;

const LANES: u64 = 0x00FF_00FF_00FF_00FF;
/// Blocks summed between lane folds: a lane starts below 256 and each
/// 16-byte block adds at most 4 * 255, so 63 blocks keep it below 65536 (no
/// carry into the next lane).
const FOLD_BLOCKS: usize = 63;

/// Sum of all bytes modulo 256; a valid table (or RSDP part) sums to zero.
///
/// Ring 0 is emulated on our KVM host and the target has no SIMD, so this
/// adds 16 bytes per step in four 16-bit lanes instead of one byte per
/// step: about a quarter of the instructions of the obvious loop.
pub fn checksum(bytes: &[u8]) -> u8 {
    let (blocks, tail) = bytes.as_chunks::<16>();
    tail.iter().fold(fold_lanes(add_blocks(0, blocks)), |s, &b| s.wrapping_add(b))
}

/// Adds every byte of `blocks` into the four 16-bit lanes of `lanes`.
pub fn add_blocks(mut lanes: u64, blocks: &[[u8; 16]]) -> u64 {
    for run in blocks.chunks(FOLD_BLOCKS) {
        // Only each lane's low byte matters (mod 256): dropping the high
        // bytes here is what bounds the run's sums.
        let mut acc = lanes & LANES;
        for block in run {
            let (lo, hi) = halves(block);
            acc += (lo & LANES) + ((lo >> 8) & LANES) + (hi & LANES) + ((hi >> 8) & LANES);
        }
        lanes = acc;
    }
    lanes
}

/// [`add_blocks`] for one block already split by [`halves`]; keeps each
/// lane below 5 * 255.
#[inline(always)]
pub fn add_block(lanes: u64, lo: u64, hi: u64) -> u64 {
    (lanes & LANES) + (lo & LANES) + ((lo >> 8) & LANES) + (hi & LANES) + ((hi >> 8) & LANES)
}

/// A 16-byte block as two little-endian words.
#[inline(always)]
pub fn halves(block: &[u8; 16]) -> (u64, u64) {
    let both = u128::from_le_bytes(*block);
    (both as u64, (both >> 64) as u64)
}

/// The byte sum (mod 256) held in the four lanes.
#[inline(always)]
pub fn fold_lanes(lanes: u64) -> u8 {
    ((lanes & LANES).wrapping_mul(0x0001_0001_0001_0001) >> 48) as u8
}

/// Maps the table at `paddr` after checking its signature and that its
/// length is sane and mapped. The checksum is left to the caller.
pub fn map<'a>(mem: &impl PhysMem<'a>, paddr: u64, sig: Sig) -> Result<&'a [u8], AcpiError> {
    let head = mem.bytes(paddr, 8).ok_or(AcpiError::not_mapped(sig, paddr, 8))?;
    let found = Sig(le::array(head, 0).unwrap_or([0; 4]));
    if found != sig {
        return Err(AcpiError::BadSignature { expected: sig, found, paddr });
    }
    let len = le::u32_at(head, 4).unwrap_or(0);
    if len < HEADER_LEN as u32 || len > MAX_TABLE_LEN {
        return Err(AcpiError::BadLength { what: sig, paddr, len: len.into() });
    }
    mem.bytes(paddr, len as usize).ok_or(AcpiError::not_mapped(sig, paddr, len as usize))
}

/// [`map`] plus the checksum.
pub fn load<'a>(mem: &impl PhysMem<'a>, paddr: u64, sig: Sig) -> Result<&'a [u8], AcpiError> {
    let table = map(mem, paddr, sig)?;
    verify(table, sig, paddr)?;
    Ok(table)
}

pub fn verify(table: &[u8], sig: Sig, paddr: u64) -> Result<(), AcpiError> {
    match checksum(table) {
        0 => Ok(()),
        _ => Err(AcpiError::BadChecksum { what: sig, paddr }),
    }
}

/// Where the tables we parse live.
#[derive(Clone, Copy, Debug, Default)]
pub struct RootTables {
    pub fadt: Option<u64>,
    pub madt: Option<u64>,
    pub mcfg: Option<u64>,
    /// The first entry whose signature could not be read. Only an error if
    /// a table we need turns out to be missing (it may have been that one).
    pub unreadable: Option<AcpiError>,
}

impl RootTables {
    /// The address of a table we cannot run without.
    pub fn required(&self, found: Option<u64>, sig: Sig) -> Result<u64, AcpiError> {
        found.ok_or(self.unreadable.unwrap_or(AcpiError::MissingTable(sig)))
    }
}

/// Walks a checksummed XSDT (`entry_size` 8) or RSDT (4). Only each entry's
/// 4-byte signature is read; tables we do not use are never mapped further.
pub fn walk_root<'a>(
    mem: &impl PhysMem<'a>,
    root: &[u8],
    entry_size: usize,
    sig: Sig,
    paddr: u64,
) -> Result<RootTables, AcpiError> {
    let body = root.get(HEADER_LEN..).unwrap_or(&[]);
    if entry_size == 0 || body.len() % entry_size != 0 {
        return Err(AcpiError::BadLength { what: sig, paddr, len: root.len() as u64 });
    }
    let mut found = RootTables::default();
    for entry in body.chunks_exact(entry_size) {
        let addr = match entry_size {
            8 => le::u64_at(entry, 0),
            _ => le::u32_at(entry, 0).map(u64::from),
        }
        .unwrap_or(0);
        let head = match mem.bytes(addr, 4) {
            Some(head) => head,
            None => {
                found.unreadable.get_or_insert(AcpiError::EntryNotMapped { root: sig, paddr: addr });
                continue;
            }
        };
        let slot = match Sig(le::array(head, 0).unwrap_or([0; 4])) {
            Sig::FADT => &mut found.fadt,
            Sig::MADT => &mut found.madt,
            Sig::MCFG => &mut found.mcfg,
            _ => continue,
        };
        // The first of a duplicated table wins, as in Linux.
        slot.get_or_insert(addr);
    }
    Ok(found)
}
