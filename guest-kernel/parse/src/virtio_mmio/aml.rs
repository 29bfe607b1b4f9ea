//! The few AML encodings (ACPI 6.5 §20.2) needed to walk a `Device` whose
//! body is `Name` declarations: PkgLength, NameString and the data objects
//! a `Name` can hold. Each reader takes the bytes and an offset and returns
//! where the item ends, or `None` if it runs past the bytes or is not that
//! item; none can panic, whatever the offset.
use crate::le;

pub const NAME_OP: u8 = 0x08;
pub const BUFFER_OP: u8 = 0x11;
pub const PACKAGE_OP: u8 = 0x12;
pub const METHOD_OP: u8 = 0x14;
pub const STRING_PREFIX: u8 = 0x0D;
/// DeviceOp is ExtOpPrefix (0x5B) then 0x82.
pub const DEVICE_OP: [u8; 2] = [0x5B, 0x82];

/// Longest string a `Name` in a device is read as: `_HID`s are 7-9
/// characters. A longer one ends the walk, which keeps the scan linear.
const MAX_STRING: usize = 64;

/// PkgLength at `at`: (its value, the offset after the encoding). The value
/// counts the encoding itself, so the package ends at `at + value`.
pub fn pkg_length(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let lead = le::u8_at(b, at)?;
    let follow = usize::from(lead >> 6);
    if follow == 0 {
        return Some((usize::from(lead & 0x3F), at + 1));
    }
    let mut len = usize::from(lead & 0x0F);
    for i in 0..follow {
        len |= usize::from(le::u8_at(b, at + 1 + i)?) << (4 + 8 * i);
    }
    Some((len, at + 1 + follow))
}

/// The package starting with a PkgLength at `at`: (offset after the
/// PkgLength, offset of its end). The end may lie past `b`.
pub fn package(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let (len, body) = pkg_length(b, at)?;
    let end = at.checked_add(len)?;
    (end >= body).then_some((body, end))
}

fn lead_name_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c == b'_'
}

fn name_seg(b: &[u8], at: usize) -> Option<usize> {
    let seg: [u8; 4] = le::array(b, at)?;
    let rest_ok = seg[1..].iter().all(|&c| lead_name_char(c) || c.is_ascii_digit());
    (lead_name_char(seg[0]) && rest_ok).then_some(at + 4)
}

/// NameString at `at`: `\` or `^`s, then a NameSeg, a DualNamePath, a
/// MultiNamePath or NullName. Returns the offset after it.
pub fn name_string(b: &[u8], at: usize) -> Option<usize> {
    let mut at = at;
    if le::u8_at(b, at)? == b'\\' {
        at += 1;
    } else {
        while le::u8_at(b, at)? == b'^' {
            at += 1;
        }
    }
    match le::u8_at(b, at)? {
        0x00 => Some(at + 1),
        0x2E => name_seg(b, at + 1).and_then(|n| name_seg(b, n)),
        0x2F => {
            let count = le::u8_at(b, at + 1)?;
            (0..count).try_fold(at + 2, |n, _| name_seg(b, n))
        }
        _ => name_seg(b, at),
    }
}

/// The offset after the data object at `at` (an integer, string, buffer
/// or package), or `None` if it is something else or runs past `b`.
pub fn skip_data_object(b: &[u8], at: usize) -> Option<usize> {
    let end = match le::u8_at(b, at)? {
        0x00 | 0x01 | 0xFF => at + 1,
        0x0A => at + 2,
        0x0B => at + 3,
        0x0C => at + 5,
        0x0E => at + 9,
        STRING_PREFIX => string(b, at)?.1,
        BUFFER_OP | PACKAGE_OP => package(b, at + 1)?.1,
        _ => return None,
    };
    (end <= b.len()).then_some(end)
}

/// The string at `at` (StringPrefix, ASCII, NUL): (its bytes, offset after the NUL).
pub fn string(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    (le::u8_at(b, at)? == STRING_PREFIX).then_some(())?;
    let text = b.get(at + 1..)?;
    let len = text.iter().take(MAX_STRING).position(|c| *c == 0)?;
    Some((text.get(..len)?, at + 2 + len))
}

