//! The kernel's memory lines: allocator statistics.
//!
//! - `mm: ...`, printed once after memory set-up (early in boot);
//! - `bootstat: memory ...` (option `bootstat`), printed after init has exited
//!   and every process is gone: the idle figure, e.g. `bootstat: memory 255.6
//!   MiB RAM, 254.2 MiB free, 1491 KiB in use (kernel 340 KiB, reserved 1355
//!   KiB, page tables 56 KiB, heap 64 KiB (1092 B used), stacks 16 KiB, low
//!   pool 628 KiB free); direct map 4 GiB in 2 MiB pages`. Not to be confused
//!   with the `bootstat` phase line `bootstat: memory <3 integers>`.
//!
//! Their exact wording belongs to the kernel and may change, so the parser looks
//! for a size next to the words `used` (or `in use`) and `free` within each
//! comma/semicolon-separated clause, e.g. `mm: 1234 KiB used, 250 MiB free`,
//! `mm: used 2 MiB, free 253 MiB`, `mm: used=512 frames free=65000 frames`.
//! A size is a number with an optional unit (B, bytes, K/KB/KiB, M/MB/MiB,
//! G/GB/GiB, pages/frames of 4 KiB). When no figure is recognised the raw line
//! is still reported.

/// Prefix of the line printed after memory set-up.
pub const PREFIX: &str = "mm: ";
/// Prefix of the idle line printed (with `bootstat`) after init has exited.
pub const IDLE_PREFIX: &str = "bootstat: memory ";

/// What the `mm:` line said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MmStats {
    /// The line without the prefix.
    pub raw: String,
    pub used_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    /// All RAM the allocator manages (`255.6 MiB RAM`, `total 256 MiB`).
    pub total_bytes: Option<u64>,
}

impl MmStats {
    /// Free memory as printed, else total - used when both were printed;
    /// the flag says whether it was derived.
    pub fn free_or_derived(&self) -> Option<(u64, bool)> {
        match (self.free_bytes, self.total_bytes, self.used_bytes) {
            (Some(f), _, _) => Some((f, false)),
            (None, Some(t), Some(u)) if t >= u => Some((t - u, true)),
            _ => None,
        }
    }
}

/// Parses a size token pair (`1234`, `KiB`) into bytes.
fn unit_scale(unit: &str) -> Option<u64> {
    let u = unit.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_ascii_lowercase();
    Some(match u.as_str() {
        "b" | "byte" | "bytes" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "page" | "pages" | "frame" | "frames" | "4k" | "4kib" => 4096,
        _ => return None,
    })
}

/// Parses `12`, `12.5`, `12KiB`, `12.5M` into (value, attached unit).
fn number_and_suffix(tok: &str) -> Option<(f64, &str)> {
    let tok = tok.trim_matches(|c: char| c == '(' || c == ')' || c == ':' || c == '=');
    let end = tok.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tok.len());
    if end == 0 {
        return None;
    }
    let v: f64 = tok[..end].parse().ok()?;
    Some((v, &tok[end..]))
}

/// Finds the first size in `words` (starting at a number), in bytes.
fn size_at(words: &[&str]) -> Option<u64> {
    let (v, suffix) = number_and_suffix(words.first()?)?;
    let scale =
        if !suffix.is_empty() { unit_scale(suffix)? } else { words.get(1).and_then(|u| unit_scale(u)).unwrap_or(1) };
    Some((v * scale as f64).round() as u64)
}

/// The size that goes with `keyword` in one clause: the size right after it
/// (`used 12 MiB`, `used=12`), else the one right before it (`12 MiB used`,
/// `12 MiB in use`).
fn size_for(clause: &str, keywords: &[&str]) -> Option<u64> {
    // Split `used=12` into `used`, `12`.
    let spaced = clause.replace('=', " ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let lower: Vec<String> =
        words.iter().map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_ascii_lowercase()).collect();
    let k = lower.iter().position(|w| keywords.contains(&w.as_str()))?;
    let mut end = k;
    if end >= 1 && lower[end] == "use" && lower[end - 1] == "in" {
        end -= 1;
    }
    // `12MiB used` / `12 used` (one word), or `12 MiB used` (two words).
    let before = match end {
        0 => None,
        1 => size_at(&words[0..1]),
        _ if unit_scale(words[end - 1]).is_some() => size_at(&words[end - 2..end]),
        _ => size_at(&words[end - 1..end]),
    };
    size_at(&words[k + 1..]).or(before)
}

/// Parses the line (with or without the `mm: ` prefix).
pub fn parse_line(line: &str) -> MmStats {
    let raw = line.trim_end_matches(['\r', '\n']);
    let raw = raw.strip_prefix(PREFIX).unwrap_or(raw).trim().to_string();
    let mut s = MmStats { raw: raw.clone(), ..Default::default() };
    for clause in raw.split([',', ';', '|']) {
        if s.used_bytes.is_none() {
            s.used_bytes = size_for(clause, &["used", "use", "allocated"]);
        }
        if s.free_bytes.is_none() {
            s.free_bytes = size_for(clause, &["free", "available"]);
        }
        if s.total_bytes.is_none() {
            s.total_bytes = size_for(clause, &["ram", "total", "usable"]);
        }
    }
    s
}

