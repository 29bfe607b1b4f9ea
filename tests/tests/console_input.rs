//! The serial console takes input: COM1's receive interrupt is routed
//! through the IOAPIC, and a parked kernel thread is woken with each line.
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use vireo_tests::{Machine, Qemu};

struct Console {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Console {
    fn boot(machine: Machine) -> Self {
        let mut cmd = Qemu::new(machine).cpus(2).cmdline("consoletest").command();
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start QEMU");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line.trim_end_matches('\r').to_string()).is_err() {
                    break;
                }
            }
        });
        Self { child, lines, seen: Vec::new() }
    }

    fn expect(&mut self, want: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let hit = line.starts_with(want);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no line starting {want:?}; saw:\n{}", self.seen.join("\n"));
                }
            }
        }
    }

    fn type_line(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush()).expect("write to QEMU");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn echo(machine: Machine) {
    let mut c = Console::boot(machine);
    c.expect("console> ");
    c.type_line("hello world\r\n");
    c.expect("console: got \"hello world\"");
    c.expect("console> ");
    c.type_line("a longer line with UTF-8: héllo\n");
    c.expect("console: got \"a longer line with UTF-8: héllo\"");
    c.expect("console> ");
    c.type_line("exit\n");
    c.expect("VIREO-EXIT 0");
}

#[test]
fn microvm_console_echoes_typed_lines() {
    echo(Machine::Microvm);
}

#[test]
fn q35_console_echoes_typed_lines() {
    echo(Machine::Q35);
}
