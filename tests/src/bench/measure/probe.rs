//! vmm-harness's boot with the initrd: when it fails, what it reached, how it
//! ended and why the timed boots are kernel only ([`InitrdProbe`]).

use super::super::capture::Capture;
use super::super::harness_json::{self, trace_key};
use super::{code_label, InitrdProbe, CODES};

/// The instruction a vmm-harness error line names in `instruction bytes [..]`,
/// for the few that matter to a kernel entering user space.
pub fn insn_name(bytes: &[u8]) -> Option<&'static str> {
    Some(match bytes {
        [0x0f, 0x01, 0xd0, ..] => "XGETBV",
        [0x0f, 0x01, 0xd1, ..] => "XSETBV",
        [0x0f, 0x01, 0xf8, ..] => "SWAPGS",
        [0x0f, 0x05, ..] => "SYSCALL",
        [0x0f, 0x07, ..] | [0x48, 0x0f, 0x07, ..] => "SYSRET",
        [0x48, 0xcf, ..] => "IRETQ",
        [0x0f, 0xae, ..] | [0x48, 0x0f, 0xae, ..] => "FXSAVE/XSAVE family (0f ae)",
        [0x0f, 0x57, ..] => "XORPS (SSE)",
        _ => return None,
    })
}

/// A short form of vmm-harness's failure line on stderr, e.g. `vmm-harness:
/// vCPU 0: KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1: emulation
/// failure), data [..], instruction bytes [0f 01 d0 ..] at rip 0xffffffff80112eac`
/// becomes `KVM_EXIT_INTERNAL_ERROR (emulation failure) on XGETBV (0f 01 d0 ..)
/// at rip 0xffffffff80112eac`. Other lines are returned as they are (trimmed).
pub fn harness_failure(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("vmm-harness:") && !l.starts_with("vmm-harness: trace"))?;
    let body = line.trim_start_matches("vmm-harness:").trim();
    let Some(bytes_at) = body.find("instruction bytes [") else {
        return Some(body.chars().take(300).collect());
    };
    let rest = &body[bytes_at + "instruction bytes [".len()..];
    let close = rest.find(']').unwrap_or(rest.len());
    let bytes: Vec<u8> = rest[..close].split_whitespace().filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
    let rip = rest[close..].split_whitespace().skip_while(|w| *w != "rip").nth(1).unwrap_or("?");
    let what = if body.contains("emulation failure") {
        "KVM_EXIT_INTERNAL_ERROR (emulation failure)"
    } else if body.contains("KVM_EXIT_INTERNAL_ERROR") {
        "KVM_EXIT_INTERNAL_ERROR"
    } else {
        "vCPU failure"
    };
    let hex: Vec<String> = bytes.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let insn = match insn_name(&bytes) {
        Some(n) => format!("{n} ({} ..)", hex.join(" ")),
        None => format!("instruction {} ..", hex.join(" ")),
    };
    Some(format!("{what} on {insn} at rip {rip}"))
}

/// Why the harness's timed boots are kernel only, given the host.
pub fn initrd_verdict(pvm: bool) -> String {
    if pvm {
        "user space not measurable on kvm-pvm: syscall does not reach the guest kernel (kvm-here.md §4.2)".into()
    } else {
        "the boot with the initrd did not complete".into()
    }
}

/// What the kernel-only timed boots show instead (table and docs).
pub const KERNEL_ONLY: &str = "the timed boots are kernel only (no --initrd): 0x41 is the kernel's own mark at the end of kernel init, 0x43 is not reached";

/// What the failed boot with the initrd reached, and how it ended.
pub(super) fn initrd_probe(
    command: String,
    r: &Result<(Option<harness_json::Trace>, Capture), String>,
    pvm: bool,
) -> InitrdProbe {
    let mut p = InitrdProbe { command, verdict: initrd_verdict(pvm), ..Default::default() };
    let (trace, cap) = match r {
        Ok((t, c)) => (t.as_ref(), c),
        Err(e) => {
            p.outcome = e.clone();
            p.not_reached = CODES.iter().map(|&c| code_label(c)).collect();
            return p;
        }
    };
    for c in CODES {
        let hit = trace.is_some_and(|t| t.first(&trace_key(c)).is_some());
        if hit {
            p.reached.push(code_label(c));
        } else {
            p.not_reached.push(code_label(c));
        }
    }
    p.outcome = match (trace.and_then(|t| t.exit()), cap.timed_out) {
        (_, true) => format!("did not end; killed after {:.1} s", cap.exit_us / 1e6),
        (Some((code, reason, t_us)), _) => format!(
            "vmm-harness exit {} ({}) {:.1} ms after its main()",
            code.map_or("?".to_string(), |c| c.to_string()),
            reason.unwrap_or("?"),
            t_us / 1e3
        ),
        (None, _) => format!(
            "exit status {:?} after {:.1} ms, no trace JSON",
            cap.status.and_then(|s| s.code()),
            cap.exit_us / 1e3
        ),
    };
    p.failure = harness_failure(&cap.stderr);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_failures_are_summarised() {
        let stderr = "vmm-harness: vCPU 0: KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror 1: emulation failure), data [1, 20e2c148d0010f0f, b848d70948c789, 1000, 0, 0, 0, 0], instruction bytes [0f 01 d0 48 c1 e2 20 89 c7 48 09 d7 48 b8 00] at rip 0xffffffff80112eac\n\
                      vmm-harness: trace       0.0 us  process start\n\
                      vmm-harness: trace  102921.7 us  exit 125 (vCPU failure)\n";
        assert_eq!(
            harness_failure(stderr).as_deref(),
            Some("KVM_EXIT_INTERNAL_ERROR (emulation failure) on XGETBV (0f 01 d0 ..) at rip 0xffffffff80112eac")
        );
        assert_eq!(harness_failure("vmm-harness: timed out after 20 s\n").as_deref(), Some("timed out after 20 s"));
        assert_eq!(harness_failure("hello\n"), None);
        assert_eq!(insn_name(&[0x0f, 0x05]), Some("SYSCALL"));
        assert_eq!(insn_name(&[0x0f, 0x01, 0xd1]), Some("XSETBV"));
        assert_eq!(insn_name(&[0x90]), None);
        assert!(initrd_verdict(true).contains("syscall does not reach the guest kernel"));
    }
}
