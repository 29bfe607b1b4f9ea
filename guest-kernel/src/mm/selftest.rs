//! In-kernel tests of memory management (run after `mm::init`).
use super::frame::report::{self, ReportError};
use super::frame::{self, PhysFrame};
use super::paging::{self, AddressSpace, Flags, MapError, KERNEL_RW};
use super::runs::RunList;
use super::{heap, phys, reserve, stack};
use crate::arch::x86_64::layout::PAGE_SIZE;
use crate::selftest_api::SelfTest;
use alloc::alloc::{alloc, dealloc, Layout};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

static TESTS: [SelfTest; 7] = [
    SelfTest { name: "mm: frame allocator stress", run: frame_stress },
    SelfTest { name: "mm: run list merges, pops and carves", run: run_list },
    SelfTest { name: "mm: free-page reporting takes and gives back", run: report_batch },
    SelfTest { name: "mm: map/unmap", run: map_unmap },
    SelfTest { name: "mm: heap stress", run: heap_stress },
    SelfTest { name: "mm: stack guard mapped/unmapped", run: stack_guard },
    SelfTest { name: "mm: user address space shares kernel half", run: user_space },
];

pub fn all() -> &'static [SelfTest] {
    &TESTS
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

fn word(f: PhysFrame, i: u64) -> *mut u64 {
    (phys::to_virt(f.start_address().as_u64()) + i * 8) as *mut u64
}

/// A small deterministic generator for sizes and orders.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn frame_stress() -> Result<(), String> {
    let avail = frame::counts().free;
    let n = (avail / 4).min(1024) as usize;
    ensure(n >= 64, || format!("only {avail} free frames"))?;
    // All bookkeeping is allocated up front so the heap does not take
    // frames while the free count is compared.
    let mut frames: Vec<PhysFrame> = Vec::with_capacity(n);
    let mut sorted: Vec<u64> = Vec::with_capacity(n);
    let (k_start, k_end) = reserve::kernel_image();
    let limit = phys::mapped_limit();
    let start = frame::counts().free;

    for round in 0..2u64 {
        for _ in 0..n {
            let f = frame::alloc().ok_or_else(|| format!("round {round}: out of frames"))?;
            let pa = f.start_address().as_u64();
            ensure(pa >= 1 << 20 && pa + PAGE_SIZE <= limit, || format!("frame {pa:#x} outside [1 MiB, {limit:#x})"))?;
            ensure(pa + PAGE_SIZE <= k_start || pa >= k_end, || format!("frame {pa:#x} inside the kernel image"))?;
            // SAFETY: the frame is ours and inside the direct map.
            unsafe {
                word(f, 0).write(pa ^ 0x5a5a_5a5a_5a5a_5a5a);
                word(f, 511).write(!pa);
            }
            frames.push(f);
        }
        for f in &frames {
            let pa = f.start_address().as_u64();
            // SAFETY: as above; the frame is still allocated.
            let (a, b) = unsafe { (word(*f, 0).read(), word(*f, 511).read()) };
            ensure(a == pa ^ 0x5a5a_5a5a_5a5a_5a5a && b == !pa, || format!("frame {pa:#x} pattern clobbered"))?;
        }
        sorted.clear();
        sorted.extend(frames.iter().map(|f| f.start_address().as_u64()));
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("frame {:#x} handed out twice", w[0]));
        }
        // Free in another order: odd indices upwards, then even downwards.
        for i in (1..n).step_by(2) {
            frame::free(frames[i]);
        }
        for i in (0..n).step_by(2).rev() {
            frame::free(frames[i]);
        }
        frames.clear();
        let now = frame::counts().free;
        ensure(now == start, || format!("round {round}: {now} free frames, {start} before"))?;
    }

    let c = frame::alloc_contiguous(16).ok_or("alloc_contiguous(16) failed")?;
    let a = frame::alloc_contiguous_aligned(8, 64 << 10).ok_or("aligned alloc_contiguous failed")?;
    ensure(a.start_address().as_u64() % (64 << 10) == 0, || format!("{:?} not 64 KiB aligned", a))?;
    let z = frame::alloc_zeroed().ok_or("alloc_zeroed failed")?;
    // SAFETY: `z` is ours and in the direct map.
    let zero = (0..512).all(|i| unsafe { word(z, i).read() } == 0);
    frame::free(z);
    frame::free_contiguous(a, 8);
    frame::free_contiguous(c, 16);
    ensure(zero, || String::from("alloc_zeroed frame not zero"))?;
    let now = frame::counts().free;
    ensure(now == start, || format!("after contiguous: {now} free frames, {start} before"))
}

