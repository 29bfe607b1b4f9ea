//! A split virtqueue as the device sees it, on `virtio-queue`: the driver's
//! settings (checked when it sets them and when the queue goes ready), and
//! the descriptor chains it offers, each walked whole and checked before a
//! device touches it: it must end, every buffer must lie in guest RAM, and
//! the avail index may not run ahead by more than the queue size. Anything
//! else is a [`QueueError`], which fails the device, never the harness.
//!
//! Self-contained (only external crates), so the fuzz target in
//! guest-kernel/parse/fuzz compiles this very file.

use std::num::Wrapping;
use std::sync::atomic::Ordering;

use virtio_queue::{Queue, QueueOwnedT, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

/// Longest chain a device accepts in bytes, over all its buffers (a
/// virtio-blk request of 16 MiB; net frames are far smaller).
pub const MAX_CHAIN_BYTES: u64 = 16 << 20;

/// Bad driver programming of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// QueueNum 0, above QueueNumMax, or not a power of two.
    BadSize(u32),
    /// A ring address that is misaligned, or a ring outside guest RAM.
    BadRings { desc: u64, avail: u64, used: u64 },
    /// Queue settings changed while the queue is ready.
    ChangedWhileReady,
    /// Used while not ready.
    NotReady,
    /// The avail index moved more than a queue's worth past the device.
    AvailIndex { avail: u16, next: u16, size: u16 },
    /// A chain head outside the descriptor table.
    BadHead { head: u16, size: u16 },
    /// A chain that does not end within the table (it loops, or is longer
    /// than the queue), or whose next index or indirect table is invalid.
    Unterminated { head: u16, size: u16 },
    /// A buffer outside guest RAM.
    OutsideRam { head: u16, addr: u64, len: u32 },
    /// More than [`MAX_CHAIN_BYTES`] (or the device's own limit) in one chain.
    TooLong { head: u16, bytes: u64, max: u64 },
    /// A readable buffer after a writable one (virtio 1.2, 2.7.4.2).
    ReadAfterWrite { head: u16 },
    /// Guest memory the rings live in could not be read or written.
    Memory(String),
}

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueError::BadSize(n) => write!(f, "invalid queue size {n}"),
            QueueError::BadRings { desc, avail, used } => {
                write!(f, "invalid ring addresses (desc {desc:#x}, avail {avail:#x}, used {used:#x})")
            }
            QueueError::ChangedWhileReady => write!(f, "queue settings written while the queue is ready"),
            QueueError::NotReady => write!(f, "queue used while not ready"),
            QueueError::AvailIndex { avail, next, size } => {
                write!(f, "avail index {avail} is more than {size} past {next}")
            }
            QueueError::BadHead { head, size } => write!(f, "chain head {head} outside a table of {size}"),
            QueueError::Unterminated { head, size } => {
                write!(f, "chain {head} does not end within {size} descriptors (loop or bad next)")
            }
            QueueError::OutsideRam { head, addr, len } => {
                write!(f, "chain {head} has a buffer {addr:#x}+{len:#x} outside guest RAM")
            }
            QueueError::TooLong { head, bytes, max } => {
                write!(f, "chain {head} is too long ({bytes} bytes, at most {max})")
            }
            QueueError::ReadAfterWrite { head } => write!(f, "chain {head} has a readable buffer after a writable one"),
            QueueError::Memory(e) => write!(f, "ring memory: {e}"),
        }
    }
}

fn mem_err(e: impl std::fmt::Display) -> QueueError {
    QueueError::Memory(e.to_string())
}

/// One buffer of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    pub addr: u64,
    pub len: u32,
    pub writable: bool,
}

/// A checked chain: its head (for the used ring) and its buffers, the
/// readable ones first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub head: u16,
    pub descs: Vec<Desc>,
}

impl Chain {
    /// Bytes the driver can read from / the device can write to.
    pub fn len(&self, writable: bool) -> u64 {
        self.descs.iter().filter(|d| d.writable == writable).map(|d| u64::from(d.len)).sum()
    }

    /// Copy the readable bytes from `offset` on into `buf`; returns how many there were.
    pub fn read_at(&self, mem: &GuestMemoryMmap, offset: u64, buf: &mut [u8]) -> Result<usize, QueueError> {
        self.each(false, offset, buf.len(), |addr, at, n| {
            mem.read_slice(&mut buf[at..at + n], GuestAddress(addr)).map_err(mem_err)
        })
    }

