//! A guest driven through its serial console: QEMU with `-serial stdio`,
//! its stdin a pipe the benchmark writes `mark` and `quit` to, its stdout
//! and stderr read line by line by a thread each and kept (the report quotes
//! the last console line when a guest cannot serve).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

/// A running guest.
pub struct Console {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    /// Every line read so far (stderr's prefixed with `qemu: `).
    pub lines: Vec<String>,
    exited: Option<ExitStatus>,
}

fn pump<R: Read + Send + 'static>(r: R, prefix: &'static str, tx: Sender<String>) {
    thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    if tx.send(format!("{prefix}{}", text.trim_end_matches(['\r', '\n']))).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

impl Console {
    pub fn spawn(mut cmd: Command) -> std::io::Result<Console> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let (tx, rx) = mpsc::channel();
        if let Some(o) = child.stdout.take() {
            pump(o, "", tx.clone());
        }
        if let Some(e) = child.stderr.take() {
            pump(e, "qemu: ", tx);
        }
        let stdin = child.stdin.take();
        Ok(Console { child, stdin, rx, lines: Vec::new(), exited: None })
    }

    /// Writes one line to the guest's console.
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let w = self.stdin.as_mut().ok_or("the console is closed")?;
        w.write_all(format!("{line}\n").as_bytes()).and_then(|()| w.flush()).map_err(|e| format!("console: {e}"))
    }

    /// The QEMU process's status once it has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Reads lines until one satisfies `want` (returned), `timeout` passes,
    /// or QEMU has ended and said nothing more.
    pub fn wait_for(&mut self, timeout: Duration, want: impl Fn(&str) -> bool) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(l) => {
                    self.lines.push(l.clone());
                    if want(&l) {
                        return Some(l);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if left.is_zero() {
                        return None;
                    }
                    if self.exited().is_some() {
                        // Let the readers deliver what was left in the pipes.
                        thread::sleep(Duration::from_millis(100));
                        while let Ok(l) = self.rx.try_recv() {
                            self.lines.push(l.clone());
                            if want(&l) {
                                return Some(l);
                            }
                        }
                        return None;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Takes in whatever lines have arrived, without waiting.
    pub fn drain(&mut self) {
        while let Ok(l) = self.rx.try_recv() {
            self.lines.push(l);
        }
    }

    /// The last non-empty console line, for "not available" reasons.
    pub fn last_line(&mut self) -> String {
        self.drain();
        self.lines.iter().rev().find(|l| !l.trim().is_empty()).cloned().unwrap_or_default()
    }

    /// Waits up to `timeout` for QEMU to end, then kills it; says how it ended.
    pub fn finish(&mut self, timeout: Duration) -> String {
        self.stdin = None;
        let end = Instant::now() + timeout;
        while self.exited().is_none() && Instant::now() < end {
            thread::sleep(Duration::from_millis(100));
        }
        let how = match self.exited() {
            Some(s) => format!("QEMU exited ({s})"),
            None => {
                let _ = self.child.kill();
                self.exited = self.child.wait().ok();
                format!("QEMU killed after {} s", timeout.as_secs())
            }
        };
        self.drain();
        // Vireo says how it ended (QEMU's own status is isa-debug-exit's 2n+1).
        match self.lines.iter().rev().find_map(|l| pv_abi::exit::parse_line(l)) {
            Some(code) => format!("{how}, VIREO-EXIT {code}"),
            None => how,
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talks_to_a_line_program() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "echo up; while read l; do echo \"got $l\"; [ \"$l\" = quit ] && echo 'VIREO-EXIT 3' && exit 3; done",
        ]);
        let mut c = Console::spawn(cmd).unwrap();
        assert_eq!(c.wait_for(Duration::from_secs(10), |l| l == "up").as_deref(), Some("up"));
        c.send("mark").unwrap();
        assert_eq!(c.wait_for(Duration::from_secs(10), |l| l.starts_with("got")).as_deref(), Some("got mark"));
        c.send("quit").unwrap();
        assert_eq!(c.wait_for(Duration::from_secs(10), |l| l == "never"), None);
        let how = c.finish(Duration::from_secs(10));
        assert!(how.contains("exit status: 3") && how.ends_with(", VIREO-EXIT 3"), "{how}");
        assert_eq!(c.last_line(), "VIREO-EXIT 3");
    }
}
