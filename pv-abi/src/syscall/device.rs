//! Devices for user-space drivers (calls `DeviceInfo` .. `ConfigWrite`).

/// `DeviceInfo::kind`: a PCI function found through ECAM.
pub const KIND_PCI: u32 = 1;
/// `DeviceInfo::kind`: a virtio-mmio transport (ACPI DSDT or `virtio_mmio.device=`).
pub const KIND_VIRTIO_MMIO: u32 = 2;
/// `DeviceInfo::gsi` when the device has no interrupt line.
pub const NO_GSI: u32 = u32::MAX;
/// `BarInfo::flags`: memory-mapped (else I/O ports or absent).
pub const BAR_MMIO: u32 = 1;
/// `BarInfo::flags`: a 64-bit BAR (it uses the next BAR slot too).
pub const BAR_64: u32 = 2;
pub const BAR_PREFETCH: u32 = 4;
/// `BarInfo::flags`: I/O ports (not mappable).
pub const BAR_IO: u32 = 8;
/// Largest `DmaAlloc`.
pub const DMA_MAX: u64 = 4 << 20;
/// `IrqOpen` kinds.
pub const IRQ_LINE: u64 = 0;
pub const IRQ_MSI: u64 = 1;
/// Most runs one `FreePagesTake` returns.
pub const REPORT_MAX_RUNS: u64 = 256;

/// One run of free frames from `FreePagesTake`: guest-physical address
/// and length in bytes, both multiples of 4096.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FreeRun {
    pub addr: u64,
    pub len: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BarInfo {
    pub base: u64,
    pub size: u64,
    pub flags: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    pub kind: u32,
    /// PCI vendor ID; virtio-mmio: the VendorID register's low 16 bits.
    pub vendor: u16,
    /// PCI device ID; virtio-mmio: the virtio device type (4 = entropy).
    pub device: u16,
    /// PCI class code << 16 | subclass << 8 | prog-if (virtio-mmio: 0).
    pub class: u32,
    /// Interrupt line as a GSI, or [`NO_GSI`].
    pub gsi: u32,
    pub segment: u16,
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
    /// PCI Interrupt Pin (1 = INTA; 0 = none).
    pub irq_pin: u8,
    /// MSI-X table size (0 = no MSI-X capability).
    pub msix_entries: u16,
    /// Config-space offset of the MSI-X capability (0 = none).
    pub msix_cap: u16,
    pub _pad: [u8; 6],
    /// PCI BARs 0-5; virtio-mmio: window 0 only.
    pub bars: [BarInfo; 6],
}

/// What to program into an MSI/MSI-X entry (address, data) so the
/// device's message raises the handle's vector.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsiMessage {
    pub address: u64,
    pub data: u32,
    pub vector: u32,
}

const _: () = {
    assert!(core::mem::size_of::<BarInfo>() == 24);
    assert!(core::mem::size_of::<DeviceInfo>() == 176);
    assert!(core::mem::offset_of!(DeviceInfo, gsi) == 12);
    assert!(core::mem::offset_of!(DeviceInfo, msix_entries) == 22);
    assert!(core::mem::offset_of!(DeviceInfo, bars) == 32);
    assert!(core::mem::size_of::<MsiMessage>() == 16);
    assert!(core::mem::size_of::<FreeRun>() == 16);
};
