//! A VM left running while a test talks to it (over the network): QEMU
//! spawned with its serial output collected in the background, waited on
//! by line prefixes, killed when dropped (its output printed if the test
//! is failing).
use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Qemu;

pub struct RunningVm {
    pub child: Child,
    out: Arc<Mutex<String>>,
}

impl RunningVm {
    /// Starts `q` (stdin closed, stdout collected).
    pub fn start(q: &Qemu) -> RunningVm {
        let mut child = q
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start QEMU");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let out = Arc::new(Mutex::new(String::new()));
        let o = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o.lock().unwrap_or_else(|e| e.into_inner()).push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        RunningVm { child, out }
    }

    /// The serial output so far.
    pub fn output(&self) -> String {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits until the serial output has a line starting with each of `prefixes`.
    pub fn wait_for(&mut self, prefixes: &[&str], timeout: Duration) {
        let t = Instant::now();
        loop {
            let out = self.output();
            if prefixes.iter().all(|p| out.lines().any(|l| l.trim_end_matches('\r').starts_with(p))) {
                return;
            }
            assert!(self.running(), "the VM ended before {prefixes:?}\n{out}");
            assert!(t.elapsed() < timeout, "no {prefixes:?} after {timeout:?}\n{out}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RunningVm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- serial output ---\n{}", self.output());
        }
    }
}
