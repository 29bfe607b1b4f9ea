//! Command-line parsing (`lexopt`): `vmm-harness boot --kernel FILE ...`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use pv_abi::pvh::layout::CMDLINE_MAX;

use crate::devices::virtio::backend::NetArgs;
use crate::devices::virtio::blk::DiskArgs;
use crate::devices::virtio::layout;
use crate::error::CliError;

/// Default guest RAM in MiB.
pub const DEFAULT_MEM_MIB: u64 = 256;
/// Smallest guest RAM accepted. 1 MiB holds only the boot structures, so any
/// kernel is then refused as too big, with the size it needs.
pub const MIN_MEM_MIB: u64 = 1;
/// Largest guest RAM (1 TiB); the mapping is lazily populated, so this is only a sanity bound.
pub const MAX_MEM_MIB: u64 = 1 << 20;
/// Largest vCPU count: what the guest supports (APIC IDs stay below 255,
/// so plain xAPIC IDs suffice).
pub const MAX_CPUS: u32 = pv_abi::MAX_CPUS as u32;
/// Default `--timeout` in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

pub const USAGE: &str = "\
vmm-harness: boot a PVH ELF kernel under KVM and report how it went.

Usage:
  vmm-harness boot --kernel FILE [options]
  vmm-harness restore DIR [--timeout SECS] [--trace] [--trace-json FILE] [--snapshot-dir DIR2]
  vmm-harness --help | -h
  vmm-harness --version | -V

Options for `boot`:
  --kernel FILE       PVH ELF kernel (x86-64 ELF64 with a Xen PHYS32_ENTRY note); required
  --initrd FILE       initial ramdisk, handed over as PVH module 0
  --cmdline STR       kernel command line (at most 65535 bytes)
  --mem MIB           guest RAM in MiB (default 256, 1..=1048576)
  --cpus N            number of vCPUs (default 1, 1..=64)
  --timeout SECS      give up after SECS seconds with exit status 124 (default 30, 0 = never)
  --disk FILE[,ro]    a virtio-blk disk backed by FILE (`ro`: read-only); repeatable
  --net SPEC          a virtio-net card; SPEC is tap=NAME (a host tap device),
                      udp=HOST:PORT[,local=HOST:PORT] (a frame per datagram, like QEMU's
                      -netdev socket,udp=) or loopback (sent frames come back); repeatable
  --balloon           a virtio-balloon with free-page reporting: runs the guest reports free
                      are dropped from the harness's memory (it never asks for pages back)
  --transport T       mmio (default: virtio-mmio, on the kernel command line) or pci
                      (virtio-pci with MSI-X, ECAM described by an ACPI MCFG)
  --trace             print the boot timeline on stderr at exit
  --trace-json FILE   write the boot timeline as JSON to FILE at exit
  --snapshot-dir DIR  on SIGUSR1 (or the guest's port-0x80 request 0x50) write a snapshot of the
                      VM to DIR and exit 0; `restore DIR` resumes it in a new process, its
                      devices too (the disks and backends reopened as the snapshot names them)

Exit status: the guest's own code (exit port 0xf4, or `VIREO-EXIT n` before ACPI S5),
2 for bad input, 124 for a timeout, 125 when the VM failed.

Devices come disks first, then nets, then the balloon. virtio-mmio: at 0xc0001000, 0xc0002000, ... on IOAPIC lines 5, 6, ...,
described to the guest by `virtio_mmio.device=4K@ADDR:IRQ` words put before --cmdline.
virtio-pci: functions 00:01.0, 00:02.0, ... with ECAM at 0xe8000000.
A device the guest programs wrongly fails (DEVICE_NEEDS_RESET, one line on stderr); the VM runs on.
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Boot(BootArgs),
    Restore(RestoreArgs),
}

