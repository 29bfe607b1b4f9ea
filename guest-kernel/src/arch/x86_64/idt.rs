//! The IDT, shared by all CPUs. Every vector points at a stub in `trap.rs`;
//! the Rust dispatcher decides what a vector means.
use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CS};
use core::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    offset_lo: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_hi: u32,
    reserved: u32,
}

const _: () = assert!(core::mem::size_of::<Gate>() == 16);

impl Gate {
    const EMPTY: Gate =
        Gate { offset_lo: 0, selector: 0, ist: 0, type_attr: 0, offset_mid: 0, offset_hi: 0, reserved: 0 };

    /// A 64-bit interrupt gate (IF cleared on entry) with the given DPL.
    fn interrupt(handler: u64, ist: u8, dpl: u8) -> Gate {
        Gate {
            offset_lo: handler as u16,
            selector: KERNEL_CS,
            ist,
            type_attr: 0x8e | (dpl << 5),
            offset_mid: (handler >> 16) as u16,
            offset_hi: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static mut IDT: Idt = Idt([Gate::EMPTY; 256]);
static BUILT: AtomicBool = AtomicBool::new(false);

/// Fills the IDT (once, on the boot CPU) and loads it on the calling CPU.
pub fn init_and_load() {
    if !BUILT.swap(true, Ordering::AcqRel) {
        let stubs = super::trap::stub_table_base();
        for v in 0..256usize {
            let ist = match v {
                2 => IST_NMI,
                8 => IST_DOUBLE_FAULT,
                18 => IST_MACHINE_CHECK,
                _ => 0,
            };
            // #BP and #OF may be raised by user code with `int3`/`into`.
            let dpl = if v == 3 || v == 4 { 3 } else { 0 };
            let gate = Gate::interrupt(stubs + (v as u64) * super::trap::STUB_SIZE, ist, dpl);
            // SAFETY: only the boot CPU writes the IDT, once, before any other
            // CPU loads it (guarded by BUILT).
            unsafe { (*core::ptr::addr_of_mut!(IDT)).0[v] = gate };
        }
    }
    load();
}

fn load() {
    let ptr = x86_64::structures::DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::new(core::ptr::addr_of!(IDT) as u64),
    };
    // SAFETY: the IDT is static and fully built; its gates point at valid stubs.
    unsafe { x86_64::instructions::tables::lidt(&ptr) };
}
