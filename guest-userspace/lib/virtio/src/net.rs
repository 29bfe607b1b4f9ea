//! A virtio-net driver (virtio 1.2 section 5.1) over any [`Transport`],
//! modern devices only: one receive queue (0) kept full of posted buffers,
//! one transmit queue (1) whose buffers are recycled as the device
//! completes them, many frames in flight each way, the MAC address and
//! link state from config space.
//!
//! Features taken: VERSION_1, MAC (the address the VMM gave), STATUS (link
//! up/down, re-read on a config-change interrupt). Not taken, on purpose:
//! - MRG_RXBUF: it only pays with large receive offloads (GUEST_TSO4/6),
//!   which we do not take either; without them a frame is at most 1514
//!   bytes and fits one 2 KiB buffer. (The modern header is 12 bytes
//!   either way.)
//! - CSUM / GUEST_CSUM: offloading checksums needs `csum_start` and
//!   `csum_offset` filled per sent packet, and received packets may then
//!   come with a partial checksum (NEEDS_CSUM) the driver must finish.
//!   smoltcp computes and checks checksums in software; moving that to the
//!   device is throughput work for later, with the segmentation offloads.
//! - MTU, CTRL_VQ, MQ, GSO and the rest: nothing here uses them.
//!
//! Every buffer is one descriptor holding the 12-byte header and the frame
//! (modern devices accept any layout). Received frames are read in place
//! ([`Received::frame`]) and go back to the device when the [`Received`]
//! is dropped; a frame to send is written in place ([`TxSlot::frame_mut`],
//! then [`TxSlot::send`]).
//! Notifications are batched: [`Net::flush`] kicks each queue that got new
//! buffers since the last call, unless the device said it needs no kick.
//!
//! A lying device (queue size 0, used ids or lengths out of range, a frame
//! longer than its buffer or shorter than the header, a header with offloads
//! we did not negotiate, a multicast or zero MAC) gets an [`Error`].
use crate::dma::DmaRegion;
use crate::error::{Error, Result};
use crate::features::{self, NET_GUEST_CSUM, NET_MAC, NET_STATUS};
use crate::queue::{self, Buf, SplitQueue};
use crate::transport::{config_snapshot, Transport};

#[cfg(test)]
mod tests;

/// The virtio device type of a network card.
pub const VIRTIO_NET: u32 = 1;
/// `struct virtio_net_hdr` of a modern device (num_buffers included).
pub const HDR_LEN: usize = 12;
/// The largest Ethernet frame (without FCS) we send: 1500 bytes of IP.
pub const MAX_FRAME: usize = 1514;
/// Bytes per buffer slot. A receive buffer offers the device the whole
/// slot (header and frame, at least the 1526 bytes the spec asks for).
pub const BUF_STRIDE: u64 = 2048;
/// Buffers per direction the server allocates (the driver takes what the
/// memory holds, up to the queue size).
pub const RX_BUFS: u16 = 128;
pub const TX_BUFS: u16 = 128;
const RX_Q: u16 = 0;
const TX_Q: u16 = 1;
const HDR_F_NEEDS_CSUM: u8 = 1;
const GSO_NONE: u8 = 0;
const STATUS_LINK_UP: u32 = 1;
const NO_BUF: u16 = u16::MAX;

/// The DMA memory a [`Net`] runs in: the two rings (zeroed,
/// [`queue::layout`] of [`queue::MAX_SIZE`] each is always enough) and the
/// buffers of each direction ([`BUF_STRIDE`] bytes per buffer).
pub struct NetMem {
    pub rx_queue: DmaRegion,
    pub tx_queue: DmaRegion,
    pub rx_bufs: DmaRegion,
    pub tx_bufs: DmaRegion,
}

/// One direction's queue and which buffer each chain in flight holds.
struct Ring {
    q: SplitQueue,
    head_buf: [u16; queue::MAX_SIZE as usize],
    /// Buffers in this direction.
    count: u16,
    /// Chains added since the last notification.
    added: bool,
    /// A buffer could not go back to the device (sticky; see [`Net::error`]).
    error: Option<Error>,
}

