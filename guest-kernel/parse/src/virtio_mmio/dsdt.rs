//! virtio-mmio devices in the DSDT, as QEMU microvm's `acpi_dsdt_add_virtio`
//! writes them (and Firecracker's ACPI tables do likewise):
//!
//! ```text
//! Device (VR23) {
//!     Name (_HID, "LNRO0005")  Name (_UID, 23)  Name (_CCA, One)
//!     Name (_CRS, ResourceTemplate () {
//!         Memory32Fixed (ReadWrite, 0xFEB02E00, 0x200)
//!         Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 47 }
//!     })
//! }
//! ```
//!
//! There is no AML interpreter: each DeviceOp in the table is a candidate;
//! its body is walked as `Name` declarations (and `Method`s, skipped whole)
//! until anything else, and a device whose `_HID` is the string "LNRO0005"
//! is virtio-mmio. Only such devices yield results, errors included: other
//! bytes that merely look like a DeviceOp are passed over.
use super::{aml, crs, Transport};
use core::fmt;

const HID: &[u8] = b"LNRO0005";
/// Declarations looked at per device; QEMU writes four.
const MAX_NAMES: usize = 16;

/// What is wrong with a virtio-mmio device (`device` is the offset of its
/// DeviceOp in the bytes given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsdtError {
    /// The device runs past the end of the table, or its `_CRS` buffer past the device.
    Truncated { device: usize },
    /// No `_CRS`, or one that is not a buffer.
    NoCrs { device: usize },
    /// A resource descriptor runs past the `_CRS` buffer or its length is
    /// wrong for its type, or the template has no End Tag (`at`: offset in the buffer).
    BadDescriptor { device: usize, at: usize },
    /// No Memory32Fixed descriptor.
    NoWindow { device: usize },
    /// No extended Interrupt descriptor with an interrupt in it.
    NoIrq { device: usize },
    /// A Memory32Fixed of length 0.
    EmptyWindow { device: usize },
}

impl fmt::Display for DsdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DsdtError::Truncated { device } => write!(f, "device at {device:#x} runs past the table"),
            DsdtError::NoCrs { device } => write!(f, "device at {device:#x} has no _CRS buffer"),
            DsdtError::BadDescriptor { device, at } => {
                write!(f, "device at {device:#x}: bad resource descriptor at _CRS+{at}")
            }
            DsdtError::NoWindow { device } => write!(f, "device at {device:#x} has no Memory32Fixed"),
            DsdtError::NoIrq { device } => write!(f, "device at {device:#x} has no interrupt"),
            DsdtError::EmptyWindow { device } => write!(f, "device at {device:#x} has an empty window"),
        }
    }
}

/// One result per virtio-mmio device in `aml` (a whole DSDT or its body), in table order.
pub fn devices(aml: &[u8]) -> Devices<'_> {
    Devices { aml, at: 0 }
}

pub struct Devices<'a> {
    aml: &'a [u8],
    at: usize,
}

impl Iterator for Devices<'_> {
    type Item = Result<Transport, DsdtError>;

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(pos) = self.aml.get(self.at..)?.windows(2).position(|w| w == aml::DEVICE_OP) {
            let device = self.at + pos;
            self.at = device + 2;
            if let Some(found) = virtio_device(self.aml, device) {
                return Some(found);
            }
        }
        self.at = self.aml.len();
        None
    }
}

/// What a device body's walk found: where `_HID`'s string and `_CRS`'s value are.
#[derive(Default)]
struct Names<'a> {
    hid: Option<&'a [u8]>,
    crs: Option<usize>,
    /// The walk stopped at bytes running past the body.
    overran: bool,
}

/// `None` if the DeviceOp at `device` is not a virtio-mmio device.
fn virtio_device(b: &[u8], device: usize) -> Option<Result<Transport, DsdtError>> {
    let (body, end) = aml::package(b, device + 2)?;
    let truncated = end > b.len();
    let body_bytes = b.get(..end.min(b.len()))?;
    let first = aml::name_string(body_bytes, body);
    let names = match first {
        Some(at) => walk(body_bytes, at),
        None => Names { overran: true, ..Names::default() },
    };
    if names.hid != Some(HID) {
        return None;
    }
    Some(match names.crs {
        Some(at) => transport(body_bytes, at, device, truncated),
        None if names.overran || truncated => Err(DsdtError::Truncated { device }),
        None => Err(DsdtError::NoCrs { device }),
    })
}