    /// Copy `buf` into the writable bytes from `offset` on; returns how many fit.
    pub fn write_at(&self, mem: &GuestMemoryMmap, offset: u64, buf: &[u8]) -> Result<usize, QueueError> {
        self.each(true, offset, buf.len(), |addr, at, n| {
            mem.write_slice(&buf[at..at + n], GuestAddress(addr)).map_err(mem_err)
        })
    }

    /// Calls `f(guest address, offset in the caller's buffer, length)` for
    /// the pieces of the `writable` stream covering `[offset, offset + len)`.
    fn each(
        &self,
        writable: bool,
        offset: u64,
        len: usize,
        mut f: impl FnMut(u64, usize, usize) -> Result<(), QueueError>,
    ) -> Result<usize, QueueError> {
        let mut skip = offset;
        let mut done = 0usize;
        for d in self.descs.iter().filter(|d| d.writable == writable) {
            if done == len {
                break;
            }
            let dlen = u64::from(d.len);
            if skip >= dlen {
                skip -= dlen;
                continue;
            }
            // Both bounded by `len` and by a u32 descriptor length.
            let n = ((dlen - skip) as usize).min(len - done);
            f(d.addr + skip, done, n)?;
            done += n;
            skip = 0;
        }
        Ok(done)
    }
}

/// A queue as a snapshot holds it ([`VirtQueue::state`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueState {
    pub size: u32,
    /// Descriptor table, driver ring, device ring.
    pub rings: [u64; 3],
    pub ready: bool,
    /// The next avail entry the device will take, and the next used entry it will fill.
    pub next_avail: u16,
    pub next_used: u16,
}

/// One virtqueue of a device: the driver's settings as written, handed
/// to `virtio-queue` (which checks them) when the queue goes ready.
pub struct VirtQueue {
    queue: Queue,
    max_size: u16,
    size: u32,
    /// Descriptor table, driver (avail) ring, device (used) ring.
    rings: [u64; 3],
}

impl VirtQueue {
    pub fn new(max_size: u16) -> Result<Self, QueueError> {
        let queue = Queue::new(max_size).map_err(|_| QueueError::BadSize(u32::from(max_size)))?;
        Ok(VirtQueue { queue, max_size, size: u32::from(max_size), rings: [0; 3] })
    }

    pub fn max_size(&self) -> u16 {
        self.max_size
    }

    /// The driver's queue size as last written (the maximum until then).
    pub fn size(&self) -> u32 {
        self.size
    }

    pub fn ready(&self) -> bool {
        self.queue.ready()
    }

    /// Back to the reset state (not ready, size max, addresses 0).
    pub fn reset(&mut self) {
        self.queue.reset();
        self.size = u32::from(self.max_size);
        self.rings = [0; 3];
    }

    fn unless_ready(&self) -> Result<(), QueueError> {
        if self.ready() {
            Err(QueueError::ChangedWhileReady)
        } else {
            Ok(())
        }
    }

    /// QueueNum; checked when the queue goes ready.
    pub fn set_size(&mut self, size: u32) -> Result<(), QueueError> {
        self.unless_ready()?;
        self.size = size;
        Ok(())
    }

    /// A ring address register: `ring` 0 descriptors, 1 driver, 2 device;
    /// `high` for the upper 32 bits. Checked when the queue goes ready.
    pub fn set_address(&mut self, ring: usize, high: bool, value: u32) -> Result<(), QueueError> {
        self.unless_ready()?;
        let r = self.rings.get_mut(ring).ok_or(QueueError::ChangedWhileReady)?;
        *r = if high { (*r & 0xffff_ffff) | u64::from(value) << 32 } else { (*r & !0xffff_ffff) | u64::from(value) };
        Ok(())
    }

