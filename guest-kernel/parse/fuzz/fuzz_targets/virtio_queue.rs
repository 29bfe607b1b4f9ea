//! vmm-harness's virtqueue handling (vmm-harness/src/devices/virtio/queue.rs,
//! compiled here as is) over arbitrary guest memory: a queue size and ring
//! addresses, then the memory image, descriptor table and avail ring
//! included. Whatever the driver wrote, the queue either refuses it with an
//! error or hands out chains that end, lie in guest RAM, put readable
//! buffers first and stay within the byte limit; it never panics or hangs.
//!
//! Input: size (u16) | flags (u8; bit 0: the three ring addresses follow,
//! else desc 0x0, avail 0x1000, used 0x2000) | desc, avail, used (u64 each)
//! | memory from address 0 (two 32 KiB regions with a hole between them).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

#[allow(dead_code)]
#[path = "../../../../vmm-harness/src/devices/virtio/queue.rs"]
mod queue;
use queue::{VirtQueue, MAX_CHAIN_BYTES};

const REGION: usize = 0x8000;
const REGIONS: [u64; 2] = [0, 0x1_0000];
const HEADER: usize = 27;

fn memory() -> &'static GuestMemoryMmap {
    static MEM: OnceLock<GuestMemoryMmap> = OnceLock::new();
    MEM.get_or_init(|| {
        let ranges: Vec<_> = REGIONS.iter().map(|&a| (GuestAddress(a), REGION)).collect();
        GuestMemoryMmap::from_ranges(&ranges).expect("map the fuzz memory")
    })
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Some((head, image)) = data.split_at_checked(HEADER) else { return };
    let mem = memory();
    let zeros = [0u8; REGION];
    for (i, &base) in REGIONS.iter().enumerate() {
        let part = image.get(i * REGION..).unwrap_or(&[]);
        let part = &part[..part.len().min(REGION)];
        mem.write_slice(&zeros[part.len()..], GuestAddress(base + part.len() as u64)).unwrap();
        mem.write_slice(part, GuestAddress(base)).unwrap();
    }
    let size = u16::from_le_bytes([head[0], head[1]]);
    let rings =
        if head[2] & 1 != 0 { [u64_at(head, 3), u64_at(head, 11), u64_at(head, 19)] } else { [0, 0x1000, 0x2000] };

    let mut q = VirtQueue::new(256).unwrap();
    q.set_size(u32::from(size)).unwrap();
    for (i, r) in rings.iter().enumerate() {
        q.set_address(i, false, *r as u32).unwrap();
        q.set_address(i, true, (r >> 32) as u32).unwrap();
    }
    if q.set_ready(true, mem).is_err() {
        return;
    }
    // At most a queue's worth of chains can be pending; a few more tries
    // show that the queue then says "none".
    for _ in 0..usize::from(size) + 2 {
        let chain = match q.pop(mem) {
            Ok(Some(c)) => c,
            Ok(None) | Err(_) => break,
        };
        assert!(chain.head < size);
        assert!(!chain.descs.is_empty());
        let first_writable = chain.descs.iter().position(|d| d.writable).unwrap_or(chain.descs.len());
        assert!(chain.descs[first_writable..].iter().all(|d| d.writable), "readable after writable");
        assert!(chain.len(false) + chain.len(true) <= MAX_CHAIN_BYTES);
        for d in &chain.descs {
            assert!(d.len == 0 || mem.check_range(GuestAddress(d.addr), d.len as usize), "buffer outside RAM");
        }
        let mut buf = [0u8; 64];
        let offset = u64::from(head[2] >> 1) * 8;
        let read = chain.read_at(mem, offset, &mut buf).expect("checked buffers are readable");
        assert!(read as u64 <= chain.len(false).saturating_sub(offset).min(64));
        let wrote = chain.write_at(mem, offset, &buf).expect("checked buffers are writable");
        assert!(wrote as u64 <= chain.len(true).saturating_sub(offset).min(64));
        if q.add_used(mem, chain.head, wrote as u32).is_err() {
            break;
        }
    }
});
