//! `std::process::Command` on Vireo (docs/runtime.md, "Child processes").
//!
//! Run with no arguments, it spawns itself (`std::env::current_exe()`) in
//! child modes (the first argument) and checks exit codes, a child's
//! panic, piped stdout/stderr/stdin, null and inherited stdio, the
//! environment a child sees, `kill` with `try_wait`/`wait`, and 1,000
//! spawn/wait cycles with free memory back where it started. Prints
//! `command: <check> ok` per check and `command: all ok`; a failed check
//! panics (so the process fails).
mod sysinfo;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Bytes the big pipe transfers move: more than a pipe buffers (64 KiB), so
/// both sides block and wake.
const BIG: usize = 200 * 1024;
const CYCLES: usize = 1000;
const WARM_UP: usize = 10;
/// Free memory after the cycles may be this much below the figure before.
const SLACK: u64 = 256 << 10;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 23) as u8).collect()
}

fn me() -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "/bin/command".into());
    Command::new(exe)
}

fn child_mode(mode: &str, rest: &[String]) -> i32 {
    match mode {
        "exit" => rest.first().and_then(|c| c.parse().ok()).unwrap_or(1),
        "panic" => panic!("command: deliberate child panic"),
        "out" => {
            print!("line one to stdout\nline two\n");
            eprintln!("to stderr only");
            0
        }
        "big" => {
            std::io::stdout().write_all(&pattern(BIG)).unwrap();
            eprintln!("big done");
            0
        }
        "echo" => {
            let mut all = Vec::new();
            std::io::stdin().read_to_end(&mut all).unwrap();
            std::io::stdout().write_all(&all).unwrap();
            0
        }
        "null" => {
            // stdout is null: this goes nowhere; stdin is null: end of file.
            println!("command: THIS LINE MUST NOT APPEAR");
            let mut all = Vec::new();
            let n = std::io::stdin().read_to_end(&mut all).unwrap();
            if n == 0 {
                0
            } else {
                1
            }
        }
        "inherit" => {
            println!("command: inherited stdout ok (printed by the child)");
            0
        }
        "env" => {
            let x = std::env::var("VIREO_X").unwrap_or_else(|_| "-".into());
            let y = std::env::var("Y").unwrap_or_else(|_| "-".into());
            print!("VIREO_X={x} Y={y}");
            0
        }
        "sleep" => {
            std::thread::sleep(Duration::from_secs(600));
            0
        }
        "nop" => 0,
        _ => 2,
    }
}

/// stdout and stderr of a child spawned with piped stdout (std 1.96 on this
/// target pipes stderr whenever stdout is piped), read one after the other:
/// `Child::wait_with_output` and `Command::output` would call std's
/// `read_output`, which this target's std does not implement.
fn capture(mut child: Child) -> (std::process::ExitStatus, Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    if let Some(mut s) = child.stdout.take() {
        s.read_to_end(&mut out).unwrap();
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_end(&mut err).unwrap();
    }
    (child.wait().unwrap(), out, err)
}

fn ok(check: &str) {
    println!("command: {check} ok");
}

fn exit_codes() {
    for code in [0, 3, 255] {
        let s = me().args(["exit", &code.to_string()]).status().unwrap();
        assert_eq!(s.code(), Some(code), "exit {code}: {s:?}");
        assert_eq!(s.success(), code == 0);
    }
    ok("exit codes 0 3 255");
    let s = me().arg("panic").stderr(Stdio::null()).stdout(Stdio::null()).status().unwrap();
    assert!(!s.success(), "a panicking child succeeded");
    ok(&format!("child panic -> {s}"));
}

