//! Every way `vmm-harness` can fail before the guest runs, and the exit
//! status each one maps to. `main` prints `vmm-harness: error: <Display>`.

use std::io;

use pv_abi::exit::harness::{BAD_INPUT, VM_FAILURE};

/// A bad command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("missing command (try `vmm-harness --help`)")]
    MissingCommand,
    #[error("unknown command '{0}' (try `vmm-harness --help`)")]
    UnknownCommand(String),
    #[error("unknown option '{0}' (try `vmm-harness --help`)")]
    UnknownOption(String),
    #[error("unexpected argument '{0}'")]
    UnexpectedArgument(String),
    #[error("option '{0}' takes no value")]
    UnexpectedValue(String),
    #[error("option {0} needs a value")]
    MissingValue(&'static str),
    #[error("missing required option --kernel FILE")]
    MissingKernel,
    #[error("missing the snapshot directory: `vmm-harness restore DIR`")]
    MissingSnapshotDir,
    #[error("invalid {flag} value '{value}': expected an integer from {min} to {max}")]
    BadNumber { flag: &'static str, value: String, min: u64, max: u64 },
    #[error("--cmdline is {len} bytes long; at most {max} bytes fit")]
    CmdlineTooLong { len: usize, max: usize },
    #[error("--cmdline contains a NUL byte")]
    CmdlineNul,
    #[error("invalid --disk value '{0}': expected FILE or FILE,ro")]
    BadDisk(String),
    #[error("invalid --net value '{0}': expected tap=NAME, udp=HOST:PORT[,local=HOST:PORT] or loopback")]
    BadNet(String),
    #[error("invalid --transport value '{0}': expected mmio or pci")]
    BadTransport(String),
    #[error("too many devices: at most {0} --disk and --net in all")]
    TooManyDevices(usize),
    #[error("{0}")]
    Other(String),
}

/// A kernel image that cannot be booted (found by `elfcheck` before loading).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("is not an ELF file (bad magic)")]
    BadMagic,
    #[error("is truncated ({0} lies beyond the end of the file)")]
    Truncated(&'static str),
    #[error("is a 32-bit ELF (ELF32); a 64-bit x86-64 ELF is required")]
    Elf32,
    #[error("has an invalid ELF class {0}; a 64-bit x86-64 ELF is required")]
    BadClass(u8),
    #[error("is a big-endian ELF; an x86-64 ELF is little-endian")]
    BigEndian,
    #[error("is an ELF for machine type {0}, not x86-64 (62)")]
    NotX86_64(u16),
    #[error("has program header entries of {0} bytes instead of 56")]
    BadPhentsize(u16),
    #[error("has its program headers at offset {0:#x}, inside the ELF header")]
    BadPhoff(u64),
    #[error("has no PT_LOAD segment with file contents")]
    NoLoadSegment,
    #[error("has a PT_LOAD segment at {0:#x}, below 1 MiB where the boot structures live")]
    SegmentBelowHighMem(u64),
    #[error("has a PT_LOAD segment [{start:#x}, {end:#x}) in the PCI hole (3 GiB..4 GiB)")]
    SegmentInPciHole { start: u64, end: u64 },
    #[error("has a PT_LOAD segment whose address range overflows")]
    SegmentOverflow,
    #[error("does not fit: memory too small for the image: needs {needs_mib} MiB (--mem is {mem_mib})")]
    TooBig { needs_mib: u64, mem_mib: u64 },
    #[error(
        "has no PVH entry note (PvhEntryNotPresent: no \"Xen\" ELF note of type 18, \
         XEN_ELFNOTE_PHYS32_ENTRY); only PVH ELF kernels can be booted"
    )]
    PvhEntryNotPresent,
    #[error(
        "has its PVH note in a PT_NOTE segment that a later PT_NOTE shadows \
         (linux-loader uses only the last PT_NOTE); move the note into the last one"
    )]
    PvhNoteShadowed,
    #[error("has a PVH note whose descriptor is {0} bytes; at least 4 are needed")]
    BadPvhNote(u32),
    #[error("has its ELF entry point {0:#x} below 1 MiB")]
    EntryBelowHighMem(u64),
    #[error("has its PVH entry {0:#x} outside every loaded segment")]
    PvhEntryOutside(u64),
}

