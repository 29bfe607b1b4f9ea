//! Where the virtio devices live in the guest: every address, IRQ and size
//! the harness hands out, in one place. Firecracker's shape: 4 KiB
//! virtio-mmio windows in the 32-bit device hole, right after its boot-timer
//! page at 0xC000_0000, one IOAPIC line each from 5 (COM1 has 4).

/// The first virtio-mmio window (after the boot-timer page).
pub const MMIO_BASE: u64 = 0xC000_1000;
/// One page per device: the registers end at 0x100 plus the config space.
pub const MMIO_SIZE: u64 = 0x1000;
/// The IOAPIC line of the first device; the next ones count up.
pub const IRQ_BASE: u32 = 5;
/// IOAPIC lines go up to 23: at most this many virtio-mmio devices.
pub const MAX_DEVICES: usize = 23 - IRQ_BASE as usize + 1;
/// Largest queue each device offers (QueueNumMax); a power of two.
pub const QUEUE_MAX_SIZE: u16 = 256;

/// The window and line of device number `n` (in command-line order).
pub fn slot(n: usize) -> Option<(u64, u32)> {
    (n < MAX_DEVICES).then(|| (MMIO_BASE + n as u64 * MMIO_SIZE, IRQ_BASE + n as u32))
}

/// The guest command-line word that describes device `n`, the way Linux
/// and Vireo's kernel read it (`virtio_mmio.device=SIZE@ADDR:IRQ`).
pub fn cmdline_word(base: u64, irq: u32) -> String {
    format!("virtio_mmio.device={}K@{base:#x}:{irq}", MMIO_SIZE / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_stay_in_the_hole_and_below_the_ioapic() {
        assert_eq!(slot(0), Some((0xC000_1000, 5)));
        assert_eq!(slot(1), Some((0xC000_2000, 6)));
        let (base, irq) = slot(MAX_DEVICES - 1).unwrap();
        assert_eq!(irq, 23);
        assert!(base + MMIO_SIZE <= 0xFEC0_0000);
        assert_eq!(slot(MAX_DEVICES), None);
        assert!(QUEUE_MAX_SIZE.is_power_of_two());
        assert_eq!(cmdline_word(0xC000_1000, 5), "virtio_mmio.device=4K@0xc0001000:5");
    }
}
