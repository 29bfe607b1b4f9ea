//! VM exits to the VMM, counted by reason, with snapshots at the boot's
//! milestones (the first user instruction and "init ready", from the debug
//! port): how many times the guest left KVM for this process on its way to
//! user space, and why. Each COM1 byte, for one, is an exit or two, which
//! is what the kernel's `quiet` option saves. `--trace` prints the counts,
//! `--trace-json` writes them. Exits KVM handles itself (HLT with an
//! in-kernel irqchip, most MSRs, the APIC) never reach a VMM and are not here.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Why a vCPU returned from KVM_RUN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Port I/O, by port.
    Pio(u16),
    /// MMIO, by the device the address belongs to.
    Mmio(&'static str),
    Hlt,
    /// A signal interrupted KVM_RUN (the watchdog, a timer): the VMM's
    /// doing, not the guest's; shown apart and left out of the total.
    Signal,
}

impl Reason {
    fn label(&self) -> String {
        match self {
            Reason::Pio(p) => format!("port {p:#x}"),
            Reason::Mmio(d) => format!("mmio {d}"),
            Reason::Hlt => "hlt".into(),
            Reason::Signal => "signal".into(),
        }
    }
}

type Counts = BTreeMap<Reason, u64>;

/// The running counts and the snapshots taken so far.
#[derive(Default)]
pub struct Exits {
    inner: Mutex<(Counts, Vec<(&'static str, Counts)>)>,
}

impl Exits {
    pub fn count(&self, r: Reason) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *g.0.entry(r).or_insert(0) += 1;
    }

    /// Keeps the counts so far under `milestone` (the first time only).
    pub fn mark(&self, milestone: &'static str) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !g.1.iter().any(|(m, _)| *m == milestone) {
            let now = g.0.clone();
            g.1.push((milestone, now));
        }
    }

    /// Every snapshot, then the counts at the end ("in all").
    pub fn snapshots(&self) -> Vec<(&'static str, Counts)> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut v = g.1.clone();
        v.push(("in all", g.0.clone()));
        v
    }
}

/// Exits the guest caused (signals left out).
pub fn total(c: &Counts) -> u64 {
    c.iter().filter(|(r, _)| **r != Reason::Signal).map(|(_, n)| n).sum()
}

/// `vmm-harness: exits to first user instruction: 12 (port 0x3f8 x8, ...)`,
/// one line per snapshot, the biggest reasons first.
pub fn format_text(snaps: &[(&'static str, Counts)]) -> String {
    let mut s = String::new();
    for (name, c) in snaps {
        let mut by: Vec<_> = c.iter().collect();
        by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = by.iter().map(|(r, n)| format!("{} x{n}", r.label())).collect();
        let to = if *name == "in all" { String::from("in all") } else { format!("to {name}") };
        let _ = writeln!(s, "vmm-harness: exits {to}: {} ({})", total(c), parts.join(", "));
    }
    s
}

/// `{"to first user instruction":{"total":12,"port 0x3f8":8,...},...}`
pub fn format_json(snaps: &[(&'static str, Counts)]) -> String {
    let mut s = String::from("{");
    for (i, (name, c)) in snaps.iter().enumerate() {
        let key = if *name == "in all" { String::from("in all") } else { format!("to {name}") };
        let _ = write!(s, "{}\"{key}\":{{\"total\":{}", if i > 0 { "," } else { "" }, total(c));
        for (r, n) in c {
            let _ = write!(s, ",\"{}\":{n}", r.label());
        }
        s.push('}');
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_freeze_the_counts_and_the_end_comes_last() {
        let e = Exits::default();
        e.count(Reason::Pio(0x3f8));
        e.count(Reason::Pio(0x3f8));
        e.count(Reason::Signal);
        e.mark("first user instruction");
        e.count(Reason::Pio(0x80));
        e.mark("first user instruction");
        e.count(Reason::Mmio("boot timer"));
        let s = e.snapshots();
        assert_eq!(s.len(), 2);
        assert_eq!(total(&s[0].1), 2, "signals are not the guest's");
        assert_eq!(total(&s[1].1), 4);
        let text = format_text(&s);
        assert_eq!(
            text.lines().next(),
            Some("vmm-harness: exits to first user instruction: 2 (port 0x3f8 x2, signal x1)")
        );
        assert!(text.lines().nth(1).unwrap().starts_with("vmm-harness: exits in all: 4 (port 0x3f8 x2, "));
        assert_eq!(format_json(&s[..1]), "{\"to first user instruction\":{\"total\":2,\"port 0x3f8\":2,\"signal\":1}}");
    }
}
