//! How a Vireo guest reports its exit status and powers off.
//!
//! The guest prints `VIREO-EXIT <code>` as its last serial line, then writes
//! the code to [`EXIT_PORT`] (QEMU's `isa-debug-exit`, when a test adds one;
//! vmm-harness implements the same port), then requests ACPI S5 from the
//! FADT, then falls back to [`CHV_SLEEP_PORT`], then halts. A VMM that has
//! none of those devices ignores the writes, and the serial line remains
//! authoritative.

/// Serial marker that starts the last line a guest prints before power-off.
pub const MARKER: &str = "VIREO-EXIT";

/// QEMU `isa-debug-exit` compatible port (`-device isa-debug-exit,iobase=0xf4,iosize=4`).
/// QEMU then exits with status `(code << 1) | 1`; vmm-harness exits with `code`.
pub const EXIT_PORT: u16 = 0xf4;

/// Cloud Hypervisor's ACPI sleep-control register (HW-reduced FADT), also
/// served by vmm-harness.
pub const CHV_SLEEP_PORT: u16 = 0x600;
/// `SLP_TYP = 5 (S5) << 2 | SLP_EN (1 << 5)`: what Cloud Hypervisor treats as power-off.
pub const CHV_SLEEP_S5: u8 = 0x34;
/// Writing this to [`CHV_SLEEP_PORT`] asks Cloud Hypervisor (and vmm-harness) to reset.
pub const CHV_RESET_VALUE: u8 = 0x01;

/// Exit codes the kernel itself produces. A user-space init's status is passed
/// through unchanged, so these sit high in the range to stay recognisable.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelExit {
    /// A clean shutdown with nothing left to do.
    Success = 0,
    /// A kernel panic (message and location were printed).
    Panic = 0x70,
    /// An unexpected CPU exception in ring 0 (a register dump was printed).
    CpuException = 0x71,
    /// The boot information handed over by the VMM was unusable.
    BadBootInfo = 0x72,
    /// `selftest` ran and at least one test failed.
    SelfTestFailed = 0x73,
    /// The kernel ran out of physical memory for its own structures.
    OutOfMemory = 0x74,
    /// init ended with a status that is not an exit code 0-255 (it was
    /// killed, or exited with a larger value).
    InitKilled = 0x75,
    /// No init program: the initrd is missing or lacks the program named by `init=`.
    NoInit = 0x76,
}

impl KernelExit {
    /// The numeric status as printed after [`MARKER`].
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// Statuses init itself ends with (it passes its program's status through
/// otherwise), kept apart from the kernel's codes and from common program
/// statuses.
pub mod init {
    /// The I/O server died: files and devices are gone, so the system says
    /// so on the console and powers off rather than hang.
    pub const IO_SERVER_DIED: u8 = 0x6e;
    /// The I/O server never said it was ready.
    pub const IO_SERVER_SILENT: u8 = 0x6f;
    /// A program's status asking for a restart (the shell's `reboot`): init
    /// stops the I/O server (clean unmount) and ends with it too, and the
    /// kernel then resets the machine instead of powering off. Outside the
    /// exit codes 0-255 and below the kernel's kill statuses.
    pub const REBOOT_REQUEST: i32 = 0x0b00;
}

/// Exit statuses vmm-harness uses for outcomes that are not a guest's own
/// `VIREO-EXIT` code.
pub mod harness {
    /// Bad command line or input file; one line on stderr says which.
    pub const BAD_INPUT: i32 = 2;
    /// The guest did not power off within `--timeout`.
    pub const TIMEOUT: i32 = 124;
    /// The VM stopped without reporting a status (triple fault, KVM internal
    /// error, halt with interrupts off, a VMM fault).
    pub const VM_FAILURE: i32 = 125;
}

/// Parse a serial line of the form `VIREO-EXIT <code>` (trailing `\r` allowed).
pub fn parse_line(line: &str) -> Option<u8> {
    let rest = line.trim_end_matches(['\r', '\n']).strip_prefix(MARKER)?;
    let rest = rest.strip_prefix(' ')?;
    rest.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exit_lines() {
        assert_eq!(parse_line("VIREO-EXIT 0"), Some(0));
        assert_eq!(parse_line("VIREO-EXIT 112\r\n"), Some(KernelExit::Panic.code()));
        assert_eq!(parse_line("VIREO-EXIT"), None);
        assert_eq!(parse_line("VIREO-EXIT x"), None);
        assert_eq!(parse_line("VIREO-EXIT 300"), None);
        assert_eq!(parse_line("xVIREO-EXIT 0"), None);
    }

    #[test]
    fn s5_value_matches_acpi_encoding() {
        const SLP_EN: u8 = 1 << 5;
        assert_eq!(CHV_SLEEP_S5, (5 << 2) | SLP_EN);
    }
}