/// Options of `vmm-harness restore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreArgs {
    pub dir: PathBuf,
    pub timeout_secs: Option<u64>,
    pub trace: bool,
    pub trace_json: Option<PathBuf>,
    /// Snapshot the restored VM again on request.
    pub snapshot_dir: Option<PathBuf>,
}

/// Options of `vmm-harness boot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootArgs {
    pub kernel: PathBuf,
    pub initrd: Option<PathBuf>,
    /// Command line bytes, without the terminating NUL.
    pub cmdline: Vec<u8>,
    pub mem_mib: u64,
    pub cpus: u32,
    /// `None` means no timeout (`--timeout 0`).
    pub timeout_secs: Option<u64>,
    pub trace: bool,
    pub trace_json: Option<PathBuf>,
    pub snapshot_dir: Option<PathBuf>,
    pub disks: Vec<DiskArgs>,
    pub nets: Vec<NetArgs>,
    /// `--balloon`: one virtio-balloon, free-page reporting on.
    pub balloon: bool,
    pub transport: VirtioTransport,
}

impl BootArgs {
    /// How many virtio devices the VM gets.
    pub fn virtio_devices(&self) -> usize {
        self.disks.len() + self.nets.len() + usize::from(self.balloon)
    }
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtioTransport {
    Mmio,
    Pci,
}

/// Parse the process arguments (without argv[0]).
pub fn parse<I>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;

    let mut parser = lexopt::Parser::from_args(args);
    let first = match parser.next().map_err(lex_err)? {
        None => return Err(CliError::MissingCommand),
        Some(Short('h') | Long("help")) => return Ok(Command::Help),
        Some(Short('V') | Long("version")) => return Ok(Command::Version),
        Some(Value(v)) if v == "boot" => v,
        Some(Value(v)) if v == "restore" => return parse_restore(parser),
        Some(Value(v)) => return Err(CliError::UnknownCommand(lossy(v))),
        Some(other) => return Err(unexpected(other)),
    };
    debug_assert_eq!(first, "boot");
    let mut snapshot_dir = None;

    let mut kernel = None;
    let mut initrd = None;
    let mut cmdline = Vec::new();
    let mut mem_mib = DEFAULT_MEM_MIB;
    let mut cpus = 1u32;
    let mut timeout = DEFAULT_TIMEOUT_SECS;
    let mut trace = false;
    let mut trace_json = None;
    let mut disks = Vec::new();
    let mut nets = Vec::new();
    let mut balloon = false;
    let mut transport = VirtioTransport::Mmio;