fn run_list() -> Result<(), String> {
    const P: u64 = PAGE_SIZE;
    let mut l = RunList::<3>::new();
    ensure(l.insert(10 * P, 12 * P) && l.insert(20 * P, 21 * P), || "insert".into())?;
    // Joins both neighbours into one entry.
    ensure(l.insert(12 * P, 20 * P) && l.runs() == [(10 * P, 21 * P)], || format!("merge: {:?}", l.runs()))?;
    ensure(l.insert(30 * P, 31 * P) && l.insert(2 * P, 3 * P) && l.room() == 0, || "fill".into())?;
    ensure(!l.insert(40 * P, 41 * P) && l.insert(31 * P, 32 * P), || "full, yet merging".into())?;
    ensure(l.frames() == 11 + 1 + 2 && l.contains(15 * P) && !l.contains(21 * P), || "counts".into())?;
    ensure(l.pop_frame() == Some(31 * P) && l.pop_frame() == Some(30 * P) && l.room() == 1, || "pop".into())?;
    // Carving the middle splits an entry (room for one more now).
    let at = l.carve(4 * P, 4 * P).ok_or("carve")?;
    ensure(at == 12 * P && l.runs() == [(2 * P, 3 * P), (10 * P, 12 * P), (16 * P, 21 * P)], || {
        format!("carve: {at:#x} {:?}", l.runs())
    })?;
    ensure(l.carve(8 * P, P).is_none() && l.frames() == 8, || "carve too big".into())?;
    ensure(l.take_all().count() == 3 && l.is_empty(), || "take_all".into())
}

fn report_batch() -> Result<(), String> {
    const OWNER: u64 = 0x5e1f;
    let mut frames: Vec<PhysFrame> = Vec::with_capacity(64);
    let mut runs: Vec<(u64, u64)> = Vec::with_capacity(256);
    for _ in 0..64 {
        frames.push(frame::alloc().ok_or("out of frames")?);
    }
    for f in frames.drain(..) {
        frame::free(f);
    }
    let before = frame::counts();
    ensure(before.reportable >= 64, || format!("{} reportable frames", before.reportable))?;
    report::report_take(OWNER, 256, 64, &mut runs).map_err(|e| format!("take: {e:?}"))?;
    let n: u64 = runs.iter().map(|r| (r.1 - r.0) / PAGE_SIZE).sum();
    let (k_start, k_end) = reserve::kernel_image();
    ensure(runs.windows(2).all(|w| w[0].1 < w[1].0), || format!("runs not sorted and apart: {runs:x?}"))?;
    ensure(runs.iter().all(|r| r.1 <= k_start || r.0 >= k_end), || "a run in the kernel image".into())?;
    let during = frame::counts();
    ensure(n >= 64 && during.free == before.free - n, || {
        format!("took {n}: {} free, {} before", during.free, before.free)
    })?;
    let mut again = Vec::with_capacity(4);
    ensure(report::report_take(OWNER, 4, 1, &mut again) == Err(ReportError::Busy), || "second take".into())?;
    ensure(report::report_give(OWNER + 1, true) == Err(ReportError::NotOwner), || "give by another".into())?;
    ensure(report::report_give(OWNER, true) == Ok(n), || "give".into())?;
    let after = frame::counts();
    ensure(after.free == before.free && after.reported == before.reported + n, || {
        format!(
            "after: {} free ({} before), {} reported ({} before)",
            after.free, before.free, after.reported, before.reported
        )
    })?;
    ensure(after.reportable + n == before.reportable, || "reportable".into())?;
    ensure(report::report_give(OWNER, true) == Err(ReportError::NoBatch), || "give twice".into())?;
    report::report_take(OWNER, 4, u64::MAX, &mut again).map_err(|e| format!("take: {e:?}"))?;
    ensure(again.is_empty(), || "took below the threshold".into())?;
    // A batch abandoned (its device gone) is free again, not reported.
    frames.push(frame::alloc().ok_or("out of frames")?);
    frame::free(frames.pop().ok_or("no frame")?);
    report::report_take(OWNER, 4, 1, &mut again).map_err(|e| format!("take: {e:?}"))?;
    report::report_abandon(OWNER);
    let end = frame::counts();
    ensure(end.free == before.free && end.reported == after.reported, || "abandon".into())
}

