//! smoltcp's `phy::Device` over the virtio-net driver: frames are parsed
//! in the receive buffer they arrived in and built in the transmit buffer
//! they leave from (no copies here). A receive hands smoltcp a transmit
//! buffer too (for the reply), so it happens only while one is free: with
//! every transmit buffer in flight, received frames wait in their ring
//! until the device gives one back (its completion interrupt wakes us).
//!
//! A device error (the driver caught it lying) is kept in `error`; from
//! then on the device gets no more traffic (the thread reports it once).
use alloc::vec;
use smoltcp::phy::{Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use vireo_virtio::net::{Net, Received, TxSlot, MAX_FRAME};
use vireo_virtio::sys::AnyTransport;
use vireo_virtio::Error;

pub struct VirtioPhy {
    pub net: Net<AnyTransport>,
    pub error: Option<Error>,
    /// A receive or transmit found every transmit buffer in flight.
    pub tx_blocked: bool,
    /// Frames handed to smoltcp, and frames it sent.
    pub rx_frames: u64,
    pub tx_frames: u64,
}

impl VirtioPhy {
    pub fn new(net: Net<AnyTransport>) -> Self {
        VirtioPhy { net, error: None, tx_blocked: false, rx_frames: 0, tx_frames: 0 }
    }

    fn slot<'a>(tx: vireo_virtio::net::Tx<'a>, error: &mut Option<Error>, blocked: &mut bool) -> Option<TxSlot<'a>> {
        match tx.reserve() {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                *blocked = true;
                None
            }
            Err(e) => {
                error.get_or_insert(e);
                None
            }
        }
    }
}

impl Device for VirtioPhy {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if self.error.is_some() {
            return None;
        }
        let (rx, tx) = self.net.split();
        let slot = Self::slot(tx, &mut self.error, &mut self.tx_blocked)?;
        match rx.receive() {
            Ok(Some(frame)) => {
                self.rx_frames += 1;
                Some((RxToken(frame), TxToken { slot, error: &mut self.error, sent: &mut self.tx_frames }))
            }
            Ok(None) => None,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        if self.error.is_some() {
            return None;
        }
        let tx = self.net.split().1;
        let slot = Self::slot(tx, &mut self.error, &mut self.tx_blocked)?;
        Some(TxToken { slot, error: &mut self.error, sent: &mut self.tx_frames })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}

pub struct RxToken<'a>(Received<'a>);

impl smoltcp::phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        // Dropping `self` afterwards posts the buffer back to the device.
        f(self.0.frame())
    }
}

pub struct TxToken<'a> {
    slot: TxSlot<'a>,
    error: &'a mut Option<Error>,
    sent: &'a mut u64,
}

impl smoltcp::phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, len: usize, f: F) -> R {
        match self.slot.frame_mut(len) {
            Ok(buf) => {
                let r = f(buf);
                match self.slot.send(len) {
                    Ok(()) => *self.sent += 1,
                    Err(e) => {
                        self.error.get_or_insert(e);
                    }
                }
                r
            }
            // Longer than the MTU we told smoltcp: cannot happen, but the
            // closure must run; its frame is dropped.
            Err(_) => f(&mut vec![0; len]),
        }
    }
}