    while let Some(arg) = parser.next().map_err(lex_err)? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("kernel") => kernel = Some(PathBuf::from(value(&mut parser, "--kernel")?)),
            Long("initrd") => initrd = Some(PathBuf::from(value(&mut parser, "--initrd")?)),
            Long("cmdline") => cmdline = value(&mut parser, "--cmdline")?.into_vec(),
            Long("mem") => {
                let v = value(&mut parser, "--mem")?;
                mem_mib = number(&v, "--mem", MIN_MEM_MIB, MAX_MEM_MIB)?;
            }
            Long("cpus") => {
                let v = value(&mut parser, "--cpus")?;
                // Bounded by MAX_CPUS, so the narrowing cannot truncate.
                cpus = number(&v, "--cpus", 1, u64::from(MAX_CPUS))? as u32;
            }
            Long("timeout") => {
                let v = value(&mut parser, "--timeout")?;
                timeout = number(&v, "--timeout", 0, 100 * 365 * 24 * 3600)?;
            }
            Long("trace") => trace = true,
            Long("trace-json") => trace_json = Some(PathBuf::from(value(&mut parser, "--trace-json")?)),
            Long("snapshot-dir") => snapshot_dir = Some(PathBuf::from(value(&mut parser, "--snapshot-dir")?)),
            Long("disk") => {
                let v = lossy(value(&mut parser, "--disk")?);
                disks.push(DiskArgs::parse(&v).ok_or(CliError::BadDisk(v))?);
            }
            Long("balloon") => balloon = true,
            Long("transport") => {
                transport = match value(&mut parser, "--transport")?.to_str() {
                    Some("mmio") => VirtioTransport::Mmio,
                    Some("pci") => VirtioTransport::Pci,
                    other => return Err(CliError::BadTransport(other.unwrap_or("?").to_string())),
                }
            }
            Long("net") => {
                let v = lossy(value(&mut parser, "--net")?);
                nets.push(NetArgs::parse(&v).ok_or(CliError::BadNet(v))?);
            }
            other => return Err(unexpected(other)),
        }
    }

    let kernel = kernel.ok_or(CliError::MissingKernel)?;
    let mut args = BootArgs {
        kernel,
        initrd,
        cmdline,
        mem_mib,
        cpus,
        timeout_secs: (timeout != 0).then_some(timeout),
        trace,
        trace_json,
        snapshot_dir,
        disks,
        nets,
        balloon,
        transport,
    };
    let devices = args.virtio_devices();
    if devices > layout::MAX_DEVICES {
        return Err(CliError::TooManyDevices(layout::MAX_DEVICES));
    }
    let words = if transport == VirtioTransport::Mmio { devices } else { 0 };
    args.cmdline = with_device_words(std::mem::take(&mut args.cmdline), words);
    if args.cmdline.len() > CMDLINE_MAX {
        return Err(CliError::CmdlineTooLong { len: args.cmdline.len(), max: CMDLINE_MAX });
    }
    if args.cmdline.contains(&0) {
        return Err(CliError::CmdlineNul);
    }
    Ok(Command::Boot(args))
}

fn parse_restore(mut parser: lexopt::Parser) -> Result<Command, CliError> {
    use lexopt::prelude::*;
    let mut dir = None;
    let mut timeout = DEFAULT_TIMEOUT_SECS;
    let mut trace = false;
    let mut trace_json = None;
    let mut snapshot_dir = None;
    while let Some(arg) = parser.next().map_err(lex_err)? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Value(v) if dir.is_none() => dir = Some(PathBuf::from(v)),
            Long("timeout") => {
                let v = value(&mut parser, "--timeout")?;
                timeout = number(&v, "--timeout", 0, 100 * 365 * 24 * 3600)?;
            }
            Long("trace") => trace = true,
            Long("trace-json") => trace_json = Some(PathBuf::from(value(&mut parser, "--trace-json")?)),
            Long("snapshot-dir") => snapshot_dir = Some(PathBuf::from(value(&mut parser, "--snapshot-dir")?)),
            other => return Err(unexpected(other)),
        }
    }
    let dir = dir.ok_or(CliError::MissingSnapshotDir)?;
    Ok(Command::Restore(RestoreArgs {
        dir,
        timeout_secs: (timeout != 0).then_some(timeout),
        trace,
        trace_json,
        snapshot_dir,
    }))
}

/// The guest command line: one `virtio_mmio.device=` word per device, then
/// the user's. First, because a Vireo command line ends with init's words.
fn with_device_words(cmdline: Vec<u8>, devices: usize) -> Vec<u8> {
    if devices == 0 {
        return cmdline;
    }
    let mut v = Vec::with_capacity(cmdline.len() + 48 * devices);
    for (base, irq) in (0..devices).filter_map(layout::slot) {
        v.extend_from_slice(layout::cmdline_word(base, irq).as_bytes());
        v.push(b' ');
    }
    v.extend_from_slice(&cmdline);
    if cmdline.is_empty() {
        v.pop();
    }
    v
}

fn value(parser: &mut lexopt::Parser, flag: &'static str) -> Result<OsString, CliError> {
    parser.value().map_err(|_| CliError::MissingValue(flag))
}

fn number(v: &OsString, flag: &'static str, min: u64, max: u64) -> Result<u64, CliError> {
    let bad = || CliError::BadNumber { flag, value: lossy(v.clone()), min, max };
    let n: u64 = v.to_str().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if n < min || n > max {
        return Err(bad());
    }
    Ok(n)
}

