//! The pure arithmetic behind the paravirtual features: `nopv=` parsing, the
//! adaptive halt-polling window and steal-time slice accounting. No hardware
//! and no `crate::` paths, so the host tests (tests/tests/paravirt.rs)
//! compile this file as it is and run the unit tests below.

/// One paravirtual feature that `nopv=` can turn off (a bit in a mask).
pub mod off {
    pub const STEAL: u16 = 1 << 0;
    pub const EOI: u16 = 1 << 1;
    pub const SPIN: u16 = 1 << 2;
    pub const YIELD: u16 = 1 << 3;
    pub const TLB: u16 = 1 << 4;
    pub const IPI: u16 = 1 << 5;
    /// Guest halt polling and the poll-control MSR.
    pub const POLL: u16 = 1 << 6;
    pub const ALL: u16 = STEAL | EOI | SPIN | YIELD | TLB | IPI | POLL;
}

/// The word `nopv=` takes for each feature.
const WORDS: [(&[u8], u16); 8] = [
    (b"steal", off::STEAL),
    (b"eoi", off::EOI),
    (b"spin", off::SPIN),
    (b"yield", off::YIELD),
    (b"tlb", off::TLB),
    (b"ipi", off::IPI),
    (b"poll", off::POLL),
    (b"all", off::ALL),
];

/// The features a `nopv=` value turns off: comma-separated words from
/// [`WORDS`], in any case, with empty words (`a,,b`, a trailing comma)
/// skipped. Each unknown word is handed to `unknown` (in order, repeats
/// included) and otherwise ignored, so a typo never stops the boot.
pub fn parse_nopv<'a>(value: &'a [u8], unknown: &mut dyn FnMut(&'a [u8])) -> u16 {
    let mut mask = 0;
    for word in value.split(|&b| b == b',').filter(|w| !w.is_empty()) {
        match WORDS.iter().find(|(name, _)| word.eq_ignore_ascii_case(name)) {
            Some((_, bits)) => mask |= bits,
            None => unknown(word),
        }
    }
    mask
}

/// The halt-polling governor's limits, as Linux's haltpoll names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollParams {
    /// The longest window (`guest_halt_poll_ns`).
    pub max_ns: u64,
    /// The first non-zero window (`guest_halt_poll_grow_start`).
    pub grow_start_ns: u64,
    /// Multiplier on growth (`guest_halt_poll_grow`).
    pub grow: u64,
    /// Divisor on shrinking (`guest_halt_poll_shrink`; 0 drops to 0).
    pub shrink: u64,
}

/// Linux's defaults: polling for up to 200 us covers a wake-up that follows
/// soon after a CPU goes idle, and costs at most that much CPU otherwise.
pub const POLL_DEFAULTS: PollParams = PollParams { max_ns: 200_000, grow_start_ns: 50_000, grow: 2, shrink: 2 };

/// The window for the next idle period, given this one's `window_ns` and
/// how long the CPU was idle in all (`idle_ns`, polling plus halted):
/// - woken while polling (`idle_ns <= window_ns`): the window was right;
/// - woken after halting, but within `max_ns`: a longer window would have
///   caught it without the halt's exits, so grow it;
/// - idle beyond `max_ns`: polling could not have helped and only burned
///   CPU the host could give others, so shrink it.
pub fn next_window(window_ns: u64, idle_ns: u64, p: &PollParams) -> u64 {
    if idle_ns <= window_ns {
        window_ns
    } else if idle_ns <= p.max_ns {
        window_ns.saturating_mul(p.grow).max(p.grow_start_ns).min(p.max_ns)
    } else {
        window_ns.checked_div(p.shrink).unwrap_or(0)
    }
}

/// How much of its time slice a thread has used: the wall time since it got
/// the CPU (`start_ns`) less what the host stole from this vCPU meanwhile
/// (steal counters at those two moments). A counter that went backwards (a
/// host that re-registered the area) counts as no steal, and steal never
/// exceeds the wall time it happened in.
pub fn charged_ns(start_ns: u64, now_ns: u64, steal_at_start: u64, steal_now: u64) -> u64 {
    let wall = now_ns.saturating_sub(start_ns);
    let stolen = steal_now.saturating_sub(steal_at_start).min(wall);
    wall - stolen
}

