//! Where virtio-mmio transports are, from the two places VMMs say so:
//! the kernel command line (`virtio_mmio.device=SIZE@ADDR:IRQ`, Firecracker
//! and QEMU microvm without ACPI) and the ACPI DSDT (QEMU microvm with ACPI:
//! a `Device` with `_HID` "LNRO0005" whose `_CRS` holds a Memory32Fixed and
//! an extended Interrupt descriptor). Pure byte parsers, bounds-checked,
//! host-testable (they take slices and return values).
use alloc::vec::Vec;

/// One transport: register window and interrupt (GSI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transport {
    pub base: u64,
    pub size: u64,
    pub irq: u32,
}

/// Transports looked for at most.
pub const MAX_TRANSPORTS: usize = 32;

/// Every `virtio_mmio.device=` entry on a command line; malformed ones are skipped.
pub fn from_cmdline(cmdline: &[u8]) -> Vec<Transport> {
    const KEY: &[u8] = b"virtio_mmio.device=";
    cmdline
        .split(|b| *b == b' ')
        .filter_map(|w| w.strip_prefix(KEY))
        .filter_map(|v| core::str::from_utf8(v).ok())
        .filter_map(parse_spec)
        .take(MAX_TRANSPORTS)
        .collect()
}

/// `SIZE@ADDR:IRQ[:ID]`: SIZE with an optional K/M/G suffix, ADDR in hex (0x) or decimal.
fn parse_spec(s: &str) -> Option<Transport> {
    let (size, rest) = s.split_once('@')?;
    let (addr, irq) = rest.split_once(':')?;
    let irq = irq.split(':').next()?;
    let size = parse_size(size)?;
    let base = parse_num(addr)?;
    let irq = u32::try_from(parse_num(irq)?).ok()?;
    (size > 0 && base.checked_add(size).is_some()).then_some(Transport { base, size, irq })
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    parse_num(num)?.checked_mul(1 << shift)
}

/// Bytes after a `_HID` that its `_CRS` must start within.
const CRS_WINDOW: usize = 96;

/// Transports described in DSDT bytes (`aml`, the whole table or its body).
/// It does not interpret AML: it finds each "LNRO0005" string and takes the
/// first Memory32Fixed (0x86) and extended Interrupt (0x89) large resource
/// descriptors that follow it within a few bytes, which is how QEMU's
/// `acpi_dsdt_add_virtio` lays them out.
pub fn from_dsdt(aml: &[u8]) -> Vec<Transport> {
    const HID: &[u8] = b"LNRO0005";
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(pos) = find(&aml[at..], HID) {
        let start = at + pos + HID.len();
        at = start;
        let window = &aml[start..aml.len().min(start + CRS_WINDOW)];
        let (Some(mem), Some(int)) = (memory32_fixed(window), interrupt(window)) else { continue };
        if out.len() < MAX_TRANSPORTS && mem.1 > 0 {
            out.push(Transport { base: mem.0, size: mem.1, irq: int });
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Memory32Fixed: 0x86, length 9 (u16), flags, base u32, size u32.
fn memory32_fixed(w: &[u8]) -> Option<(u64, u64)> {
    let i = find(w, &[0x86, 0x09, 0x00])?;
    Some((u64::from(u32_at(w, i + 4)?), u64::from(u32_at(w, i + 8)?)))
}

/// Extended Interrupt: 0x89, length (u16, >= 6), flags, count (>= 1), first IRQ u32.
fn interrupt(w: &[u8]) -> Option<u32> {
    let i = w.iter().position(|b| *b == 0x89)?;
    let len = u16::from_le_bytes(w.get(i + 1..i + 3)?.try_into().ok()?);
    let count = *w.get(i + 4)?;
    (len >= 6 && count >= 1).then_some(())?;
    u32_at(w, i + 5)
}