fn unexpected(arg: lexopt::Arg) -> CliError {
    match arg {
        lexopt::Arg::Short(c) => CliError::UnknownOption(format!("-{c}")),
        lexopt::Arg::Long(l) => CliError::UnknownOption(format!("--{l}")),
        lexopt::Arg::Value(v) => CliError::UnexpectedArgument(lossy(v)),
    }
}

fn lossy(v: OsString) -> String {
    v.to_string_lossy().into_owned()
}

fn lex_err(e: lexopt::Error) -> CliError {
    match e {
        lexopt::Error::UnexpectedValue { option, .. } => CliError::UnexpectedValue(option),
        other => CliError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(args: &[&str]) -> Result<BootArgs, CliError> {
        let mut v = vec!["boot"];
        v.extend_from_slice(args);
        match parse(v)? {
            Command::Boot(b) => Ok(b),
            other => panic!("expected boot, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let b = boot(&["--kernel", "k.elf"]).unwrap();
        assert_eq!(b.kernel, PathBuf::from("k.elf"));
        assert_eq!(b.initrd, None);
        assert!(b.cmdline.is_empty());
        assert_eq!(b.mem_mib, 256);
        assert_eq!(b.cpus, 1);
        assert_eq!(b.timeout_secs, Some(30));
        assert!(!b.trace);
        assert_eq!(b.trace_json, None);
        assert!(b.disks.is_empty() && b.nets.is_empty() && !b.balloon);
        assert_eq!(b.transport, VirtioTransport::Mmio);
    }

    #[test]
    fn devices_and_their_command_line_words() {
        let b = boot(&["--kernel", "k", "--disk", "d.img,ro", "--net", "loopback", "--cmdline", "quiet -- x"]).unwrap();
        assert_eq!(b.disks, vec![DiskArgs { path: "d.img".into(), read_only: true }]);
        assert_eq!(b.nets, vec![NetArgs::Loopback]);
        assert_eq!(
            String::from_utf8(b.cmdline).unwrap(),
            "virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6 quiet -- x"
        );
        let b = boot(&["--kernel", "k", "--disk", "d.img"]).unwrap();
        assert_eq!(b.cmdline, b"virtio_mmio.device=4K@0xc0001000:5");
        // The balloon comes after the disks and nets.
        let b = boot(&["--kernel", "k", "--balloon", "--disk", "d.img"]).unwrap();
        assert!(b.balloon);
        assert_eq!(b.cmdline, b"virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6");
        let b = boot(&["--kernel", "k", "--disk", "d.img", "--transport", "pci", "--cmdline", "x"]).unwrap();
        assert_eq!((b.transport, &b.cmdline[..]), (VirtioTransport::Pci, &b"x"[..]), "PCI needs no words");
        assert_eq!(boot(&["--kernel", "k", "--transport", "isa"]), Err(CliError::BadTransport("isa".into())));
        assert_eq!(boot(&["--kernel", "k", "--disk", ""]), Err(CliError::BadDisk("".into())));
        assert_eq!(boot(&["--kernel", "k", "--net", "user"]), Err(CliError::BadNet("user".into())));
        let mut many = vec!["--kernel", "k"];
        for _ in 0..=layout::MAX_DEVICES {
            many.extend(["--net", "loopback"]);
        }
        assert_eq!(boot(&many), Err(CliError::TooManyDevices(layout::MAX_DEVICES)));
        // The device words count against the command-line limit.
        let max = "x".repeat(CMDLINE_MAX);
        assert!(matches!(
            boot(&["--kernel", "k", "--cmdline", &max, "--disk", "d"]),
            Err(CliError::CmdlineTooLong { .. })
        ));
    }

    #[test]
    fn all_options() {
        let b = boot(&[
            "--kernel=k",
            "--initrd",
            "i.img",
            "--cmdline",
            "-v selftest",
            "--mem",
            "4096",
            "--cpus",
            "64",
            "--timeout",
            "0",
            "--trace",
            "--trace-json",
            "t.json",
        ])
        .unwrap();
        assert_eq!(b.initrd, Some(PathBuf::from("i.img")));
        assert_eq!(b.cmdline, b"-v selftest");
        assert_eq!(b.mem_mib, 4096);
        assert_eq!(b.cpus, 64);
        assert_eq!(b.timeout_secs, None);
        assert!(b.trace);
        assert_eq!(b.trace_json, Some(PathBuf::from("t.json")));
    }

    #[test]
    fn snapshot_and_restore() {
        let b = boot(&["--kernel", "k", "--snapshot-dir", "snap"]).unwrap();
        assert_eq!(b.snapshot_dir, Some(PathBuf::from("snap")));
        let r = match parse(["restore", "snap", "--timeout", "5", "--trace"]).unwrap() {
            Command::Restore(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!((r.dir, r.timeout_secs, r.trace, r.snapshot_dir), (PathBuf::from("snap"), Some(5), true, None));
        assert_eq!(parse(["restore"]), Err(CliError::MissingSnapshotDir));
        assert!(boot(&["--kernel", "k", "--snapshot-dir", "s", "--disk", "d", "--net", "tap=t0"]).is_ok());
        assert_eq!(parse(["restore", "a", "b"]), Err(CliError::UnexpectedArgument("b".into())));
        assert_eq!(parse(["restore", "a", "--kernel", "k"]), Err(CliError::UnknownOption("--kernel".into())));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(["--help"]).unwrap(), Command::Help);
        assert_eq!(parse(["-h"]).unwrap(), Command::Help);
        assert_eq!(parse(["boot", "-h"]).unwrap(), Command::Help);
        assert_eq!(parse(["--version"]).unwrap(), Command::Version);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(Vec::<String>::new()), Err(CliError::MissingCommand));
        assert_eq!(parse(["run"]), Err(CliError::UnknownCommand("run".into())));
        assert_eq!(parse(["--bogus"]), Err(CliError::UnknownOption("--bogus".into())));
        assert_eq!(boot(&["--kernel", "k", "--bogus"]), Err(CliError::UnknownOption("--bogus".into())));
        assert_eq!(boot(&[]), Err(CliError::MissingKernel));
        assert_eq!(boot(&["--kernel"]), Err(CliError::MissingValue("--kernel")));
        assert_eq!(boot(&["--kernel", "k", "extra"]), Err(CliError::UnexpectedArgument("extra".into())));
        assert_eq!(boot(&["--trace=yes", "--kernel", "k"]), Err(CliError::UnexpectedValue("--trace".into())));
    }

    #[test]
    fn bad_numbers() {
        for (flag, v) in [
            ("--cpus", "0"),
            ("--cpus", "65"),
            ("--cpus", "-1"),
            ("--cpus", "two"),
            ("--mem", "0"),
            ("--mem", "0x100"),
            ("--mem", ""),
            ("--mem", "99999999999999999999999"),
            ("--timeout", "1.5"),
        ] {
            let e = boot(&["--kernel", "k", flag, v]).unwrap_err();
            assert!(matches!(e, CliError::BadNumber { .. }), "{flag} {v}: {e:?}");
            assert!(e.to_string().contains(flag));
        }
    }

    #[test]
    fn cmdline_limit() {
        let long = "x".repeat(CMDLINE_MAX + 1);
        assert!(matches!(boot(&["--kernel", "k", "--cmdline", &long]), Err(CliError::CmdlineTooLong { .. })));
        let max = "x".repeat(CMDLINE_MAX);
        assert_eq!(boot(&["--kernel", "k", "--cmdline", &max]).unwrap().cmdline.len(), CMDLINE_MAX);
    }
}
