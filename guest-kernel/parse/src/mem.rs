//! Guest-physical memory as the parsers see it: ACPI tables and
//! `hvm_start_info` point at each other by physical address.

/// Read access to guest-physical memory.
pub trait PhysMem<'a> {
    /// The `len` bytes at `paddr`, or `None` when any of them is outside
    /// what can be read.
    fn bytes(&self, paddr: u64, len: usize) -> Option<&'a [u8]>;
}

/// A byte buffer standing for physical memory `base..base + len`: what
/// tests and fuzz targets hand the parsers.
#[derive(Clone, Copy, Debug)]
pub struct SliceMem<'a> {
    pub base: u64,
    pub bytes: &'a [u8],
}

impl<'a> PhysMem<'a> for SliceMem<'a> {
    fn bytes(&self, paddr: u64, len: usize) -> Option<&'a [u8]> {
        let start = usize::try_from(paddr.checked_sub(self.base)?).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_mem_bounds() {
        let m = SliceMem { base: 0x1000, bytes: &[1, 2, 3, 4] };
        assert_eq!(m.bytes(0x1001, 2), Some(&[2u8, 3][..]));
        assert_eq!(m.bytes(0x1000, 4), Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(m.bytes(0x1000, 5), None);
        assert_eq!(m.bytes(0xfff, 1), None);
        assert_eq!(m.bytes(u64::MAX, usize::MAX), None);
    }
}
