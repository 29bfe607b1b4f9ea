//! A process's user address space: its page tables plus the regions that
//! say what may be mapped where. Anonymous memory is populated on first
//! touch (stacks and heaps cost nothing until used); program segments are
//! populated when loaded. W^X holds for every mapping.
use super::shm::SharedMemory;
use crate::mm::frame;
use crate::mm::paging::{AddressSpace, Flags};
use alloc::sync::Arc;
use alloc::vec::Vec;
use pv_abi::syscall::{layout, prot, Error};
use x86_64::structures::paging::PhysFrame;

use pv_abi::PAGE_SIZE as PAGE;
/// Anonymous mappings are placed upward from here.
const MMAP_BASE: u64 = 0x1000_0000_0000;
/// The main thread's stack ends here (grows down).
pub const STACK_TOP: u64 = 0x7fff_0000_0000;
/// Page flags of device register mappings.
const UNCACHED: Flags = Flags::NO_CACHE.union(Flags::WRITE_THROUGH);
/// Regions per process.
const MAX_REGIONS: usize = 4096;

pub enum Backing {
    /// Zero-filled memory owned by the process; `populated` lists the pages
    /// that have frames.
    Anon { populated: Vec<u64> },
    /// Frames owned by the shared-memory object, kept alive while mapped.
    Shm { object: Arc<SharedMemory> },
    /// Device registers (mapped uncached); the frames are not RAM and never
    /// go to the frame allocator.
    Mmio,
    /// DMA memory; the buffer (also held by its opened device until the
    /// device is reset) frees the frames.
    Dma { _buffer: Arc<crate::device::DmaBuffer> },
    /// RAM the kernel keeps for its whole life (the initrd), lent read-only:
    /// unmapping it never frees a frame, and `Protect` may not widen it.
    Borrowed,
}

pub struct Region {
    pub start: u64,
    pub end: u64,
    pub prot: u64,
    pub backing: Backing,
}

pub enum FaultError {
    /// Not a valid access to any region: the process is at fault.
    Denied,
    OutOfMemory,
}

pub struct Vm {
    space: AddressSpace,
    regions: Vec<Region>,
    /// Frames (pages and page tables) unmapped here that another CPU running
    /// this process may still reach through its TLB or paging-structure
    /// caches: freed by [`Stale::release`] after a shootdown, never before.
    stale: Vec<PhysFrame>,
    /// Regions unmapped since: their objects (shared memory, DMA buffers)
    /// may own the frames, so they too live until after the shootdown.
    retired: Vec<Region>,
    /// A translation was removed or narrowed: other CPUs must flush.
    flush_needed: bool,
}

/// What an address-space change left for after the shootdown.
#[must_use = "stale frames must be released after the TLB shootdown"]
pub struct Stale {
    frames: Vec<PhysFrame>,
    regions: Vec<Region>,
}

impl Stale {
    /// Frees the frames; call once no CPU can reach them any more.
    pub fn release(self) {
        for f in self.frames {
            frame::free(f);
        }
        drop(self.regions);
    }
}

/// Page flags for protection `p`. x86 pages cannot be write- or
/// execute-only, so any access makes the page readable; with none at all
/// (`Protect` to 0) the page stays present, keeping its frame for a later
/// `Protect`, but not user accessible: the program faults on it, and the
/// kernel's user accesses, which check USER_ACCESSIBLE, refuse it too.
fn flags_for(p: u64) -> Flags {
    let mut f = Flags::PRESENT;
    if p & prot::ALL != 0 {
        f |= Flags::USER_ACCESSIBLE;
    }
    if p & prot::WRITE != 0 {
        f |= Flags::WRITABLE;
    }
    if p & prot::EXEC == 0 {
        f |= Flags::NO_EXECUTE;
    }
    f
}

fn check_prot(p: u64) -> Result<(), Error> {
    if p & !prot::ALL != 0 {
        return Err(Error::Invalid);
    }
    if p & prot::WRITE != 0 && p & prot::EXEC != 0 {
        return Err(Error::Protection);
    }
    Ok(())
}

/// A page-aligned range inside user space.
pub fn user_range(start: u64, len: u64) -> Result<(u64, u64), Error> {
    if len == 0 || !start.is_multiple_of(PAGE) {
        return Err(Error::Invalid);
    }
    let len = len.checked_add(PAGE - 1).ok_or(Error::Invalid)? & !(PAGE - 1);
    let end = start.checked_add(len).ok_or(Error::Invalid)?;
    if start < layout::PROGRAM_BASE || end > layout::USER_END {
        return Err(Error::Invalid);
    }
    Ok((start, end))
}

/// A zeroed frame for user memory, unless only the kernel's reserve is left.
fn user_frame() -> Option<PhysFrame> {
    let f = frame::alloc_for_user()?;
    frame::zero(f);
    Some(f)
}