/// When the slice of `slice_ns` ends, seen at `now_ns` having used
/// `charged` of it: `None` if it has ended.
pub fn slice_end(now_ns: u64, charged: u64, slice_ns: u64) -> Option<u64> {
    (charged < slice_ns).then(|| now_ns.saturating_add(slice_ns - charged))
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::String;
    use std::vec::Vec;

    fn parse(v: &str) -> (u16, Vec<String>) {
        let mut bad = Vec::new();
        let m = parse_nopv(v.as_bytes(), &mut |w| bad.push(String::from_utf8_lossy(w).into_owned()));
        (m, bad)
    }

    #[test]
    fn nopv_words_and_all() {
        assert_eq!(parse("steal"), (off::STEAL, Vec::new()));
        assert_eq!(parse("steal,eoi,spin").0, off::STEAL | off::EOI | off::SPIN);
        assert_eq!(parse("yield,tlb,ipi,poll").0, off::YIELD | off::TLB | off::IPI | off::POLL);
        assert_eq!(parse("all").0, off::ALL);
        assert_eq!(parse("poll,all").0, off::ALL);
        assert_eq!(parse("STEAL,Poll").0, off::STEAL | off::POLL);
    }

    #[test]
    fn nopv_tolerates_empty_and_unknown_words() {
        assert_eq!(parse(""), (0, Vec::new()));
        assert_eq!(parse(",,"), (0, Vec::new()));
        assert_eq!(parse("steal,,poll,").0, off::STEAL | off::POLL);
        let (m, bad) = parse("steal,frobnicate,poll,x,frobnicate");
        assert_eq!(m, off::STEAL | off::POLL);
        assert_eq!(bad, ["frobnicate", "x", "frobnicate"]);
        // Not a prefix match, not a substring match.
        assert_eq!(parse("ste").1, ["ste"]);
        assert_eq!(parse("stealx").1, ["stealx"]);
        assert_eq!(parse("steal poll").1, ["steal poll"]);
        // Bytes that are not UTF-8 are just another unknown word.
        let mut n = 0;
        assert_eq!(parse_nopv(b"\xff\xfe,eoi", &mut |_| n += 1), off::EOI);
        assert_eq!(n, 1);
    }

    #[test]
    fn window_grows_on_short_halts_up_to_max() {
        let p = POLL_DEFAULTS;
        // From nothing, a halt ended by a wake-up 30 us later starts polling.
        let w = next_window(0, 30_000, &p);
        assert_eq!(w, 50_000);
        // Caught by polling: unchanged.
        assert_eq!(next_window(w, 20_000, &p), w);
        assert_eq!(next_window(w, w, &p), w);
        // Halted and woken within max: doubles, capped at max.
        assert_eq!(next_window(w, 80_000, &p), 100_000);
        assert_eq!(next_window(100_000, 150_000, &p), 200_000);
        assert_eq!(next_window(200_000, 200_000, &p), 200_000);
        assert_eq!(next_window(150_000, 199_000, &p), 200_000);
    }

    #[test]
    fn window_shrinks_on_long_idle_to_zero() {
        let p = POLL_DEFAULTS;
        let mut w = p.max_ns;
        let mut steps = 0;
        while w > 0 {
            w = next_window(w, 5_000_000, &p);
            steps += 1;
            assert!(steps < 64, "never reaches 0");
        }
        // 200 us halves to 0 in 18 long idle periods.
        assert_eq!(steps, 18);
        assert_eq!(next_window(0, 5_000_000, &p), 0);
        let no_shrink_div = PollParams { shrink: 0, ..p };
        assert_eq!(next_window(200_000, 1_000_000, &no_shrink_div), 0);
        // Overflow-proof at the extremes.
        let huge = PollParams { max_ns: u64::MAX, grow: u64::MAX, ..p };
        assert_eq!(next_window(u64::MAX - 1, u64::MAX, &huge), u64::MAX);
    }

    #[test]
    fn window_settles_for_a_steady_wake_interval() {
        let p = POLL_DEFAULTS;
        let mut w = 0;
        for _ in 0..10 {
            // A wake-up every 70 us: the idle period lasts 70 us whether
            // polling catches it or not.
            w = next_window(w, 70_000, &p);
        }
        assert_eq!(w, 100_000);
    }

    #[test]
    fn steal_is_not_charged() {
        // 10 ms of wall time, 4 ms of it stolen: 6 ms used.
        assert_eq!(charged_ns(1_000, 10_001_000, 500, 4_000_500), 6_000_000);
        // No steal: all of it.
        assert_eq!(charged_ns(0, 7, 9, 9), 7);
        // Steal cannot exceed the wall time it happened in.
        assert_eq!(charged_ns(0, 1_000, 0, 5_000), 0);
        // A counter going backwards is no steal.
        assert_eq!(charged_ns(0, 1_000, 900, 100), 1_000);
        // A clock going backwards is no time.
        assert_eq!(charged_ns(1_000, 900, 0, 0), 0);
    }

    #[test]
    fn slice_end_moves_by_the_steal() {
        let slice = 10_000_000;
        // At the nominal end with 4 ms stolen: 4 ms left.
        let now = 10_000_000;
        let used = charged_ns(0, now, 0, 4_000_000);
        assert_eq!(slice_end(now, used, slice), Some(14_000_000));
        // Used up.
        assert_eq!(slice_end(now, charged_ns(0, now, 0, 0), slice), None);
        assert_eq!(slice_end(u64::MAX - 1, 0, slice), Some(u64::MAX));
    }
}