/// The bytes of the buffer at `at` (BufferOp PkgLength BufferSize ByteList),
/// at most BufferSize of them; `Err(())` if it runs past `b`, `Ok(None)`
/// if it is not a buffer.
pub fn buffer(b: &[u8], at: usize) -> Result<Option<&[u8]>, ()> {
    if le::u8_at(b, at) != Some(BUFFER_OP) {
        return Ok(None);
    }
    let (body, end) = package(b, at + 1).ok_or(())?;
    let (size, data) = match le::u8_at(b, body).ok_or(())? {
        0x00 => (0, body + 1),
        0x01 => (1, body + 1),
        0x0A => (u64::from(le::u8_at(b, body + 1).ok_or(())?), body + 2),
        0x0B => (u64::from(le::u16_at(b, body + 1).ok_or(())?), body + 3),
        0x0C => (u64::from(le::u32_at(b, body + 1).ok_or(())?), body + 5),
        _ => return Ok(None),
    };
    let bytes = b.get(data..end).ok_or(())?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Some(bytes.get(..size).unwrap_or(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkg_lengths_of_each_width_decode() {
        assert_eq!(pkg_length(&[0x2E], 0), Some((0x2E, 1)));
        // QEMU microvm's `Device (VR23)`: `5B 82 42 04`.
        assert_eq!(pkg_length(&[0x42, 0x04], 0), Some((0x42, 2)));
        assert_eq!(pkg_length(&[0x81, 0x23, 0x01], 0), Some((0x1231, 3)));
        assert_eq!(pkg_length(&[0xC1, 0x23, 0x45, 0x01], 0), Some((0x14_5231, 4)));
        assert_eq!(pkg_length(&[0xC1, 0x23, 0x45], 0), None);
        assert_eq!(pkg_length(&[], usize::MAX), None);
        // A length shorter than its own encoding is no package.
        assert_eq!(package(&[0x41, 0x00], 0), None);
    }

    #[test]
    fn name_strings_of_each_form_are_skipped() {
        assert_eq!(name_string(b"VR23", 0), Some(4));
        assert_eq!(name_string(b"\\_SB_", 0), Some(5));
        assert_eq!(name_string(b"^^_CRS", 0), Some(6));
        assert_eq!(name_string(b"\x2E_SB_VR00", 0), Some(9));
        assert_eq!(name_string(b"\x2F\x03_SB_PCI0S00_", 0), Some(14));
        assert_eq!(name_string(b"\x00", 0), Some(1));
        assert_eq!(name_string(b"vr23", 0), None);
        assert_eq!(name_string(b"VR2", 0), None);
        assert_eq!(name_string(b"\x2F\x03_SB_PCI0", 0), None);
    }

    #[test]
    fn data_objects_are_skipped_and_overruns_refused() {
        let objs: [(&[u8], Option<usize>); 10] = [
            (b"\x00", Some(1)),
            (b"\x0A\x17", Some(2)),
            (b"\x0B\x01\x02", Some(3)),
            (b"\x0C\x01\x02\x03\x04", Some(5)),
            (b"\x0E\x01\x02\x03\x04\x05\x06\x07\x08", Some(9)),
            (b"\x0DLNRO0005\x00", Some(10)),
            (b"\x11\x04\x0A\x02\xAA\xBB", Some(5)),
            (b"\x0DLNRO0005", None),
            (b"\x11\x09\x0A\x02", None),
            (b"\x14\x03\x00", None),
        ];
        for (obj, end) in objs {
            assert_eq!(skip_data_object(obj, 0), end, "{obj:x?}");
        }
    }

    #[test]
    fn buffers_are_cut_to_their_size_and_overruns_are_errors() {
        assert_eq!(buffer(b"\x11\x05\x0A\x02\xAA\xBB\xCC", 0), Ok(Some(&b"\xAA\xBB"[..])));
        assert_eq!(buffer(b"\x11\x05\x0A\x09\xAA\xBB\xCC", 0), Ok(Some(&b"\xAA\xBB"[..])));
        assert_eq!(buffer(b"\x11\x06\x0A\x02\xAA\xBB", 0), Err(()));
        assert_eq!(buffer(b"\x11", 0), Err(()));
        assert_eq!(buffer(b"\x12\x02\x00", 0), Ok(None));
        assert_eq!(buffer(b"\x11\x03\x70\x00", 0), Ok(None));
    }
}
