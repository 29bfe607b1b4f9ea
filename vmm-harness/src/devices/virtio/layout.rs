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

/// virtio-pci (`--transport pci`), Cloud Hypervisor's shape: ECAM for bus 0
/// only at CHV's address, described by an MCFG table; device n is function
/// 00:(n+1).0 with one 64-bit memory BAR of [`BAR_SIZE`] at
/// `BAR_BASE + n * BAR_SIZE` (after the virtio-mmio windows).
pub const ECAM_BASE: u64 = 0xE800_0000;
pub const ECAM_SIZE: u64 = 1 << 20;
pub const BAR_BASE: u64 = 0xC100_0000;
pub const BAR_SIZE: u64 = 0x8000;

/// BAR 0's layout: the virtio structures, then the MSI-X table and PBA.
pub mod bar {
    pub const COMMON: u64 = 0x0000;
    pub const COMMON_LEN: u32 = 0x38;
    pub const NOTIFY: u64 = 0x1000;
    pub const NOTIFY_LEN: u32 = 0x1000;
    /// Queue q is notified at NOTIFY + q * NOTIFY_MULTIPLIER.
    pub const NOTIFY_MULTIPLIER: u32 = 4;
    pub const ISR: u64 = 0x2000;
    pub const DEVICE: u64 = 0x3000;
    pub const DEVICE_LEN: u32 = 0x100;
    pub const MSIX_TABLE: u64 = 0x4000;
    pub const MSIX_PBA: u64 = 0x5000;
}

/// The BAR and PCI slot of virtio-pci device `n`.
pub fn pci_slot(n: usize) -> Option<(u64, u8)> {
    (n < MAX_DEVICES).then(|| (BAR_BASE + n as u64 * BAR_SIZE, n as u8 + 1))
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
        const { assert!(QUEUE_MAX_SIZE.is_power_of_two()) };
        assert_eq!(cmdline_word(0xC000_1000, 5), "virtio_mmio.device=4K@0xc0001000:5");
        // BARs after the last MMIO window, naturally aligned, below the ECAM.
        const { assert!(BAR_BASE >= MMIO_BASE + MAX_DEVICES as u64 * MMIO_SIZE) };
        let (last, slot) = pci_slot(MAX_DEVICES - 1).unwrap();
        assert!(last + BAR_SIZE <= ECAM_BASE && slot < 32);
        const { assert!(BAR_BASE.is_multiple_of(BAR_SIZE) && BAR_SIZE.is_power_of_two()) };
        const { assert!(bar::MSIX_PBA + 8 <= BAR_SIZE) };
    }
}
