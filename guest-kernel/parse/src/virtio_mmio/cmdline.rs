//! `virtio_mmio.device=SIZE@ADDR:IRQ[:ID]` on the kernel command line, read
//! as Linux's `vm_cmdline_set` reads it, so a command line written for Linux
//! means the same here: SIZE as `memparse` (a number with an optional
//! K/M/G/T/P/E suffix, either case, each a factor of 1024), ADDR as `%lli`
//! (0x hex, leading-0 octal, else decimal), IRQ as `%u` (decimal, not 0),
//! ID as `%d` and ignored. Linux treats `-` and `_` in a parameter name
//! alike, so `virtio-mmio.device=` counts too. Where Linux would silently
//! wrap (a size suffix overflowing, an IRQ past 32 bits, a negative
//! address, a window past 2^64) this refuses the entry instead.
use super::Transport;
use core::fmt;

const KEY: &[u8] = b"virtio_mmio.device=";

/// Which part of an entry a [`CmdlineError::BadNumber`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Size,
    Base,
    Irq,
    Id,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Size => "SIZE",
            Field::Base => "ADDR",
            Field::Irq => "IRQ",
            Field::Id => "ID",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdlineError {
    /// No `@ADDR` after the size.
    MissingBase,
    /// No `:IRQ` after the address.
    MissingIrq,
    /// Empty, digits its base does not allow, trailing characters, or too
    /// large for its field (64 bits; 32 for the IRQ and ID).
    BadNumber(Field),
    ZeroSize,
    /// Linux refuses IRQ 0.
    ZeroIrq,
    /// The window's end does not fit in 64 bits.
    Wraps,
}

impl fmt::Display for CmdlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdlineError::MissingBase => write!(f, "no @ADDR"),
            CmdlineError::MissingIrq => write!(f, "no :IRQ"),
            CmdlineError::BadNumber(field) => write!(f, "bad {field}"),
            CmdlineError::ZeroSize => write!(f, "size 0"),
            CmdlineError::ZeroIrq => write!(f, "irq 0"),
            CmdlineError::Wraps => write!(f, "window wraps past 2^64"),
        }
    }
}

/// One result per `virtio_mmio.device=` argument, in command-line order.
pub fn devices(cmdline: &[u8]) -> impl Iterator<Item = Result<Transport, CmdlineError>> + '_ {
    cmdline.split(u8::is_ascii_whitespace).filter_map(value).map(parse)
}

/// The value of a `virtio_mmio.device=` argument (`-` matching `_` in the name).
fn value(arg: &[u8]) -> Option<&[u8]> {
    let (name, value) = arg.split_at_checked(KEY.len())?;
    let same = |(a, k): (&u8, &u8)| a == k || (*k == b'_' && *a == b'-');
    name.iter().zip(KEY).all(same).then_some(value)
}

/// `SIZE@ADDR:IRQ[:ID]`.
pub fn parse(s: &[u8]) -> Result<Transport, CmdlineError> {
    let (size, rest) = split(s, b'@').ok_or(CmdlineError::MissingBase)?;
    let (base, rest) = split(rest, b':').ok_or(CmdlineError::MissingIrq)?;
    let (irq, id) = split(rest, b':').map_or((rest, None), |(i, d)| (i, Some(d)));
    let size = mem_size(size).ok_or(CmdlineError::BadNumber(Field::Size))?;
    let base = integer(base).ok_or(CmdlineError::BadNumber(Field::Base))?;
    let irq = decimal(irq).and_then(|v| u32::try_from(v).ok()).ok_or(CmdlineError::BadNumber(Field::Irq))?;
    if let Some(id) = id {
        // `%d`: an i32.
        let (digits, max) =
            id.strip_prefix(b"-").map_or((id, i32::MAX.unsigned_abs()), |d| (d, i32::MIN.unsigned_abs()));
        decimal(digits).filter(|v| *v <= u64::from(max)).ok_or(CmdlineError::BadNumber(Field::Id))?;
    }
    match (size, irq) {
        (0, _) => Err(CmdlineError::ZeroSize),
        (_, 0) => Err(CmdlineError::ZeroIrq),
        _ if base.checked_add(size).is_none() => Err(CmdlineError::Wraps),
        _ => Ok(Transport { base, size, irq }),
    }
}

fn split(s: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|b| *b == at)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `memparse`: an integer, then optionally one of K M G T P E (×1024 each step).
fn mem_size(s: &[u8]) -> Option<u64> {
    let (num, shift) = match s.split_last() {
        Some((last, num)) => match last.to_ascii_uppercase() {
            b'K' => (num, 10),
            b'M' => (num, 20),
            b'G' => (num, 30),
            b'T' => (num, 40),
            b'P' => (num, 50),
            b'E' => (num, 60),
            _ => (s, 0),
        },
        None => (s, 0),
    };
    let n = integer(num)?;
    (n.leading_zeros() >= shift).then_some(n << shift)
}

/// `simple_strtoull(s, _, 0)` over the whole of `s`: 0x/0X hex, leading 0 octal, else decimal.
fn integer(s: &[u8]) -> Option<u64> {
    match s {
        [b'0', b'x' | b'X', hex @ ..] => digits(hex, 16),
        [b'0', oct @ ..] if !oct.is_empty() => digits(oct, 8),
        _ => digits(s, 10),
    }
}

