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
    /// The interface counters (`/sys/net/eth0`, docs/network.md).
    pub counters: Counters,
}

/// What went through the card, counted here on the net thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Frames handed to smoltcp, and their bytes (Ethernet header on).
    pub rx_frames: u64,
    pub rx_bytes: u64,
    /// Received frames the stack drops unread: shorter than an Ethernet
    /// header, or neither IPv4 nor ARP (QEMU's IPv6 router adverts...).
    pub rx_dropped: u64,
    /// Frames sent, and their bytes.
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Times smoltcp had something to send (or a frame to answer) and every
    /// transmit buffer was in flight: it waits for the next poll.
    pub tx_busy: u64,
    /// Errors of the card the driver caught (the first one stops it).
    pub errors: u64,
}

impl VirtioPhy {
    pub fn new(net: Net<AnyTransport>) -> Self {
        VirtioPhy { net, error: None, tx_blocked: false, counters: Counters::default() }
    }

    fn slot<'a>(
        tx: vireo_virtio::net::Tx<'a>,
        error: &mut Option<Error>,
        blocked: &mut bool,
        counters: &mut Counters,
    ) -> Option<TxSlot<'a>> {
        match tx.reserve() {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                *blocked = true;
                counters.tx_busy += 1;
                None
            }
            Err(e) => {
                fail(error, counters, e);
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
        let c = &mut self.counters;
        let slot = Self::slot(tx, &mut self.error, &mut self.tx_blocked, c)?;
        match rx.receive() {
            Ok(Some(frame)) => {
                count_rx(c, frame.frame());
                Some((RxToken(frame), TxToken { slot, error: &mut self.error, counters: c }))
            }
            Ok(None) => None,
            Err(e) => {
                fail(&mut self.error, c, e);
                None
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        if self.error.is_some() {
            return None;
        }
        let tx = self.net.split().1;
        let c = &mut self.counters;
        let slot = Self::slot(tx, &mut self.error, &mut self.tx_blocked, c)?;
        Some(TxToken { slot, error: &mut self.error, counters: c })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}

/// The first error stops the card; count each one the driver reports.
fn fail(error: &mut Option<Error>, c: &mut Counters, e: Error) {
    c.errors += 1;
    error.get_or_insert(e);
}

fn count_rx(c: &mut Counters, frame: &[u8]) {
    c.rx_frames += 1;
    c.rx_bytes += frame.len() as u64;
    // EtherType at bytes 12-13: smoltcp (proto-ipv4 only) reads IPv4 and ARP.
    match frame.get(12..14) {
        Some([0x08, 0x00] | [0x08, 0x06]) => {}
        _ => c.rx_dropped += 1,
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
    counters: &'a mut Counters,
}

impl smoltcp::phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, len: usize, f: F) -> R {
        match self.slot.frame_mut(len) {
            Ok(buf) => {
                let r = f(buf);
                match self.slot.send(len) {
                    Ok(()) => {
                        self.counters.tx_frames += 1;
                        self.counters.tx_bytes += len as u64;
                    }
                    Err(e) => fail(self.error, self.counters, e),
                }
                r
            }
            // Longer than the MTU we told smoltcp: cannot happen, but the
            // closure must run; its frame is dropped.
            Err(_) => f(&mut vec![0; len]),
        }
    }
}