impl Ring {
    fn new(q: SplitQueue, count: u16) -> Self {
        Ring { q, head_buf: [NO_BUF; queue::MAX_SIZE as usize], count, added: false, error: None }
    }

    /// Offers buffer `buf` of `mem` (its whole slot if `writable`, else
    /// its first `len` bytes) to the device.
    fn post(&mut self, mem: &DmaRegion, buf: u16, len: u32, writable: bool) -> Result<()> {
        let at = mem.slice(u64::from(buf) * BUF_STRIDE, len).ok_or(Error::BadBuffer)?;
        let head = self.q.add(&[Buf { at, writable }])?;
        self.head_buf[usize::from(head)] = buf;
        self.added = true;
        Ok(())
    }

    /// The next buffer the device is done with: (buffer, bytes written).
    fn pop(&mut self) -> Result<Option<(u16, u32)>> {
        let Some((head, len)) = self.q.pop_used()? else { return Ok(None) };
        match core::mem::replace(&mut self.head_buf[usize::from(head)], NO_BUF) {
            NO_BUF => Err(Error::NotInFlight(head)),
            buf => Ok(Some((buf, len))),
        }
    }
}

pub struct Net<T> {
    t: T,
    rx: Ring,
    tx: Ring,
    rx_mem: DmaRegion,
    tx_mem: DmaRegion,
    /// Transmit buffers not in flight, as a stack.
    tx_free: [u16; queue::MAX_SIZE as usize],
    tx_free_len: u16,
    features: u64,
    mac: Option<[u8; 6]>,
    link_up: bool,
}

impl<T: Transport> Net<T> {
    /// Drives the device to DRIVER_OK with every receive buffer posted.
    pub fn new(mut t: T, mem: NetMem) -> Result<Self> {
        if t.device_type() != VIRTIO_NET {
            return Err(Error::WrongDevice(t.device_type()));
        }
        let features = features::negotiate(&mut t, NET_MAC | NET_STATUS)?;
        let mut queue = |q: u16, m: DmaRegion, bufs: &DmaRegion| -> Result<Ring> {
            let size = queue::choose_size(t.queue_max(q)).ok_or(Error::QueueUnavailable(q))?;
            let sq = SplitQueue::new(m, size)?;
            t.queue_setup(q, size, sq.addrs())?;
            let count = (bufs.len() / BUF_STRIDE).min(u64::from(size)) as u16;
            if count == 0 {
                return Err(Error::BadBuffer);
            }
            Ok(Ring::new(sq, count))
        };
        let rx = queue(RX_Q, mem.rx_queue, &mem.rx_bufs)?;
        let tx = queue(TX_Q, mem.tx_queue, &mem.tx_bufs)?;
        let mut tx_free = [0u16; queue::MAX_SIZE as usize];
        for (i, b) in tx_free.iter_mut().enumerate().take(usize::from(tx.count)) {
            *b = i as u16;
        }
        let mut net = Net {
            t,
            tx_free_len: tx.count,
            rx,
            tx,
            rx_mem: mem.rx_bufs,
            tx_mem: mem.tx_bufs,
            tx_free,
            features,
            mac: None,
            link_up: true,
        };
        net.read_config()?;
        // Completed sends are reclaimed when buffers run out (Tx::reserve).
        net.tx.q.set_interrupts(false);
        for b in 0..net.rx.count {
            net.rx.post(&net.rx_mem, b, BUF_STRIDE as u32, true)?;
        }
        features::driver_ok(&mut net.t)?;
        net.flush();
        Ok(net)
    }

