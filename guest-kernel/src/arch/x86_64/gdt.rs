//! Per-CPU GDT and TSS. The selector layout mirrors Linux so that SYSCALL's
//! STAR works and user selectors are 0x2b (data) and 0x33 (code):
//! 0x08 kernel CS32, 0x10 kernel CS64, 0x18 kernel DS, 0x23 user CS32,
//! 0x2b user DS, 0x33 user CS64, 0x40 TSS.
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PrivilegeLevel, VirtAddr};

pub const KERNEL_CS: u16 = super::pvh_entry::KERNEL_CS;
pub const KERNEL_DS: u16 = super::pvh_entry::KERNEL_DS;
pub const USER_DS: u16 = 0x2b;
pub const USER_CS: u16 = 0x33;
pub const TSS_SEL: u16 = 0x40;

/// IST slots (1-based in the IDT, 0-based in the TSS).
pub const IST_DOUBLE_FAULT: u8 = 1;
pub const IST_NMI: u8 = 2;
pub const IST_MACHINE_CHECK: u8 = 3;

/// A CPU's descriptor tables. Must live as long as the CPU runs.
pub struct CpuTables {
    gdt: GlobalDescriptorTable<10>,
    pub tss: TaskStateSegment,
}

impl CpuTables {
    pub const fn new() -> Self {
        Self { gdt: GlobalDescriptorTable::empty(), tss: TaskStateSegment::new() }
    }

    /// Fills the tables; `ist_tops` are the tops of the #DF, NMI and #MC stacks.
    pub fn build(&mut self, ist_tops: [u64; 3]) {
        for (i, top) in ist_tops.iter().enumerate() {
            self.tss.interrupt_stack_table[i] = VirtAddr::new(*top);
        }
        let gdt = &mut self.gdt;
        gdt.append(Descriptor::UserSegment(0x00CF_9A00_0000_FFFF)); // 0x08 kernel CS32
        gdt.append(Descriptor::kernel_code_segment()); // 0x10
        gdt.append(Descriptor::kernel_data_segment()); // 0x18
        gdt.append(Descriptor::UserSegment(0x00CF_FA00_0000_FFFF)); // 0x20 user CS32
        gdt.append(Descriptor::user_data_segment()); // 0x28
        gdt.append(Descriptor::user_code_segment()); // 0x30
        gdt.append(Descriptor::UserSegment(0)); // 0x38 unused
                                                // SAFETY: CpuTables live in a never-freed PerCpu block (see `load`),
                                                // so the TSS outlives its descriptor.
        let tss: &'static TaskStateSegment = unsafe { &*(&self.tss as *const TaskStateSegment) };
        let tss_sel = gdt.append(Descriptor::tss_segment(tss));
        debug_assert_eq!(tss_sel.0, TSS_SEL);
    }

    /// Loads the GDT and TSS on the calling CPU and reloads segment registers.
    pub fn load(&'static self) {
        self.gdt.load();
        // SAFETY: the GDT just loaded holds valid descriptors at these selectors.
        unsafe {
            CS::set_reg(SegmentSelector::new(KERNEL_CS >> 3, PrivilegeLevel::Ring0));
            let ds = SegmentSelector::new(KERNEL_DS >> 3, PrivilegeLevel::Ring0);
            DS::set_reg(ds);
            ES::set_reg(ds);
            SS::set_reg(ds);
            load_tss(SegmentSelector::new(TSS_SEL >> 3, PrivilegeLevel::Ring0));
        }
    }
}
