//! The one error type of this crate: every way a device can misbehave, or
//! a request can be refused, is a variant here, so a driver reports it for
//! that device and carries on.
use pv_abi::syscall::Error as KernelError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A device call failed (the kernel's error).
    Kernel(KernelError),
    /// The register window does not start with "virt".
    NotVirtio,
    /// virtio-mmio version other than 2 (legacy devices are not driven).
    UnsupportedVersion(u32),
    /// The device is of another type than the driver asked for.
    WrongDevice(u32),
    /// The device does not offer VIRTIO_F_VERSION_1.
    NotModern,
    /// The device does not offer a feature the driver cannot do without
    /// (the bit).
    FeatureMissing(u64),
    /// The device cleared FEATURES_OK: it rejects what we accepted.
    FeaturesRejected,
    /// The device set DEVICE_NEEDS_RESET or did not come out of reset.
    DeviceFailed,
    /// The device reports queue size 0 (no such queue).
    QueueUnavailable(u16),
    /// A queue size that cannot be used (over 32768) or the DMA region
    /// given for the ring is too small.
    BadQueueSize(u32),
    /// No free descriptors (or request slots) for this request.
    QueueFull,
    /// The used ring's index moved by more than the requests in flight.
    BadUsedIndex(u16),
    /// A used-ring entry whose id is past the queue's end.
    BadUsedId(u32),
    /// A used-ring entry for a descriptor chain not in flight.
    NotInFlight(u16),
    /// A used length beyond the device-writable bytes of the chain.
    BadUsedLen { id: u16, len: u32 },
    /// A virtio-pci capability is absent or points outside its BAR.
    MissingCapability(u8),
    /// The device has no MSI-X, or refused the vector we gave it.
    NoMsix,
    /// Config space kept changing under us (generation never settled).
    ConfigUnstable,
    /// Config space is shorter than the fields the driver needs, or holds
    /// a value out of its valid range.
    BadConfig,
    /// virtio-blk: the device is read-only; writes are refused.
    ReadOnly,
    /// virtio-blk: sectors past the end of the disk.
    OutOfRange,
    /// virtio-blk: a data buffer that is empty, not a whole number of
    /// sectors, or larger than one request may carry.
    BadBuffer,
    /// virtio-blk: the device reported VIRTIO_BLK_S_IOERR.
    IoError,
    /// virtio-blk: the device reported VIRTIO_BLK_S_UNSUPP.
    Unsupported,
    /// virtio-blk: a status byte that is none of OK, IOERR, UNSUPP (0xff:
    /// the device never wrote it).
    BadStatus(u8),
    /// virtio-net: a received frame's header says what we did not
    /// negotiate (a checksum to finish, a GSO type).
    BadNetHeader,
    /// Waiting for the device took longer than the caller allowed.
    TimedOut,
}

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Self {
        Error::Kernel(e)
    }
}

pub type Result<T> = core::result::Result<T, Error>;