impl Vm {
    pub fn new() -> Result<Self, Error> {
        let space = AddressSpace::new_user().map_err(|_| Error::NoMemory)?;
        Ok(Self { space, regions: Vec::new(), stale: Vec::new(), retired: Vec::new(), flush_needed: false })
    }

    /// Takes what the last changes left to do on other CPUs: `None` if
    /// nothing was unmapped or narrowed, else the frames to free once every
    /// CPU running this address space has flushed its TLB.
    pub fn take_stale(&mut self) -> Option<Stale> {
        if !core::mem::take(&mut self.flush_needed) {
            return None;
        }
        Some(Stale { frames: core::mem::take(&mut self.stale), regions: core::mem::take(&mut self.retired) })
    }

    pub fn pml4_paddr(&self) -> u64 {
        self.space.pml4_paddr()
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.regions.iter().any(|r| r.start < end && start < r.end)
    }

    fn region_at(&self, va: u64) -> Option<usize> {
        self.regions.iter().position(|r| r.start <= va && va < r.end)
    }

    fn insert(&mut self, r: Region) -> Result<(), Error> {
        if self.regions.len() >= MAX_REGIONS {
            return Err(Error::Limit);
        }
        self.regions.push(r);
        Ok(())
    }

    /// Anonymous memory at a fixed place (program segments, the stack).
    /// `eager` populates it now.
    pub fn map_fixed(&mut self, start: u64, len: u64, p: u64, eager: bool) -> Result<(), Error> {
        check_prot(p)?;
        let (start, end) = user_range(start, len)?;
        if self.overlaps(start, end) {
            return Err(Error::Invalid);
        }
        self.insert(Region { start, end, prot: p, backing: Backing::Anon { populated: Vec::new() } })?;
        if eager {
            let mut va = start;
            while va < end {
                if let Err(e) = self.populate(va) {
                    self.unmap(start, end - start).ok();
                    return Err(e);
                }
                va += PAGE;
            }
        }
        Ok(())
    }

    /// The lowest free range of `len` bytes (plus a guard page after it)
    /// above MMAP_BASE: reusing freed ranges keeps their page tables in use
    /// instead of growing new ones as a process maps and unmaps.
    fn find_free(&self, len: u64) -> Result<u64, Error> {
        let limit = STACK_TOP - layout::MAIN_STACK_SIZE - layout::STACK_GUARD;
        let mut taken: Vec<(u64, u64)> =
            self.regions.iter().filter(|r| r.end > MMAP_BASE).map(|r| (r.start, r.end + PAGE)).collect();
        taken.sort_unstable();
        let mut candidate = MMAP_BASE;
        for (start, end) in taken {
            if candidate.checked_add(len + PAGE).is_some_and(|e| e <= start) {
                break;
            }
            candidate = candidate.max(end);
        }
        candidate.checked_add(len).filter(|e| *e <= limit).map(|_| candidate).ok_or(Error::NoMemory)
    }

    /// Anonymous memory wherever there is room; returns its address.
    pub fn map_anywhere(&mut self, len: u64, p: u64) -> Result<u64, Error> {
        check_prot(p)?;
        let len = len.checked_add(PAGE - 1).filter(|_| len > 0).ok_or(Error::Invalid)? & !(PAGE - 1);
        let start = self.find_free(len)?;
        self.map_fixed(start, len, p, false)?;
        Ok(start)
    }

    pub fn map_shared(&mut self, shm: Arc<SharedMemory>, p: u64) -> Result<u64, Error> {
        check_prot(p)?;
        let len = shm.len();
        let start = self.find_free(len)?;
        let end = start + len;
        self.insert(Region { start, end, prot: p, backing: Backing::Shm { object: shm.clone() } })?;
        for (i, f) in shm.frames().iter().enumerate() {
            let va = start + i as u64 * PAGE;
            if self.space.map(va, f.start_address().as_u64(), flags_for(p)).is_err() {
                self.unmap(start, len).ok();
                return Err(Error::NoMemory);
            }
        }
        Ok(start)
    }

    /// Maps `len` bytes of device registers at `paddr` (page-aligned)
    /// read-write and uncached; returns the address.
    pub fn map_device(&mut self, paddr: u64, len: u64) -> Result<u64, Error> {
        let p = prot::READ | prot::WRITE;
        let start = self.find_free(len)?;
        self.insert(Region { start, end: start + len, prot: p, backing: Backing::Mmio })?;
        self.map_pages(start, paddr, len, flags_for(p) | UNCACHED)
    }

