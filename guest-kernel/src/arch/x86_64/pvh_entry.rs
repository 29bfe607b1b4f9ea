//! PVH entry: the VMM starts us in 32-bit protected mode with paging off and
//! EBX pointing at `hvm_start_info`. We switch to long mode on static page
//! tables and call `kernel_main` in the higher half.
//!
//! The boot page tables are assembled into the image rather than built by a
//! loop: on a software-virtualised host every ring-0 instruction is emulated,
//! and a 2048-entry loop would cost more than the rest of early boot.
//! They map, with 2 MiB pages:
//! - identity `[0, 4 GiB)`, needed while the instruction pointer is still low;
//! - the direct map `DIRECT_MAP_BASE + [0, 4 GiB)`;
//! - the kernel image at `KERNEL_VMA + [0, 2 GiB)`.

use super::layout::{DIRECT_MAP_PML4_INDEX, KERNEL_VMA};
use pv_abi::{boot_trace, pvh};

/// Boot GDT selectors; the layout matches the final GDT (and SYSCALL's STAR).
pub const KERNEL_CS: u16 = 0x10;
pub const KERNEL_DS: u16 = 0x18;

/// Size of the boot CPU's stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(4096))]
struct Stack([u8; BOOT_STACK_SIZE]);

#[link_section = ".stack"]
#[no_mangle]
static mut BOOT_STACK: Stack = Stack([0; BOOT_STACK_SIZE]);

core::arch::global_asm!(
    r#"
    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    movb ${trace_entry}, %al
    outb %al, ${trace_port}
    rdtsc
    movl %eax, boot_entry_tsc
    movl %edx, boot_entry_tsc + 4
    movl %ebx, %esi
    lgdt boot_gdt_ptr
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax
    movl %eax, %cr0
    ljmp ${kernel_cs}, $long_mode_entry

    .code64
long_mode_entry:
    movw ${kernel_ds}, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $BOOT_STACK + {stack_size}, %rsp
    movabsq $__bss_start, %rdi
    movabsq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    rep stosq
    movl %esi, %edi
    xorl %ebp, %ebp
    movabsq $kernel_main, %rax
    callq *%rax
    ud2

    .section .boot.data, "aw"
    .balign 8
    .global boot_entry_tsc
boot_entry_tsc:
    .quad 0
boot_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .balign 4096
boot_pml4:
    .quad boot_pdpt_low + 3
    .fill {dm_index} - 1, 8, 0
    .quad boot_pdpt_low + 3
    .fill 511 - {dm_index} - 1, 8, 0
    .quad boot_pdpt_high + 3
boot_pdpt_low:
    .quad boot_pd + 0x0003
    .quad boot_pd + 0x1003
    .quad boot_pd + 0x2003
    .quad boot_pd + 0x3003
    .fill 508, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd + 0x0003
    .quad boot_pd + 0x1003
boot_pd:
    .set boot_pd_i, 0
    .rept 2048
    .quad (boot_pd_i << 21) + 0x83
    .set boot_pd_i, boot_pd_i + 1
    .endr

    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long {note_type}
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .balign 4
    .text
    "#,
    trace_entry = const boot_trace::KERNEL_ENTRY,
    trace_port = const boot_trace::PORT,
    kernel_cs = const KERNEL_CS,
    kernel_ds = const KERNEL_DS,
    stack_size = const BOOT_STACK_SIZE,
    dm_index = const DIRECT_MAP_PML4_INDEX,
    note_type = const pvh::XEN_ELFNOTE_PHYS32_ENTRY,
    options(att_syntax)
);

/// The TSC at the first kernel instruction (PVH entry).
pub fn entry_tsc() -> u64 {
    extern "C" {
        static boot_entry_tsc: u64;
    }
    // .boot is linked at its physical address: reach it via the direct map,
    // which (unlike the identity map) outlives early boot.
    let paddr = core::ptr::addr_of!(boot_entry_tsc) as u64;
    // SAFETY: the direct map covers the kernel image; the read is aligned.
    unsafe { ((super::layout::DIRECT_MAP_BASE + paddr) as *const u64).read_volatile() }
}

// The kernel mapping in boot_pdpt_high must be slot 510 (-2 GiB).
const _: () = assert!((KERNEL_VMA >> 30) & 0x1ff == 510);
