//! Page tables: [`AddressSpace`] (a PML4 whose kernel half is shared by all
//! address spaces) and the kernel address space's map/unmap API.
//!
//! The kernel half's PML4 entries are fixed at boot (see [`super::layout`]),
//! so a new address space copies them once and every later kernel mapping
//! (heap growth, stacks, vmap) is visible in all of them. Page-table frames
//! come from the frame allocator, never from the heap, so the heap can grow
//! through this module.
use super::frame::{self, PhysFrame};
use super::phys;
use crate::arch::x86_64::cr3;
use crate::arch::x86_64::layout::{slot, KERNEL_FIRST_SLOT, LOWER_HALF_END, PAGE_SIZE, VMAP_BASE, VMAP_SIZE};
use crate::sync::SpinLock;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::mapper::{MapToError, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator, FrameDeallocator, Mapper, OffsetPageTable, Page, PageTable, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

pub use x86_64::structures::paging::PageTableFlags as Flags;

/// Kernel data: read-write, not executable, global.
pub const KERNEL_RW: Flags = Flags::PRESENT.union(Flags::WRITABLE).union(Flags::NO_EXECUTE).union(Flags::GLOBAL);
/// Kernel read-only data.
pub const KERNEL_RO: Flags = Flags::PRESENT.union(Flags::NO_EXECUTE).union(Flags::GLOBAL);
/// Kernel code.
pub const KERNEL_RX: Flags = Flags::PRESENT.union(Flags::GLOBAL);

/// Raw page-table entry bits used when building tables by hand.
pub(super) mod bits {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    pub const HUGE: u64 = 1 << 7;
    pub const GLOBAL: u64 = 1 << 8;
    pub const NX: u64 = 1 << 63;
    pub const ADDR: u64 = 0x000f_ffff_ffff_f000;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// `mm::init` has not built the kernel page tables yet.
    NotInitialized,
    NotAligned(u64),
    NonCanonical(u64),
    /// A kernel-half address given to a user address space, or a user-half
    /// address to the kernel's (use the identity-page calls for the SMP
    /// trampoline).
    WrongHalf(u64),
    /// A kernel-half address in a PML4 slot the kernel does not use.
    NoKernelSlot(u64),
    AlreadyMapped(u64),
    NotMapped(u64),
    /// The address lies inside a 2 MiB / 1 GiB mapping (the direct map).
    InHugePage(u64),
    OutOfFrames,
    OutOfVirtualSpace,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInitialized => write!(f, "kernel page tables not set up yet"),
            Self::NotAligned(a) => write!(f, "address {a:#x} is not page-aligned"),
            Self::NonCanonical(a) => write!(f, "address {a:#x} is not canonical"),
            Self::WrongHalf(a) => {
                write!(f, "address {a:#x} is in the wrong half for this address space")
            }
            Self::NoKernelSlot(a) => write!(f, "address {a:#x} is in no kernel region"),
            Self::AlreadyMapped(a) => write!(f, "page {a:#x} is already mapped"),
            Self::NotMapped(a) => write!(f, "page {a:#x} is not mapped"),
            Self::InHugePage(a) => write!(f, "page {a:#x} is part of a large-page mapping"),
            Self::OutOfFrames => write!(f, "out of physical frames for page tables"),
            Self::OutOfVirtualSpace => write!(f, "out of kernel virtual address space"),
        }
    }
}

/// Frames used as page tables, for [`super::stats`].
static TABLE_FRAMES: AtomicU64 = AtomicU64::new(0);

pub(super) fn table_frames() -> u64 {
    TABLE_FRAMES.load(Ordering::Relaxed)
}

/// Counts a frame obtained outside [`TableFrames`] (boot construction).
pub(super) fn count_table_frame() {
    TABLE_FRAMES.fetch_add(1, Ordering::Relaxed);
}

/// The frame allocator as the `x86_64` mapper wants it, counting table
/// frames. A user address space's tables are charged like its pages: they
/// never take the kernel's reserve, so a process that spreads its mappings
/// to grow page tables runs out before the kernel does.
struct TableFrames {
    user: bool,
}

// SAFETY: frames come from the frame allocator, which hands each out once.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        // The mapper zeroes new tables itself.
        let f = if self.user { frame::alloc_for_user()? } else { frame::alloc()? };
        count_table_frame();
        Some(f)
    }
}

