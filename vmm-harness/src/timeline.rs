//! The boot timeline: events stamped with CLOCK_MONOTONIC (via `Instant`)
//! relative to `main()` entry, printed as text (`--trace`) or JSON (`--trace-json`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Upper bound on stored events (a guest may write port 0x80 in a loop).
const MAX_EVENTS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The parent's spawn time (from `VMM_HARNESS_SPAWN_NS`), usually negative.
    Spawn,
    /// Just before the execve (from `VMM_HARNESS_EXEC_NS`), negative.
    Exec,
    ProcessStart,
    VmCreated,
    MemoryReady,
    KernelLoaded,
    FirstKvmRun,
    /// A write to the debug port 0x80.
    DebugPort(u8),
    /// Firecracker boot-timer MMIO write of the magic value.
    BootTimer,
    FirstSerialByte,
    Exit {
        code: i32,
        reason: &'static str,
    },
}

impl Kind {
    /// Stable machine-readable name (the JSON `event`).
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Spawn => "spawn",
            Kind::Exec => "exec",
            Kind::ProcessStart => "process start",
            Kind::VmCreated => "vm created",
            Kind::MemoryReady => "memory ready",
            Kind::KernelLoaded => "kernel loaded",
            Kind::FirstKvmRun => "first KVM_RUN",
            Kind::DebugPort(_) => "port 0x80",
            Kind::BootTimer => "boot timer",
            Kind::FirstSerialByte => "first serial byte",
            Kind::Exit { .. } => "exit",
        }
    }

    /// Human-readable description (the `--trace` line).
    pub fn label(&self) -> String {
        match self {
            Kind::DebugPort(code) => match pv_abi::boot_trace::name(*code) {
                Some(n) => format!("port 0x80 = {code:#04x} ({n})"),
                None => format!("port 0x80 = {code:#04x}"),
            },
            Kind::Exit { code, reason } => format!("exit {code} ({reason})"),
            other => other.name().to_string(),
        }
    }

    fn code(&self) -> Option<i32> {
        match self {
            Kind::DebugPort(c) => Some(i32::from(*c)),
            Kind::Exit { code, .. } => Some(*code),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Nanoseconds since process start (negative before it).
    pub t_ns: i64,
    pub kind: Kind,
}

pub struct Timeline {
    start: Instant,
    events: Mutex<Vec<Event>>,
    dropped: AtomicU64,
    /// VM exits by reason, with snapshots at the milestones.
    pub exits: crate::exits::Exits,
}

impl Timeline {
    pub fn new(start: Instant) -> Self {
        let events = vec![Event { t_ns: 0, kind: Kind::ProcessStart }];
        Timeline { start, events: Mutex::new(events), dropped: AtomicU64::new(0), exits: Default::default() }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn record(&self, kind: Kind) {
        let t = i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        self.record_at(t, kind);
    }

    pub fn record_at(&self, t_ns: i64, kind: Kind) {
        let mut ev = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if ev.len() < MAX_EVENTS {
            ev.push(Event { t_ns, kind });
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events in time order.
    pub fn events(&self) -> Vec<Event> {
        let mut v = self.events.lock().unwrap_or_else(|e| e.into_inner()).clone();
        v.sort_by_key(|e| e.t_ns);
        v
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Record an event from before `main()` (the parent's spawn, the child's
/// execve) if `env` holds its CLOCK_MONOTONIC nanoseconds; `now_ns` is
/// CLOCK_MONOTONIC at process start.
pub fn record_before(tl: &Timeline, kind: Kind, env: Option<&str>, now_ns: i64) {
    if let Some(t) = env.and_then(|s| s.trim().parse::<i64>().ok()) {
        tl.record_at(t.saturating_sub(now_ns), kind);
    }
}

/// CLOCK_MONOTONIC in nanoseconds (the clock `Instant` uses on Linux).
pub fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the valid, owned `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec.saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec)
}

fn us(t_ns: i64) -> f64 {
    t_ns as f64 / 1000.0
}

/// One `vmm-harness: trace ...` line per event.
pub fn format_text(events: &[Event], dropped: u64) -> String {
    let mut s = String::new();
    for e in events {
        let _ = writeln!(s, "vmm-harness: trace {:>9.1} us  {}", us(e.t_ns), e.kind.label());
    }
    if dropped > 0 {
        let _ = writeln!(s, "vmm-harness: trace ({dropped} more events not recorded)");
    }
    s
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{"events":[{"t_us":..,"event":"..","code":..},...],"exit_code":..}`,
/// with `"exits":{...}` ([`crate::exits::format_json`]) when `exits` is given.
pub fn format_json(events: &[Event], exit_code: i32, exits: Option<&str>) -> String {
    let mut s = String::from("{\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{{\"t_us\":{:.1},\"event\":", us(e.t_ns));
        json_str(&mut s, e.kind.name());
        if let Some(code) = e.kind.code() {
            let _ = write!(s, ",\"code\":{code}");
        }
        match e.kind {
            Kind::DebugPort(c) => {
                if let Some(n) = pv_abi::boot_trace::name(c) {
                    s.push_str(",\"name\":");
                    json_str(&mut s, n);
                }
            }
            Kind::Exit { reason, .. } => {
                s.push_str(",\"reason\":");
                json_str(&mut s, reason);
            }
            _ => {}
        }
        s.push('}');
    }
    let _ = write!(s, "],\"exit_code\":{exit_code}");
    if let Some(e) = exits {
        let _ = write!(s, ",\"exits\":{e}");
    }
    s.push('}');
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Event> {
        vec![
            Event { t_ns: -1_500_000, kind: Kind::Spawn },
            Event { t_ns: 0, kind: Kind::ProcessStart },
            Event { t_ns: 1_402_345, kind: Kind::DebugPort(0x40) },
            Event { t_ns: 2_000_000, kind: Kind::DebugPort(0x99) },
            Event { t_ns: 3_000_000, kind: Kind::Exit { code: 7, reason: "exit port" } },
        ]
    }

    #[test]
    fn text_format() {
        let t = format_text(&sample(), 0);
        let lines: Vec<_> = t.lines().collect();
        assert_eq!(lines[0], "vmm-harness: trace   -1500.0 us  spawn");
        assert_eq!(lines[1], "vmm-harness: trace       0.0 us  process start");
        assert_eq!(lines[2], "vmm-harness: trace    1402.3 us  port 0x80 = 0x40 (kernel entry)");
        assert_eq!(lines[3], "vmm-harness: trace    2000.0 us  port 0x80 = 0x99");
        assert_eq!(lines[4], "vmm-harness: trace    3000.0 us  exit 7 (exit port)");
    }

    #[test]
    fn json_format() {
        let j = format_json(&sample()[1..3], 7, None);
        assert_eq!(
            j,
            "{\"events\":[{\"t_us\":0.0,\"event\":\"process start\"},\
             {\"t_us\":1402.3,\"event\":\"port 0x80\",\"code\":64,\"name\":\"kernel entry\"}],\
             \"exit_code\":7}\n"
        );
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\n");
        assert_eq!(s, "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn spawn_offset_and_order() {
        let tl = Timeline::new(Instant::now());
        record_before(&tl, Kind::Spawn, Some("1000"), 5000);
        record_before(&tl, Kind::Exec, Some("3000"), 5000);
        record_before(&tl, Kind::Spawn, Some("garbage"), 5000);
        record_before(&tl, Kind::Exec, None, 5000);
        tl.record(Kind::VmCreated);
        let ev = tl.events();
        assert_eq!(ev.len(), 4);
        assert_eq!(ev[0], Event { t_ns: -4000, kind: Kind::Spawn });
        assert_eq!(ev[1], Event { t_ns: -2000, kind: Kind::Exec });
        assert_eq!(ev[2].kind, Kind::ProcessStart);
        assert_eq!(ev[3].kind, Kind::VmCreated);
    }

    #[test]
    fn event_cap() {
        let tl = Timeline::new(Instant::now());
        for _ in 0..MAX_EVENTS + 5 {
            tl.record(Kind::DebugPort(1));
        }
        assert_eq!(tl.events().len(), MAX_EVENTS);
        assert_eq!(tl.dropped(), 6);
    }
}
