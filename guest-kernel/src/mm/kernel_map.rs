//! Building the kernel page tables at boot and switching to them.
//!
//! Tables are written by hand in tight loops rather than through the
//! generic mapper, which would walk four levels per page: the direct map is
//! one PDPT entry per GiB (1 GiB pages) or one PD entry per 2 MiB, and the
//! kernel image is one PT entry per 4 KiB page of the image only. Tables that
//! are written in full are not zeroed first.
//!
//! The result:
//! - lower half: empty (user space will own it);
//! - direct map of `[0, direct_map_bytes)`: RW, NX, global, large pages;
//! - one PDPT for the heap, vmap, stack and image regions (PML4 slot 511),
//!   so that PML4 entry exists from the start and is shared by every
//!   address space;
//! - the first [`heap::INITIAL`](super::heap::INITIAL) bytes of the heap;
//! - kernel image: text RX, rodata R+NX, data/bss/stack RW+NX, global; the
//!   `.boot` section (32-bit entry code, boot page tables, boot GDT) is not
//!   mapped in the higher half; the lowest page of the boot stack is left
//!   unmapped as its guard.
use super::frame;
use super::paging::{self, bits};
use super::{phys, reserve, MmError};
use crate::arch::x86_64::layout::{
    align_down, align_up, HEAP_BASE, HUGE_PAGE_SIZE, KERNEL_FIRST_SLOT, KERNEL_SLOT, KERNEL_VMA, LARGE_PAGE_SIZE,
    LOWER_HALF_END, PAGE_SIZE, SLOT_SIZE,
};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::instructions::tables::{lgdt, lidt, sgdt, sidt};
use x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};
use x86_64::structures::DescriptorTablePointer;
use x86_64::{PhysAddr, VirtAddr};

extern "C" {
    static __text_start: u8;
    static __rodata_start: u8;
    static __data_start: u8;
    static BOOT_STACK: u8;
}

/// Leave the boot stack's lowest page unmapped so an overflow faults instead
/// of overwriting .bss (the usable boot stack shrinks by one page).
const BOOT_STACK_GUARD: bool = true;

/// What was built.
pub struct Built {
    pub pml4: frame::PhysFrame,
    /// Page size of the direct map (1 GiB or 2 MiB).
    pub direct_map_page: u64,
}

/// The kernel image's sections as virtual addresses.
struct Image {
    text: u64,
    rodata: u64,
    data: u64,
    end: u64,
    guard: Option<u64>,
}

impl Image {
    fn from_linker() -> Self {
        let (_, phys_end) = reserve::kernel_image();
        Self {
            text: core::ptr::addr_of!(__text_start) as u64,
            rodata: core::ptr::addr_of!(__rodata_start) as u64,
            data: core::ptr::addr_of!(__data_start) as u64,
            end: KERNEL_VMA + phys_end,
            guard: BOOT_STACK_GUARD.then_some(core::ptr::addr_of!(BOOT_STACK) as u64),
        }
    }

    /// Sections as `(start, end, PT entry flags)`.
    fn sections(&self) -> [(u64, u64, u64); 3] {
        let g = bits::PRESENT | bits::GLOBAL;
        [
            (self.text, self.rodata, g),
            (self.rodata, self.data, g | bits::NX),
            (self.data, self.end, g | bits::WRITABLE | bits::NX),
        ]
    }

    /// Fills the PT that maps the 2 MiB-aligned chunk `chunk`.
    fn fill_pt(&self, t: &mut [u64; 512], chunk: u64) {
        let chunk_end = chunk + LARGE_PAGE_SIZE;
        // Zero only what the sections leave out.
        let index = |va: u64| ((va.clamp(chunk, chunk_end) - chunk) / PAGE_SIZE) as usize;
        t[..index(self.text)].fill(0);
        t[index(align_up(self.end, PAGE_SIZE))..].fill(0);
        for (start, end, flags) in self.sections() {
            let (from, to) = (start.max(chunk), align_up(end, PAGE_SIZE).min(chunk_end));
            if from < to {
                let (i, j) = (((from - chunk) / PAGE_SIZE) as usize, ((to - chunk) / PAGE_SIZE) as usize);
                fill_run(&mut t[i..j], (from - KERNEL_VMA) | flags, PAGE_SIZE);
            }
        }
        if let Some(g) = self.guard.filter(|g| (chunk..chunk_end).contains(g)) {
            t[((g - chunk) / PAGE_SIZE) as usize] = 0;
        }
    }
}