    /// Maps a DMA buffer read-write; returns the address.
    pub fn map_dma(&mut self, buffer: Arc<crate::device::DmaBuffer>) -> Result<u64, Error> {
        let p = prot::READ | prot::WRITE;
        let (paddr, len) = (buffer.paddr(), buffer.len());
        let start = self.find_free(len)?;
        self.insert(Region { start, end: start + len, prot: p, backing: Backing::Dma { _buffer: buffer } })?;
        self.map_pages(start, paddr, len, flags_for(p))
    }

    /// Maps `len` bytes of kernel-owned RAM at `paddr` (page-aligned) with
    /// protection `p`, which may be at most READ; returns the address.
    pub fn map_borrowed(&mut self, paddr: u64, len: u64, p: u64) -> Result<u64, Error> {
        if p & !prot::READ != 0 {
            return Err(Error::Protection);
        }
        let start = self.find_free(len)?;
        self.insert(Region { start, end: start + len, prot: p, backing: Backing::Borrowed })?;
        self.map_pages(start, paddr, len, flags_for(p))
    }

    /// [`Vm::map_borrowed`] at a fixed address (a page every process has).
    pub fn map_borrowed_at(&mut self, start: u64, paddr: u64, len: u64, p: u64) -> Result<(), Error> {
        if p & !prot::READ != 0 {
            return Err(Error::Protection);
        }
        let (start, end) = user_range(start, len)?;
        if self.overlaps(start, end) {
            return Err(Error::Invalid);
        }
        self.insert(Region { start, end, prot: p, backing: Backing::Borrowed })?;
        self.map_pages(start, paddr, end - start, flags_for(p)).map(drop)
    }

    fn map_pages(&mut self, start: u64, paddr: u64, len: u64, flags: Flags) -> Result<u64, Error> {
        for off in (0..len).step_by(PAGE as usize) {
            if self.space.map(start + off, paddr + off, flags).is_err() {
                self.unmap(start, len).ok();
                return Err(Error::NoMemory);
            }
        }
        Ok(start)
    }

    /// Unmaps whole regions inside `[start, start+len)`; a range that would
    /// split a region is refused.
    pub fn unmap(&mut self, start: u64, len: u64) -> Result<(), Error> {
        let (start, end) = user_range(start, len)?;
        if self.regions.iter().any(|r| r.start < end && start < r.end && (r.start < start || r.end > end)) {
            return Err(Error::Invalid);
        }
        let mut found = false;
        let mut i = 0;
        while i < self.regions.len() {
            if self.regions[i].start >= start && self.regions[i].end <= end {
                let r = self.regions.swap_remove(i);
                self.release(&r);
                self.retired.push(r);
                found = true;
            } else {
                i += 1;
            }
        }
        if found {
            Ok(())
        } else {
            Err(Error::Invalid)
        }
    }

    /// Unmaps a region that was removed from the list, and the page tables
    /// it leaves empty; its frames wait in `stale` for the shootdown.
    fn release(&mut self, r: &Region) {
        self.release_pages(r, true);
        self.space.prune(r.start, r.end, &mut self.stale);
        self.flush_needed = true;
    }

    /// Unmaps a region's pages; their frames wait in `stale` if `defer`,
    /// else (no CPU runs this address space) they are freed at once.
    fn release_pages(&mut self, r: &Region, defer: bool) {
        match &r.backing {
            Backing::Anon { populated } => {
                for &va in populated {
                    match self.space.unmap(va) {
                        Ok(f) if defer => self.stale.push(f),
                        Ok(f) => frame::free(f),
                        Err(_) => {}
                    }
                }
            }
            Backing::Shm { object } => {
                // The object owns its frames (kept alive by other mappings
                // or freed when it drops); only the translations go.
                for i in 0..object.frames().len() as u64 {
                    let _ = self.space.unmap(r.start + i * PAGE);
                }
            }
            Backing::Mmio | Backing::Dma { .. } | Backing::Borrowed => {
                for va in (r.start..r.end).step_by(PAGE as usize) {
                    let _ = self.space.unmap(va);
                }
            }
        }
    }