impl FrameDeallocator<Size4KiB> for TableFrames {
    unsafe fn deallocate_frame(&mut self, f: PhysFrame) {
        TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
        frame::free(f);
    }
}

/// What a page-table walk found for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address the virtual address maps to.
    pub paddr: u64,
    /// Size of the mapping page: 4 KiB, 2 MiB or 1 GiB.
    pub page_size: u64,
    /// The leaf entry's flags.
    pub flags: Flags,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Kernel,
    User,
}

/// A 4-level address space. The kernel's is created by `mm::init`; user
/// address spaces share its upper half and own their lower half.
pub struct AddressSpace {
    pml4: PhysFrame,
    kind: Kind,
}

fn canonical(va: u64) -> Result<VirtAddr, MapError> {
    VirtAddr::try_new(va).map_err(|_| MapError::NonCanonical(va))
}

fn page(va: u64) -> Result<Page<Size4KiB>, MapError> {
    Page::from_start_address(canonical(va)?).map_err(|_| MapError::NotAligned(va))
}

fn phys_frame(pa: u64) -> Result<PhysFrame, MapError> {
    let addr = PhysAddr::try_new(pa).map_err(|_| MapError::NotAligned(pa))?;
    PhysFrame::from_start_address(addr).map_err(|_| MapError::NotAligned(pa))
}

/// Reads entry `index` of the table in frame `table`.
fn entry(table: u64, index: usize) -> u64 {
    // SAFETY: `table` is a live page table in the direct map; reading one
    // aligned u64 of it is always valid.
    unsafe { ((phys::to_virt(table) + index as u64 * 8) as *const u64).read_volatile() }
}

/// Walks the page tables rooted at `pml4` for `va`. Lock-free: it only reads
/// entries, through the direct map.
fn walk(pml4: u64, va: u64) -> Option<Translation> {
    let va = canonical(va).ok()?.as_u64();
    let mut table = pml4;
    let mut shift = 39;
    loop {
        let e = entry(table, ((va >> shift) & 0x1ff) as usize);
        if e & bits::PRESENT == 0 {
            return None;
        }
        if shift == 12 || (shift < 39 && e & bits::HUGE != 0) {
            let size = 1u64 << shift;
            return Some(Translation {
                paddr: (e & bits::ADDR & !(size - 1)) + (va & (size - 1)),
                page_size: size,
                flags: Flags::from_bits_truncate(e),
            });
        }
        table = e & bits::ADDR;
        shift -= 9;
    }
}

/// True if the kernel-half address `va` is mapped in the current address
/// space. Takes no lock, so exception handlers may use it (e.g. before
/// following a frame pointer); works before `mm::init` too.
pub fn is_kernel_mapped(va: u64) -> bool {
    va >= LOWER_HALF_END && walk(cr3::current(), va).is_some()
}

impl AddressSpace {
    /// Wraps the kernel PML4 built at boot.
    pub(super) fn kernel(pml4: PhysFrame) -> Self {
        Self { pml4, kind: Kind::Kernel }
    }

    /// A new user address space: empty lower half, the kernel half shared.
    pub fn new_user() -> Result<Self, MapError> {
        let kernel = kernel_pml4_paddr();
        if kernel == 0 {
            return Err(MapError::NotInitialized);
        }
        let pml4 = frame::alloc().ok_or(MapError::OutOfFrames)?;
        count_table_frame();
        let dst = phys::to_virt(pml4.start_address().as_u64()) as *mut u64;
        let src = phys::to_virt(kernel) as *const u64;
        // SAFETY: `pml4` is a fresh frame we own; the kernel PML4 is live and
        // its upper half never changes after boot, so copying it is a
        // consistent snapshot.
        unsafe {
            core::ptr::write_bytes(dst, 0, KERNEL_FIRST_SLOT);
            core::ptr::copy_nonoverlapping(
                src.add(KERNEL_FIRST_SLOT),
                dst.add(KERNEL_FIRST_SLOT),
                512 - KERNEL_FIRST_SLOT,
            );
        }
        Ok(Self { pml4, kind: Kind::User })
    }

    /// Physical address of the PML4 (the CR3 value).
    pub fn pml4_paddr(&self) -> u64 {
        self.pml4.start_address().as_u64()
    }

