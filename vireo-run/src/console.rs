//! The serial console, line by line: the program's output is shown, the
//! system's own lines (kernel under `quiet`, init, the I/O server) are not,
//! and the last lines say how the program ended. stdout and stderr share
//! the one console, so both arrive on the runner's stdout.

/// Line starts of what the system prints around a program (init's and the
/// I/O server's start-up, network and shutdown messages). `--verbose`
/// shows them.
const SYSTEM_LINES: &[&str] = &["init: ", "io: ", "devices: ", "balloon: "];

/// How the program ended, as far as the console has said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ending {
    /// The `VIREO-EXIT` code: the program's status when it exited with 0-255.
    pub exit: Option<u8>,
    /// init's `... ended with status 0x...`: the program was killed or aborted.
    pub killed: Option<String>,
    /// `KERNEL PANIC ...` or `KERNEL EXCEPTION ...`: the kernel stopped.
    pub kernel_crash: Option<String>,
    /// init could not run the program, or lost the I/O server.
    pub system_error: Option<String>,
}

/// init's lines that mean the program did not run to its own end.
const SYSTEM_ERRORS: &[&str] =
    &["init: cannot run ", "init: the I/O server died", "init: the I/O server did not get ready"];

pub struct Console {
    pub ending: Ending,
    verbose: bool,
    app_path: String,
    partial: Vec<u8>,
}

impl Console {
    pub fn new(app_path: &str, verbose: bool) -> Self {
        Self { ending: Ending::default(), verbose, app_path: app_path.to_string(), partial: Vec::new() }
    }

    /// Takes bytes from the console; returns what to show.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            self.partial.push(b);
            if b == b'\n' {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, &mut out);
            }
        }
        out
    }

    /// The console ended: an unterminated last line is shown as it is.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let line = std::mem::take(&mut self.partial);
        if !line.is_empty() {
            self.line(&line, &mut out);
        }
        out
    }

    fn line(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(raw);
        let body = text.trim_end_matches(['\n', '\r']);
        // The kernel's last line; a program's unterminated output may precede it.
        if let Some(at) = body.find(pv_abi::exit::MARKER) {
            if let Some(code) = pv_abi::exit::parse_line(&body[at..]) {
                self.ending.exit = Some(code);
                out.extend_from_slice(&raw[..at]);
                if self.verbose {
                    out.extend_from_slice(&raw[at..]);
                }
                return;
            }
        }
        if body.starts_with("KERNEL PANIC") || body.starts_with("KERNEL EXCEPTION") {
            self.ending.kernel_crash.get_or_insert_with(|| body.to_string());
        }
        if let Some(rest) = body.strip_prefix("init: ").and_then(|r| r.strip_prefix(self.app_path.as_str())) {
            if let Some(status) = rest.strip_prefix(" ended with status ") {
                self.ending.killed = Some(status.to_string());
            }
        }
        if SYSTEM_ERRORS.iter().any(|p| body.starts_with(p)) {
            self.ending.system_error.get_or_insert_with(|| body.to_string());
        }
        if self.verbose || !SYSTEM_LINES.iter().any(|p| body.starts_with(p)) {
            out.extend_from_slice(raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(c: &mut Console, s: &str) -> String {
        String::from_utf8(c.feed(s.as_bytes())).unwrap()
    }

    #[test]
    fn system_lines_are_hidden_and_the_status_read() {
        let mut c = Console::new("/app/demo", false);
        let boot = "init: Vireo user space is up\ndevices: 0 pci, 1 virtio-mmio\nio: / is ext4\n";
        assert_eq!(shown(&mut c, boot), "");
        assert_eq!(shown(&mut c, "hello\r\nwor"), "hello\r\n");
        assert_eq!(shown(&mut c, "ld\nio: / unmounted cleanly\nVIREO-EXIT 3\n"), "world\n");
        assert_eq!(c.ending, Ending { exit: Some(3), ..Ending::default() });
    }

    #[test]
    fn unterminated_output_before_the_exit_line_is_kept() {
        let mut c = Console::new("/app/demo", false);
        assert_eq!(shown(&mut c, "no newline VIREO-EXIT 0\n"), "no newline ");
        assert_eq!(c.ending.exit, Some(0));
        assert_eq!(String::from_utf8(Console::new("/app/x", false).finish()).unwrap(), "");
    }

    #[test]
    fn kill_and_panic_are_recorded() {
        let mut c = Console::new("/app/demo", false);
        shown(&mut c, "init: /app/demo ended with status 0x1101\nVIREO-EXIT 1\n");
        assert_eq!(c.ending.killed.as_deref(), Some("0x1101"));
        let mut c = Console::new("/app/demo", true);
        assert_eq!(shown(&mut c, "KERNEL PANIC at x.rs:1: oops\n"), "KERNEL PANIC at x.rs:1: oops\n");
        assert!(c.ending.kernel_crash.is_some());
        let mut c = Console::new("/app/demo", false);
        shown(&mut c, "\nKERNEL EXCEPTION on cpu 0: vector 14 #PF\n");
        assert_eq!(c.ending.kernel_crash.as_deref(), Some("KERNEL EXCEPTION on cpu 0: vector 14 #PF"));
        shown(&mut c, "init: cannot run /app/demo: NotFound\n");
        assert_eq!(c.ending.system_error.as_deref(), Some("init: cannot run /app/demo: NotFound"));
    }
}