/// Anything that stops the harness before (or while) starting the guest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error("kernel '{path}' {source}")]
    Kernel { path: String, source: ElfError },
    #[error("cannot read kernel '{path}': {source}")]
    KernelIo { path: String, source: io::Error },
    #[error("cannot read initrd '{path}': {source}")]
    InitrdIo { path: String, source: io::Error },
    #[error(
        "initrd '{path}' ({size} bytes) does not fit in guest RAM between the end of the \
         kernel image ({kernel_end:#x}) and {limit:#x}; raise --mem"
    )]
    InitrdTooBig { path: String, size: u64, kernel_end: u64, limit: u64 },
    #[error("cannot open /dev/kvm: {0}")]
    KvmOpen(kvm_ioctls::Error),
    #[error("/dev/kvm cannot create a VM (KVM_CREATE_VM: {0})")]
    KvmUnusable(kvm_ioctls::Error),
    #[error("{op} failed: {source}")]
    Kvm { op: &'static str, source: kvm_ioctls::Error },
    #[error("guest memory: {0}")]
    Memory(String),
    #[error("VM set-up: {0}")]
    Setup(String),
    #[error("loading the kernel failed: {0}")]
    Load(linux_loader::loader::Error),
    #[error("kernel has no PVH entry after loading ({0})")]
    NoPvhAfterLoad(String),
    #[error("writing {what} to guest memory failed: {source}")]
    GuestWrite { what: &'static str, source: vm_memory::GuestMemoryError },
    #[error("cannot start the {what} thread: {source}")]
    Thread { what: &'static str, source: io::Error },
    #[error("cannot create an eventfd: {0}")]
    EventFd(io::Error),
    #[error("snapshot '{path}': {why}")]
    Snapshot { path: String, why: String },
    #[error("cannot open disk '{path}': {source}")]
    Disk { path: String, source: io::Error },
    #[error("cannot open network backend '{spec}': {source}")]
    Net { spec: String, source: io::Error },
    #[error("snapshot: the {what} cannot be restored: {why}")]
    DeviceState { what: &'static str, why: String },
    #[error("cannot connect the interrupt of {what}: {source}")]
    DeviceIrq { what: &'static str, source: io::Error },
}

impl Error {
    /// Process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Cli(_)
            | Error::Kernel { .. }
            | Error::KernelIo { .. }
            | Error::InitrdIo { .. }
            | Error::InitrdTooBig { .. }
            | Error::KvmOpen(_)
            | Error::KvmUnusable(_)
            | Error::Load(_)
            | Error::NoPvhAfterLoad(_)
            | Error::Snapshot { .. }
            | Error::Disk { .. }
            | Error::Net { .. }
            | Error::DeviceState { .. } => BAD_INPUT,
            Error::Kvm { .. }
            | Error::Memory(_)
            | Error::Setup(_)
            | Error::GuestWrite { .. }
            | Error::Thread { .. }
            | Error::EventFd(_)
            | Error::DeviceIrq { .. } => VM_FAILURE,
        }
    }

    /// Shorthand for a failed KVM ioctl.
    pub fn kvm(op: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> Error {
        move |source| Error::Kvm { op, source }
    }

    /// Shorthand for a failed guest-memory write.
    pub fn write(what: &'static str) -> impl FnOnce(vm_memory::GuestMemoryError) -> Error {
        move |source| Error::GuestWrite { what, source }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Error::Cli(CliError::MissingKernel).exit_code(), BAD_INPUT);
        let e = Error::Kernel { path: "k".into(), source: ElfError::BadMagic };
        assert_eq!(e.exit_code(), BAD_INPUT);
        assert_eq!(e.to_string(), "kernel 'k' is not an ELF file (bad magic)");
        assert_eq!(Error::Memory("x".into()).exit_code(), VM_FAILURE);
    }
}
