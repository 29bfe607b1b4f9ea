//! virtio-net with a MAC and nothing else (no offloads, no merged RX
//! buffers): TX is served on the vCPU thread that notified, RX by a thread
//! that waits for the backend and for RX buffers.
//!
//! Frames are bounded by Ethernet: one longer than [`MAX_FRAME`] from the
//! backend or the guest is dropped (and counted), like a wire would. A TX
//! chain shorter than the 12-byte header, or an RX buffer too small for the
//! frame at hand (the driver owes 1526 bytes without MRG_RXBUF), fails the
//! device.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use virtio_bindings::virtio_ids::VIRTIO_ID_NET;
use virtio_bindings::virtio_net::VIRTIO_NET_F_MAC;
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;

use super::backend::{Backend, NetArgs};
use super::core::{Failure, Transport, VirtioDevice, F_VERSION_1};
use super::queue::VirtQueue;
use super::state::DeviceKind;

/// virtio_net_hdr_v1 (VERSION_1 always has num_buffers).
pub const HDR_LEN: usize = 12;
/// The longest frame carried: 1514 plus a VLAN tag.
pub const MAX_FRAME: usize = 1518;
/// QEMU's default MAC, which the tests know.
pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const RX: u16 = 0;
const TX: u16 = 1;

#[derive(Default)]
pub struct Counters {
    pub tx_frames: AtomicU64,
    pub rx_frames: AtomicU64,
    /// Too long, or the backend could not take or give them.
    pub dropped: AtomicU64,
}

pub struct Net {
    backend: Arc<Backend>,
    /// What `backend` was opened from, for a snapshot to reopen.
    pub args: NetArgs,
    /// Written when the driver notifies the RX queue (new buffers).
    rx_kick: Arc<EventFd>,
    pub counters: Arc<Counters>,
}

impl Net {
    pub fn new(backend: Arc<Backend>) -> std::io::Result<Net> {
        Ok(Net {
            backend,
            args: NetArgs::Loopback,
            rx_kick: Arc::new(EventFd::new(libc::EFD_NONBLOCK)?),
            counters: Arc::default(),
        })
    }

    fn transmit(&mut self, queue: &mut VirtQueue, mem: &GuestMemoryMmap) -> Result<bool, Failure> {
        let qe = |e| Failure::Queue(TX, e);
        let mut used = false;
        let mut buf = [0u8; HDR_LEN + MAX_FRAME];
        while let Some(c) = queue.pop(mem).map_err(qe)? {
            let len = c.len(false);
            if len < HDR_LEN as u64 {
                return Err(Failure::Request(TX, format!("TX chain {} shorter than the 12-byte header", c.head)));
            }
            if len > buf.len() as u64 {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                let n = c.read_at(mem, 0, &mut buf[..len as usize]).map_err(qe)?;
                match self.backend.send(buf.get(HDR_LEN..n).unwrap_or_default()) {
                    Ok(()) => self.counters.tx_frames.fetch_add(1, Ordering::Relaxed),
                    Err(_) => self.counters.dropped.fetch_add(1, Ordering::Relaxed),
                };
            }
            queue.add_used(mem, c.head, 0).map_err(qe)?;
            used = true;
        }
        Ok(used)
    }

