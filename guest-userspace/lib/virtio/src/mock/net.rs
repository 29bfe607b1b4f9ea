//! A virtio-net device in plain memory (host tests only): it delivers
//! queued frames into the posted receive buffers, records what the driver
//! sends, and can be told to lie (used ids and lengths, frames longer than
//! their buffer, headers with offloads nobody negotiated, config space).
use super::{rd, wr};
use crate::error::Result;
use crate::features::{self, NET_CSUM, NET_GUEST_CSUM, NET_MAC, NET_MRG_RXBUF, NET_STATUS, VERSION_1};
use crate::transport::{QueueAddrs, Transport};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetLie {
    None,
    /// Report this id for the next used entry (receive side).
    RxUsedId(u32),
    /// Report this length for a received frame.
    RxUsedLen(u32),
    /// Advance the receive used index by this much more than it served.
    RxUsedIdxJump(u16),
    /// Put these header flags and GSO type on received frames.
    RxHeader {
        flags: u8,
        gso: u8,
    },
    /// Report this length for a sent frame (the device writes nothing).
    TxUsedLen(u32),
}

pub struct NetState {
    pub offered: u64,
    pub accepted: u64,
    pub status: u8,
    pub queue_max: [u16; 2],
    pub q: [Option<(u16, QueueAddrs)>; 2],
    /// Device config space, read as little-endian dwords.
    pub config: Vec<u8>,
    pub generation: u32,
    /// The generation moves on every read (config never settles).
    pub unstable: bool,
    pub isr: u8,
    /// Frames waiting for a receive buffer.
    pub inbound: VecDeque<Vec<u8>>,
    /// Frames the driver sent (header stripped), and their headers.
    pub sent: Vec<Vec<u8>>,
    pub sent_headers: Vec<Vec<u8>>,
    pub lie: NetLie,
    /// Complete sends as soon as they are notified.
    pub auto_tx: bool,
    pub notifies: [u32; 2],
    /// Used-ring flags to show the driver (1: no notification wanted).
    pub used_flags: u16,
    last_avail: [u16; 2],
    used_idx: [u16; 2],
}

#[derive(Clone)]
pub struct MockNet(pub Rc<RefCell<NetState>>);

impl MockNet {
    /// A card offering MAC, STATUS and some features the driver must not
    /// take; link up.
    pub fn new() -> Self {
        let mut config = MAC.to_vec();
        config.extend_from_slice(&[1, 0, 1, 0, 0xdc, 0x05]);
        MockNet(Rc::new(RefCell::new(NetState {
            offered: VERSION_1 | NET_MAC | NET_STATUS | NET_CSUM | NET_GUEST_CSUM | NET_MRG_RXBUF,
            accepted: 0,
            status: 0,
            queue_max: [256, 256],
            q: [None, None],
            config,
            generation: 0,
            unstable: false,
            isr: 0,
            inbound: VecDeque::new(),
            sent: Vec::new(),
            sent_headers: Vec::new(),
            lie: NetLie::None,
            auto_tx: true,
            notifies: [0; 2],
            used_flags: 0,
            last_avail: [0; 2],
            used_idx: [0; 2],
        })))
    }
}

impl NetState {
    /// The next chain made available on queue `q`: its descriptors.
    fn next_avail(&mut self, q: usize) -> Option<(u16, Vec<(u64, u32)>)> {
        let (size, a) = self.q[q]?;
        if self.last_avail[q] == rd::<u16>(a.avail + 2) {
            return None;
        }
        let size = u64::from(size);
        let head: u16 = rd(a.avail + 4 + 2 * (u64::from(self.last_avail[q]) % size));
        self.last_avail[q] = self.last_avail[q].wrapping_add(1);
        let mut descs = Vec::new();
        let mut d = u64::from(head);
        loop {
            let at = a.desc + 16 * d;
            descs.push((rd::<u64>(at), rd::<u32>(at + 8)));
            if rd::<u16>(at + 12) & 1 == 0 {
                break;
            }
            d = u64::from(rd::<u16>(at + 14));
        }
        Some((head, descs))
    }

    fn push_used(&mut self, q: usize, id: u32, len: u32, jump: u16) {
        let Some((size, a)) = self.q[q] else { return };
        let elem = a.used + 4 + 8 * (u64::from(self.used_idx[q]) % u64::from(size));
        wr(elem, id);
        wr(elem + 4, len);
        self.used_idx[q] = self.used_idx[q].wrapping_add(1).wrapping_add(jump);
        wr(a.used, self.used_flags);
        wr(a.used + 2, self.used_idx[q]);
        self.isr |= 1;
    }