fn decimal(s: &[u8]) -> Option<u64> {
    digits(s, 10)
}

fn digits(s: &[u8], radix: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        let d = char::from(c).to_digit(radix)?;
        n.checked_mul(u64::from(radix))?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn ok(base: u64, size: u64, irq: u32) -> Result<Transport, CmdlineError> {
        Ok(Transport { base, size, irq })
    }

    fn all(cmdline: &str) -> Vec<Result<Transport, CmdlineError>> {
        devices(cmdline.as_bytes()).collect()
    }

    #[test]
    fn the_forms_vmms_write_are_read() {
        // Firecracker: `virtio_mmio.device=4K@0xd0000000:5`.
        assert_eq!(parse(b"4K@0xd0000000:5"), ok(0xd000_0000, 4096, 5));
        // QEMU microvm (auto-kernel-cmdline): size in bytes, decimal.
        assert_eq!(parse(b"512@0xfeb02e00:47"), ok(0xfeb0_2e00, 512, 47));
        // Linux's documented form with a device ID.
        assert_eq!(parse(b"0x200@0xfeb00000:12:3"), ok(0xfeb0_0000, 512, 12));
        assert_eq!(parse(b"1K@0x1000:5:-2147483648"), ok(0x1000, 1024, 5));
    }

    #[test]
    fn size_suffixes_are_memparse_s() {
        for (s, size) in [
            ("1k", 1 << 10),
            ("4K", 4 << 10),
            ("2m", 2 << 20),
            ("1M", 1 << 20),
            ("1g", 1 << 30),
            ("3T", 3 << 40),
            ("1p", 1 << 50),
            ("7E", 7 << 60),
            ("0x10K", 16 << 10),
            ("010", 8),
            ("0", 0),
        ] {
            assert_eq!(mem_size(s.as_bytes()), Some(size), "{s}");
        }
        for s in ["16E", "0x400000000000P", "K", "", "4KB", "4 K", "1.5M", "0x", "08", "-4K", "+4K"] {
            assert_eq!(mem_size(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn addresses_take_hex_octal_or_decimal() {
        assert_eq!(parse(b"4K@4096:5"), ok(4096, 4096, 5));
        assert_eq!(parse(b"4K@010000:5"), ok(0o10000, 4096, 5));
        assert_eq!(parse(b"4K@0XD0000000:5"), ok(0xd000_0000, 4096, 5));
        assert_eq!(parse(b"4K@0:5"), ok(0, 4096, 5));
    }

    #[test]
    fn bad_numbers_say_which_field() {
        use CmdlineError::BadNumber;
        for (s, field) in [
            ("4Q@0x1000:5", Field::Size),
            ("@0x1000:5", Field::Size),
            ("99999999999999999999@0x1000:5", Field::Size),
            ("4K@0xzz:5", Field::Base),
            ("4K@:5", Field::Base),
            ("4K@-4096:5", Field::Base),
            ("4K@0x10000000000000000:5", Field::Base),
            ("4K@0x1000:", Field::Irq),
            ("4K@0x1000:x", Field::Irq),
            // `%u` is decimal: Linux stops at the `x` and refuses the rest.
            ("4K@0x1000:0x5", Field::Irq),
            ("4K@0x1000:4294967296", Field::Irq),
            ("4K@0x1000:5x", Field::Irq),
            ("4K@0x1000:5:", Field::Id),
            ("4K@0x1000:5:one", Field::Id),
            ("4K@0x1000:5:1:2", Field::Id),
            ("4K@0x1000:5:2147483648", Field::Id),
            ("4K@0x1000:5:-", Field::Id),
        ] {
            assert_eq!(parse(s.as_bytes()), Err(BadNumber(field)), "{s}");
        }
    }

    #[test]
    fn missing_parts_and_empty_or_wrapping_windows_are_errors() {
        assert_eq!(parse(b"4K"), Err(CmdlineError::MissingBase));
        assert_eq!(parse(b""), Err(CmdlineError::MissingBase));
        assert_eq!(parse(b"4K@0x1000"), Err(CmdlineError::MissingIrq));
        assert_eq!(parse(b"0@0x1000:5"), Err(CmdlineError::ZeroSize));
        assert_eq!(parse(b"4K@0x1000:0"), Err(CmdlineError::ZeroIrq));
        assert_eq!(parse(b"4K@0xfffffffffffff000:5"), Err(CmdlineError::Wraps));
        assert_eq!(parse(b"4K@0xffffffffffffe000:5"), ok(0xffff_ffff_ffff_e000, 4096, 5));
    }

    #[test]
    fn every_entry_on_a_line_is_reported_in_order() {
        let line = "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 quiet\tvirtio-mmio.device=512@0xd0001000:6 \
                    virtio_mmio.device=4K@0xd0002000 xvirtio_mmio.device=4K@0x0:1 virtio_mmio.devices=4K@0x0:1 \
                    virtio_mmio.device= virtio_mmio.device=1M@0x10000000:7:2";
        assert_eq!(
            all(line),
            [
                ok(0xd000_0000, 4096, 5),
                ok(0xd000_1000, 512, 6),
                Err(CmdlineError::MissingIrq),
                Err(CmdlineError::MissingBase),
                ok(0x1000_0000, 1 << 20, 7),
            ]
        );
        assert!(all("").is_empty() && all("console=ttyS0 virtio_mmio.device").is_empty());
    }
}