    /// MAC (bytes 0..6) and status (6..8) from config space, as one
    /// snapshot.
    fn read_config(&mut self) -> Result<()> {
        if self.features & (NET_MAC | NET_STATUS) == 0 {
            return Ok(());
        }
        let [lo, hi] = config_snapshot::<_, 2>(&self.t, 0)?;
        if self.features & NET_MAC != 0 {
            let (a, b) = (lo.to_le_bytes(), hi.to_le_bytes());
            let mac = [a[0], a[1], a[2], a[3], b[0], b[1]];
            // A group address or all zeros cannot be a card's own.
            if mac[0] & 1 != 0 || mac == [0; 6] {
                return Err(Error::BadConfig);
            }
            self.mac = Some(mac);
        }
        if self.features & NET_STATUS != 0 {
            self.link_up = (hi >> 16) & STATUS_LINK_UP != 0;
        }
        Ok(())
    }

    /// The features both sides use.
    pub fn features(&self) -> u64 {
        self.features
    }
    /// The device's MAC address (None: it offered none; the caller picks one).
    pub fn mac(&self) -> Option<[u8; 6]> {
        self.mac
    }
    /// Link state (always up without VIRTIO_NET_F_STATUS).
    pub fn link_up(&self) -> bool {
        self.link_up
    }
    /// Buffers posted for receiving, and transmit buffers in all.
    pub fn buffers(&self) -> (u16, u16) {
        (self.rx.count, self.tx.count)
    }
    /// Transmit buffers free now (completed sends not yet reclaimed aside).
    pub fn tx_free(&self) -> u16 {
        self.tx_free_len
    }
    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    /// A buffer that could not be given back to the device, if any.
    pub fn error(&self) -> Option<Error> {
        self.rx.error.or(self.tx.error)
    }

    /// Reads and acknowledges the interrupt status; on a config change
    /// re-reads the link state. Returns whether the link state changed.
    pub fn ack_interrupt(&mut self) -> Result<bool> {
        if self.t.ack_interrupt() & 2 == 0 {
            return Ok(false);
        }
        let was = self.link_up;
        self.read_config()?;
        Ok(was != self.link_up)
    }

    /// The receive and transmit sides, borrowed apart (a frame can be read
    /// in place while the reply is written).
    pub fn split(&mut self) -> (Rx<'_>, Tx<'_>) {
        let tx =
            Tx { ring: &mut self.tx, mem: &mut self.tx_mem, free: &mut self.tx_free, free_len: &mut self.tx_free_len };
        (Rx { ring: &mut self.rx, mem: &self.rx_mem, guest_csum: self.features & NET_GUEST_CSUM != 0 }, tx)
    }

    /// The next received frame, if any.
    pub fn receive(&mut self) -> Result<Option<Received<'_>>> {
        self.split().0.receive()
    }

    /// A free transmit buffer, if any (completed sends are reclaimed first).
    pub fn tx_slot(&mut self) -> Result<Option<TxSlot<'_>>> {
        self.split().1.reserve()
    }

    /// Tells the device about the buffers posted since the last call, one
    /// notification per queue at most.
    pub fn flush(&mut self) {
        for (q, ring) in [(RX_Q, &mut self.rx), (TX_Q, &mut self.tx)] {
            if core::mem::take(&mut ring.added) && ring.q.needs_notify() {
                self.t.notify(q);
            }
        }
    }
}

/// The receive side.
pub struct Rx<'a> {
    ring: &'a mut Ring,
    mem: &'a DmaRegion,
    guest_csum: bool,
}

impl<'a> Rx<'a> {
    /// The next frame the device delivered, checked.
    pub fn receive(self) -> Result<Option<Received<'a>>> {
        let Some((buf, len)) = self.ring.pop()? else { return Ok(None) };
        let at = u64::from(buf) * BUF_STRIDE;
        // The queue checked `len` against the buffer; a frame needs a header.
        let hdr = match self.mem.bytes(at, HDR_LEN) {
            Some(h) if len as usize >= HDR_LEN => h,
            _ => return Err(Error::BadUsedLen { id: buf, len }),
        };
        if hdr[0] & HDR_F_NEEDS_CSUM != 0 && !self.guest_csum || hdr[1] != GSO_NONE {
            return Err(Error::BadNetHeader);
        }
        Ok(Some(Received { ring: self.ring, mem: self.mem, buf, len: len as usize - HDR_LEN }))
    }
}

