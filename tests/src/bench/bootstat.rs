//! Parser for the kernel's `bootstat` report (kernel command-line option
//! `bootstat`):
//!
//! ```text
//! bootstat: tsc 1000000000 Hz; phase, tsc delta, tsc since PVH entry, us since entry
//! bootstat: banner                        41234      41234       41
//! bootstat: kernel init done             123456     400000      400
//! ```
//!
//! A phase line is `bootstat: <name> <tsc delta> <tsc since PVH entry> <us since entry>`;
//! the name is everything between the prefix and the three trailing integers.
//! The kernel prints the table after init has exited, followed by the idle
//! memory line `bootstat: memory 255.6 MiB RAM, ...` ([`super::mm::find_idle`]),
//! which is not a phase (it does not end in three integers).
//! Under QEMU `-icount shift=0,sleep=off` the guest TSC advances one tick per
//! guest instruction, so "tsc since PVH entry" is the instruction count.

/// Prefix of every `bootstat` line.
pub const PREFIX: &str = "bootstat: ";

/// Phase names the kernel uses for the boot-trace codes (pv-abi `boot_trace::name`).
pub const KERNEL_INIT_DONE: &str = "kernel init done";
pub const FIRST_USER_INSTRUCTION: &str = "first user instruction";
pub const INIT_READY: &str = "init ready";

/// One phase line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    /// TSC ticks since the previous phase (or PVH entry for the first).
    pub tsc_delta: u64,
    /// TSC ticks since PVH entry: guest instructions under `-icount shift=0`.
    pub tsc_since_entry: u64,
    /// Microseconds since PVH entry as the kernel computed them from its TSC frequency.
    pub us_since_entry: u64,
}

/// Everything `bootstat` printed in one boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bootstat {
    /// From the header line, if it was printed.
    pub tsc_hz: Option<u64>,
    pub phases: Vec<Phase>,
}

impl Bootstat {
    /// True if at least one phase line was found.
    pub fn is_present(&self) -> bool {
        !self.phases.is_empty()
    }

    /// The first phase of that name.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }
}

/// One parsed `bootstat:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Header { tsc_hz: u64 },
    Phase(Phase),
}

/// Strips one trailing whitespace-separated unsigned integer off `s`.
fn pop_u64(s: &str) -> Option<(&str, u64)> {
    let s = s.trim_end();
    let start = s.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let n = s[start..].parse().ok()?;
    Some((&s[..start], n))
}

/// Parses one serial line; `None` if it is not a `bootstat:` line we understand.
pub fn parse_line(line: &str) -> Option<Line> {
    let line = line.trim_end_matches(['\r', '\n']);
    let rest = line.strip_prefix(PREFIX)?;
    if let Some(hdr) = rest.strip_prefix("tsc ") {
        let hz = hdr.split_whitespace().next()?.parse().ok()?;
        return hdr.contains("Hz").then_some(Line::Header { tsc_hz: hz });
    }
    let (rest, us) = pop_u64(rest)?;
    let (rest, since) = pop_u64(rest)?;
    let (rest, delta) = pop_u64(rest)?;
    let name = rest.trim();
    if name.is_empty() {
        return None;
    }
    Some(Line::Phase(Phase { name: name.to_string(), tsc_delta: delta, tsc_since_entry: since, us_since_entry: us }))
}

/// The TSC at PVH entry (`bootstat: PVH entry at tsc N`, printed last):
/// under `-icount` the instructions the firmware ran before the kernel.
pub fn entry_tsc(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.trim_end().strip_prefix("bootstat: PVH entry at tsc ")).and_then(|v| v.parse().ok())
}