    /// QueueReady: 1 checks the size and the rings (aligned, inside guest
    /// RAM) and starts the queue at index 0; 0 stops it.
    pub fn set_ready(&mut self, ready: bool, mem: &GuestMemoryMmap) -> Result<(), QueueError> {
        if !ready {
            self.queue.set_ready(false);
            return Ok(());
        }
        let size = u16::try_from(self.size).map_err(|_| QueueError::BadSize(self.size))?;
        self.queue.try_set_size(size).map_err(|_| QueueError::BadSize(self.size))?;
        let [desc, avail, used] = self.rings;
        let bad = || QueueError::BadRings { desc, avail, used };
        self.queue.try_set_desc_table_address(GuestAddress(desc)).map_err(|_| bad())?;
        self.queue.try_set_avail_ring_address(GuestAddress(avail)).map_err(|_| bad())?;
        self.queue.try_set_used_ring_address(GuestAddress(used)).map_err(|_| bad())?;
        self.queue.set_next_avail(0);
        self.queue.set_next_used(0);
        self.queue.set_ready(true);
        if !self.queue.is_valid(mem) {
            self.queue.set_ready(false);
            return Err(bad());
        }
        Ok(())
    }

    /// The next chain the driver offers, checked whole, or `None`.
    pub fn pop(&mut self, mem: &GuestMemoryMmap) -> Result<Option<Chain>, QueueError> {
        self.pop_up_to(mem, MAX_CHAIN_BYTES)
    }

    /// [`pop`](Self::pop) for a device whose chains may hold up to `max`
    /// bytes (a free-page report names up to 1 GiB it never copies).
    pub fn pop_up_to(&mut self, mem: &GuestMemoryMmap, max: u64) -> Result<Option<Chain>, QueueError> {
        if !self.ready() {
            return Err(QueueError::NotReady);
        }
        let size = self.queue.size();
        let avail = self.queue.avail_idx(mem, Ordering::Acquire).map_err(mem_err)?;
        let next = Wrapping(self.queue.next_avail());
        if avail == next {
            return Ok(None);
        }
        if (avail - next).0 > size {
            return Err(QueueError::AvailIndex { avail: avail.0, next: next.0, size });
        }
        let mut iter = self.queue.iter(mem).map_err(mem_err)?;
        let Some(chain) = iter.next() else {
            return Err(QueueError::Memory("avail ring unreadable".into()));
        };
        let head = chain.head_index();
        if head >= size {
            return Err(QueueError::BadHead { head, size });
        }
        let mut descs = Vec::new();
        let mut bytes = 0u64;
        let mut open = true;
        for d in chain {
            let desc = Desc { addr: d.addr().0, len: d.len(), writable: d.is_write_only() };
            if !desc.writable && descs.last().is_some_and(|p: &Desc| p.writable) {
                return Err(QueueError::ReadAfterWrite { head });
            }
            if desc.len > 0 && !GuestMemoryBackend::check_range(mem, d.addr(), desc.len as usize) {
                return Err(QueueError::OutsideRam { head, addr: desc.addr, len: desc.len });
            }
            bytes += u64::from(desc.len);
            if bytes > max {
                return Err(QueueError::TooLong { head, bytes, max });
            }
            open = d.has_next();
            descs.push(desc);
        }
        // virtio-queue ends the walk quietly on a loop (after `size`
        // descriptors), a next index past the table or a bad indirect
        // table: the last descriptor it gave still says "next".
        if open {
            return Err(QueueError::Unterminated { head, size });
        }
        Ok(Some(Chain { head, descs }))
    }

    /// What a snapshot keeps of this queue: the driver's settings and how
    /// far the device got in each ring.
    pub fn state(&self) -> QueueState {
        QueueState {
            size: self.size,
            rings: self.rings,
            ready: self.ready(),
            next_avail: self.queue.next_avail(),
            next_used: self.queue.next_used(),
        }
    }

    /// Back to a saved state, checked as the driver's settings are when a
    /// queue goes ready (size, ring addresses in `mem`).
    pub fn restore(&mut self, s: &QueueState, mem: &GuestMemoryMmap) -> Result<(), QueueError> {
        self.reset();
        if s.size > u32::from(self.max_size) {
            return Err(QueueError::BadSize(s.size));
        }
        self.size = s.size;
        self.rings = s.rings;
        if s.ready {
            self.set_ready(true, mem)?;
            self.queue.set_next_avail(s.next_avail);
            self.queue.set_next_used(s.next_used);
        }
        Ok(())
    }

