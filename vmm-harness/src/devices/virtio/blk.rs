//! virtio-blk over a host file (`--disk FILE[,ro]`): IN, OUT, FLUSH
//! (fdatasync on the host file) and GET_ID, served on the vCPU thread that
//! notified. A request the device can answer but not perform (out of range,
//! a write to a read-only disk, a host I/O error, a length that is not whole
//! sectors) gets IOERR or UNSUPP; one it cannot even answer (no 16-byte
//! header, no status byte) fails the device.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use virtio_bindings::virtio_blk::{
    VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_IOERR,
    VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
};
use virtio_bindings::virtio_ids::VIRTIO_ID_BLOCK;
use vm_memory::GuestMemoryMmap;

use super::core::{Failure, VirtioDevice, F_VERSION_1};
use super::queue::{Chain, VirtQueue};
use super::state::DeviceKind;

pub const SECTOR: u64 = 512;
/// Bytes copied between the file and guest memory at a time.
const CHUNK: usize = 64 << 10;
/// The request header: type, reserved, sector.
const HEADER: u64 = 16;

/// `--disk FILE[,ro]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskArgs {
    pub path: std::path::PathBuf,
    pub read_only: bool,
}

impl DiskArgs {
    /// Parse `FILE[,ro]`.
    pub fn parse(v: &str) -> Option<DiskArgs> {
        let (path, read_only) = match v.strip_suffix(",ro") {
            Some(p) => (p, true),
            None => (v, false),
        };
        (!path.is_empty()).then(|| DiskArgs { path: path.into(), read_only })
    }
}

pub struct Block {
    file: File,
    /// As given, for a snapshot to reopen.
    path: std::path::PathBuf,
    read_only: bool,
    sectors: u64,
    id: Vec<u8>,
    /// fdatasync calls made (for tests and the curious).
    pub flushes: u64,
}

impl Block {
    pub fn open(args: &DiskArgs) -> std::io::Result<Block> {
        let file = OpenOptions::new().read(true).write(!args.read_only).open(&args.path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(Block::new(file, args.read_only, meta.len(), &args.path))
    }

    fn new(file: File, read_only: bool, len: u64, path: &Path) -> Block {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut id = name.into_bytes();
        id.truncate(VIRTIO_BLK_ID_BYTES as usize);
        Block { file, path: path.to_path_buf(), read_only, sectors: len / SECTOR, id, flushes: 0 }
    }

    /// Serve one request; returns the bytes written into the chain.
    fn serve(&mut self, q: u16, c: &Chain, mem: &GuestMemoryMmap) -> Result<u32, Failure> {
        let bad = |why: &str| Failure::Request(q, format!("virtio-blk request {}: {why}", c.head));
        let qe = |e| Failure::Queue(q, e);
        let mut header = [0u8; HEADER as usize];
        if c.read_at(mem, 0, &mut header).map_err(qe)? != header.len() {
            return Err(bad("shorter than its 16-byte header"));
        }
        let writable = c.len(true);
        if writable == 0 {
            return Err(bad("has no status byte"));
        }
        let ty = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let sector = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
        let (status, written) = match ty {
            VIRTIO_BLK_T_IN => self.transfer(c, mem, sector, writable - 1, true),
            VIRTIO_BLK_T_OUT => self.transfer(c, mem, sector, c.len(false) - HEADER, false),
            VIRTIO_BLK_T_FLUSH => (self.flush(), 0),
            VIRTIO_BLK_T_GET_ID => {
                let n = (VIRTIO_BLK_ID_BYTES as u64).min(writable - 1) as usize;
                let mut id = self.id.clone();
                id.resize(n, 0);
                match c.write_at(mem, 0, &id) {
                    Ok(n) => (VIRTIO_BLK_S_OK, n as u64),
                    Err(_) => (VIRTIO_BLK_S_IOERR, 0),
                }
            }
            _ => (VIRTIO_BLK_S_UNSUPP, 0),
        };
        c.write_at(mem, writable - 1, &[status as u8]).map_err(qe)?;
        // At most MAX_CHAIN_BYTES, so it fits.
        Ok((written + 1) as u32)
    }

    /// Move `len` bytes between the disk at `sector` and the chain's data
    /// (after the header when writing). Returns (status, bytes written to the guest).
    fn transfer(&mut self, c: &Chain, mem: &GuestMemoryMmap, sector: u64, len: u64, read: bool) -> (u32, u64) {
        let in_range = sector.checked_mul(SECTOR).zip(sector.checked_add(len / SECTOR));
        let Some((start, end)) = in_range.filter(|&(_, end)| end <= self.sectors) else {
            return (VIRTIO_BLK_S_IOERR, 0);
        };
        debug_assert!(end <= self.sectors);
        if !len.is_multiple_of(SECTOR) || (!read && self.read_only) {
            return (VIRTIO_BLK_S_IOERR, 0);
        }
        let mut buf = vec![0u8; CHUNK.min(len as usize)];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(CHUNK as u64) as usize;
            let b = &mut buf[..n];
            let ok = if read {
                self.file.read_exact_at(b, start + done).is_ok() && c.write_at(mem, done, b).is_ok_and(|w| w == n)
            } else {
                c.read_at(mem, HEADER + done, b).is_ok_and(|r| r == n)
                    && self.file.write_all_at(b, start + done).is_ok()
            };
            if !ok {
                return (VIRTIO_BLK_S_IOERR, if read { done } else { 0 });
            }
            done += n as u64;
        }
        (VIRTIO_BLK_S_OK, if read { len } else { 0 })
    }

