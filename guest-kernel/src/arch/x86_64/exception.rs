//! CPU exceptions: their names, and a readable dump of one taken in the
//! kernel (vector, error code, CR2, registers, frame-pointer backtrace).
//! What happens next (power-off, killing a process) is the `irq` layer's
//! decision; what the dump needs from above (the running thread, where to
//! print) it is given.
use super::trap::TrapFrame;
use core::fmt;

const NAMES: [&str; 32] = [
    "divide error (#DE)",
    "debug (#DB)",
    "NMI",
    "breakpoint (#BP)",
    "overflow (#OF)",
    "bound range (#BR)",
    "invalid opcode (#UD)",
    "device not available (#NM)",
    "double fault (#DF)",
    "coprocessor segment overrun",
    "invalid TSS (#TS)",
    "segment not present (#NP)",
    "stack fault (#SS)",
    "general protection (#GP)",
    "page fault (#PF)",
    "reserved 15",
    "x87 floating point (#MF)",
    "alignment check (#AC)",
    "machine check (#MC)",
    "SIMD floating point (#XM)",
    "virtualization (#VE)",
    "control protection (#CP)",
    "reserved 22",
    "reserved 23",
    "reserved 24",
    "reserved 25",
    "reserved 26",
    "reserved 27",
    "hypervisor injection (#HV)",
    "VMM communication (#VC)",
    "security (#SX)",
    "reserved 31",
];

/// The exception's name, e.g. "page fault (#PF)".
pub fn name(vector: u64) -> &'static str {
    NAMES.get(vector as usize).copied().unwrap_or("unknown exception")
}

/// Frames printed at most in a backtrace.
const MAX_FRAMES: usize = 16;

/// What the dump reports that only the kernel above `arch` knows.
pub struct DumpContext<'a> {
    pub cpu: usize,
    /// Name and id of the kernel thread that faulted, if known.
    pub thread: Option<(&'a str, u64)>,
    /// True if a kernel virtual address can be read without faulting.
    pub is_mapped: &'a dyn Fn(u64) -> bool,
}

/// Prints the exception in `f` through `eprint` (which must not take locks
/// the faulting code may hold).
pub fn dump(f: &TrapFrame, ctx: &DumpContext, eprint: &dyn Fn(fmt::Arguments)) {
    let name = name(f.vector);
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    eprint(format_args!(
        "\nKERNEL EXCEPTION on cpu {}: vector {} {name}, error code {:#x}, cr2 {:#018x}\n",
        ctx.cpu, f.vector, f.error_code, cr2
    ));
    if let Some((name, id)) = ctx.thread {
        eprint(format_args!("  in kernel thread {name} (#{id})\n"));
    }
    eprint(format_args!(
        "  rip {:#018x} cs {:#06x} rflags {:#010x} rsp {:#018x} ss {:#06x}\n",
        f.rip, f.cs, f.rflags, f.rsp, f.ss
    ));
    eprint(format_args!("  rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}\n", f.rax, f.rbx, f.rcx, f.rdx));
    eprint(format_args!("  rsi {:#018x} rdi {:#018x} rbp {:#018x} r8  {:#018x}\n", f.rsi, f.rdi, f.rbp, f.r8));
    eprint(format_args!("  r9  {:#018x} r10 {:#018x} r11 {:#018x} r12 {:#018x}\n", f.r9, f.r10, f.r11, f.r12));
    eprint(format_args!("  r13 {:#018x} r14 {:#018x} r15 {:#018x}\n", f.r13, f.r14, f.r15));
    eprint(format_args!("  backtrace:\n    {:#018x}\n", f.rip));
    let mut rbp = f.rbp;
    for _ in 0..MAX_FRAMES {
        let Some((next, ret)) = read_frame(rbp, ctx.is_mapped) else { break };
        if ret == 0 {
            break;
        }
        eprint(format_args!("    {ret:#018x}\n"));
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}

/// Reads `[rbp]` and `[rbp + 8]` if both lie in mapped kernel memory.
fn read_frame(rbp: u64, is_mapped: &dyn Fn(u64) -> bool) -> Option<(u64, u64)> {
    if !rbp.is_multiple_of(8) || rbp < super::layout::DIRECT_MAP_BASE {
        return None;
    }
    if !is_mapped(rbp) || !is_mapped(rbp + 8) {
        return None;
    }
    // SAFETY: both words are 8-byte aligned and mapped (checked above).
    unsafe { Some((*(rbp as *const u64), *((rbp + 8) as *const u64))) }
}