    fn mapper(&mut self) -> OffsetPageTable<'_> {
        let table = phys::to_virt(self.pml4_paddr()) as *mut PageTable;
        // SAFETY: the PML4 is a live page table owned by this address space,
        // all page-table frames are reachable through the direct map at
        // DIRECT_MAP_BASE, and `&mut self` makes this the only accessor.
        unsafe { OffsetPageTable::new(&mut *table, VirtAddr::new(phys::to_virt(0))) }
    }

    fn check_half(&self, va: u64) -> Result<(), MapError> {
        match self.kind {
            // The last lower-half page is never user memory (see USER_END).
            Kind::User if va >= pv_abi::syscall::layout::USER_END => Err(MapError::WrongHalf(va)),
            Kind::Kernel if va < LOWER_HALF_END => Err(MapError::WrongHalf(va)),
            Kind::Kernel if entry(self.pml4_paddr(), slot(va)) & bits::PRESENT == 0 => Err(MapError::NoKernelSlot(va)),
            _ => Ok(()),
        }
    }

    /// Maps the 4 KiB page at `va` to `pa`. `PRESENT` is implied; user
    /// address spaces get `USER_ACCESSIBLE` on the intermediate tables only
    /// (the caller decides for the leaf).
    pub fn map(&mut self, va: u64, pa: u64, flags: Flags) -> Result<(), MapError> {
        self.check_half(va)?;
        self.map_unchecked(va, pa, flags)
    }

    fn map_unchecked(&mut self, va: u64, pa: u64, flags: Flags) -> Result<(), MapError> {
        let (p, f) = (page(va)?, phys_frame(pa)?);
        let mut parent = Flags::PRESENT | Flags::WRITABLE;
        if self.kind == Kind::User {
            parent |= Flags::USER_ACCESSIBLE;
        }
        let mut tables = TableFrames { user: self.kind == Kind::User };
        // SAFETY: mapping a frame creates an alias the caller asked for; the
        // kernel half's own regions are only mapped by their owners (heap,
        // stacks, vmap users), and the direct map is huge pages, which the
        // mapper refuses to touch.
        let r = unsafe { self.mapper().map_to_with_table_flags(p, f, flags | Flags::PRESENT, parent, &mut tables) };
        match r {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(MapError::OutOfFrames),
            Err(MapToError::ParentEntryHugePage) => Err(MapError::InHugePage(va)),
            Err(MapToError::PageAlreadyMapped(_)) => Err(MapError::AlreadyMapped(va)),
        }
    }

    /// Unmaps the 4 KiB page at `va`, flushes it from this CPU's TLB and
    /// returns the frame it mapped (which the caller may free).
    pub fn unmap(&mut self, va: u64) -> Result<PhysFrame, MapError> {
        self.check_half(va)?;
        self.unmap_unchecked(va)
    }

    fn unmap_unchecked(&mut self, va: u64) -> Result<PhysFrame, MapError> {
        let p = page(va)?;
        match self.mapper().unmap(p) {
            Ok((f, flush)) => {
                flush.flush();
                Ok(f)
            }
            Err(UnmapError::PageNotMapped) => Err(MapError::NotMapped(va)),
            Err(UnmapError::ParentEntryHugePage) => Err(MapError::InHugePage(va)),
            Err(UnmapError::InvalidFrameAddress(_)) => Err(MapError::NotMapped(va)),
        }
    }

    /// Walks the tables for `va` (any alignment).
    pub fn translate(&self, va: u64) -> Option<Translation> {
        walk(self.pml4_paddr(), va)
    }

    /// Detaches the page tables (PDPTs, PDs, PTs) covering user addresses
    /// `[start, end)` that no longer map anything and appends their frames
    /// to `freed`. The caller frees them only once no CPU can still walk
    /// them: other CPUs' paging-structure caches may hold them until their
    /// TLBs are shot down. Without this, a process that maps and unmaps
    /// across a wide range keeps every table it ever needed.
    pub fn prune(&mut self, start: u64, end: u64, freed: &mut alloc::vec::Vec<PhysFrame>) {
        if self.kind != Kind::User || start >= end || end > LOWER_HALF_END {
            return;
        }
        prune_table(self.pml4_paddr(), 4, 0, start, end, freed);
    }
}

/// Bytes one entry of a table at `level` covers (4 = PML4, 1 = PT).
const fn entry_span(level: u32) -> u64 {
    1 << (12 + 9 * (level - 1))
}

