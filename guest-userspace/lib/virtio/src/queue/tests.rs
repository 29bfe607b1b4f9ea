//! Ring layout and size choice.
use super::*;
use crate::mock::mem;

#[test]
fn layout_follows_the_spec_alignment() {
    assert_eq!(layout(8), (128, 152, 152 + 6 + 64));
    assert_eq!(layout(256), (4096, 4616, 4616 + 6 + 2048));
}

#[test]
fn size_is_a_power_of_two_within_both_limits() {
    assert_eq!(choose_size(0), None);
    assert_eq!(choose_size(1), Some(1));
    assert_eq!(choose_size(100), Some(64));
    assert_eq!(choose_size(u16::MAX), Some(MAX_SIZE));
}

#[test]
fn bad_sizes_and_small_memory_are_refused() {
    assert_eq!(SplitQueue::new(mem(8192), 0).err(), Some(Error::BadQueueSize(0)));
    assert_eq!(SplitQueue::new(mem(8192), 12).err(), Some(Error::BadQueueSize(12)));
    assert_eq!(SplitQueue::new(mem(8192), 512).err(), Some(Error::BadQueueSize(512)));
    assert_eq!(SplitQueue::new(mem(100), 8).err(), Some(Error::BadQueueSize(8)));
}

#[test]
fn descriptors_are_reused_after_completion() {
    let m = mem(layout(4).2);
    let (va, used) = (m.va(), layout(4).1);
    let mut q = SplitQueue::new(m, 4).unwrap();
    let b = Buf { at: DmaSlice { pa: 0x1000, len: 8 }, writable: true };
    for round in 0..10u16 {
        let h1 = q.add(&[b, b]).unwrap();
        let h2 = q.add(&[b, b]).unwrap();
        assert_eq!(q.add(&[b]).err(), Some(Error::QueueFull));
        for (i, h) in [h1, h2].into_iter().enumerate() {
            let slot = (2 * round as u64 + i as u64) % 4;
            let elem = va + used + 4 + 8 * slot;
            // SAFETY: the used ring inside the leaked test memory.
            unsafe {
                (elem as *mut u32).write_volatile(u32::from(h));
                (elem as *mut u32).add(1).write_volatile(16);
                ((va + used + 2) as *mut u16).write_volatile(2 * round + i as u16 + 1);
            }
            assert_eq!(q.pop_used(), Ok(Some((h, 16))));
        }
        assert_eq!(q.in_flight(), 0);
    }
}
