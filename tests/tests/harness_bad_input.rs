//! vmm-harness answers bad input with one clear line on stderr and exit
//! status 2: never a panic, a backtrace or a hang.
use std::process::Command;
use std::time::Duration;
use vireo_tests::{harness, kernel, run_with_timeout, Run};

fn harness_with(args: &[&str]) -> Run {
    let mut cmd = Command::new(harness());
    cmd.args(args);
    run_with_timeout(cmd, Duration::from_secs(30))
}

fn assert_refused(run: &Run, needle: &str) {
    assert_eq!(run.status.code(), Some(2), "{}", run.dump());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want exactly one line on stderr\n{}", run.dump());
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "stderr does not mention {needle:?}\n{}",
        run.dump()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.dump());
}

fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vireo-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write temp file");
    p
}

#[test]
fn missing_kernel_file_is_refused() {
    let run = harness_with(&["boot", "--kernel", "/nonexistent/kernel.elf"]);
    assert_refused(&run, "/nonexistent/kernel.elf");
}

#[test]
fn non_elf_kernel_is_refused() {
    let p = temp_file("not-an-elf", b"this is plainly not an ELF file, just text\n");
    let run = harness_with(&["boot", "--kernel", p.to_str().unwrap()]);
    assert_refused(&run, "elf");
}

#[test]
fn elf_without_pvh_note_is_refused() {
    // Any ordinary x86-64 executable has no Xen PVH note; the harness itself will do.
    let h = harness();
    let run = harness_with(&["boot", "--kernel", h.to_str().unwrap()]);
    assert_refused(&run, "pvh");
}

#[test]
fn memory_too_small_for_the_image_is_refused() {
    let k = kernel();
    let run = harness_with(&["boot", "--kernel", k.to_str().unwrap(), "--mem", "1"]);
    assert_refused(&run, "memory");
}

#[test]
fn unknown_flag_is_refused() {
    let k = kernel();
    let run = harness_with(&["boot", "--kernel", k.to_str().unwrap(), "--frobnicate"]);
    assert_refused(&run, "--frobnicate");
}

#[test]
fn bad_number_is_refused() {
    let k = kernel();
    let run = harness_with(&["boot", "--kernel", k.to_str().unwrap(), "--cpus", "many"]);
    assert_refused(&run, "--cpus");
}

#[test]
fn missing_kernel_flag_is_refused() {
    let run = harness_with(&["boot"]);
    assert_refused(&run, "--kernel");
}