    /// Moves queued frames into posted receive buffers (as many as fit).
    pub fn deliver(&mut self) {
        while !self.inbound.is_empty() {
            let Some((head, descs)) = self.next_avail(0) else { return };
            let frame = self.inbound.pop_front().unwrap_or_default();
            let (pa, cap) = descs[0];
            let (flags, gso) = match self.lie {
                NetLie::RxHeader { flags, gso } => (flags, gso),
                _ => (0, 0),
            };
            let mut bytes = vec![flags, gso, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
            bytes.extend_from_slice(&frame);
            // A real device writes no more than the buffer holds; a lying
            // one may still report the whole frame's length.
            for (i, b) in bytes.iter().take(cap as usize).enumerate() {
                wr(pa + i as u64, *b);
            }
            let (mut id, mut len, mut jump) = (u32::from(head), bytes.len() as u32, 0);
            match self.lie {
                NetLie::RxUsedId(i) => id = i,
                NetLie::RxUsedLen(l) => len = l,
                NetLie::RxUsedIdxJump(j) => jump = j,
                _ => {}
            }
            self.push_used(0, id, len, jump);
        }
    }

    /// Sends every frame the driver made available.
    pub fn serve_tx(&mut self) {
        while let Some((head, descs)) = self.next_avail(1) {
            let mut bytes = Vec::new();
            for (pa, len) in descs {
                bytes.extend((0..u64::from(len)).map(|i| rd::<u8>(pa + i)));
            }
            let split = bytes.len().min(12);
            self.sent_headers.push(bytes[..split].to_vec());
            self.sent.push(bytes[split..].to_vec());
            let len = match self.lie {
                NetLie::TxUsedLen(l) => l,
                _ => 0,
            };
            self.push_used(1, u32::from(head), len, 0);
        }
    }

    /// Shows `flags` in both used rings now (1: no notification wanted).
    pub fn set_used_flags(&mut self, flags: u16) {
        self.used_flags = flags;
        for (_, a) in self.q.iter().flatten() {
            wr(a.used, flags);
        }
    }

    /// Changes the link state and raises a config-change interrupt.
    pub fn set_link(&mut self, up: bool) {
        self.config[6] = u8::from(up);
        self.generation += 1;
        self.isr |= 2;
    }
}

impl Transport for MockNet {
    fn device_type(&self) -> u32 {
        1
    }
    fn reset(&mut self) -> Result<()> {
        let mut s = self.0.borrow_mut();
        s.status = 0;
        s.q = [None, None];
        Ok(())
    }
    fn status(&self) -> u8 {
        self.0.borrow().status
    }
    fn set_status(&mut self, v: u8) {
        self.0.borrow_mut().status = v;
    }
    fn device_features(&mut self) -> u64 {
        self.0.borrow().offered
    }
    fn set_driver_features(&mut self, f: u64) {
        self.0.borrow_mut().accepted = f;
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        self.0.borrow().queue_max.get(usize::from(q)).copied().unwrap_or(0)
    }
    fn queue_setup(&mut self, q: u16, size: u16, addrs: QueueAddrs) -> Result<()> {
        if let Some(slot) = self.0.borrow_mut().q.get_mut(usize::from(q)) {
            *slot = Some((size, addrs));
        }
        Ok(())
    }
    fn notify(&mut self, q: u16) {
        let mut s = self.0.borrow_mut();
        if let Some(n) = s.notifies.get_mut(usize::from(q)) {
            *n += 1;
        }
        match q {
            0 => s.deliver(),
            _ if s.auto_tx => s.serve_tx(),
            _ => {}
        }
    }
    fn ack_interrupt(&mut self) -> u8 {
        core::mem::take(&mut self.0.borrow_mut().isr)
    }
    fn config_generation(&self) -> u32 {
        let mut s = self.0.borrow_mut();
        if s.unstable {
            s.generation += 1;
        }
        s.generation
    }
    fn config_len(&self) -> u64 {
        self.0.borrow().config.len() as u64
    }
    fn config_read32(&self, off: u64) -> u32 {
        let s = self.0.borrow();
        let b = |i: u64| s.config.get((off + i) as usize).copied().unwrap_or(0xff);
        u32::from_le_bytes([b(0), b(1), b(2), b(3)])
    }
}

/// Whether the driver set DRIVER_OK.
pub fn driver_ok(s: &NetState) -> bool {
    s.status & features::status::DRIVER_OK != 0
}
