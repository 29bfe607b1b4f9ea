//! Bringing one CPU to the state the kernel expects: its GDT/TSS with IST
//! stacks, the shared IDT, per-CPU data in GS, and its local APIC.
use crate::arch::x86_64::{apic, idt, trap::vector};
use crate::percpu::PerCpu;

/// Size of each IST stack (#DF, NMI, #MC).
const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; 3]);

#[link_section = ".stack"]
static mut BSP_IST: IstStacks = IstStacks([[0; IST_STACK_SIZE]; 3]);

static mut BSP_CPU: PerCpu = PerCpu::new(0, 0);

/// Sets up the boot CPU's tables from static storage, so exceptions are
/// reported from the very start of kernel init (before the allocator).
pub fn init_boot_cpu() {
    let base = core::ptr::addr_of!(BSP_IST) as u64;
    let tops = [1, 2, 3].map(|i| base + (i * IST_STACK_SIZE) as u64);
    // SAFETY: runs once on the boot CPU; BSP_CPU is never moved or aliased mutably again.
    let cpu = unsafe { &mut *core::ptr::addr_of_mut!(BSP_CPU) };
    cpu.apic_id = crate::arch::x86_64::cpuid::apic_id();
    load(cpu, tops);
}

/// Sets up an AP (its IST stacks come from the kernel allocator).
pub fn init_this_cpu(cpu: &'static mut PerCpu, boot: bool) {
    let mut tops = [0u64; 3];
    for t in tops.iter_mut() {
        match crate::mm::stack::alloc_kernel_stack(IST_STACK_SIZE / 4096) {
            Ok(s) => {
                *t = s.top;
                core::mem::forget(s); // lives as long as the CPU
            }
            Err(e) => {
                kprintln!("cpu {}: no memory for IST stacks: {e}", cpu.index);
                crate::poweroff::exit_with(pv_abi::exit::KernelExit::OutOfMemory);
            }
        }
    }
    load(cpu, tops);
    apic::init_cpu(boot, vector::SPURIOUS);
    crate::time::init_ap(crate::percpu::index());
    crate::pv::init_ap(crate::percpu::index());
}

fn load(cpu: &'static mut PerCpu, ist_tops: [u64; 3]) {
    // The reference is split off so `install` can take the block afterwards.
    // SAFETY: `tables` lives inside a 'static PerCpu that is never moved.
    let tables: &'static mut _ = unsafe { &mut *core::ptr::addr_of_mut!(cpu.tables) };
    tables.build(ist_tops);
    let tables: &'static _ = tables;
    tables.load();
    idt::init_and_load();
    crate::percpu::install(cpu);
}
