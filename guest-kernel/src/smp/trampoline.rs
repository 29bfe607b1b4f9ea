//! The AP start-up trampoline: copied to a free page below 1 MiB, entered
//! in real mode by a start-up IPI, it switches to long mode on the kernel's
//! page tables and jumps to `ap_entry` in the higher half. It is
//! position-independent: the BSP patches the far-jump targets and the GDT
//! base for the page it was copied to, and fills in the parameters.

extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
}

/// Offsets (from the trampoline start) of the fields the BSP patches.
pub mod off {
    pub const GDTR_BASE: usize = 0xfe0 + 2;
    pub const FAR32: usize = 0xff0;
    pub const FAR64: usize = 0xff8;
    pub const CR3: usize = 0xfc0;
    pub const STACK: usize = 0xfc8;
    pub const ENTRY: usize = 0xfd0;
    pub const ARG: usize = 0xfd8;
    pub const GDTR: usize = 0xfe0;
}

/// The trampoline's code and data, to be copied to the AP start page.
pub fn image() -> &'static [u8] {
    // SAFETY: both symbols bound the trampoline in .rodata.
    unsafe {
        let start = core::ptr::addr_of!(ap_trampoline_start);
        let end = core::ptr::addr_of!(ap_trampoline_end);
        core::slice::from_raw_parts(start, end as usize - start as usize)
    }
}

/// Offset of the 32-bit and 64-bit entry points and of the GDT in the image.
pub fn code_offsets() -> (usize, usize, usize) {
    extern "C" {
        static ap_tramp32: u8;
        static ap_tramp64: u8;
        static ap_tramp_gdt: u8;
    }
    let s = core::ptr::addr_of!(ap_trampoline_start) as usize;
    (
        core::ptr::addr_of!(ap_tramp32) as usize - s,
        core::ptr::addr_of!(ap_tramp64) as usize - s,
        core::ptr::addr_of!(ap_tramp_gdt) as usize - s,
    )
}

core::arch::global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .balign 4096
    .global ap_trampoline_start
ap_trampoline_start:
    .code16
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    // ebx = physical base of this page; registers survive the mode switches
    // (there is no usable stack until long mode).
    xorl %ebx, %ebx
    movw %ax, %bx
    shll $4, %ebx
    lgdtl 0xfe0
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl *0xff0

    .code32
    .global ap_tramp32
ap_tramp32:
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl 0xfc0(%ebx), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax
    movl %eax, %cr0
    ljmpl *0xff8(%ebx)

    .code64
    .global ap_tramp64
ap_tramp64:
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq 0xfc8(%rbx), %rsp
    movq 0xfd8(%rbx), %rdi
    movq 0xfd0(%rbx), %rax
    xorl %ebp, %ebp
    jmpq *%rax

    .balign 8
    .global ap_tramp_gdt
ap_tramp_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .org ap_trampoline_start + 0x1000
    .global ap_trampoline_end
ap_trampoline_end:
    .text
    "#,
    options(att_syntax)
);