extern "C" {
    static __text_start: u8;
}
static RODATA_PROBE: [u64; 2] = [1, 2];
static mut DATA_PROBE: u64 = 3;

fn expect_err(r: Result<(), MapError>, want: MapError) -> Result<(), String> {
    ensure(r == Err(want), || format!("got {r:?}, want {want:?}"))
}

fn map_unmap() -> Result<(), String> {
    let tables = paging::table_frames();
    let va = paging::reserve_va(1).map_err(|e| format!("reserve_va: {e}"))?;
    let f = frame::alloc().ok_or("out of frames")?;
    let pa = f.start_address().as_u64();
    paging::map(va, pa, KERNEL_RW).map_err(|e| format!("map: {e}"))?;
    let t = paging::translate(va + 8).ok_or("mapped page not found by the walk")?;
    ensure(t.paddr == pa + 8 && t.page_size == PAGE_SIZE, || format!("walk says {t:?}"))?;
    let alias = phys::to_virt(pa) as *mut u64;
    // SAFETY: `va` maps `f`, which we own; `alias` is its direct-map address.
    unsafe {
        (va as *mut u64).write_volatile(0x1234_5678_9abc_def0);
        ensure(alias.read_volatile() == 0x1234_5678_9abc_def0, || {
            String::from("write via VA not seen via direct map")
        })?;
        alias.add(1).write_volatile(0x0fed_cba9_8765_4321);
        ensure((va as *const u64).add(1).read_volatile() == 0x0fed_cba9_8765_4321, || {
            String::from("write via direct map not seen via VA")
        })?;
    }
    expect_err(paging::map(va, pa, KERNEL_RW), MapError::AlreadyMapped(va))?;
    let back = paging::unmap(va).map_err(|e| format!("unmap: {e}"))?;
    ensure(back == f, || format!("unmap returned {back:?}, mapped {f:?}"))?;
    ensure(paging::translate(va).is_none(), || String::from("page still mapped after unmap"))?;
    expect_err(paging::unmap(va).map(|_| ()), MapError::NotMapped(va))?;
    frame::free(f);

    // Refusals.
    let dm = phys::to_virt(0x20_0000);
    expect_err(paging::map(dm, pa, KERNEL_RW), MapError::InHugePage(dm))?;
    expect_err(paging::map(0x40_0000, pa, KERNEL_RW), MapError::WrongHalf(0x40_0000))?;
    let unused = 0xFFFF_C000_0000_0000;
    expect_err(paging::map(unused, pa, KERNEL_RW), MapError::NoKernelSlot(unused))?;
    expect_err(paging::map(va + 1, pa, KERNEL_RW), MapError::NotAligned(va + 1))?;

    // Kernel image permissions, the direct map, no identity map.
    let text = paging::translate(core::ptr::addr_of!(__text_start) as u64).ok_or("text unmapped")?;
    ensure(!text.flags.contains(Flags::WRITABLE) && !text.flags.contains(Flags::NO_EXECUTE), || {
        format!("text {:?}", text.flags)
    })?;
    let ro = paging::translate(RODATA_PROBE.as_ptr() as u64).ok_or("rodata unmapped")?;
    ensure(!ro.flags.contains(Flags::WRITABLE) && ro.flags.contains(Flags::NO_EXECUTE), || {
        format!("rodata {:?}", ro.flags)
    })?;
    let data = paging::translate(core::ptr::addr_of!(DATA_PROBE) as u64).ok_or("data unmapped")?;
    ensure(data.flags.contains(Flags::WRITABLE | Flags::NO_EXECUTE), || format!("data {:?}", data.flags))?;
    let d = paging::translate(phys::to_virt(0x1234_5678)).ok_or("direct map hole")?;
    ensure(d.paddr == 0x1234_5678 && d.page_size > PAGE_SIZE && d.flags.contains(Flags::NO_EXECUTE), || {
        format!("direct map {d:?}")
    })?;
    // The last managed frame (above 4 GiB with enough RAM) is direct-mapped.
    let top = frame::counts().top - 8;
    let t = paging::translate(phys::to_virt(top)).ok_or_else(|| format!("top of RAM {top:#x} not direct-mapped"))?;
    ensure(t.paddr == top && top < phys::mapped_limit(), || format!("top of RAM: {t:?}"))?;
    // SAFETY: reading a word of RAM through the direct map has no effect.
    let _ = unsafe { (phys::to_virt(top) as *const u64).read_volatile() };
    // Read-only and executable kernel mappings.
    let ro = paging::reserve_va(1).map_err(|e| format!("reserve_va: {e}"))?;
    let f = frame::alloc().ok_or("out of frames")?;
    paging::map(ro, f.start_address().as_u64(), paging::KERNEL_RO).map_err(|e| format!("map: {e}"))?;
    let t = paging::translate(ro).ok_or("read-only page unmapped")?;
    let ro_ok = !t.flags.contains(Flags::WRITABLE) && t.flags.contains(Flags::NO_EXECUTE | Flags::GLOBAL);
    paging::unmap(ro).map_err(|e| format!("unmap: {e}"))?;
    paging::map(ro, f.start_address().as_u64(), paging::KERNEL_RX).map_err(|e| format!("map: {e}"))?;
    let t = paging::translate(ro).ok_or("executable page unmapped")?;
    let rx_ok = !t.flags.contains(Flags::WRITABLE) && !t.flags.contains(Flags::NO_EXECUTE);
    paging::unmap(ro).map_err(|e| format!("unmap: {e}"))?;
    frame::free(f);
    ensure(ro_ok && rx_ok, || String::from("KERNEL_RO/KERNEL_RX flags wrong"))?;
    // Uncached device mapping (of a RAM frame here), unaligned start.
    let f2 = frame::alloc_contiguous(2).ok_or("out of frames")?;
    let span = 16; // crosses into a second page
    let mmio = paging::map_mmio(f2.start_address().as_u64() + 0xff8, span).map_err(|e| format!("map_mmio: {e}"))?;
    let t = paging::translate(mmio).ok_or("mmio page unmapped")?;
    let t2 = paging::translate(mmio + 8).ok_or("mmio second page unmapped")?;
    let uc = Flags::NO_CACHE | Flags::WRITE_THROUGH | Flags::NO_EXECUTE;
    let mmio_ok = t.paddr == f2.start_address().as_u64() + 0xff8
        && t.flags.contains(uc)
        && t2.paddr == f2.start_address().as_u64() + 0x1000;
    paging::unmap_mmio(mmio, span).map_err(|e| format!("unmap_mmio: {e}"))?;
    let gone = paging::translate(mmio).is_none() && paging::translate(mmio + 8).is_none();
    frame::free_contiguous(f2, 2);
    ensure(mmio_ok && gone, || format!("map_mmio: {t:?} {t2:?}, unmapped {gone}"))?;
    // The lock-free check the exception handler uses.
    let text = core::ptr::addr_of!(__text_start) as u64;
    ensure(
        paging::is_kernel_mapped(text)
            && paging::is_kernel_mapped(phys::to_virt(0x1000))
            && !paging::is_kernel_mapped(0x1000)
            && !paging::is_kernel_mapped(0xFFFF_C000_0000_0000),
        || String::from("is_kernel_mapped wrong"),
    )?;
    ensure(paging::translate(0x10_0000).is_none(), || String::from("low half identity-mapped"))?;

    // The SMP trampoline's identity page (twice: the second time reuses the
    // lower-half tables the first one left).
    let low = super::reserve_low_page().ok_or("no free page below 1 MiB")?;
    ensure(low != 0 && low < 1 << 20, || format!("low page {low:#x}"))?;
    let mut tables_after_first = 0;
    for round in 0..2 {
        paging::identity_map(low).map_err(|e| format!("identity map: {e}"))?;
        let id = paging::translate(low).ok_or("identity page not mapped")?;
        ensure(id.paddr == low && !id.flags.contains(Flags::NO_EXECUTE), || format!("identity {id:?}"))?;
        // SAFETY: `low` is identity-mapped now and reserved for us.
        unsafe { (low as *mut u64).write_volatile(0xfeed_f00d + round) };
        // SAFETY: its direct-map alias.
        let seen = unsafe { (phys::to_virt(low) as *const u64).read_volatile() };
        paging::unmap_identity_page(low).map_err(|e| format!("unmap_identity_page: {e}"))?;
        ensure(seen == 0xfeed_f00d + round, || String::from("identity alias mismatch"))?;
        ensure(paging::translate(low).is_none(), || String::from("identity page still mapped"))?;
        if round == 0 {
            tables_after_first = paging::table_frames();
        }
    }
    super::release_low_page(low);
    // The vmap page needed a PD and a PT, the identity page at most a PDPT,
    // a PD and a PT, kept for reuse.
    let now = paging::table_frames();
    ensure(now == tables_after_first && now <= tables + 5, || {
        format!("{now} page-table frames, {tables} before, {tables_after_first} after one round")
    })
}