/// Prunes the tables below `table` (at `level`, covering addresses from
/// `base`) that overlap `[start, end)`; true if `table` itself is now empty.
fn prune_table(
    table: u64,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    freed: &mut alloc::vec::Vec<PhysFrame>,
) -> bool {
    if level > 1 {
        let span = entry_span(level);
        let first = (start.max(base) - base) / span;
        let last = ((end - 1).min(base + 512 * span - 1) - base) / span;
        for i in first..=last {
            let e = entry(table, i as usize);
            if e & bits::PRESENT == 0 || e & bits::HUGE != 0 {
                continue;
            }
            let child = e & bits::ADDR;
            if prune_table(child, level - 1, base + i * span, start, end, freed) {
                set_entry(table, i as usize, 0);
                TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
                freed.push(PhysFrame::containing_address(PhysAddr::new_truncate(child)));
            }
        }
    }
    // Entries are cleared to 0 on unmap, so "empty" is "all zero"; a live
    // table usually shows a non-zero entry early.
    level < 4 && (0..512).all(|i| entry(table, i) == 0)
}

/// Writes entry `index` of the table in frame `table`.
fn set_entry(table: u64, index: usize, value: u64) {
    // SAFETY: `table` is a live page table in the direct map owned by the
    // caller's `&mut AddressSpace`; one aligned u64 store.
    unsafe { ((phys::to_virt(table) + index as u64 * 8) as *mut u64).write_volatile(value) }
}

impl Drop for AddressSpace {
    /// A user address space frees its lower-half page tables and its PML4,
    /// not the frames its pages map (their owner unmaps and frees those). It
    /// must not be loaded in CR3 on any CPU when dropped.
    fn drop(&mut self) {
        if self.kind != Kind::User {
            return;
        }
        let pml4 = self.pml4_paddr();
        for i in 0..KERNEL_FIRST_SLOT {
            let e = entry(pml4, i);
            if e & bits::PRESENT != 0 {
                free_table_tree(e & bits::ADDR, 3);
            }
        }
        // The kernel half is shared: leave it alone.
        TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
        frame::free(self.pml4);
    }
}

/// Frees a page table at `level` (3 = PDPT) and the tables below it.
fn free_table_tree(table: u64, level: u32) {
    if level > 1 {
        for i in 0..512 {
            let e = entry(table, i);
            if e & bits::PRESENT != 0 && e & bits::HUGE == 0 {
                free_table_tree(e & bits::ADDR, level - 1);
            }
        }
    }
    TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
    frame::free(PhysFrame::containing_address(PhysAddr::new_truncate(table)));
}

static KERNEL_SPACE: SpinLock<Option<AddressSpace>> = SpinLock::new(None);
/// Next free address of the vmap region.
static VMAP_NEXT: AtomicU64 = AtomicU64::new(VMAP_BASE);

pub(super) fn install_kernel(space: AddressSpace) {
    cr3::set_kernel(space.pml4_paddr());
    without_interrupts(|| *KERNEL_SPACE.lock() = Some(space));
}

fn with_kernel<R>(f: impl FnOnce(&mut AddressSpace) -> Result<R, MapError>) -> Result<R, MapError> {
    without_interrupts(|| match KERNEL_SPACE.lock().as_mut() {
        Some(space) => f(space),
        None => Err(MapError::NotInitialized),
    })
}

/// Physical address of the kernel PML4 (below 4 GiB, so 32-bit code such as
/// the SMP trampoline can load it into CR3); 0 before `mm::init`.
pub fn kernel_pml4_paddr() -> u64 {
    cr3::kernel()
}

/// Maps the kernel-half page `va` to `pa` (4 KiB) and flushes it locally.
/// Use [`KERNEL_RW`]/[`KERNEL_RO`]/[`KERNEL_RX`] for `flags`.
pub fn map(va: u64, pa: u64, flags: Flags) -> Result<(), MapError> {
    with_kernel(|s| s.map(va, pa, flags))
}

/// Unmaps the kernel-half page `va`, flushes it on this CPU and returns the
/// frame it mapped. Other CPUs are not shot down yet (single CPU for now).
pub fn unmap(va: u64) -> Result<PhysFrame, MapError> {
    with_kernel(|s| s.unmap(va))
}

