//! What `ProcessList` reports about each process, and the rules of
//! `KillPid` (docs/abi.md, "Processes: listing and killing by pid").
//!
//! A record is fixed-size so a caller's buffer of `cap` records is one
//! range the kernel checks once. Every field is little-endian.

/// Most records one `ProcessList` call writes (`cap` above it is `Invalid`).
pub const MAX_LIST: u64 = 1024;
/// Bytes of the command line a record carries (NUL-padded, truncated).
pub const CMDLINE_LEN: usize = 80;

/// A process's state, from its threads.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// A thread is on a CPU or waiting for one.
    Running = 1,
    /// Every thread waits (a pipe, a futex, a sleep, a child, input).
    Sleeping = 2,
    /// Killed or exited: its threads are unwinding or it waits to be torn down.
    Exiting = 3,
}

impl ProcState {
    pub const fn from_raw(n: u32) -> Option<Self> {
        match n {
            1 => Some(ProcState::Running),
            2 => Some(ProcState::Sleeping),
            3 => Some(ProcState::Exiting),
            _ => None,
        }
    }

    /// The one-letter code `ps` shows (R, S, X).
    pub const fn letter(self) -> char {
        match self {
            ProcState::Running => 'R',
            ProcState::Sleeping => 'S',
            ProcState::Exiting => 'X',
        }
    }
}

/// Flag bits of [`ProcessInfo::flags`].
pub mod flags {
    /// `cmdline` is the whole command line (the process is in the caller's
    /// session); without it only the program's name is shown.
    pub const ARGS_VISIBLE: u32 = 1 << 0;
    /// The process is the caller itself.
    pub const SELF: u32 = 1 << 1;
    /// The caller may `KillPid` it.
    pub const KILLABLE: u32 = 1 << 2;
}

/// One process, as `ProcessList` writes it ([`RECORD_SIZE`], 136 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The process that started it (0: the kernel, for init). It may have
    /// ended since.
    pub parent: u32,
    /// A [`ProcState`] value.
    pub state: u32,
    /// Live threads.
    pub threads: u32,
    /// CPU time of all its threads, ended ones included, user and kernel
    /// (from each switch onto a CPU to the switch off it), in ns.
    pub cpu_ns: u64,
    /// Memory it holds: populated anonymous pages, mapped shared memory and
    /// DMA buffers (device registers and the lent initrd not counted).
    pub resident_bytes: u64,
    /// When it started, ns since boot.
    pub start_ns: u64,
    /// Its session: the pid of its ancestor just below init (itself if it
    /// is one; 1 for init).
    pub session: u32,
    /// [`flags`] bits, from the caller's point of view.
    pub flags: u32,
    /// The length of the whole command line before truncation.
    pub cmdline_len: u32,
    pub _pad: u32,
    /// The command line, arguments separated by spaces (or only the name:
    /// see [`flags::ARGS_VISIBLE`]), truncated to [`CMDLINE_LEN`], NUL-padded.
    pub cmdline: [u8; CMDLINE_LEN],
}

pub const RECORD_SIZE: usize = core::mem::size_of::<ProcessInfo>();

const _: () = {
    assert!(RECORD_SIZE == 136);
    assert!(core::mem::offset_of!(ProcessInfo, cpu_ns) == 16);
    assert!(core::mem::offset_of!(ProcessInfo, session) == 40);
    assert!(core::mem::offset_of!(ProcessInfo, cmdline) == 56);
};

impl Default for ProcessInfo {
    fn default() -> Self {
        Self {
            pid: 0,
            parent: 0,
            state: 0,
            threads: 0,
            cpu_ns: 0,
            resident_bytes: 0,
            start_ns: 0,
            session: 0,
            flags: 0,
            cmdline_len: 0,
            _pad: 0,
            cmdline: [0; CMDLINE_LEN],
        }
    }
}

