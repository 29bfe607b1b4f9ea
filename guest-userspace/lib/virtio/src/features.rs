//! Feature bits and the negotiation every driver does the same way: reset,
//! ACKNOWLEDGE|DRIVER, accept only the bits we understand out of what the
//! device offers, FEATURES_OK, and check the device kept it.
use crate::error::{Error, Result};
use crate::transport::Transport;

pub const VERSION_1: u64 = 1 << 32;
pub const BLK_SEG_MAX: u64 = 1 << 2;
pub const BLK_RO: u64 = 1 << 5;
pub const BLK_BLK_SIZE: u64 = 1 << 6;
pub const BLK_FLUSH: u64 = 1 << 9;
/// virtio-net (virtio 1.2 section 5.1.3): only MAC and STATUS are taken
/// (net.rs says why); the others are named for tests and messages.
pub const NET_CSUM: u64 = 1 << 0;
pub const NET_GUEST_CSUM: u64 = 1 << 1;
pub const NET_MTU: u64 = 1 << 3;
pub const NET_MAC: u64 = 1 << 5;
pub const NET_GUEST_TSO4: u64 = 1 << 7;
pub const NET_MRG_RXBUF: u64 = 1 << 15;
pub const NET_STATUS: u64 = 1 << 16;
pub const NET_CTRL_VQ: u64 = 1 << 17;
/// virtio-balloon (virtio 1.2 section 5.5.3): only REPORTING is driven;
/// STATS_VQ is accepted to agree on queue numbers (balloon.rs says why).
pub const BALLOON_STATS_VQ: u64 = 1 << 1;
pub const BALLOON_FREE_PAGE_HINT: u64 = 1 << 3;
pub const BALLOON_PAGE_POISON: u64 = 1 << 4;
pub const BALLOON_REPORTING: u64 = 1 << 5;

pub mod status {
    pub const ACKNOWLEDGE: u8 = 1;
    pub const DRIVER: u8 = 2;
    pub const DRIVER_OK: u8 = 4;
    pub const FEATURES_OK: u8 = 8;
    pub const NEEDS_RESET: u8 = 0x40;
    pub const FAILED: u8 = 0x80;
}

/// Negotiates: returns the features both sides use, a subset of `wanted`
/// (which must hold VERSION_1: we drive modern devices only).
pub fn negotiate<T: Transport + ?Sized>(t: &mut T, wanted: u64) -> Result<u64> {
    t.reset()?;
    t.set_status(status::ACKNOWLEDGE | status::DRIVER);
    let offered = t.device_features();
    if offered & VERSION_1 == 0 {
        t.set_status(status::FAILED);
        return Err(Error::NotModern);
    }
    let accepted = offered & (wanted | VERSION_1);
    t.set_driver_features(accepted);
    t.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
    if t.status() & status::FEATURES_OK == 0 {
        t.set_status(status::FAILED);
        return Err(Error::FeaturesRejected);
    }
    Ok(accepted)
}

/// Sets DRIVER_OK and checks the device did not fail on the way.
pub fn driver_ok<T: Transport + ?Sized>(t: &mut T) -> Result<()> {
    t.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK);
    if t.status() & (status::NEEDS_RESET | status::FAILED) != 0 {
        return Err(Error::DeviceFailed);
    }
    Ok(())
}
