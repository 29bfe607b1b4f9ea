//! A `_CRS` resource template (ACPI 6.5 §6.4): small and large resource
//! descriptors up to the End Tag, each skipped by its own length. From a
//! virtio-mmio device's template it takes the first Memory32Fixed (the
//! register window) and the first extended Interrupt's first interrupt.
use crate::le;

const END_TAG: u8 = 0x0F;
const MEMORY32_FIXED: u8 = 0x86;
const EXTENDED_INTERRUPT: u8 = 0x89;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resources {
    /// (base, size) of the first Memory32Fixed.
    pub window: Option<(u32, u32)>,
    pub irq: Option<u32>,
}

/// A descriptor whose length runs past the template or is wrong for its
/// type, or no End Tag: the offset in the template where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDescriptor(pub usize);

pub fn parse(t: &[u8]) -> Result<Resources, BadDescriptor> {
    let mut found = Resources { window: None, irq: None };
    let mut at = 0;
    loop {
        let tag = le::u8_at(t, at).ok_or(BadDescriptor(at))?;
        let (data, len) = if tag & 0x80 == 0 {
            if (tag >> 3) & 0x0F == END_TAG {
                return Ok(found);
            }
            (at + 1, usize::from(tag & 0x07))
        } else {
            (at + 3, usize::from(le::u16_at(t, at + 1).ok_or(BadDescriptor(at))?))
        };
        let body = t.get(data..data + len).ok_or(BadDescriptor(at))?;
        match tag {
            // Its length is fixed: anything else is not a Memory32Fixed.
            MEMORY32_FIXED if len != 9 => return Err(BadDescriptor(at)),
            MEMORY32_FIXED if found.window.is_none() => {
                // Information byte, base, length.
                let base = le::u32_at(body, 1).ok_or(BadDescriptor(at))?;
                let size = le::u32_at(body, 5).ok_or(BadDescriptor(at))?;
                found.window = Some((base, size));
            }
            EXTENDED_INTERRUPT if found.irq.is_none() => {
                // Flags, count, then count u32s (then an optional resource source).
                let count = usize::from(le::u8_at(body, 1).ok_or(BadDescriptor(at))?);
                if len < 2 + 4 * count {
                    return Err(BadDescriptor(at));
                }
                found.irq = le::u32_at(body, 2).filter(|_| count > 0);
            }
            _ => {}
        }
        at = data + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU microvm's `_CRS` for VR23 (ResourceTemplate buffer contents).
    const VR23: [u8; 23] = [
        0x86, 0x09, 0x00, 0x01, 0x00, 0x2E, 0xB0, 0xFE, 0x00, 0x02, 0x00, 0x00, // Memory32Fixed
        0x89, 0x06, 0x00, 0x01, 0x01, 0x2F, 0x00, 0x00, 0x00, // Interrupt, 1 IRQ
        0x79, 0x00, // End Tag
    ];

    #[test]
    fn qemu_s_template_gives_its_window_and_irq() {
        let r = parse(&VR23).unwrap();
        assert_eq!(r, Resources { window: Some((0xfeb0_2e00, 0x200)), irq: Some(47) });
    }

    #[test]
    fn other_descriptors_are_skipped_and_the_first_of_each_kind_wins() {
        let mut t = std::vec![0x47, 1, 0xf8, 3, 0xf8, 3, 0, 8]; // small IO descriptor
        t.extend_from_slice(&[0x8A, 0x03, 0x00, 0xAA, 0xBB, 0xCC]); // large, unknown to us
        t.extend_from_slice(&VR23[..21]);
        t.extend_from_slice(&[0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0, 0x10, 0, 0]);
        t.extend_from_slice(&[0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0, 0, 0, 0x79, 0x00]);
        assert_eq!(parse(&t).unwrap(), Resources { window: Some((0xfeb0_2e00, 0x200)), irq: Some(47) });
    }

    #[test]
    fn an_interrupt_list_of_none_gives_no_irq() {
        let t = [0x89, 0x02, 0x00, 0x01, 0x00, 0x79, 0x00];
        assert_eq!(parse(&t).unwrap(), Resources { window: None, irq: None });
    }

    #[test]
    fn short_or_overrunning_descriptors_are_errors_at_their_offset() {
        // Every cut of the template before its End Tag.
        for len in 0..VR23.len() - 2 {
            let at = if len < 12 {
                0
            } else if len < 21 {
                12
            } else {
                21
            };
            assert_eq!(parse(&VR23[..len]), Err(BadDescriptor(at)), "cut at {len}");
        }
        // Lengths too short for their type.
        assert_eq!(parse(&[0x86, 0x05, 0x00, 1, 0, 0, 0, 0, 0x79, 0]), Err(BadDescriptor(0)));
        // ... or longer than it is (found by the fuzz target).
        assert_eq!(parse(&[0x86, 0x0A, 0x00, 1, 0, 0x2E, 0xB0, 0xFE, 0, 2, 0, 0, 0, 0x79, 0]), Err(BadDescriptor(0)));
        assert_eq!(parse(&[0x89, 0x05, 0x00, 1, 2, 5, 0, 0, 0, 0x79, 0]), Err(BadDescriptor(0)));
        assert_eq!(parse(&[0x89, 0x01, 0x00, 1, 0x79, 0]), Err(BadDescriptor(0)));
        // A large length that runs far past the end.
        assert_eq!(parse(&[0x86, 0xFF, 0xFF, 0x79, 0x00]), Err(BadDescriptor(0)));
    }
}