fn cpu_has_1g_pages() -> bool {
    crate::arch::x86_64::cpuid::has_1g_pages()
}

fn cpu_has_pge() -> bool {
    crate::arch::x86_64::cpuid::has_global_pages()
}

/// Writes `first, first + step, first + 2 * step, ...` into `t`, eight at a
/// time (about 2.5 instructions per entry instead of 5: every instruction
/// counts on an emulated ring 0).
fn fill_run(t: &mut [u64], first: u64, step: u64) {
    let mut e = first;
    let mut chunks = t.chunks_exact_mut(8);
    for c in &mut chunks {
        c[0] = e;
        c[1] = e + step;
        c[2] = e + 2 * step;
        c[3] = e + 3 * step;
        c[4] = e + 4 * step;
        c[5] = e + 5 * step;
        c[6] = e + 6 * step;
        c[7] = e + 7 * step;
        e += 8 * step;
    }
    for slot in chunks.into_remainder() {
        *slot = e;
        e += step;
    }
}

/// A frame for a page table, reachable through the *boot* direct map.
fn table_frame() -> Result<u64, MmError> {
    let f = frame::alloc().ok_or(MmError::OutOfMemory)?;
    let pa = f.start_address().as_u64();
    if pa + PAGE_SIZE > phys::mapped_limit() {
        frame::free(f);
        return Err(MmError::NoLowMemory);
    }
    paging::count_table_frame();
    Ok(pa)
}

/// The table in frame `pa`, through the direct map.
fn table(pa: u64) -> &'static mut [u64; 512] {
    // SAFETY: `pa` is a page-table frame we just allocated (so nobody else
    // uses it) inside the direct map; it is only touched during boot
    // construction, one table at a time.
    unsafe { &mut *(phys::to_virt(pa) as *mut [u64; 512]) }
}

fn zeroed_table() -> Result<u64, MmError> {
    let pa = table_frame()?;
    table(pa).fill(0);
    Ok(pa)
}

fn pdpt_index(va: u64) -> usize {
    ((va >> 30) & 0x1ff) as usize
}

fn pd_index(va: u64) -> usize {
    ((va >> 21) & 0x1ff) as usize
}

/// Maps `[HEAP_BASE, HEAP_BASE + bytes)` (at most 2 MiB) to fresh frames;
/// returns the heap's PD.
fn map_initial_heap(bytes: u64) -> Result<u64, MmError> {
    let pages = (bytes / PAGE_SIZE).min(512) as usize;
    let frames = frame::alloc_contiguous(pages).ok_or(MmError::OutOfMemory)?;
    let (pd, pt) = (zeroed_table()?, table_frame()?);
    let t = table(pt);
    t[pages..].fill(0);
    let first = frames.start_address().as_u64() | bits::PRESENT | bits::WRITABLE | bits::GLOBAL | bits::NX;
    fill_run(&mut t[..pages], first, PAGE_SIZE);
    table(pd)[pd_index(HEAP_BASE)] = pt | bits::PRESENT | bits::WRITABLE;
    Ok(pd)
}