/// Checks a filled block at its first, middle and last byte: overlapping
/// blocks would have overwritten one of them (checking every byte costs too
/// many instructions on an emulated ring 0).
fn intact(p: *const u8, len: usize, fill: u8) -> bool {
    // SAFETY: callers pass a live allocation of `len` > 0 bytes.
    unsafe { *p == fill && *p.add(len / 2) == fill && *p.add(len - 1) == fill }
}

fn heap_stress() -> Result<(), String> {
    let before = heap::counts();
    let mut peak = 0;
    {
        let mut rng = Lcg(0x1234);
        let mut vecs: Vec<Vec<u8>> = Vec::new();
        let mut raw: Vec<(*mut u8, Layout, u8)> = Vec::new();
        for round in 0..3u64 {
            for i in 0..120u64 {
                let len = match rng.next() % 32 {
                    0 => 8 * 1024 + (rng.next() % 32768) as usize,
                    1..=6 => (rng.next() % 4096) as usize + 1,
                    _ => (rng.next() % 256) as usize + 1,
                };
                let fill = (round * 31 + i) as u8 | 1;
                let mut v = Vec::with_capacity(len);
                v.resize(len, fill);
                vecs.push(v);
                let align = 1usize << (rng.next() % 13); // 1 ..= 4096
                let size = (rng.next() % 2048) as usize + 1;
                let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
                // SAFETY: non-zero size.
                let p = unsafe { alloc(layout) };
                ensure(!p.is_null(), || format!("alloc({size}, {align}) failed"))?;
                ensure((p as usize).is_multiple_of(align), || format!("{p:p} not {align}-aligned"))?;
                // SAFETY: `p` is a fresh allocation of `size` bytes.
                unsafe { p.write_bytes(fill, size) };
                raw.push((p, layout, fill));
            }
            // Grow (realloc) and shrink some, check all, drop every third.
            for (i, v) in vecs.iter_mut().enumerate() {
                let fill = v[0];
                ensure(intact(v.as_ptr(), v.len(), fill), || format!("round {round}: vector {i} corrupted"))?;
                if i % 5 == 0 {
                    v.resize(v.len() * 2, fill);
                } else if i % 7 == 0 {
                    v.truncate(v.len() / 2 + 1);
                    v.shrink_to_fit();
                }
                ensure(intact(v.as_ptr(), v.len(), fill), || {
                    format!("round {round}: vector {i} corrupted by realloc")
                })?;
            }
            let mut k = 0;
            vecs.retain(|_| {
                k += 1;
                k % 3 != 0
            });
            // Free every other raw allocation, newest first.
            let mut kept = Vec::with_capacity(raw.len());
            for (idx, (p, l, fill)) in raw.drain(..).enumerate().rev() {
                ensure(intact(p, l.size(), fill), || format!("round {round}: raw block corrupted"))?;
                if idx % 2 == 0 {
                    // SAFETY: allocated above with `l`; it leaves the list, so it is freed once.
                    unsafe { dealloc(p, l) };
                } else {
                    kept.push((p, l, fill));
                }
            }
            raw = kept;
        }
        // A 2 MiB block makes the heap grow well past its start; touch one
        // word per page.
        let mut big: Vec<u64> = Vec::with_capacity(256 * 1024);
        let base = big.as_mut_ptr();
        for i in (0..big.capacity()).step_by(512) {
            // SAFETY: inside the allocation's capacity.
            unsafe { base.add(i).write(i as u64) };
        }
        let mut ok = true;
        for i in (0..big.capacity()).step_by(512) {
            // SAFETY: written above, inside the capacity.
            ok &= unsafe { base.add(i).read() } == i as u64;
        }
        peak = peak.max(heap::counts().mapped);
        big.clear();
        drop(big);
        ensure(ok, || String::from("big block corrupted"))?;
        for (p, l, _) in raw.drain(..) {
            // SAFETY: allocated above with `l`, freed once.
            unsafe { dealloc(p, l) };
        }
    }
    let after = heap::counts();
    ensure(after.allocated == before.allocated && after.allocations == before.allocations, || {
        format!(
            "heap {} B in {} allocations, {} B in {} before",
            after.allocated, after.allocations, before.allocated, before.allocations
        )
    })?;
    ensure(peak > before.mapped + (2 << 20), || String::from("heap never grew"))?;
    // With other CPUs possibly caching heap pages the heap keeps its memory.
    ensure(after.mapped < peak || paging::other_cpus_possible(), || {
        format!("heap did not shrink: {} B mapped, peak {peak}", after.mapped)
    })
}