    fn flush(&mut self) -> u32 {
        if self.read_only {
            return VIRTIO_BLK_S_OK;
        }
        self.flushes += 1;
        match self.file.sync_data() {
            Ok(()) => VIRTIO_BLK_S_OK,
            Err(_) => VIRTIO_BLK_S_IOERR,
        }
    }
}

impl VirtioDevice for Block {
    fn name(&self) -> &'static str {
        "virtio-blk"
    }

    fn device_type(&self) -> u32 {
        VIRTIO_ID_BLOCK
    }

    fn features(&self) -> u64 {
        let ro = if self.read_only { 1 << VIRTIO_BLK_F_RO } else { 0 };
        F_VERSION_1 | 1 << VIRTIO_BLK_F_FLUSH | 1 << VIRTIO_BLK_F_SEG_MAX | ro
    }

    fn queue_count(&self) -> usize {
        1
    }

    /// capacity (sectors), size_max (0: no limit), seg_max.
    fn config(&self) -> Vec<u8> {
        let mut c = self.sectors.to_le_bytes().to_vec();
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&u32::from(super::layout::QUEUE_MAX_SIZE - 2).to_le_bytes());
        c
    }

    fn kind(&self) -> Option<DeviceKind> {
        Some(DeviceKind::Blk { path: self.path.clone(), read_only: self.read_only, sectors: self.sectors })
    }

    /// The reopened file must be the disk the guest knew: same size, same
    /// read-only flag (its features were negotiated).
    fn restore_kind(&mut self, kind: &DeviceKind) -> Result<(), String> {
        match kind {
            DeviceKind::Blk { read_only, sectors, .. } if *read_only != self.read_only => {
                Err(format!("read-only {read_only} when saved, {} now ({sectors} sectors)", self.read_only))
            }
            DeviceKind::Blk { sectors, .. } if *sectors != self.sectors => {
                Err(format!("{} has {} sectors, the snapshot's disk had {sectors}", self.path.display(), self.sectors))
            }
            DeviceKind::Blk { .. } => Ok(()),
            other => Err(format!("a {} was saved here", other.name())),
        }
    }

    fn notify(&mut self, q: u16, queues: &mut [VirtQueue], mem: &GuestMemoryMmap) -> Result<bool, Failure> {
        let queue = queues.get_mut(usize::from(q)).ok_or(Failure::NoSuchQueue(u32::from(q)))?;
        let mut used = false;
        while let Some(c) = queue.pop(mem).map_err(|e| Failure::Queue(q, e))? {
            let n = self.serve(q, &c, mem)?;
            queue.add_used(mem, c.head, n).map_err(|e| Failure::Queue(q, e))?;
            used = true;
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::virtio::irq::{Interrupt, Irq};
    use crate::devices::virtio::mmio::tests::{bring_up, r, w};
    use crate::devices::virtio::mmio::MmioTransport;
    use crate::devices::virtio::queue::tests::{desc, ram};
    use crate::devices::virtio::queue::QueueError;
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::{Bytes, GuestAddress};

    const NEXT: u16 = 1;
    const WRITE: u16 = 2;
    const HDR: u64 = 0x8000;
    const DATA: u64 = 0x9000;
    const STATUS: u64 = 0xc000;

    struct Disk {
        path: std::path::PathBuf,
    }

    impl Disk {
        fn new(name: &str, sectors: u64) -> Disk {
            let path = std::env::temp_dir().join(format!("vmm-harness-blk-{}-{name}", std::process::id()));
            let data: Vec<u8> = (0..sectors * SECTOR).map(|i| (i / SECTOR) as u8).collect();
            std::fs::write(&path, data).unwrap();
            Disk { path }
        }
    }

    impl Drop for Disk {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn device(d: &Disk, ro: bool) -> (GuestMemoryMmap, MmioTransport<Block>) {
        let mem = ram();
        let b = Block::open(&DiskArgs { path: d.path.clone(), read_only: ro }).unwrap();
        (mem.clone(), MmioTransport::new(b, 0xc000_1000, mem, Irq::Line(Interrupt::detached()), 256))
    }

    /// Submit one request (header, optional data, status) and return its status byte.
    fn request(
        t: &mut MmioTransport<Block>,
        mem: &GuestMemoryMmap,
        mock: &MockSplitQueue<GuestMemoryMmap>,
        ty: u32,
        sector: u64,
        data: Option<(u32, bool)>,
    ) -> u8 {
        let mut h = ty.to_le_bytes().to_vec();
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&sector.to_le_bytes());
        mem.write_slice(&h, GuestAddress(HDR)).unwrap();
        mem.write_obj(0xffu8, GuestAddress(STATUS)).unwrap();
        let mut descs = vec![desc(HDR, 16, NEXT, 1)];
        if let Some((len, guest_writes)) = data {
            descs.push(desc(DATA, len, NEXT | if guest_writes { 0 } else { WRITE }, 2));
        }
        descs.push(desc(STATUS, 1, WRITE, 0));
        let avail = mock.avail().idx().load();
        // Each request reuses descriptors 0..; the ring keeps moving.
        for (i, d) in descs.iter().enumerate() {
            mock.desc_table().store(i as u16, *d).unwrap();
        }
        mock.avail().ring().ref_at(usize::from(avail % 16)).unwrap().store(0);
        mock.avail().idx().store(avail.wrapping_add(1));
        w(t, 0x50, 0);
        mem.read_obj(GuestAddress(STATUS)).unwrap()
    }

    /// A disk restored from a snapshot reopens its file and goes on with
    /// the next request; a file that changed size or read-only flag since
    /// is refused.
    #[test]
    fn a_restored_disk_serves_the_next_request() {
        let d = Disk::new("snap", 8);
        let (mem, mut t) = device(&d, false);
        let mock = MockSplitQueue::new(&mem, 16);
        bring_up(&mut t, &mock, &[0], 16);
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_IN, 1, Some((512, false))), 0);
        let saved = t.save().unwrap();
        assert_eq!(saved.kind, DeviceKind::Blk { path: d.path.clone(), read_only: false, sectors: 8 });
        let b = Block::open(&DiskArgs { path: d.path.clone(), read_only: false }).unwrap();
        let mut back = MmioTransport::new(b, 0xc000_1000, mem.clone(), Irq::Line(Interrupt::detached()), 256);
        back.restore(&saved).unwrap();
        mem.write_slice(&[0xcd; 512], GuestAddress(DATA)).unwrap();
        assert_eq!(request(&mut back, &mem, &mock, VIRTIO_BLK_T_OUT, 5, Some((512, true))), 0);
        assert_eq!(mock.used().idx().load(), 2);
        assert!(std::fs::read(&d.path).unwrap()[5 * 512..6 * 512].iter().all(|&b| b == 0xcd));

        let (_, mut ro) = device(&d, true);
        assert!(ro.restore(&saved).unwrap_err().starts_with("read-only false when saved"));
        let small = Disk::new("small", 4);
        let (_, mut other) = device(&small, false);
        assert!(other.restore(&saved).unwrap_err().ends_with("has 4 sectors, the snapshot's disk had 8"));
    }

    #[test]
    fn reads_writes_flushes_and_ids() {
        let d = Disk::new("rw", 8);
        let (mem, mut t) = device(&d, false);
        let mut b = [0u8; 8];
        t.read(0x100, &mut b);
        assert_eq!(u64::from_le_bytes(b), 8, "capacity");
        assert_eq!(r(&mut t, 0x10) & (1 << VIRTIO_BLK_F_RO), 0);
        let mock = MockSplitQueue::new(&mem, 16);
        bring_up(&mut t, &mock, &[0], 16);

        // Read sectors 2..4.
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_IN, 2, Some((1024, false))), 0);
        let mut got = vec![0u8; 1024];
        mem.read_slice(&mut got, GuestAddress(DATA)).unwrap();
        assert!(got[..512].iter().all(|&x| x == 2) && got[512..].iter().all(|&x| x == 3));
        assert_eq!(mock.used().ring().ref_at(0).unwrap().load().len(), 1025);

        // Write sector 7, flush, and read the file back.
        mem.write_slice(&[0xab; 512], GuestAddress(DATA)).unwrap();
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_OUT, 7, Some((512, true))), 0);
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_FLUSH, 0, None), 0);
        assert_eq!(t.core.device.flushes, 1);
        let file = std::fs::read(&d.path).unwrap();
        assert!(file[7 * 512..].iter().all(|&x| x == 0xab));

        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_GET_ID, 0, Some((20, false))), 0);
        let mut id = [0u8; 20];
        mem.read_slice(&mut id, GuestAddress(DATA)).unwrap();
        assert!(id.starts_with(b"vmm-harness-blk-"));

        // Past the end, not whole sectors, unknown type: errors, not failures.
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_IN, 7, Some((1024, false))), 1);
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_IN, u64::MAX, Some((512, false))), 1);
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_OUT, 0, Some((100, true))), 1);
        assert_eq!(request(&mut t, &mem, &mock, 99, 0, None), 2);
        assert_eq!(t.failure(), None);
    }

    #[test]
    fn a_read_only_disk_refuses_writes() {
        let d = Disk::new("ro", 4);
        let (mem, mut t) = device(&d, true);
        assert_ne!(r(&mut t, 0x10) & (1 << VIRTIO_BLK_F_RO), 0);
        let mock = MockSplitQueue::new(&mem, 16);
        bring_up(&mut t, &mock, &[0], 16);
        mem.write_slice(&[0xcd; 512], GuestAddress(DATA)).unwrap();
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_OUT, 1, Some((512, true))), 1);
        assert_eq!(request(&mut t, &mem, &mock, VIRTIO_BLK_T_FLUSH, 0, None), 0);
        assert_eq!(std::fs::read(&d.path).unwrap()[512], 1);
        // Config is read-only: writing capacity fails the device.
        t.write(0x100, &[0; 8]);
        assert_eq!(t.failure(), Some(&Failure::ConfigWrite(0)));
    }

    #[test]
    fn unanswerable_requests_fail_the_device() {
        let d = Disk::new("bad", 4);
        // No status byte: nothing writable.
        let (mem, mut t) = device(&d, false);
        let mock = MockSplitQueue::new(&mem, 16);
        bring_up(&mut t, &mock, &[0], 16);
        mock.add_desc_chains(&[desc(HDR, 16, 0, 0)], 0).unwrap();
        w(&mut t, 0x50, 0);
        assert!(matches!(t.failure(), Some(Failure::Request(0, m)) if m.contains("no status byte")));
        // A data buffer outside RAM.
        let (mem, mut t) = device(&d, false);
        let mock = MockSplitQueue::new(&mem, 16);
        bring_up(&mut t, &mock, &[0], 16);
        mock.add_desc_chains(
            &[desc(HDR, 16, NEXT, 1), desc(1 << 40, 512, WRITE | NEXT, 2), desc(STATUS, 1, WRITE, 0)],
            0,
        )
        .unwrap();
        w(&mut t, 0x50, 0);
        assert!(matches!(t.failure(), Some(Failure::Queue(0, QueueError::OutsideRam { .. }))));
    }

    #[test]
    fn disk_args() {
        assert_eq!(DiskArgs::parse("a.img"), Some(DiskArgs { path: "a.img".into(), read_only: false }));
        assert_eq!(DiskArgs::parse("a.img,ro"), Some(DiskArgs { path: "a.img".into(), read_only: true }));
        assert_eq!(DiskArgs::parse(",ro"), None);
        assert_eq!(DiskArgs::parse(""), None);
    }
}