/// Walks the kernel page tables for `va`; `None` if unmapped.
pub fn translate(va: u64) -> Option<Translation> {
    with_kernel(|s| Ok(s.translate(va))).ok().flatten()
}

/// Set once the SMP trampoline was identity-mapped, i.e. other CPUs may be
/// running. Until kernel unmaps shoot down other CPUs' TLBs, memory that
/// another CPU may still have cached is then not unmapped and reused (the
/// heap stops returning memory).
static OTHER_CPUS: AtomicBool = AtomicBool::new(false);

/// True once other CPUs may have been started (see [`map_identity_page`]).
pub fn other_cpus_possible() -> bool {
    OTHER_CPUS.load(Ordering::Acquire)
}

/// Identity-maps the page at `paddr` (below 4 GiB, page-aligned) in the kernel
/// address space, read-write and executable: for the SMP trampoline while
/// APs switch to long mode. Undo with [`unmap_identity_page`]. Also records
/// that other CPUs may run from now on ([`other_cpus_possible`]).
pub fn map_identity_page(paddr: u64) -> Result<(), MapError> {
    OTHER_CPUS.store(true, Ordering::Release);
    identity_map(paddr)
}

pub(super) fn identity_map(paddr: u64) -> Result<(), MapError> {
    if paddr >= 1 << 32 {
        return Err(MapError::WrongHalf(paddr));
    }
    with_kernel(|s| s.map_unchecked(paddr, paddr, Flags::PRESENT | Flags::WRITABLE))
}

/// Removes an identity mapping made by [`map_identity_page`]. The (now
/// empty) lower-half page tables it needed stay allocated and are reused
/// next time: APs may still hold them in their paging-structure caches, so
/// freeing them could let a stale walk read a reused frame. User address
/// spaces never see them (they copy only the kernel half).
pub fn unmap_identity_page(paddr: u64) -> Result<(), MapError> {
    if paddr >= 1 << 32 {
        return Err(MapError::WrongHalf(paddr));
    }
    with_kernel(|s| s.unmap_unchecked(paddr).map(|_| ()))
}

/// Reserves `pages` pages of kernel virtual space in the vmap region, with
/// an unmapped page after them. Nothing is mapped; the space is never reused.
pub fn reserve_va(pages: u64) -> Result<u64, MapError> {
    let bytes = pages.checked_add(1).and_then(|p| p.checked_mul(PAGE_SIZE)).ok_or(MapError::OutOfVirtualSpace)?;
    let mut cur = VMAP_NEXT.load(Ordering::Relaxed);
    loop {
        let next = cur.checked_add(bytes).ok_or(MapError::OutOfVirtualSpace)?;
        if next > VMAP_BASE + VMAP_SIZE {
            return Err(MapError::OutOfVirtualSpace);
        }
        match VMAP_NEXT.compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Ok(cur),
            Err(now) => cur = now,
        }
    }
}

/// Maps `bytes` of device memory at `paddr` uncached (PCD|PWT) into fresh
/// vmap space; returns the virtual address of `paddr`. (The direct map is
/// write-back: fine for emulated devices, whose accesses trap anyway, not
/// for real device memory.) Undo with [`unmap_mmio`].
pub fn map_mmio(paddr: u64, bytes: u64) -> Result<u64, MapError> {
    let first = paddr & !(PAGE_SIZE - 1);
    let end = paddr.checked_add(bytes.max(1)).ok_or(MapError::NotAligned(paddr))?;
    let pages = (end - first).div_ceil(PAGE_SIZE);
    let va = reserve_va(pages)?;
    let flags = KERNEL_RW | Flags::NO_CACHE | Flags::WRITE_THROUGH;
    for i in 0..pages {
        map(va + i * PAGE_SIZE, first + i * PAGE_SIZE, flags)?;
    }
    Ok(va + (paddr - first))
}

/// Removes a mapping made by [`map_mmio`] (same arguments as returned and
/// passed). Its virtual space is not reused.
pub fn unmap_mmio(va: u64, bytes: u64) -> Result<(), MapError> {
    let first = va & !(PAGE_SIZE - 1);
    let end = va.checked_add(bytes.max(1)).ok_or(MapError::NotAligned(va))?;
    let mut page = first;
    while page < end {
        unmap(page)?;
        page += PAGE_SIZE;
    }
    Ok(())
}