extern "C" {
    static BOOT_STACK: u8;
}

fn stack_guard() -> Result<(), String> {
    let free = frame::counts().free;
    let tables = paging::table_frames();
    let a = super::alloc_kernel_stack(4).map_err(|e| format!("{e}"))?;
    let b = stack::alloc_kernel_stack(2).map_err(|e| format!("{e}"))?;
    for s in [&a, &b] {
        ensure(s.pages() == (s.top - s.bottom) as usize / 4096 && s.top % 16 == 0, || format!("{s:?}"))?;
        let mut va = s.bottom;
        while va < s.top {
            let t = paging::translate(va).ok_or_else(|| format!("stack page {va:#x} unmapped"))?;
            ensure(t.flags.contains(KERNEL_RW), || format!("stack page flags {:?}", t.flags))?;
            va += PAGE_SIZE;
        }
        ensure(paging::translate(s.guard_page()).is_none(), || format!("guard {:#x} mapped", s.guard_page()))?;
        ensure(stack::is_guard_address(s.guard_page() + 8) && !stack::is_guard_address(s.bottom), || {
            String::from("is_guard_address wrong")
        })?;
        // SAFETY: the whole stack is mapped and owned by this test.
        unsafe { core::ptr::write_bytes(s.bottom as *mut u8, 0xcc, (s.top - s.bottom) as usize) };
    }
    ensure(b.top <= a.guard_page() || a.top <= b.guard_page(), || String::from("stacks overlap"))?;
    b.flush_tlb_local();
    // SAFETY: mapped and ours (refilled into the TLB after the flush).
    let v = unsafe { ((b.top - 8) as *const u8).read_volatile() };
    ensure(v == 0xcc, || String::from("stack contents lost after TLB flush"))?;
    let (bottom, top) = (a.bottom, a.top);
    a.free();
    stack::free_kernel_stack(b);
    ensure(paging::translate(bottom).is_none() && paging::translate(top - 8).is_none(), || {
        String::from("freed stack still mapped")
    })?;
    let new_tables = paging::table_frames() - tables;
    let now = frame::counts().free;
    ensure(now + new_tables == free, || format!("{now} free frames (+{new_tables} page tables), {free} before"))?;
    // The boot stack's lowest page is its guard.
    let boot = core::ptr::addr_of!(BOOT_STACK) as u64;
    ensure(paging::translate(boot).is_none() && paging::translate(boot + PAGE_SIZE).is_some(), || {
        String::from("boot stack guard missing")
    })
}

