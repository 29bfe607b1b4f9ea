//! A VM's serial console driven like a terminal: QEMU's stdio is the wire,
//! the test types keys and reads what came back two ways: as the raw byte
//! stream (to wait for a line a program printed) and as the screen a VT100
//! terminal would show (to check what a full-screen program such as the
//! editor or `top` drew, cursor moves and erasures applied).
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shell's prompt at `/`.
pub const PROMPT: &str = "vireo:/$ ";
pub const LEFT: &str = "\x1b[D";
pub const RIGHT: &str = "\x1b[C";
pub const UP: &str = "\x1b[A";
pub const DOWN: &str = "\x1b[B";
pub const HOME: &str = "\x1b[H";
pub const END: &str = "\x1b[F";
pub const DELETE: &str = "\x1b[3~";
pub const PAGE_UP: &str = "\x1b[5~";
pub const PAGE_DOWN: &str = "\x1b[6~";
pub const CTRL_C: &str = "\x03";

/// The emulated terminal's size: what a serial console is assumed to be
/// when nobody says otherwise.
pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// How long `expect` waits: TCG on a loaded 2-core host is slow.
const EXPECT_TIMEOUT: Duration = Duration::from_secs(90);

struct Captured {
    bytes: Vec<u8>,
    terminal: vt100::Parser,
}

/// A running VM with its console piped to the test.
pub struct Console {
    child: Child,
    out: Arc<Mutex<Captured>>,
    /// Output before this offset has been matched already.
    mark: usize,
}

impl Console {
    /// The system as a user gets it: QEMU `machine` with 2 vCPUs, the
    /// system initrd, `disk` as `/` (read-write, every program but the
    /// system's on it) and the shell on the console; `net` adds QEMU's user
    /// network.
    pub fn shell(machine: crate::Machine, disk: &Path, net: bool) -> Self {
        let mut qemu = crate::Qemu::new(machine).cpus(2).with_system_initrd().with_disk(disk, false);
        if net {
            qemu = qemu.with_net("user", None);
        }
        Self::spawn(qemu.cmdline(&crate::disk::program("/bin/sh")).command())
    }

    /// Starts `cmd` (a QEMU command line with `-serial stdio`) with its
    /// stdin and stdout piped to the test.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start QEMU");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let out = Arc::new(Mutex::new(Captured { bytes: Vec::new(), terminal: vt100::Parser::new(ROWS, COLS, 0) }));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut captured = sink.lock().unwrap();
                captured.bytes.extend_from_slice(&buf[..n]);
                captured.terminal.process(&buf[..n]);
            }
        });
        Console { child, out, mark: 0 }
    }

    /// Everything the console printed so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap().bytes).into_owned()
    }

    /// The console's output lines, carriage returns trimmed.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
    }

    /// Panics unless lines fitting `want` (`{}` matches anything, see
    /// [`crate::fits`]) appear in this order.
    pub fn assert_lines_in_order(&self, want: &[&str]) {
        let lines = self.lines();
        let mut at = 0;
        for w in want {
            match lines[at..].iter().position(|l| crate::fits(l, w)) {
                Some(i) => at += i + 1,
                None => panic!("no line {w:?} (in order) on the console; it shows:\n{}", lines.join("\n")),
            }
        }
    }

    /// Types `line` and Enter at the shell, then waits for the next prompt
    /// (whatever the directory).
    pub fn command(&mut self, line: &str) {
        self.type_keys(&format!("{line}\r"));
        self.expect("\nvireo:");
        self.expect("$ ");
    }

    /// The terminal's screen now: `ROWS` lines, trailing blanks trimmed.
    pub fn screen(&self) -> String {
        self.out.lock().unwrap().terminal.screen().contents()
    }

    /// The terminal's screen row `row` (0-based), trailing blanks trimmed.
    pub fn screen_row(&self, row: u16) -> String {
        let captured = self.out.lock().unwrap();
        let line = captured.terminal.screen().rows(0, COLS).nth(usize::from(row)).unwrap_or_default();
        line.trim_end().to_string()
    }

    /// The terminal's cursor as (row, column), 0-based.
    pub fn cursor(&self) -> (u16, u16) {
        self.out.lock().unwrap().terminal.screen().cursor_position()
    }

    /// Waits until `want` appears after the last match; panics with the
    /// console's output if it does not within 90 s.
    pub fn expect(&mut self, want: &str) {
        if !self.wait_for(want, EXPECT_TIMEOUT) {
            let _ = self.child.kill();
            panic!("no {want:?} on the console; it shows:\n{}", self.text().escape_debug());
        }
    }

    /// Whether `want` appears after the last match within `timeout`.
    pub fn wait_for(&mut self, want: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let out = self.out.lock().unwrap();
                if let Some(i) = out.bytes[self.mark..].windows(want.len()).position(|w| w == want.as_bytes()) {
                    self.mark += i + want.len();
                    return true;
                }
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen satisfies `ok`; panics with the screen if it
    /// does not within 90 s. `what` names the wait in the panic.
    pub fn expect_screen(&mut self, what: &str, ok: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                // Later byte matches start after what the screen shows now.
                self.mark = self.out.lock().unwrap().bytes.len();
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the screen never showed {what}; it shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C until `prompt` is back: a program gives no sign of having
    /// started, so a Ctrl-C typed before the shell made it the foreground
    /// is just input.
    pub fn interrupt(&mut self, prompt: &str) {
        for _ in 0..10 {
            self.type_keys(CTRL_C);
            if self.wait_for(&format!("\n{prompt}"), Duration::from_secs(3)) {
                return;
            }
        }
        let _ = self.child.kill();
        panic!("Ctrl-C did not bring the prompt back; the console shows:\n{}", self.text().escape_debug());
    }

    pub fn type_keys(&mut self, keys: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        stdin.write_all(keys.as_bytes()).and_then(|_| stdin.flush()).expect("write to QEMU");
    }

    /// Types a command line's keys and waits for the output line `want`.
    pub fn run(&mut self, keys: &str, want: &str) {
        self.type_keys(keys);
        self.expect(&format!("\n{want}\n"));
    }

    /// Waits for the VM to end.
    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("QEMU exits")
    }

    /// Ends the VM now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    /// The emulator applies cursor addressing and erasure the way a
    /// full-screen program relies on.
    #[test]
    fn the_screen_applies_cursor_moves_and_erasure() {
        let mut p = vt100::Parser::new(super::ROWS, super::COLS, 0);
        p.process(b"hello\r\nworld\x1b[1;1HJ\x1b[2;1H\x1b[K");
        assert_eq!(p.screen().contents(), "Jello");
    }
}