    /// Changes the protection of whole regions inside the range.
    pub fn protect(&mut self, start: u64, len: u64, p: u64) -> Result<(), Error> {
        check_prot(p)?;
        let (start, end) = user_range(start, len)?;
        if self.regions.iter().any(|r| r.start < end && start < r.end && (r.start < start || r.end > end)) {
            return Err(Error::Invalid);
        }
        let mut pages = Vec::new();
        let mut uncached = Vec::new();
        let inside = |r: &&mut Region| r.start >= start && r.end <= end;
        if p & !prot::READ != 0
            && self.regions.iter_mut().filter(inside).any(|r| matches!(r.backing, Backing::Borrowed))
        {
            return Err(Error::Protection);
        }
        let mut found = false;
        for r in self.regions.iter_mut().filter(inside) {
            found = true;
            r.prot = p;
            match &r.backing {
                Backing::Anon { populated } => pages.extend_from_slice(populated),
                Backing::Shm { .. } | Backing::Dma { .. } | Backing::Borrowed => {
                    pages.extend((r.start..r.end).step_by(PAGE as usize))
                }
                Backing::Mmio => uncached.extend((r.start..r.end).step_by(PAGE as usize)),
            }
        }
        for (va, extra) in
            pages.into_iter().map(|v| (v, Flags::empty())).chain(uncached.into_iter().map(|v| (v, UNCACHED)))
        {
            if let Ok(f) = self.space.unmap(va) {
                let _ = self.space.map(va, f.start_address().as_u64(), flags_for(p) | extra);
            }
        }
        if !found {
            // As `Unmap`: a range with no mapping in it is a caller's mistake.
            return Err(Error::Invalid);
        }
        self.flush_needed = true;
        Ok(())
    }

    fn populate(&mut self, va: u64) -> Result<(), Error> {
        let page = va & !(PAGE - 1);
        // Threads on other CPUs may fault on the same page at once: the
        // first one in (under the Vm lock) maps it, the rest find it done.
        if self.space.translate(page).is_some() {
            return Ok(());
        }
        let i = self.region_at(page).ok_or(Error::Fault)?;
        let p = self.regions[i].prot;
        let f = user_frame().ok_or(Error::NoMemory)?;
        if self.space.map(page, f.start_address().as_u64(), flags_for(p)).is_err() {
            frame::free(f);
            return Err(Error::NoMemory);
        }
        if let Backing::Anon { populated } = &mut self.regions[i].backing {
            populated.push(page);
        }
        Ok(())
    }

    /// Bytes of RAM this address space holds: populated anonymous pages,
    /// shared memory and DMA buffers mapped (a shared region counts in
    /// every process mapping it). Device registers and borrowed pages are
    /// not its memory.
    pub fn resident_bytes(&self) -> u64 {
        self.regions
            .iter()
            .map(|r| match &r.backing {
                Backing::Anon { populated } => populated.len() as u64 * PAGE,
                Backing::Shm { .. } | Backing::Dma { .. } => r.end - r.start,
                Backing::Mmio | Backing::Borrowed => 0,
            })
            .sum()
    }

    /// Serves a page fault on a not-present page.
    pub fn fault_in(&mut self, va: u64, write: bool, exec: bool) -> Result<(), FaultError> {
        let i = self.region_at(va).ok_or(FaultError::Denied)?;
        let r = &self.regions[i];
        let allowed =
            (!write || r.prot & prot::WRITE != 0) && (!exec || r.prot & prot::EXEC != 0) && r.prot & prot::READ != 0;
        if !allowed || !matches!(r.backing, Backing::Anon { .. }) {
            return Err(FaultError::Denied);
        }
        self.populate(va).map_err(|e| if e == Error::NoMemory { FaultError::OutOfMemory } else { FaultError::Denied })
    }

    /// The physical address behind user address `va` for a kernel access
    /// (populating lazy memory as a user access would). `write` requires a
    /// writable mapping unless `force` (the loader filling read-only segments).
    pub fn translate(&mut self, va: u64, write: bool, force: bool) -> Result<u64, Error> {
        if va >= layout::USER_END {
            return Err(Error::Fault);
        }
        let t = match self.space.translate(va) {
            Some(t) => t,
            None => {
                match self.fault_in(va, write && !force, false) {
                    Ok(()) => {}
                    Err(FaultError::OutOfMemory) => return Err(Error::NoMemory),
                    Err(FaultError::Denied) if force => self.populate(va)?,
                    Err(FaultError::Denied) => return Err(Error::Fault),
                }
                self.space.translate(va).ok_or(Error::Fault)?
            }
        };
        // Device registers are never reached through the kernel's cached direct map.
        if t.flags.contains(Flags::NO_CACHE) {
            return Err(Error::Fault);
        }
        // `force` (the loader filling a new image) may also write a segment
        // mapped with no access at all (not user-accessible, see `flags_for`).
        if (!force && !t.flags.contains(Flags::USER_ACCESSIBLE))
            || (write && !force && !t.flags.contains(Flags::WRITABLE))
        {
            return Err(Error::Fault);
        }
        Ok(t.paddr)
    }
}

impl Drop for Vm {
    /// Only called once no CPU runs this address space (the process's last
    /// thread is off every CPU, or it never ran), so nothing needs a
    /// shootdown before the frames are reused.
    fn drop(&mut self) {
        // The address space frees all its tables as it drops: no pruning.
        for r in core::mem::take(&mut self.regions) {
            self.release_pages(&r, false);
        }
        self.flush_needed = true;
        if let Some(s) = self.take_stale() {
            s.release();
        }
    }
}