impl ProcessInfo {
    /// The little-endian bytes the kernel copies out.
    pub fn to_bytes(&self) -> [u8; RECORD_SIZE] {
        let mut out = [0u8; RECORD_SIZE];
        let u32s = [self.pid, self.parent, self.state, self.threads];
        for (i, v) in u32s.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        out[16..24].copy_from_slice(&self.cpu_ns.to_le_bytes());
        out[24..32].copy_from_slice(&self.resident_bytes.to_le_bytes());
        out[32..40].copy_from_slice(&self.start_ns.to_le_bytes());
        let tail = [self.session, self.flags, self.cmdline_len, self._pad];
        for (i, v) in tail.iter().enumerate() {
            out[40 + i * 4..44 + i * 4].copy_from_slice(&v.to_le_bytes());
        }
        out[56..].copy_from_slice(&self.cmdline);
        out
    }

    /// Decodes what [`Self::to_bytes`] wrote.
    pub fn from_bytes(b: &[u8; RECORD_SIZE]) -> Self {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| (u64::from(u32_at(o + 4)) << 32) | u64::from(u32_at(o));
        let mut cmdline = [0u8; CMDLINE_LEN];
        cmdline.copy_from_slice(&b[56..]);
        Self {
            pid: u32_at(0),
            parent: u32_at(4),
            state: u32_at(8),
            threads: u32_at(12),
            cpu_ns: u64_at(16),
            resident_bytes: u64_at(24),
            start_ns: u64_at(32),
            session: u32_at(40),
            flags: u32_at(44),
            cmdline_len: u32_at(48),
            _pad: u32_at(52),
            cmdline,
        }
    }

    /// The command line as text (up to the first NUL; invalid UTF-8 replaced).
    pub fn cmdline_bytes(&self) -> &[u8] {
        let n = self.cmdline.iter().position(|&c| c == 0).unwrap_or(CMDLINE_LEN);
        &self.cmdline[..n]
    }

    pub fn state(&self) -> Option<ProcState> {
        ProcState::from_raw(self.state)
    }
}

/// Fills `out` with `name` and then the NUL-separated `args` (as `Spawn`
/// takes them: the program's name is not among them), joined by spaces
/// (trailing NULs dropped), truncated to fit; returns the untruncated length.
pub fn join_args(name: &[u8], args: &[u8], out: &mut [u8; CMDLINE_LEN]) -> usize {
    let body = match args.iter().rposition(|&c| c != 0) {
        Some(last) => &args[..=last],
        None => &[][..],
    };
    let sep: &[u8] = if body.is_empty() { b"" } else { b" " };
    let line = name.iter().chain(sep).chain(body);
    for (o, &c) in out.iter_mut().zip(line) {
        *o = if c == 0 { b' ' } else { c };
    }
    name.len() + sep.len() + body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_bytes() {
        let mut r = ProcessInfo {
            pid: 7,
            parent: 3,
            state: ProcState::Sleeping as u32,
            threads: 2,
            cpu_ns: 0x1_0000_0002,
            resident_bytes: 4096 * 9,
            start_ns: 55,
            session: 3,
            flags: flags::SELF,
            cmdline_len: 12,
            ..ProcessInfo::default()
        };
        assert_eq!(join_args(b"ps", b"-a\0x\0", &mut r.cmdline), 7);
        let back = ProcessInfo::from_bytes(&r.to_bytes());
        assert_eq!(back, r);
        assert_eq!(back.cmdline_bytes(), b"ps -a x");
        assert_eq!(back.state(), Some(ProcState::Sleeping));
    }

    #[test]
    fn long_command_lines_are_truncated_with_their_length_kept() {
        let long = [b'x'; 200];
        let mut out = [0u8; CMDLINE_LEN];
        assert_eq!(join_args(b"x", &long, &mut out), 202);
        assert!(out.iter().enumerate().all(|(i, &c)| c == if i == 1 { b' ' } else { b'x' }));
        let mut out = [0u8; CMDLINE_LEN];
        assert_eq!(join_args(b"sh", b"", &mut out), 2);
        assert_eq!(&out[..3], b"sh\0");
    }
}