/// Parses a whole serial log; other lines are ignored.
pub fn parse(text: &str) -> Bootstat {
    let mut b = Bootstat::default();
    for line in text.lines() {
        match parse_line(line) {
            Some(Line::Header { tsc_hz }) => b.tsc_hz = Some(tsc_hz),
            Some(Line::Phase(p)) => b.phases.push(p),
            None => {}
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the kernel prints: `{name:<24} {delta:>10} {since:>10} {us:>8}`.
    fn kernel_line(name: &str, delta: u64, since: u64, us: u64) -> String {
        format!("bootstat: {name:<24} {delta:>10} {since:>10} {us:>8}")
    }

    #[test]
    fn entry_tsc_line_is_not_a_phase() {
        let log = "bootstat: banner 1 2 3\nbootstat: PVH entry at tsc 14878\n";
        assert_eq!(entry_tsc(log), Some(14_878));
        assert_eq!(parse(log).phases.len(), 1);
        assert_eq!(entry_tsc("bootstat: banner 1 2 3"), None);
    }

    #[test]
    fn parses_header() {
        assert_eq!(
            parse_line("bootstat: tsc 1000000000 Hz; phase, tsc delta, tsc since PVH entry, us since entry"),
            Some(Line::Header { tsc_hz: 1_000_000_000 })
        );
        assert_eq!(parse_line("bootstat: tsc x Hz"), None);
    }

    #[test]
    fn parses_phase_lines_with_spaces_in_names() {
        let l = kernel_line("clock and apic", 5_000, 250_000, 250);
        assert_eq!(
            parse_line(&l),
            Some(Line::Phase(Phase {
                name: "clock and apic".into(),
                tsc_delta: 5_000,
                tsc_since_entry: 250_000,
                us_since_entry: 250,
            }))
        );
        // A name that fills its column, huge numbers, CRLF.
        let l = format!("{}\r\n", kernel_line("first user instruction", 1, 12_345_678_901, 12_345_678));
        match parse_line(&l) {
            Some(Line::Phase(p)) => {
                assert_eq!(p.name, FIRST_USER_INSTRUCTION);
                assert_eq!(p.tsc_since_entry, 12_345_678_901);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_malformed_lines() {
        for l in [
            "bootstat:",
            "bootstat: banner 1 2",
            "bootstat: 1 2 3",
            "bootstat: banner 1 2 x",
            "bootstat: banner -1 2 3",
            "xbootstat: banner 1 2 3",
            "bootstat: memory 255.6 MiB RAM, 254.2 MiB free, 1491 KiB in use (kernel 340 KiB); direct map 4 GiB in 2 MiB pages",
            "Vireo 0.1.0 (x86_64, PVH)",
        ] {
            assert_eq!(parse_line(l), None, "{l}");
        }
    }

    #[test]
    fn parses_a_boot_log() {
        let log = [
            "Vireo 0.2.0 (x86_64, PVH)".to_string(),
            "mm: 1234 KiB used, 250000 KiB free".to_string(),
            "bootstat: tsc 1000000000 Hz; phase, tsc delta, tsc since PVH entry, us since entry".into(),
            kernel_line("banner", 40_000, 40_000, 40),
            kernel_line("memory", 60_000, 100_000, 100),
            kernel_line("acpi", 50_000, 150_000, 150),
            kernel_line("clock and apic", 100_000, 250_000, 250),
            kernel_line("smp", 10_000, 260_000, 260),
            kernel_line(KERNEL_INIT_DONE, 10, 260_010, 260),
            kernel_line(FIRST_USER_INSTRUCTION, 900, 260_910, 260),
            "VIREO-EXIT 0".into(),
        ]
        .join("\n");
        let b = parse(&log);
        assert_eq!(b.tsc_hz, Some(1_000_000_000));
        assert_eq!(b.phases.len(), 7);
        assert_eq!(b.phase(KERNEL_INIT_DONE).unwrap().tsc_since_entry, 260_010);
        assert_eq!(b.phase(FIRST_USER_INSTRUCTION).unwrap().tsc_delta, 900);
        assert!(b.phase(INIT_READY).is_none());
        assert!(!parse("no bootstat here\n").is_present());
    }

    #[test]
    fn parses_a_boot_with_user_space() {
        // Since user space: the table comes after init's output, ends with
        // `init ready`, and is followed by the idle memory line.
        let log = [
            "Vireo 0.1.0 (x86_64, PVH)".to_string(),
            "mm: 255.6 MiB RAM, 1463 KiB in use (kernel 340 KiB, tables 44 KiB, heap 64 KiB), 2 MiB pages".into(),
            "initrd: 23 files, 375 KiB".into(),
            "init: Vireo user space is up".into(),
            "hello from user space".into(),
            "bootstat: tsc 1000000000 Hz; phase, tsc delta, tsc since PVH entry, us since entry"
                .into(),
            kernel_line("banner", 13_298, 13_298, 13),
            kernel_line("memory", 18_412, 31_710, 31),
            kernel_line("acpi", 10_162, 41_872, 41),
            kernel_line("clock and apic", 54_811, 96_683, 96),
            kernel_line("smp", 1_558, 98_241, 98),
            kernel_line(KERNEL_INIT_DONE, 61_222, 159_463, 159),
            kernel_line(FIRST_USER_INSTRUCTION, 32_601, 192_064, 192),
            kernel_line(INIT_READY, 4_730, 196_794, 196),
            "bootstat: memory 255.6 MiB RAM, 254.2 MiB free, 1491 KiB in use (kernel 340 KiB, reserved 1355 KiB, page tables 56 KiB, heap 64 KiB (1092 B used), stacks 16 KiB, low pool 628 KiB free); direct map 4 GiB in 2 MiB pages".into(),
            "VIREO-EXIT 0".into(),
        ]
        .join("\r\n");
        let b = parse(&log);
        assert_eq!(b.phases.len(), 8);
        let names: Vec<&str> = b.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["banner", "memory", "acpi", "clock and apic", "smp", KERNEL_INIT_DONE, FIRST_USER_INSTRUCTION, INIT_READY]
        );
        assert_eq!(b.phase("memory").unwrap().tsc_since_entry, 31_710);
        assert_eq!(b.phase(INIT_READY).unwrap().tsc_since_entry, 196_794);
        assert_eq!(b.phase(FIRST_USER_INSTRUCTION).unwrap().tsc_delta, 32_601);
    }
}