    /// Return a chain to the driver with `len` bytes written.
    pub fn add_used(&mut self, mem: &GuestMemoryMmap, head: u16, len: u32) -> Result<(), QueueError> {
        self.queue.add_used(mem, head, len).map_err(mem_err)
    }
}

#[cfg(test)]
pub mod tests {
    //! Chains built with virtio-queue's mock driver side.
    use super::*;
    use virtio_bindings::virtio_ring::{VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};
    use virtio_queue::desc::{split::Descriptor as SplitDesc, RawDescriptor};
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::Address;

    const RAM: u64 = 0x10_0000;
    const NEXT: u16 = VRING_DESC_F_NEXT as u16;
    const WRITE: u16 = VRING_DESC_F_WRITE as u16;

    pub fn ram() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(0), RAM as usize)]).unwrap()
    }

    pub fn desc(addr: u64, len: u32, flags: u16, next: u16) -> RawDescriptor {
        RawDescriptor::from(SplitDesc::new(addr, len, flags, next))
    }

    /// A ready queue of `size` over the mock's rings.
    pub fn queue(mock: &MockSplitQueue<GuestMemoryMmap>, mem: &GuestMemoryMmap, size: u16) -> VirtQueue {
        let mut q = VirtQueue::new(256).unwrap();
        q.set_size(u32::from(size)).unwrap();
        for (i, a) in [mock.desc_table_addr(), mock.avail_addr(), mock.used_addr()].iter().enumerate() {
            q.set_address(i, false, a.0 as u32).unwrap();
            q.set_address(i, true, (a.0 >> 32) as u32).unwrap();
        }
        q.set_ready(true, mem).unwrap();
        q
    }

    #[test]
    fn a_good_chain_is_read_and_returned() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(0x8000, 16, NEXT, 1), desc(0x9000, 512, WRITE, 0)], 0).unwrap();
        mem.write_slice(b"0123456789abcdef", GuestAddress(0x8000)).unwrap();
        let mut q = queue(&mock, &mem, 16);
        let c = q.pop(&mem).unwrap().unwrap();
        assert_eq!(c.head, 0);
        assert_eq!((c.len(false), c.len(true)), (16, 512));
        let mut b = [0u8; 4];
        assert_eq!(c.read_at(&mem, 10, &mut b).unwrap(), 4);
        assert_eq!(&b, b"abcd");
        assert_eq!(c.write_at(&mem, 510, b"xyz").unwrap(), 2);
        q.add_used(&mem, c.head, 2).unwrap();
        assert_eq!(mock.used().idx().load(), 1);
        assert_eq!(q.pop(&mem).unwrap(), None);
    }

    /// A restored queue goes on where the saved one stopped: the chain
    /// offered after the snapshot is the next one served.
    #[test]
    fn a_restored_queue_continues_where_it_stopped() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(0x8000, 16, 0, 0), desc(0x9000, 16, 0, 0)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        let c = q.pop(&mem).unwrap().unwrap();
        q.add_used(&mem, c.head, 0).unwrap();
        let s = q.state();
        assert_eq!((s.size, s.ready, s.next_avail, s.next_used), (16, true, 1, 1));
        let mut back = VirtQueue::new(256).unwrap();
        back.restore(&s, &mem).unwrap();
        assert_eq!(back.state(), s);
        assert_eq!(back.pop(&mem).unwrap().unwrap().head, 1);
        // A saved size the queue cannot have, or rings outside RAM, are refused.
        let mut bad = s.clone();
        bad.size = 512;
        assert_eq!(VirtQueue::new(256).unwrap().restore(&bad, &mem), Err(QueueError::BadSize(512)));
        let mut bad = s.clone();
        bad.rings[0] = RAM;
        assert!(matches!(VirtQueue::new(256).unwrap().restore(&bad, &mem), Err(QueueError::BadRings { .. })));
        // Not ready: only the settings come back.
        let idle = QueueState { size: 8, ..Default::default() };
        let mut q = VirtQueue::new(256).unwrap();
        q.restore(&idle, &mem).unwrap();
        assert_eq!((q.size(), q.ready()), (8, false));
    }

    #[test]
    fn a_loop_is_unterminated() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        // 0 -> 1 -> 0 -> ...
        mock.add_desc_chains(&[desc(0x8000, 16, NEXT, 1), desc(0x9000, 16, NEXT, 0)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert_eq!(q.pop(&mem), Err(QueueError::Unterminated { head: 0, size: 16 }));
    }

    #[test]
    fn a_next_past_the_table_is_unterminated() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(0x8000, 16, NEXT, 200)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert!(matches!(q.pop(&mem), Err(QueueError::Unterminated { .. })));
    }

    #[test]
    fn a_chain_longer_than_the_queue_is_unterminated() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 4);
        // Four descriptors that all say "next": the walk stops at the table's size.
        let d: Vec<_> = (0..4).map(|i| desc(0x8000, 8, NEXT, (i + 1) % 4)).collect();
        mock.add_desc_chains(&d, 0).unwrap();
        let mut q = queue(&mock, &mem, 4);
        assert!(matches!(q.pop(&mem), Err(QueueError::Unterminated { size: 4, .. })));
    }

    #[test]
    fn a_buffer_outside_ram_is_refused() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(RAM - 8, 16, WRITE, 0)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert_eq!(q.pop(&mem), Err(QueueError::OutsideRam { head: 0, addr: RAM - 8, len: 16 }));
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(u64::MAX - 3, 16, 0, 0)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert!(matches!(q.pop(&mem), Err(QueueError::OutsideRam { .. })));
    }

    #[test]
    fn too_many_bytes_are_refused() {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 32 << 20)]).unwrap();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(0x10_0000, 12 << 20, NEXT, 1), desc(0x10_0000, 12 << 20, 0, 0)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert!(matches!(q.pop(&mem), Err(QueueError::TooLong { .. })));
    }

    #[test]
    fn readable_after_writable_is_refused() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(0x8000, 16, WRITE | NEXT, 1), desc(0x9000, 16, 0, 0)], 0).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert_eq!(q.pop(&mem), Err(QueueError::ReadAfterWrite { head: 0 }));
    }

    #[test]
    fn a_bad_head_or_avail_index_is_refused() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        mock.add_desc_chains(&[desc(0x8000, 16, 0, 0)], 0).unwrap();
        // The avail ring's entry 0 names descriptor 40 of 16.
        mem.write_obj(40u16, mock.avail_addr().unchecked_add(4)).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert_eq!(q.pop(&mem), Err(QueueError::BadHead { head: 40, size: 16 }));
        let mock = MockSplitQueue::new(&mem, 16);
        mem.write_obj(17u16, mock.avail_addr().unchecked_add(2)).unwrap();
        let mut q = queue(&mock, &mem, 16);
        assert_eq!(q.pop(&mem), Err(QueueError::AvailIndex { avail: 17, next: 0, size: 16 }));
    }

    #[test]
    fn bad_sizes_and_rings_are_refused_when_ready() {
        let mem = ram();
        let mock = MockSplitQueue::new(&mem, 16);
        for bad in [0, 3, 512, 1 << 20] {
            let mut q = queue(&mock, &mem, 16);
            q.set_ready(false, &mem).unwrap();
            q.set_size(bad).unwrap();
            assert_eq!(q.set_ready(true, &mem), Err(QueueError::BadSize(bad)), "{bad}");
            assert!(!q.ready());
        }
        // Misaligned, and outside RAM.
        for (ring, addr) in [(0, 0x8001u64), (2, 0x8002), (1, RAM), (2, 0xffff_ffff_ffff_f000)] {
            let mut q = queue(&mock, &mem, 16);
            q.set_ready(false, &mem).unwrap();
            q.set_address(ring, false, addr as u32).unwrap();
            q.set_address(ring, true, (addr >> 32) as u32).unwrap();
            assert!(matches!(q.set_ready(true, &mem), Err(QueueError::BadRings { .. })), "{ring} {addr:#x}");
            assert!(!q.ready());
        }
        let mut q = queue(&mock, &mem, 16);
        assert_eq!(q.set_size(8), Err(QueueError::ChangedWhileReady));
        assert_eq!(q.set_address(0, false, 0), Err(QueueError::ChangedWhileReady));
        let mut q = VirtQueue::new(16).unwrap();
        assert_eq!(q.pop(&mem), Err(QueueError::NotReady));
    }
}