    /// Put `frame` into the next RX buffer. Ok(false): no buffer yet.
    fn receive(&mut self, queues: &mut [VirtQueue], mem: &GuestMemoryMmap, frame: &[u8]) -> Result<bool, Failure> {
        let qe = |e| Failure::Queue(RX, e);
        let queue = queues.get_mut(usize::from(RX)).ok_or(Failure::NoSuchQueue(0))?;
        if !queue.ready() {
            return Ok(false);
        }
        let Some(c) = queue.pop(mem).map_err(qe)? else {
            return Ok(false);
        };
        let room = c.len(true);
        if room < (HDR_LEN + frame.len()) as u64 {
            return Err(Failure::Request(
                RX,
                format!("RX buffer {} of {room} bytes cannot hold a {}-byte frame and its header", c.head, frame.len()),
            ));
        }
        let mut hdr = [0u8; HDR_LEN];
        hdr[10] = 1; // num_buffers
        c.write_at(mem, 0, &hdr).map_err(qe)?;
        c.write_at(mem, HDR_LEN as u64, frame).map_err(qe)?;
        queue.add_used(mem, c.head, (HDR_LEN + frame.len()) as u32).map_err(qe)?;
        self.counters.rx_frames.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

impl VirtioDevice for Net {
    fn name(&self) -> &'static str {
        "virtio-net"
    }

    fn device_type(&self) -> u32 {
        VIRTIO_ID_NET
    }

    fn features(&self) -> u64 {
        F_VERSION_1 | 1 << VIRTIO_NET_F_MAC
    }

    fn queue_count(&self) -> usize {
        2
    }

    /// mac, then status (link up; only read with VIRTIO_NET_F_STATUS).
    fn config(&self) -> Vec<u8> {
        let mut c = MAC.to_vec();
        c.extend_from_slice(&1u16.to_le_bytes());
        c
    }

    fn kind(&self) -> Option<DeviceKind> {
        Some(DeviceKind::Net { backend: self.args.clone(), mac: MAC })
    }

    fn restore_kind(&mut self, kind: &DeviceKind) -> Result<(), String> {
        match kind {
            DeviceKind::Net { mac, .. } if *mac != MAC => {
                Err(format!("MAC {mac:02x?} saved, this card has {MAC:02x?}"))
            }
            DeviceKind::Net { .. } => Ok(()),
            other => Err(format!("a {} was saved here", other.name())),
        }
    }

    fn notify(&mut self, q: u16, queues: &mut [VirtQueue], mem: &GuestMemoryMmap) -> Result<bool, Failure> {
        match q {
            RX => {
                // Cannot fail but on counter overflow, when a kick is pending anyway.
                let _ = self.rx_kick.write(1);
                Ok(false)
            }
            TX => {
                let queue = queues.get_mut(usize::from(TX)).ok_or(Failure::NoSuchQueue(1))?;
                self.transmit(queue, mem)
            }
            _ => Err(Failure::NoSuchQueue(u32::from(q))),
        }
    }
}

/// Start the RX thread of `card`: it reads frames from the backend and
/// hands each to the guest once an RX buffer is there.
pub fn spawn_rx<T: Transport<Net> + 'static>(card: Arc<Mutex<T>>) -> std::io::Result<()> {
    let (backend, kick, counters) = {
        let mut t = card.lock().unwrap_or_else(|e| e.into_inner());
        let d = &t.core().device;
        (d.backend.clone(), d.rx_kick.clone(), d.counters.clone())
    };
    // Idle: a frame or new buffers wake the thread. With a frame in hand
    // only new buffers do (the backend stays readable, so waiting on it
    // would spin).
    let idle = Epoll::new()?;
    idle.ctl(ControlOperation::Add, backend.fd(), EpollEvent::new(EventSet::IN, 0))?;
    idle.ctl(ControlOperation::Add, kick.as_raw_fd(), EpollEvent::new(EventSet::IN, 1))?;
    let holding = Epoll::new()?;
    holding.ctl(ControlOperation::Add, kick.as_raw_fd(), EpollEvent::new(EventSet::IN, 1))?;
    std::thread::Builder::new().name("net-rx".into()).spawn(move || {
        let mut buf = vec![0u8; MAX_FRAME + 1];
        let mut pending: Option<usize> = None;
        let mut events = [EpollEvent::default(); 2];
        loop {
            // Drained before the delivery attempt: a kick after it wakes the wait below.
            let _ = kick.read();
            if pending.is_none() {
                match backend.recv(&mut buf) {
                    Ok(Some(n)) if n > MAX_FRAME => {
                        counters.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Ok(Some(n)) => pending = Some(n),
                    Ok(None) => {}
                    // A backend that broke for good (a tap taken down): stop reading.
                    Err(e) => {
                        eprintln!("vmm-harness: virtio-net: backend read failed: {e}; no more frames to the guest");
                        return;
                    }
                }
            }
            if let Some(n) = pending {
                let mut t = card.lock().unwrap_or_else(|e| e.into_inner());
                if t.core().run(RX, |dev, queues, mem| dev.receive(queues, mem, &buf[..n])) {
                    pending = None;
                    continue;
                }
            }
            // The timeout covers a driver that is not up yet (no kick then).
            let epoll = if pending.is_some() { &holding } else { &idle };
            let _ = epoll.wait(100, &mut events);
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::virtio::backend::NetArgs;
    use crate::devices::virtio::irq::{Interrupt, Irq};
    use crate::devices::virtio::mmio::tests::{bring_up, r, w};
    use crate::devices::virtio::mmio::MmioTransport;
    use crate::devices::virtio::queue::tests::{desc, ram};
    use crate::devices::virtio::queue::QueueError;
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::{Bytes, GuestAddress};

    const WRITE: u16 = 2;

    fn card() -> (GuestMemoryMmap, Arc<Mutex<MmioTransport<Net>>>, Arc<Backend>) {
        let mem = ram();
        let backend = Arc::new(Backend::open(&NetArgs::Loopback).unwrap());
        let net = Net::new(backend.clone()).unwrap();
        let t = MmioTransport::new(net, 0xc000_2000, mem.clone(), Irq::Line(Interrupt::detached()), 256);
        (mem, Arc::new(Mutex::new(t)), backend)
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("timed out waiting for {what}");
    }

    /// DRIVER_OK with RX on `rxq` and TX on `txq`.
    fn two_queues(
        t: &mut MmioTransport<Net>,
        rxq: &MockSplitQueue<GuestMemoryMmap>,
        txq: &MockSplitQueue<GuestMemoryMmap>,
    ) {
        bring_up(t, rxq, &[0], 16);
        w(t, 0x030, 1);
        w(t, 0x038, 16);
        for (i, a) in [txq.desc_table_addr(), txq.avail_addr(), txq.used_addr()].iter().enumerate() {
            w(t, 0x080 + 0x10 * i as u64, a.0 as u32);
        }
        w(t, 0x044, 1);
        assert_eq!(t.failure(), None);
    }

    /// The guest sends a frame on TX; the loopback returns it on RX.
    #[test]
    fn a_frame_goes_out_and_comes_back() {
        let (mem, card, _) = card();
        let rxq = MockSplitQueue::create(&mem, GuestAddress(0x1_0000), 16);
        let txq = MockSplitQueue::create(&mem, GuestAddress(0x2_0000), 16);
        {
            let mut t = card.lock().unwrap();
            let mut b = [0u8; 6];
            t.read(0x100, &mut b);
            assert_eq!(b, MAC);
            two_queues(&mut t, &rxq, &txq);
            assert_eq!(t.failure(), None);
        }
        spawn_rx(card.clone()).unwrap();
        let frame: Vec<u8> = (0..60u8).collect();
        let mut out = vec![0u8; HDR_LEN];
        out.extend_from_slice(&frame);
        mem.write_slice(&out, GuestAddress(0x8000)).unwrap();
        txq.add_desc_chains(&[desc(0x8000, out.len() as u32, 0, 0)], 0).unwrap();
        // One RX buffer of 2048 bytes, then TX.
        rxq.add_desc_chains(&[desc(0x9000, 2048, WRITE, 0)], 0).unwrap();
        {
            let mut t = card.lock().unwrap();
            w(&mut t, 0x050, 0);
            w(&mut t, 0x050, 1);
            assert_eq!(txq.used().idx().load(), 1);
        }
        wait_for("the frame on RX", || rxq.used().idx().load() == 1);
        let elem = rxq.used().ring().ref_at(0).unwrap().load();
        assert_eq!(elem.len() as usize, HDR_LEN + frame.len());
        let mut got = vec![0u8; frame.len()];
        mem.read_slice(&mut got, GuestAddress(0x9000 + HDR_LEN as u64)).unwrap();
        assert_eq!(got, frame);
        let mut t = card.lock().unwrap();
        assert_eq!(r(&mut t, 0x060) & 1, 1, "used-buffer interrupt");
        assert_eq!(t.core.device.counters.tx_frames.load(Ordering::Relaxed), 1);
        assert_eq!(t.core.device.counters.rx_frames.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn oversized_frames_are_dropped_and_bad_chains_fail_the_device() {
        let (mem, card, backend) = card();
        let rxq = MockSplitQueue::create(&mem, GuestAddress(0x1_0000), 16);
        let txq = MockSplitQueue::create(&mem, GuestAddress(0x2_0000), 16);
        let mut t = card.lock().unwrap();
        two_queues(&mut t, &rxq, &txq);
        // TX of 12 + 2000 bytes: dropped, not sent, the chain returned.
        txq.add_desc_chains(&[desc(0x8000, (HDR_LEN + 2000) as u32, 0, 0)], 0).unwrap();
        w(&mut t, 0x050, 1);
        assert_eq!(txq.used().idx().load(), 1);
        assert_eq!(t.core.device.counters.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(backend.recv(&mut [0u8; 4096]).unwrap(), None);
        assert_eq!(t.failure(), None);
        // An RX buffer too small for the frame.
        rxq.add_desc_chains(&[desc(0x9000, 20, WRITE, 0)], 0).unwrap();
        assert!(!t.core.run(RX, |d, q, m| d.receive(q, m, &[0u8; 60])));
        assert!(matches!(t.failure(), Some(Failure::Request(0, m)) if m.contains("cannot hold")));
        // A TX chain without a whole header.
        w(&mut t, 0x070, 0);
        let q2 = MockSplitQueue::create(&mem, GuestAddress(0x3_0000), 16);
        bring_up(&mut t, &q2, &[0, 1], 16);
        q2.add_desc_chains(&[desc(0x8000, 4, 0, 0)], 0).unwrap();
        w(&mut t, 0x050, 1);
        assert!(matches!(t.failure(), Some(Failure::Request(1, m)) if m.contains("header")));
        // A looping TX chain.
        w(&mut t, 0x070, 0);
        let q3 = MockSplitQueue::create(&mem, GuestAddress(0x4_0000), 16);
        bring_up(&mut t, &q3, &[0, 1], 16);
        q3.add_desc_chains(&[desc(0x8000, 4, 1, 0)], 0).unwrap();
        w(&mut t, 0x050, 1);
        assert!(matches!(t.failure(), Some(Failure::Queue(1, QueueError::Unterminated { .. }))));
    }
}
