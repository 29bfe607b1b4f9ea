//! Helpers for the end-to-end tests in `tests/tests/`: boot Vireo in a VMM
//! with a deadline, capture its serial console, and read its exit status.
pub mod balloon;
pub mod bench;
pub mod console;
pub mod disk;
pub mod dns_server;
pub mod frames;
pub mod layering;
pub mod net;
pub mod running;
pub mod testbed;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The repository root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A build artifact under `build/`; panics with the fix if it is missing.
pub fn artifact(name: &str) -> PathBuf {
    let p = repo_root().join("build").join(name);
    assert!(p.exists(), "{} is missing: run `make test` (it builds it first)", p.display());
    p
}

pub fn kernel() -> PathBuf {
    artifact("kernel.elf")
}

pub fn harness() -> PathBuf {
    artifact("vmm-harness")
}

/// What a VM run produced.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Run {
    /// The code of the `VIREO-EXIT <code>` line, if the guest printed one.
    pub fn vireo_exit(&self) -> Option<u8> {
        self.stdout.lines().rev().find_map(pv_abi::exit::parse_line)
    }

    /// True if a line of the serial output starts with `prefix`.
    pub fn has_line_starting(&self, prefix: &str) -> bool {
        self.stdout.lines().any(|l| l.trim_end_matches('\r').starts_with(prefix))
    }

    /// True if a line of the serial output is exactly `line` or `line` followed
    /// by ` (` and a detail (how the std test programs report a check).
    pub fn has_check(&self, line: &str) -> bool {
        self.stdout
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .any(|l| l == line || l.strip_prefix(line).is_some_and(|rest| rest.starts_with(" (")))
    }

    /// The serial output's lines that contain `needle`.
    pub fn lines_containing(&self, needle: &str) -> Vec<&str> {
        self.stdout.lines().map(|l| l.trim_end_matches('\r')).filter(|l| l.contains(needle)).collect()
    }

    /// Panics unless the serial output has each of `want` as a whole line,
    /// in this order (other lines may come between). In a wanted line `{}`
    /// stands for any text.
    pub fn assert_lines_in_order(&self, want: &[&str]) {
        let lines: Vec<&str> = self.stdout.lines().map(|l| l.trim_end_matches('\r')).collect();
        let mut at = 0;
        for w in want {
            match lines[at..].iter().position(|l| fits(l, w)) {
                Some(i) => at += i + 1,
                None => panic!("no line {w:?} (in order) in the output\n{}", self.dump()),
            }
        }
    }

    /// Everything a failing assertion should show.
    pub fn dump(&self) -> String {
        format!(
            "status {:?} (timed out: {}) after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.timed_out, self.elapsed, self.stdout, self.stderr
        )
    }

    /// Asserts a clean boot: the guest reported `VIREO-EXIT 0`.
    pub fn assert_exit(&self, code: u8) {
        assert!(!self.timed_out, "VM timed out\n{}", self.dump());
        assert_eq!(self.vireo_exit(), Some(code), "wrong VIREO-EXIT\n{}", self.dump());
    }
}

/// Whether `line` is `pattern`, where `{}` in the pattern stands for any text.
pub fn fits(line: &str, pattern: &str) -> bool {
    let mut parts = pattern.split("{}");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Runs `cmd` to completion or until `timeout`, capturing stdout and stderr.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for VM process") {
            break status;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("reap killed VM process");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Run { stdout, stderr, status, timed_out, elapsed }
}

/// QEMU machine types the tests boot.
#[derive(Clone, Copy, Debug)]
pub enum Machine {
    /// `-M microvm`: virtio-mmio, qboot.
    Microvm,
    /// `-M q35`: PCIe, SeaBIOS's PVH option ROM.
    Q35,
}

/// How to start QEMU for one boot.
pub struct Qemu {
    pub machine: Machine,
    pub cpus: u32,
    pub mem_mib: u32,
    pub cmdline: String,
    /// Add `isa-debug-exit` so power-off does not depend on ACPI.
    pub debug_exit: bool,
    /// Count instructions deterministically (`-icount shift=0,sleep=off`).
    pub icount: bool,
    pub extra: Vec<String>,
    /// The initrd to pass as the PVH module (`-initrd`).
    pub initrd: Option<PathBuf>,
    pub timeout: Duration,
}

impl Qemu {
    pub fn new(machine: Machine) -> Self {
        Self {
            machine,
            cpus: 1,
            mem_mib: 256,
            cmdline: String::new(),
            debug_exit: true,
            icount: false,
            extra: Vec::new(),
            initrd: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn cpus(mut self, n: u32) -> Self {
        self.cpus = n;
        self
    }

    pub fn cmdline(mut self, c: &str) -> Self {
        self.cmdline = c.to_string();
        self
    }

    /// Boots with the full initrd (`build/initrd.cpio`: every program, the
    /// tests' too).
    pub fn with_initrd(mut self) -> Self {
        self.initrd = Some(artifact("initrd.cpio"));
        self
    }

    /// Boots with the system initrd (`build/system.cpio`: init, the I/O
    /// server, the runtime, launch, hello, sh), as a machine with its root
    /// disk does; every other program comes from the disk.
    pub fn with_system_initrd(mut self) -> Self {
        self.initrd = Some(artifact("system.cpio"));
        self
    }

    pub fn without_debug_exit(mut self) -> Self {
        self.debug_exit = false;
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new("qemu-system-x86_64");
        let m = match self.machine {
            Machine::Microvm => "microvm",
            Machine::Q35 => "q35",
        };
        c.args(["-M", m, "-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none"]);
        c.args(["-serial", "stdio", "-no-reboot"]);
        c.args(["-m", &format!("{}M", self.mem_mib), "-smp", &self.cpus.to_string()]);
        if self.icount {
            c.args(["-icount", "shift=0,sleep=off"]);
        }
        if self.debug_exit {
            c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]);
        }
        if matches!(self.machine, Machine::Q35) {
            // Keep SeaBIOS off the serial console so it carries only Vireo.
            c.args(["-fw_cfg", "name=etc/sercon-port,string=0"]);
        }
        c.args(&self.extra);
        if let Some(rd) = &self.initrd {
            c.arg("-initrd").arg(rd);
        }
        c.arg("-kernel").arg(kernel()).arg("-append").arg(&self.cmdline);
        c
    }

    pub fn run(&self) -> Run {
        run_with_timeout(self.command(), self.timeout)
    }
}

/// True when this host can run the harness (a usable /dev/kvm); tests that
/// need it print why they skip otherwise.
pub fn kvm_available() -> Result<(), String> {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("/dev/kvm not usable ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::fits;

    #[test]
    fn placeholders_stand_for_any_text() {
        assert!(fits("abc", "abc") && !fits("abcd", "abc") && !fits("xabc", "abc"));
        assert!(fits("-rw 12 2026-12-07 13:34 f.txt", "-rw 12 {} f.txt"));
        assert!(fits("2026-12-07T13:34:41Z", "20{}-{}-{}T{}:{}:{}Z"));
        assert!(!fits("2026-12-07 13:34", "20{}-{}-{}T{}"));
        assert!(fits("usage: ls", "usage: ls{}") && !fits("usage: l", "usage: ls{}"));
        assert!(!fits("ab", "a{}b{}b"), "pieces do not overlap");
    }
}