fn user_space() -> Result<(), String> {
    let tables = paging::table_frames();
    let free = frame::counts().free;
    let mut user = AddressSpace::new_user().map_err(|e| format!("{e}"))?;
    let text = core::ptr::addr_of!(__text_start) as u64;
    ensure(user.translate(text) == paging::translate(text), || String::from("kernel half differs"))?;
    let f = frame::alloc().ok_or("out of frames")?;
    let va = 0x40_0000u64;
    let flags = Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE | Flags::NO_EXECUTE;
    user.map(va, f.start_address().as_u64(), flags).map_err(|e| format!("{e}"))?;
    let t = user.translate(va).ok_or("user page unmapped")?;
    ensure(t.paddr == f.start_address().as_u64() && t.flags.contains(Flags::USER_ACCESSIBLE), || format!("{t:?}"))?;
    ensure(paging::translate(va).is_none(), || String::from("user page visible in the kernel address space"))?;
    let r = user.map(text & !0xfff, 0, flags);
    ensure(r == Err(MapError::WrongHalf(text & !0xfff)), || format!("kernel-half map in user space: {r:?}"))?;
    let back = user.unmap(va).map_err(|e| format!("{e}"))?;
    ensure(back == f, || format!("unmap returned {back:?}"))?;
    // Leave a table tree behind on purpose: dropping must free it.
    user.map(0x7f00_0000_0000, f.start_address().as_u64(), flags).map_err(|e| format!("{e}"))?;
    drop(user);
    frame::free(f);
    let (t2, f2) = (paging::table_frames(), frame::counts().free);
    ensure(t2 == tables && f2 == free, || format!("tables {t2} (was {tables}), free {f2} (was {free})"))
}