/// The first `mm: ` line of a serial log.
pub fn find(text: &str) -> Option<MmStats> {
    text.lines().find(|l| l.starts_with(PREFIX)).map(parse_line)
}

/// The `bootstat: memory ...` idle line of a serial log (the last one), not
/// the `bootstat` phase line `bootstat: memory <delta> <since> <us>`.
pub fn find_idle(text: &str) -> Option<MmStats> {
    text.lines()
        .rev()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix(IDLE_PREFIX))
        .find(|rest| !rest.split_whitespace().all(|w| w.bytes().all(|b| b.is_ascii_digit())))
        .map(parse_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_after_and_before_keywords() {
        let s = parse_line("mm: 1234 KiB used, 250 MiB free");
        assert_eq!(s.used_bytes, Some(1234 * 1024));
        assert_eq!(s.free_bytes, Some(250 << 20));
        assert_eq!(s.raw, "1234 KiB used, 250 MiB free");

        let s = parse_line("mm: used 2 MiB, free 253 MiB, 2 ranges");
        assert_eq!((s.used_bytes, s.free_bytes), (Some(2 << 20), Some(253 << 20)));

        let s = parse_line("mm: used=512 frames free=65000 frames");
        assert_eq!((s.used_bytes, s.free_bytes), (Some(512 * 4096), Some(65000 * 4096)));
    }

    #[test]
    fn attached_units_and_fractions() {
        let s = parse_line("mm: frames: 1.5MiB in use; 254.5MiB free (heap 64 KiB)");
        assert_eq!(s.used_bytes, Some(3 << 19));
        assert_eq!(s.free_bytes, Some(254 * (1 << 20) + (1 << 19)));
        let s = parse_line("mm: 300 pages used, 65000 pages free");
        assert_eq!((s.used_bytes, s.free_bytes), (Some(300 * 4096), Some(65000 * 4096)));
    }

    #[test]
    fn kernel_0_1_format() {
        let s =
            parse_line("mm: 255.6 MiB RAM, 1047 KiB in use (kernel 300 KiB, tables 44 KiB, heap 64 KiB), 2 MiB pages");
        assert_eq!(s.used_bytes, Some(1047 * 1024));
        assert_eq!(s.free_bytes, None);
        let total = (255.6 * 1048576.0f64).round() as u64;
        assert_eq!(s.total_bytes, Some(total));
        assert_eq!(s.free_or_derived(), Some((total - 1047 * 1024, true)));
        assert_eq!(parse_line("mm: 4 KiB used, 8 KiB free").free_or_derived(), Some((8192, false)));
    }

    /// The idle line as the kernel prints it after init has exited.
    const IDLE: &str = "bootstat: memory 255.6 MiB RAM, 254.2 MiB free, 1491 KiB in use (kernel 340 KiB, reserved 1355 KiB, page tables 56 KiB, heap 64 KiB (1092 B used), stacks 16 KiB, low pool 628 KiB free); direct map 4 GiB in 2 MiB pages";

    #[test]
    fn idle_line_after_init() {
        let log = [
            "mm: 255.6 MiB RAM, 1463 KiB in use (kernel 340 KiB, tables 44 KiB, heap 64 KiB), 2 MiB pages",
            "hello from user space",
            "bootstat: tsc 1000000000 Hz; phase, tsc delta, tsc since PVH entry, us since entry",
            "bootstat: banner                        13298      13298       13",
            "bootstat: memory                        18412      31710       31",
            "bootstat: init ready                     4730     196794      196",
            &format!("{IDLE}\r"),
            "VIREO-EXIT 0",
        ]
        .join("\n");
        let s = find_idle(&log).unwrap();
        assert!(s.raw.starts_with("255.6 MiB RAM, 254.2 MiB free, 1491 KiB in use ("));
        assert!(s.raw.ends_with("2 MiB pages"));
        // "in use" is the total, not the first item inside the parentheses;
        // "free" is the first one, not the low pool's.
        assert_eq!(s.used_bytes, Some(1491 * 1024));
        assert_eq!(s.free_bytes, Some((254.2 * 1048576.0f64).round() as u64));
        assert_eq!(s.total_bytes, Some((255.6 * 1048576.0f64).round() as u64));
        assert!(!s.free_or_derived().unwrap().1);
        // The early line is still found by `find`, and is a different figure.
        assert_eq!(find(&log).unwrap().used_bytes, Some(1463 * 1024));
        // Only the phase line: no idle figure.
        assert_eq!(find_idle("bootstat: memory                        18412      31710       31\n"), None);
        assert_eq!(find_idle("mm: 4 KiB used\n"), None);
    }

    #[test]
    fn unknown_format_keeps_the_raw_line() {
        let s = parse_line("mm: 65023 frames, heap at 0xffff800000000000\r");
        assert_eq!(s.used_bytes, None);
        assert_eq!(s.free_bytes, None);
        assert_eq!(s.raw, "65023 frames, heap at 0xffff800000000000");
        assert!(find("Vireo\nmemory: 255 MiB usable\n").is_none());
        assert_eq!(find("Vireo\nmm: 4 KiB used\n").unwrap().used_bytes, Some(4096));
    }
}
