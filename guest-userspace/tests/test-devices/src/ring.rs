//! One split virtqueue of 8 entries in one DMA page, and MMIO accessors.
//! Layout: descriptors at 0, available ring at 0x100, used ring at 0x200,
//! the buffer the device fills at 0x800.
pub const QSIZE: u16 = 8;
pub const AVAIL: u64 = 0x100;
pub const USED: u64 = 0x200;
pub const BUF: u64 = 0x800;
pub const BUF_LEN: u32 = 16;

pub fn r32(a: u64) -> u32 {
    // SAFETY: `a` lies in a device window or DMA page mapped by the kernel for this program.
    unsafe { (a as *const u32).read_volatile() }
}
pub fn w32(a: u64, v: u32) {
    // SAFETY: as for `r32`.
    unsafe { (a as *mut u32).write_volatile(v) }
}
pub fn r16(a: u64) -> u16 {
    // SAFETY: as for `r32`.
    unsafe { (a as *const u16).read_volatile() }
}
pub fn w16(a: u64, v: u16) {
    // SAFETY: as for `r32`.
    unsafe { (a as *mut u16).write_volatile(v) }
}
pub fn r8(a: u64) -> u8 {
    // SAFETY: as for `r32`.
    unsafe { (a as *const u8).read_volatile() }
}
pub fn w8(a: u64, v: u8) {
    // SAFETY: as for `r32`.
    unsafe { (a as *mut u8).write_volatile(v) }
}
pub fn w64(a: u64, v: u64) {
    w32(a, v as u32);
    w32(a + 4, (v >> 32) as u32);
}

/// Puts one device-writable buffer on the ring (descriptor 0, avail idx 1).
pub fn offer_buffer(va: u64, pa: u64) {
    w64(va, pa + BUF);
    w32(va + 8, BUF_LEN);
    w16(va + 12, 2); // VIRTQ_DESC_F_WRITE
    w16(va + 14, 0);
    w16(va + AVAIL, 0);
    w16(va + AVAIL + 4, 0);
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    w16(va + AVAIL + 2, 1);
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

/// (used idx, length of the first used element).
pub fn used(va: u64) -> (u16, u32) {
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    (r16(va + USED + 2), r32(va + USED + 8))
}