/// A received frame, read in place; dropping it gives the buffer back to
/// the device (posted at the next [`Net::flush`]).
pub struct Received<'a> {
    ring: &'a mut Ring,
    mem: &'a DmaRegion,
    buf: u16,
    len: usize,
}

impl Received<'_> {
    /// The Ethernet frame (without the virtio header).
    pub fn frame(&self) -> &[u8] {
        // In range: `receive` checked the length against the buffer.
        self.mem.bytes(u64::from(self.buf) * BUF_STRIDE + HDR_LEN as u64, self.len).unwrap_or(&[])
    }
}

impl Drop for Received<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.ring.post(self.mem, self.buf, BUF_STRIDE as u32, true) {
            self.ring.error.get_or_insert(e);
        }
    }
}

/// The transmit side.
pub struct Tx<'a> {
    ring: &'a mut Ring,
    mem: &'a mut DmaRegion,
    free: &'a mut [u16; queue::MAX_SIZE as usize],
    free_len: &'a mut u16,
}

impl<'a> Tx<'a> {
    /// Takes back every buffer the device has sent.
    fn reclaim(&mut self) -> Result<()> {
        while let Some((buf, _)) = self.ring.pop()? {
            self.free[usize::from(*self.free_len)] = buf;
            *self.free_len += 1;
        }
        Ok(())
    }

    /// A free buffer to send one frame from, or None while all are in
    /// flight. Dropping the slot unsent gives the buffer back.
    ///
    /// Completed sends are reclaimed only when no buffer is free, and the
    /// device interrupts for them only then: while every buffer is in
    /// flight the caller needs to hear when one comes back; otherwise a
    /// completion is no news.
    pub fn reserve(mut self) -> Result<Option<TxSlot<'a>>> {
        if *self.free_len == 0 {
            self.reclaim()?;
            if *self.free_len == 0 {
                self.ring.q.set_interrupts(true);
                // A completion between the reclaim and the flag raised no
                // interrupt: look once more.
                self.reclaim()?;
                if *self.free_len == 0 {
                    return Ok(None);
                }
            }
            self.ring.q.set_interrupts(false);
        }
        *self.free_len -= 1;
        let buf = self.free[usize::from(*self.free_len)];
        Ok(Some(TxSlot { tx: self, buf, sent: false }))
    }
}

/// One transmit buffer, reserved.
pub struct TxSlot<'a> {
    tx: Tx<'a>,
    buf: u16,
    sent: bool,
}

impl TxSlot<'_> {
    /// The first `len` bytes of the buffer (at most [`MAX_FRAME`]), to
    /// write a frame into in place; the virtio header before them is set.
    pub fn frame_mut(&mut self, len: usize) -> Result<&mut [u8]> {
        if len > MAX_FRAME {
            return Err(Error::BadBuffer);
        }
        let at = u64::from(self.buf) * BUF_STRIDE;
        let bytes = self.tx.mem.bytes_mut(at, HDR_LEN + len).ok_or(Error::BadBuffer)?;
        // No offloads: an all-zero header (flags 0, GSO_NONE).
        bytes[..HDR_LEN].fill(0);
        Ok(&mut bytes[HDR_LEN..])
    }

    /// Queues the frame of `len` bytes written through
    /// [`frame_mut`](Self::frame_mut); the device hears at the next
    /// [`Net::flush`].
    pub fn send(mut self, len: usize) -> Result<()> {
        if len > MAX_FRAME {
            return Err(Error::BadBuffer);
        }
        self.tx.ring.post(self.tx.mem, self.buf, (HDR_LEN + len) as u32, false)?;
        self.sent = true;
        Ok(())
    }
}

impl Drop for TxSlot<'_> {
    fn drop(&mut self) {
        if !self.sent {
            self.tx.free[usize::from(*self.tx.free_len)] = self.buf;
            *self.tx.free_len += 1;
        }
    }
}