/// Walks `Name`s (and skips `Method`s) from `at` to the end of `b` (the device's body).
fn walk(b: &[u8], mut at: usize) -> Names<'_> {
    let mut names = Names::default();
    for _ in 0..MAX_NAMES {
        let Some(op) = b.get(at).copied() else { break };
        let next = match op {
            aml::NAME_OP => {
                let value = at + 5;
                match b.get(at + 1..value) {
                    Some(b"_HID") => names.hid = aml::string(b, value).map(|(s, _)| s),
                    Some(b"_CRS") => names.crs = Some(value),
                    Some(_) => {}
                    None => names.overran = true,
                }
                aml::skip_data_object(b, value)
            }
            aml::METHOD_OP => aml::package(b, at + 1).map(|(_, end)| end).filter(|end| *end <= b.len()),
            _ => break,
        };
        match next {
            Some(n) => at = n,
            None => {
                names.overran = true;
                break;
            }
        }
    }
    names
}

fn transport(b: &[u8], crs_at: usize, device: usize, truncated: bool) -> Result<Transport, DsdtError> {
    let template = match aml::buffer(b, crs_at) {
        Ok(Some(t)) => t,
        Ok(None) if !truncated || crs_at < b.len() => return Err(DsdtError::NoCrs { device }),
        _ => return Err(DsdtError::Truncated { device }),
    };
    let r = crs::parse(template).map_err(|crs::BadDescriptor(at)| DsdtError::BadDescriptor { device, at })?;
    let (base, size) = r.window.ok_or(DsdtError::NoWindow { device })?;
    let irq = r.irq.ok_or(DsdtError::NoIrq { device })?;
    if size == 0 {
        return Err(DsdtError::EmptyWindow { device });
    }
    Ok(Transport { base: u64::from(base), size: u64::from(size), irq })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{aml_package, sdt, virtio_mmio_crs, virtio_mmio_device, QEMU_MICROVM_DSDT};
    use std::vec::Vec;

    fn all(aml: &[u8]) -> Vec<Result<Transport, DsdtError>> {
        devices(aml).collect()
    }

    const VR23: Transport = Transport { base: 0xfeb0_2e00, size: 0x200, irq: 47 };
    const VR22: Transport = Transport { base: 0xfeb0_2c00, size: 0x200, irq: 46 };

    #[test]
    fn qemu_microvm_s_dsdt_gives_its_two_transports() {
        assert_eq!(all(QEMU_MICROVM_DSDT), [Ok(VR23), Ok(VR22)]);
        assert_eq!(all(&QEMU_MICROVM_DSDT[36..]), [Ok(VR23), Ok(VR22)]);
    }

    #[test]
    fn a_cut_qemu_dsdt_gives_what_it_still_holds_and_says_what_was_cut() {
        // VR23's DeviceOp is at 0x13F, VR22's at 0x183. A device is known
        // to be virtio once its `_HID` string is in (0x17 bytes on) and is
        // whole once its 0x44 bytes are.
        let state = |dev: usize, len: usize| match len - dev.min(len) {
            0..0x17 => None,
            0x17..0x44 => Some(Err(DsdtError::Truncated { device: dev })),
            _ => Some(Ok(if dev == 0x13F { VR23 } else { VR22 })),
        };
        for len in 0..=QEMU_MICROVM_DSDT.len() {
            let got = all(&QEMU_MICROVM_DSDT[..len]);
            let want: Vec<_> = [state(0x13F, len), state(0x183, len)].into_iter().flatten().collect();
            assert_eq!(got, want, "cut at {len:#x}");
        }
    }

    #[test]
    fn devices_with_other_hids_are_passed_over() {
        let crs = virtio_mmio_crs(0x1000, 0x200, 5);
        let mut aml = virtio_mmio_device(b"VR00", b"LNRO0006", 0, &crs);
        aml.extend(virtio_mmio_device(b"VR01", b"LNRO000", 1, &crs));
        aml.extend(virtio_mmio_device(b"VR02", b"LNRO0005", 2, &crs));
        assert_eq!(all(&aml), [Ok(Transport { base: 0x1000, size: 0x200, irq: 5 })]);
    }

    #[test]
    fn methods_before_the_names_are_skipped_and_scopes_are_looked_into() {
        let crs = virtio_mmio_crs(0xd000_0000, 0x1000, 5);
        let dev = virtio_mmio_device(b"VR00", b"LNRO0005", 0, &crs);
        // Move the device's first Name behind a `Method (_STA) { Return (0x0F) }`.
        let op_len = 2 + 1 + usize::from(dev[2] >> 6);
        let name_end = op_len + 4;
        let mut body = dev[op_len..name_end].to_vec();
        body.extend_from_slice(&aml_package(&[0x14], b"_STA\x00\xA4\x0A\x0F"));
        body.extend_from_slice(&dev[name_end..]);
        let dev = aml_package(&[0x5B, 0x82], &body);
        let scope = aml_package(&[0x10], &[b"\\_SB_".as_slice(), &dev].concat());
        let table = sdt(b"DSDT", &scope);
        assert_eq!(all(&table), [Ok(Transport { base: 0xd000_0000, size: 0x1000, irq: 5 })]);
    }

    #[test]
    fn bad_resource_templates_are_typed_errors() {
        let mut no_end = virtio_mmio_crs(0x1000, 0x200, 5);
        no_end.truncate(no_end.len() - 2);
        let no_irq = [&virtio_mmio_crs(0x1000, 0x200, 5)[..12], &[0x79, 0x00]].concat();
        let no_window = virtio_mmio_crs(0x1000, 0x200, 5)[12..].to_vec();
        let irq_count_0 = [0x89, 0x02, 0x00, 0x01, 0x00, 0x79, 0x00];
        for (crs, want) in [
            (virtio_mmio_crs(0x1000, 0, 5), DsdtError::EmptyWindow { device: 0 }),
            (no_end, DsdtError::BadDescriptor { device: 0, at: 21 }),
            (no_irq, DsdtError::NoIrq { device: 0 }),
            (irq_count_0.to_vec(), DsdtError::NoWindow { device: 0 }),
            (no_window, DsdtError::NoWindow { device: 0 }),
        ] {
            let aml = virtio_mmio_device(b"VR00", b"LNRO0005", 0, &crs);
            assert_eq!(all(&aml), [Err(want)], "{crs:x?}");
        }
    }

    #[test]
    fn a_device_without_a_crs_buffer_is_an_error() {
        let no_crs = aml_package(&[0x5B, 0x82], b"VR00\x08_HID\x0DLNRO0005\x00\x08_UID\x00");
        assert_eq!(all(&no_crs), [Err(DsdtError::NoCrs { device: 0 })]);
        let crs_int = aml_package(&[0x5B, 0x82], b"VR00\x08_HID\x0DLNRO0005\x00\x08_CRS\x0A\x05");
        assert_eq!(all(&crs_int), [Err(DsdtError::NoCrs { device: 0 })]);
        // A _CRS buffer longer than its device.
        let dev = virtio_mmio_device(b"VR00", b"LNRO0005", 0, &virtio_mmio_crs(0x1000, 0x200, 5));
        let body = &dev[2 + 1 + usize::from(dev[2] >> 6)..];
        let (kept, cut) = body.split_at(body.len() - 3);
        let table = [aml_package(&[0x5B, 0x82], kept), cut.to_vec()].concat();
        assert_eq!(all(&table), [Err(DsdtError::Truncated { device: 0 })]);
    }

    #[test]
    fn nothing_looking_like_a_device_makes_the_scan_fail() {
        for aml in
            [&b""[..], b"\x5B", b"\x5B\x82", b"\x5B\x82\xFF\xFF\xFF\xFF", b"\x5B\x82\x05vr00", b"\x5B\x82\x5B\x82\x01"]
        {
            assert_eq!(all(aml), [], "{aml:x?}");
        }
    }
}