fn pipes() {
    let c = me().arg("out").stdout(Stdio::piped()).spawn().unwrap();
    let (s, out, err) = capture(c);
    assert!(s.success());
    assert_eq!(out, b"line one to stdout\nline two\n");
    assert_eq!(err, b"to stderr only\n");
    ok("piped stdout and stderr");

    let c = me().arg("big").stdout(Stdio::piped()).spawn().unwrap();
    let (s, out, err) = capture(c);
    assert!(s.success());
    assert!(out == pattern(BIG), "big: {} bytes", out.len());
    assert_eq!(err, b"big done\n");
    ok(&format!("piped {BIG} bytes"));

    let mut c = me().arg("echo").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = c.stdin.take().unwrap();
    // A thread feeds stdin while this one drains stdout: neither pipe can
    // hold all of it.
    let feeder = std::thread::spawn(move || {
        stdin.write_all(&pattern(BIG)).unwrap();
        // Dropping stdin closes it: the child reads end of file.
    });
    let (s, out, _) = capture(c);
    feeder.join().unwrap();
    assert!(s.success());
    assert!(out == pattern(BIG), "echo: {} bytes back", out.len());
    ok(&format!("piped stdin echoed {BIG} bytes"));

    let mut c = me().arg("null").stdin(Stdio::null()).stdout(Stdio::null()).spawn().unwrap();
    assert!(c.stdout.is_none() && c.stdin.is_none());
    assert!(c.wait().unwrap().success(), "null stdin was not end of file");
    ok("null stdin and stdout");

    // The reader gone: writing fails (the kernel's `Closed`) instead of
    // blocking or succeeding.
    let mut c = me().arg("nop").stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = c.stdin.take().unwrap();
    assert!(c.wait().unwrap().success());
    let e = stdin.write_all(&pattern(BIG)).expect_err("writing to a pipe without a reader");
    ok(&format!("write with no reader fails ({:?})", e.kind()));

    // A child blocked reading an empty pipe still dies when killed.
    let mut c = me().arg("echo").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    c.kill().unwrap();
    assert!(!c.wait().unwrap().success());
    drop(c.stdin.take());
    ok("kill of a child blocked in a pipe read");

    let s = me().arg("inherit").status().unwrap();
    assert!(s.success());
    ok("inherited stdout");
}

fn env() {
    // Edition 2021: set_var is still safe to call; one thread runs here.
    std::env::set_var("VIREO_X", "1");
    let c = me().arg("env").env("Y", "2").stdout(Stdio::piped()).spawn().unwrap();
    let (_, out, _) = capture(c);
    assert_eq!(String::from_utf8_lossy(&out), "VIREO_X=1 Y=2");
    ok("env inherited and set");
    let c = me().arg("env").env_clear().stdout(Stdio::piped()).spawn().unwrap();
    let (_, out, _) = capture(c);
    assert_eq!(String::from_utf8_lossy(&out), "VIREO_X=- Y=-");
    ok("env_clear");
}

fn kill() {
    let mut c = me().arg("sleep").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(c.try_wait().unwrap().is_none(), "sleeping child already ended");
    c.kill().unwrap();
    let s = c.wait().unwrap();
    assert!(!s.success(), "killed child succeeded");
    assert_eq!(c.try_wait().unwrap(), Some(s));
    ok(&format!("kill, try_wait, wait -> {s}"));
}

fn cycles() {
    // Reported only: the first spawns may grow the kernel heap and this
    // process's allocator for good, which is not a leak.
    let first = sysinfo::free_memory().unwrap();
    for _ in 0..WARM_UP {
        assert!(me().arg("nop").status().unwrap().success());
    }
    let before = sysinfo::free_memory().unwrap();
    for i in 0..CYCLES {
        let s = me().arg("nop").status().unwrap();
        assert!(s.success(), "cycle {i}: {s}");
    }
    let after = sysinfo::free_memory().unwrap();
    println!(
        "command: {CYCLES} spawn/wait cycles: free memory {} KiB before the {WARM_UP} warm-up cycles, {} KiB before, {} KiB after ({:+} KiB)",
        first >> 10,
        before >> 10,
        after >> 10,
        (after as i64 - before as i64) / 1024
    );
    assert!(after + SLACK >= before, "lost {} KiB over {CYCLES} cycles", (before - after) >> 10);
    ok(&format!("{CYCLES} spawn/wait cycles"));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(mode) = args.get(1) {
        if mode == "cycles" {
            // Only the spawn/wait cycles (a quicker stress run by hand).
            cycles();
            println!("command: all ok");
            return;
        }
        std::process::exit(child_mode(mode, &args[2..]));
    }
    exit_codes();
    pipes();
    env();
    kill();
    cycles();
    println!("command: all ok");
}
