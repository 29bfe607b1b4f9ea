//! Starting the application processors listed in the ACPI MADT.
mod trampoline;

use crate::arch::x86_64::apic;
use crate::percpu::{self, PerCpu, MAX_CPUS};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, Ordering};
use trampoline::off;

/// Per-AP stack for bring-up and its scheduler loop (pages).
const AP_STACK_PAGES: usize = 8;
/// How long to wait for an AP to check in after each start-up IPI.
const AP_TIMEOUT_NS: u64 = 200_000_000;

static AP_CHECKED_IN: AtomicBool = AtomicBool::new(false);

#[derive(Debug)]
pub enum SmpError {
    NoLowPage,
    NoMemory,
    TooManyCpus(usize),
}

impl core::fmt::Display for SmpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoLowPage => write!(f, "no free page below 1 MiB for the AP trampoline"),
            Self::NoMemory => write!(f, "out of memory for AP stacks"),
            Self::TooManyCpus(n) => write!(f, "{n} CPUs listed; at most {MAX_CPUS} supported"),
        }
    }
}

fn write_u64(page_va: u64, offset: usize, v: u64) {
    // SAFETY: the trampoline page is ours, mapped via the direct map.
    unsafe { ((page_va + offset as u64) as *mut u64).write_volatile(v) }
}

fn write_u32(page_va: u64, offset: usize, v: u32) {
    // SAFETY: as for `write_u64`.
    unsafe { ((page_va + offset as u64) as *mut u32).write_volatile(v) }
}

fn write_u16(page_va: u64, offset: usize, v: u16) {
    // SAFETY: as for `write_u64`.
    unsafe { ((page_va + offset as u64) as *mut u16).write_volatile(v) }
}

/// Starts every AP in `apic_ids` (the boot CPU's own ID is skipped), one at
/// a time. Returns the number of CPUs online afterwards.
pub fn start_aps(apic_ids: &[u32]) -> Result<usize, SmpError> {
    if apic_ids.len() > MAX_CPUS {
        return Err(SmpError::TooManyCpus(apic_ids.len()));
    }
    let bsp = apic::id();
    if apic_ids.iter().all(|&id| id == bsp) {
        return Ok(percpu::online_count());
    }
    let page = crate::mm::reserve_low_page().ok_or(SmpError::NoLowPage)?;
    let va = crate::mm::phys_to_virt(page);
    let image = trampoline::image();
    // SAFETY: the reserved page is ours and 4 KiB long, as is the image.
    unsafe { core::ptr::copy_nonoverlapping(image.as_ptr(), va as *mut u8, image.len()) };
    let (off32, off64, gdt) = trampoline::code_offsets();
    write_u16(va, off::GDTR, 4 * 8 - 1);
    write_u32(va, off::GDTR_BASE, (page + gdt as u64) as u32);
    write_u32(va, off::FAR32, (page + off32 as u64) as u32);
    write_u16(va, off::FAR32 + 4, 0x08);
    write_u32(va, off::FAR64, (page + off64 as u64) as u32);
    write_u16(va, off::FAR64 + 4, 0x10);
    write_u64(va, off::CR3, crate::mm::paging::kernel_pml4_paddr());
    write_u64(va, off::ENTRY, ap_entry as *const () as u64);
    crate::mm::paging::map_identity_page(page).map_err(|_| SmpError::NoMemory)?;

    let mut index = 1;
    for &id in apic_ids.iter().filter(|&&id| id != bsp) {
        let stack = crate::mm::stack::alloc_kernel_stack(AP_STACK_PAGES).map_err(|_| SmpError::NoMemory)?;
        let cpu = Box::leak(Box::new(PerCpu::new(index, id)));
        write_u64(va, off::STACK, stack.top);
        write_u64(va, off::ARG, cpu as *mut PerCpu as u64);
        core::mem::forget(stack); // the AP runs on it forever
        AP_CHECKED_IN.store(false, Ordering::SeqCst);
        apic::send_init(id);
        let mut started = false;
        for _attempt in 0..2 {
            apic::send_startup(id, (page >> 12) as u8);
            let t0 = crate::time::now_ns();
            while crate::time::now_ns() - t0 < AP_TIMEOUT_NS {
                if AP_CHECKED_IN.load(Ordering::Acquire) {
                    started = true;
                    break;
                }
                core::hint::spin_loop();
            }
            if started {
                break;
            }
        }
        if started {
            index += 1;
        } else {
            kprintln!("smp: cpu with APIC ID {id} did not start");
        }
    }
    let _ = crate::mm::paging::unmap_identity_page(page);
    Ok(percpu::online_count())
}

/// First Rust code on an AP, on its own stack, in the higher half.
extern "C" fn ap_entry(cpu: &'static mut PerCpu) -> ! {
    let index = cpu.index;
    crate::cpu_init::init_this_cpu(cpu, false);
    // Said before checking in: the boot CPU may go on to power off at once
    // (a kernel with nothing to run), and a line after that is lost.
    kinfoln!("cpu {index} online");
    AP_CHECKED_IN.store(true, Ordering::Release);
    crate::sched::run()
}