/// Builds the kernel page tables for a direct map of `direct_map_bytes`
/// (a whole number of GiB) and the first `heap_bytes` of the heap, and loads
/// them into CR3.
pub fn build_and_switch(direct_map_bytes: u64, heap_bytes: u64) -> Result<Built, MmError> {
    let huge = cpu_has_1g_pages();
    let image = Image::from_linker();
    if image.text < KERNEL_VMA
        || image.end > KERNEL_VMA + HUGE_PAGE_SIZE
        || !(image.text <= image.rodata && image.rodata <= image.data && image.data <= image.end)
    {
        return Err(MmError::BadKernelImage);
    }

    let pml4 = zeroed_table()?;

    // Direct map: one PDPT entry per GiB, each a 1 GiB page or a PD of
    // 2 MiB pages.
    let slots = direct_map_bytes.div_ceil(SLOT_SIZE) as usize;
    let leaf = bits::PRESENT | bits::WRITABLE | bits::HUGE | bits::GLOBAL | bits::NX;
    for s in 0..slots {
        let pdpt = table_frame()?;
        let base = s as u64 * SLOT_SIZE;
        let gibs = ((direct_map_bytes - base) / HUGE_PAGE_SIZE).min(512) as usize;
        let t = table(pdpt);
        t[gibs..].fill(0);
        for (i, e) in t[..gibs].iter_mut().enumerate() {
            let pa = base + i as u64 * HUGE_PAGE_SIZE;
            *e = if huge {
                pa | leaf
            } else {
                let pd = table_frame()?;
                fill_run(table(pd), pa | leaf, LARGE_PAGE_SIZE);
                pd | bits::PRESENT | bits::WRITABLE
            };
        }
        table(pml4)[KERNEL_FIRST_SLOT + s] = pdpt | bits::PRESENT | bits::WRITABLE | bits::NX;
    }

    // Slot 511: the heap's first pages and the kernel image (4 KiB pages).
    let pdpt = zeroed_table()?;
    let heap_pd = map_initial_heap(heap_bytes)?;
    table(pdpt)[pdpt_index(HEAP_BASE)] = heap_pd | bits::PRESENT | bits::WRITABLE;
    let pd = zeroed_table()?;
    let mut chunk = align_down(image.text, LARGE_PAGE_SIZE);
    while chunk < image.end {
        let pt = table_frame()?;
        image.fill_pt(table(pt), chunk);
        table(pd)[pd_index(chunk)] = pt | bits::PRESENT | bits::WRITABLE;
        chunk += LARGE_PAGE_SIZE;
    }
    table(pdpt)[pdpt_index(KERNEL_VMA)] = pd | bits::PRESENT | bits::WRITABLE;
    table(pml4)[KERNEL_SLOT] = pdpt | bits::PRESENT | bits::WRITABLE;

    // 32-bit code (the SMP trampoline) loads this into CR3.
    if pml4 >= 1 << 32 {
        return Err(MmError::NoLowMemory);
    }
    let pml4 = frame::PhysFrame::containing_address(PhysAddr::new(pml4));
    switch(pml4);
    Ok(Built { pml4, direct_map_page: if huge { HUGE_PAGE_SIZE } else { LARGE_PAGE_SIZE } })
}

/// Loads the new tables. Descriptor tables whose base is a lower-half
/// (identity-mapped, so physical) address, like the boot GDT in `.boot`, are
/// moved to their direct-map alias, as the identity map goes away.
fn switch(pml4: frame::PhysFrame) {
    without_interrupts(|| {
        // SAFETY: the new tables map everything the kernel uses from here on
        // (its image at the same virtual addresses, the stack, the direct
        // map); only the identity map goes away, and the descriptor tables
        // that still point there are moved right below, with interrupts off,
        // before any segment load or interrupt can use them.
        unsafe { Cr3::write(pml4, Cr3Flags::empty()) };
        let gdt = sgdt();
        if gdt.base.as_u64() < LOWER_HALF_END {
            let base = VirtAddr::new(phys::to_virt(gdt.base.as_u64()));
            // SAFETY: the same table through the direct map (read-write, as
            // the CPU sets accessed bits); the boot GDT stays reserved as
            // part of the kernel image.
            unsafe { lgdt(&DescriptorTablePointer { limit: gdt.limit, base }) };
        }
        let idt = sidt();
        if idt.base.as_u64() != 0 && idt.base.as_u64() < LOWER_HALF_END {
            let base = VirtAddr::new(phys::to_virt(idt.base.as_u64()));
            // SAFETY: as for the GDT.
            unsafe { lidt(&DescriptorTablePointer { limit: idt.limit, base }) };
        }
    });
    if cpu_has_pge() {
        // SAFETY: kernel mappings are marked global, user ones never are;
        // setting PGE flushes the TLB.
        unsafe { Cr4::update(|f| f.insert(Cr4Flags::PAGE_GLOBAL)) };
    }
}
