//! Test doubles in plain memory (host tests only): DMA regions whose
//! physical address is their virtual one, and a virtio-blk device behind a
//! [`Transport`] that serves its queue from that memory and can be told
//! to lie (bad used ids and lengths, a used index that runs ahead, no
//! status byte, queue size 0, a config space that changes or never
//! settles). `net` is the same for virtio-net.
use crate::dma::DmaRegion;
use crate::error::Result;
use crate::features::{self, BLK_BLK_SIZE, BLK_FLUSH, BLK_RO, BLK_SEG_MAX, VERSION_1};
use crate::transport::{QueueAddrs, Transport};
use std::cell::RefCell;
use std::rc::Rc;

pub mod net;

/// `len` zeroed bytes that the "device" reads at the same address.
pub fn mem(len: u64) -> DmaRegion {
    let words = vec![0u64; len.div_ceil(8) as usize].leak();
    let va = words.as_mut_ptr() as u64;
    // SAFETY: a leaked allocation of `len` bytes, 8-aligned, used only through this region (and the mock device, standing for the hardware).
    unsafe { DmaRegion::new(va, va, len) }
}

fn rd<T: Copy>(pa: u64) -> T {
    // SAFETY: the driver under test put `pa` in its ring; in host tests it is the address of live memory from `mem`.
    unsafe { (pa as *const T).read_volatile() }
}
fn wr<T: Copy>(pa: u64, v: T) {
    // SAFETY: as for `rd`.
    unsafe { (pa as *mut T).write_volatile(v) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lie {
    None,
    /// Report this id instead of the chain's head.
    UsedId(u32),
    /// Report this length.
    UsedLen(u32),
    /// Advance the used index by this much more than it served.
    UsedIdxJump(u16),
    /// Leave the status byte as the driver put it.
    NoStatus,
    /// Answer every request with this status byte.
    Status(u8),
}

pub struct State {
    pub device_type: u32,
    pub offered: u64,
    pub accepted: u64,
    pub status: u8,
    pub reject_features: bool,
    pub queue_max: u16,
    pub q: Option<(u16, QueueAddrs)>,
    pub config: Vec<u32>,
    pub generation: u32,
    /// The generation moves on every read (config never settles).
    pub unstable: bool,
    pub isr: u8,
    pub disk: Vec<u8>,
    pub lie: Lie,
    /// Serve requests as soon as they are notified.
    pub auto: bool,
    pub notifies: u32,
    pub flushes: u32,
    last_avail: u16,
    used_idx: u16,
}

#[derive(Clone)]
pub struct MockBlk(pub Rc<RefCell<State>>);

impl MockBlk {
    /// A disk of `sectors` 512-byte sectors (only the first `backed`
    /// bytes exist; the rest reads as zeros and drops writes).
    pub fn new(sectors: u64, backed: usize) -> Self {
        let offered = VERSION_1 | BLK_FLUSH | BLK_BLK_SIZE | BLK_SEG_MAX | 1 << 3 | 1 << 40;
        let config = vec![sectors as u32, (sectors >> 32) as u32, 0, 126, 0, 512, 0, 0];
        MockBlk(Rc::new(RefCell::new(State {
            device_type: 2,
            offered,
            accepted: 0,
            status: 0,
            reject_features: false,
            queue_max: 1024,
            q: None,
            config,
            generation: 0,
            unstable: false,
            isr: 0,
            disk: vec![0; backed],
            lie: Lie::None,
            auto: true,
            notifies: 0,
            flushes: 0,
            last_avail: 0,
            used_idx: 0,
        })))
    }

    pub fn read_only(self) -> Self {
        self.0.borrow_mut().offered |= BLK_RO;
        self
    }
}

impl State {
    /// Serves every chain the driver has made available.
    pub fn serve(&mut self) {
        let Some((size, a)) = self.q else { return };
        let size = u64::from(size);
        while self.last_avail != rd::<u16>(a.avail + 2) {
            let head: u16 = rd(a.avail + 4 + 2 * (u64::from(self.last_avail) % size));
            self.last_avail = self.last_avail.wrapping_add(1);
            let mut descs = Vec::new();
            let mut d = u64::from(head);
            loop {
                let at = a.desc + 16 * d;
                let (pa, len, flags, next) = (rd::<u64>(at), rd::<u32>(at + 8), rd::<u16>(at + 12), rd::<u16>(at + 14));
                descs.push((pa, len));
                if flags & 1 == 0 {
                    break;
                }
                d = u64::from(next);
            }
            let written = self.execute(&descs);
            let (mut id, mut len) = (u32::from(head), written);
            match self.lie {
                Lie::UsedId(i) => id = i,
                Lie::UsedLen(l) => len = l,
                _ => {}
            }
            let elem = a.used + 4 + 8 * (u64::from(self.used_idx) % size);
            wr(elem, id);
            wr(elem + 4, len);
            self.used_idx = self.used_idx.wrapping_add(1);
            if let Lie::UsedIdxJump(j) = self.lie {
                self.used_idx = self.used_idx.wrapping_add(j);
            }
            wr(a.used + 2, self.used_idx);
        }
    }

    /// Does one request; returns the bytes written to the driver.
    fn execute(&mut self, descs: &[(u64, u32)]) -> u32 {
        let hdr = descs[0].0;
        let (kind, sector) = (rd::<u32>(hdr), rd::<u64>(hdr + 8));
        let status_pa = descs[descs.len() - 1].0;
        let mut written = 1;
        let mut status = 0u8;
        match (kind, descs.get(1).filter(|_| descs.len() == 3)) {
            (0, Some(&(pa, len))) => {
                for i in 0..u64::from(len) {
                    let b = self.disk.get((sector * 512 + i) as usize).copied().unwrap_or(0);
                    wr(pa + i, b);
                }
                written += len;
            }
            (1, Some(&(pa, len))) => {
                for i in 0..u64::from(len) {
                    if let Some(b) = self.disk.get_mut((sector * 512 + i) as usize) {
                        *b = rd(pa + i);
                    }
                }
            }
            (4, None) => self.flushes += 1,
            _ => status = 2,
        }
        match self.lie {
            Lie::NoStatus => {}
            Lie::Status(s) => wr(status_pa, s),
            _ => wr(status_pa, status),
        }
        written
    }

    /// Changes the capacity and raises a config-change interrupt.
    pub fn resize(&mut self, sectors: u64) {
        self.config[0] = sectors as u32;
        self.config[1] = (sectors >> 32) as u32;
        self.generation += 1;
        self.isr |= 2;
    }
}

impl Transport for MockBlk {
    fn device_type(&self) -> u32 {
        self.0.borrow().device_type
    }
    fn reset(&mut self) -> Result<()> {
        let mut s = self.0.borrow_mut();
        s.status = 0;
        s.q = None;
        Ok(())
    }
    fn status(&self) -> u8 {
        self.0.borrow().status
    }
    fn set_status(&mut self, v: u8) {
        let mut s = self.0.borrow_mut();
        s.status = if s.reject_features { v & !features::status::FEATURES_OK } else { v };
    }
    fn device_features(&mut self) -> u64 {
        self.0.borrow().offered
    }
    fn set_driver_features(&mut self, f: u64) {
        self.0.borrow_mut().accepted = f;
    }
    fn queue_max(&mut self, _q: u16) -> u16 {
        self.0.borrow().queue_max
    }
    fn queue_setup(&mut self, _q: u16, size: u16, addrs: QueueAddrs) -> Result<()> {
        self.0.borrow_mut().q = Some((size, addrs));
        Ok(())
    }
    fn notify(&mut self, _q: u16) {
        let mut s = self.0.borrow_mut();
        s.notifies += 1;
        if s.auto {
            s.serve();
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
        4 * self.0.borrow().config.len() as u64
    }
    fn config_read32(&self, off: u64) -> u32 {
        self.0.borrow().config.get(off as usize / 4).copied().unwrap_or(u32::MAX)
    }
}
