//! Run a VMM process and timestamp its output on the host: every line of
//! stdout and stderr gets the CLOCK_MONOTONIC time (since spawn) at which its
//! newline arrived, and stdout's first byte gets its own time.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A line and when it was complete, in microseconds since spawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub t_us: f64,
    pub text: String,
}

/// What one run produced.
#[derive(Debug)]
pub struct Capture {
    pub stdout: String,
    pub stderr: String,
    pub out_lines: Vec<Line>,
    pub err_lines: Vec<Line>,
    pub first_out_byte_us: Option<f64>,
    /// `None` when the process was killed at the timeout.
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    /// When the process had exited (or was reaped after the kill), since spawn.
    pub exit_us: f64,
}

impl Capture {
    /// Time of the first stdout line starting with `prefix`.
    pub fn out_line_starting(&self, prefix: &str) -> Option<f64> {
        self.out_lines.iter().find(|l| l.text.starts_with(prefix)).map(|l| l.t_us)
    }

    /// The guest's `VIREO-EXIT` code, if it printed one.
    pub fn vireo_exit(&self) -> Option<u8> {
        self.stdout.lines().rev().find_map(pv_abi::exit::parse_line)
    }

    /// A short description of how the run ended, for error messages.
    pub fn outcome(&self) -> String {
        let tail: Vec<&str> = self.stderr.lines().rev().take(2).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
        match (self.timed_out, self.status, self.vireo_exit()) {
            (true, _, _) => "timed out".into(),
            (false, s, Some(c)) => format!("VIREO-EXIT {c}, status {s:?}"),
            (false, s, None) => format!("no VIREO-EXIT line, status {s:?}; stderr: {tail}"),
        }
    }
}

/// CLOCK_MONOTONIC in nanoseconds (what vmm-harness compares `VMM_HARNESS_SPAWN_NS` with).
pub fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the valid, owned `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec.saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec)
}

type Chunks = Vec<(Instant, Vec<u8>)>;

fn reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Chunks> {
    thread::spawn(move || {
        let mut chunks = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => chunks.push((Instant::now(), buf[..n].to_vec())),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        chunks
    })
}

fn us_since(t0: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(t0).as_nanos() as f64 / 1000.0
}

/// Splits timestamped chunks into lines (without `\r\n`), each stamped with
/// the arrival of its newline (or of the last chunk, for an unterminated tail).
pub fn lines_of(t0: Instant, chunks: &[(Instant, Vec<u8>)]) -> (String, Vec<Line>) {
    let mut all = Vec::new();
    let mut lines = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut last = t0;
    for (t, bytes) in chunks {
        last = *t;
        all.extend_from_slice(bytes);
        for &b in bytes {
            if b == b'\n' {
                let text = String::from_utf8_lossy(&cur).trim_end_matches('\r').to_string();
                lines.push(Line { t_us: us_since(t0, *t), text });
                cur.clear();
            } else {
                cur.push(b);
            }
        }
    }
    if !cur.is_empty() {
        let text = String::from_utf8_lossy(&cur).trim_end_matches('\r').to_string();
        lines.push(Line { t_us: us_since(t0, last), text });
    }
    (String::from_utf8_lossy(&all).into_owned(), lines)
}

fn kill(child_pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(child_pid) {
        // SAFETY: kill(2) on our own child, which has not been reaped yet (the
        // waiter thread has not returned), so the pid cannot have been reused.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Spawns `cmd` with stdin closed and stdout/stderr captured, and waits up to
/// `timeout`. If `spawn_env` names a variable, it is set to CLOCK_MONOTONIC
/// nanoseconds immediately before the spawn (for `VMM_HARNESS_SPAWN_NS`).
pub fn run(mut cmd: Command, timeout: Duration, spawn_env: Option<&str>) -> std::io::Result<Capture> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(var) = spawn_env {
        cmd.env(var, monotonic_ns().to_string());
    }
    let t0 = Instant::now();
    let mut child: Child = cmd.spawn()?;
    let out = reader(child.stdout.take().expect("piped stdout"));
    let err = reader(child.stderr.take().expect("piped stderr"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let st = child.wait();
        let _ = tx.send((Instant::now(), st));
    });
    let mut timed_out = false;
    let (t_exit, status) = match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(_) => {
            timed_out = true;
            kill(pid);
            rx.recv().unwrap_or((Instant::now(), Err(std::io::Error::other("waiter vanished"))))
        }
    };
    let _ = waiter.join();
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    let first_out_byte_us = out.first().map(|(t, _)| us_since(t0, *t));
    let (stdout, out_lines) = lines_of(t0, &out);
    let (stderr, err_lines) = lines_of(t0, &err);
    Ok(Capture {
        stdout,
        stderr,
        out_lines,
        err_lines,
        first_out_byte_us,
        status: if timed_out { None } else { status.ok() },
        timed_out,
        exit_us: us_since(t0, t_exit),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stamped_when_their_newline_arrives() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_micros(100);
        let t2 = t0 + Duration::from_micros(250);
        let chunks = vec![(t1, b"Vir".to_vec()), (t2, b"eo 1\r\ncpu 0 online\npartial".to_vec())];
        let (all, lines) = lines_of(t0, &chunks);
        assert_eq!(all, "Vireo 1\r\ncpu 0 online\npartial");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], Line { t_us: 250.0, text: "Vireo 1".into() });
        assert_eq!(lines[1].text, "cpu 0 online");
        assert_eq!(lines[2], Line { t_us: 250.0, text: "partial".into() });
    }

    #[test]
    fn runs_a_process_and_times_it() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo \"$SPAWN_NS\"; echo VIREO-EXIT 3; echo oops >&2"]);
        let before = monotonic_ns();
        let c = run(cmd, Duration::from_secs(10), Some("SPAWN_NS")).unwrap();
        assert!(!c.timed_out);
        assert_eq!(c.vireo_exit(), Some(3));
        let spawn_ns: i64 = c.out_lines[0].text.parse().unwrap();
        assert!(spawn_ns >= before && spawn_ns <= monotonic_ns());
        assert_eq!(c.err_lines[0].text, "oops");
        assert!(c.first_out_byte_us.unwrap() <= c.out_line_starting("VIREO-EXIT").unwrap());
        assert!(c.exit_us > 0.0);
    }

    #[test]
    fn kills_at_the_timeout() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let c = run(cmd, Duration::from_millis(100), None).unwrap();
        assert!(c.timed_out);
        assert_eq!(c.status, None);
        assert!(c.exit_us < 10_000_000.0);
        assert_eq!(c.outcome(), "timed out");
    }
}
