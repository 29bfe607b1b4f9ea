//! `ps`, `top`, `free`, `uptime` and `kill` (docs/shell.md, "Tools") on
//! Vireo, under QEMU TCG with the disk as `/` and the shell on the serial
//! console: `ps` shows init, the I/O server, the shell and itself with
//! sensible fields, a process started in a pipeline shows up and `kill`
//! ends it, `kill` may not reach init or the I/O server, `top -n 2` draws
//! per-CPU and per-process rows on the screen, and bad arguments get one
//! line. The kernel side of the calls (bad pointers, sessions) is
//! tests/tests/user_space.rs with `/test/syscalls`.
use vireo_tests::console::{Console, PROMPT};
use vireo_tests::disk::DiskCopy;
use vireo_tests::Machine;

const PS_HEADER: &str = "  PID  PPID S THR     TIME    RSS CMD";

/// One `ps` line: pid, parent, state, threads, time, RSS KiB, command.
#[derive(Debug)]
struct Row {
    pid: u32,
    parent: u32,
    state: String,
    threads: u32,
    time: String,
    rss_kib: u64,
    cmd: String,
}

/// The rows of the last `ps` table in `text`.
fn ps_rows(text: &str) -> Vec<Row> {
    let table = text.rsplit(PS_HEADER).next().unwrap_or("");
    table
        .lines()
        .skip(1)
        .map(|l| l.trim_end_matches('\r'))
        .take_while(|l| !l.starts_with(PROMPT.trim_end()))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 7 {
                return None;
            }
            Some(Row {
                pid: f[0].parse().ok()?,
                parent: f[1].parse().ok()?,
                state: f[2].into(),
                threads: f[3].parse().ok()?,
                time: f[4].into(),
                rss_kib: f[5].parse().ok()?,
                cmd: f[6..].join(" "),
            })
        })
        .collect()
}

/// Runs `line` and waits for the prompt after it; what it printed.
fn run(c: &mut Console, line: &str) -> String {
    let before = c.text().len();
    c.type_keys(&format!("{line}\r"));
    c.expect(&format!("\n{PROMPT}"));
    let text = c.text();
    text[before..].replace('\r', "")
}

#[test]
fn ps_top_free_uptime_and_kill_on_the_console() {
    let disk = DiskCopy::new("sys-tools");
    let mut c = Console::shell(Machine::Microvm, &disk.path, false);
    c.expect(PROMPT);

    // ps: init, the I/O server, the shell and ps itself.
    let out = run(&mut c, "ps");
    let rows = ps_rows(&out);
    let find = |rows: &[Row], cmd: &str| rows.iter().find(|r| r.cmd.starts_with(cmd)).map(|r| r.pid);
    let by_cmd = |cmd: &str| rows.iter().find(|r| r.cmd.starts_with(cmd)).unwrap_or_else(|| panic!("no {cmd}:\n{out}"));
    let init = by_cmd("init");
    let io = by_cmd("io");
    let sh = by_cmd("sh");
    let ps = by_cmd("ps");
    assert_eq!((init.pid, init.parent), (1, 0), "{out}");
    assert_eq!(io.parent, 1, "{out}");
    assert_eq!(sh.parent, 1, "{out}");
    assert_eq!((ps.parent, ps.threads), (sh.pid, 1), "{out}");
    assert_eq!(ps.state, "R", "ps sees itself running: {out}");
    assert!(["R", "S"].contains(&sh.state.as_str()) && init.state == "S", "{out}");
    assert!(io.threads >= 1 && io.rss_kib > 0 && sh.rss_kib > 0 && ps.rss_kib > 0, "{out}");
    assert!(sh.time != "0:00.00", "the shell has run:\n{out}");
    assert!(init.cmd.starts_with("init"), "{out}");

    // A pipeline's first stage, seen by its second; then, the next pids
    // being predictable (nothing else starts processes), killed by `kill`
    // as the second stage of the same kind of pipeline.
    let out = run(&mut c, "sleep 2 | ps");
    let rows = ps_rows(&out);
    let sleep = find(&rows, "sleep 2").unwrap_or_else(|| panic!("no sleep:\n{out}"));
    let ps2 = find(&rows, "ps").unwrap_or_else(|| panic!("no ps:\n{out}"));
    assert_eq!(ps2, sleep + 1, "{out}");
    let victim = ps2 + 1;
    // The pipeline ends at once (its sleep was killed: the shell says 130).
    let out = run(&mut c, &format!("sleep 100 | kill {victim}; echo kill $?"));
    assert!(out.contains("kill 130\n") && !out.contains("kill: "), "{out}");
    let out = run(&mut c, "ps");
    assert!(find(&ps_rows(&out), "sleep").is_none(), "sleep survived:\n{out}");

    // What a shell's child may not end, and bad arguments: one line each.
    for (line, want) in [
        ("kill 1; echo $?", "kill: 1: Operation not permitted\n1\n".to_string()),
        (&format!("kill {}; echo $?", io.pid), format!("kill: {}: Operation not permitted\n1\n", io.pid)),
        ("kill 99999; echo $?", "kill: 99999: No such process\n1\n".into()),
        ("kill abc; echo $?", "kill: abc: not a process id\n1\n".into()),
        ("ps -z; echo $?", "ps: invalid option -- 'z'\nusage: ps\n2\n".into()),
        ("top -d x; echo $?", "top: -d wants a number of seconds from 0.1 to 86400\n".into()),
        ("free extra; echo $?", "free: takes no operands\n".into()),
    ] {
        let out = run(&mut c, line);
        assert!(out.contains(&want), "{line}: want {want:?} in\n{out}");
    }
    let out = run(&mut c, "ps");
    assert!(find(&ps_rows(&out), "io").is_some() && find(&ps_rows(&out), "sh").is_some(), "{out}");

    // free and uptime.
    let out = run(&mut c, "free");
    let mem: Vec<u64> = out
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .unwrap_or_else(|| panic!("{out}"))
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(mem.len() == 3 && mem[0] > 200 * 1024 && mem[0] == mem[1] + mem[2], "{out}");
    let out = run(&mut c, "uptime");
    assert!(out.contains(" up ") && out.contains(" processes, 2 CPUs, ") && out.contains("% busy"), "{out}");
    let out = run(&mut c, "top --help");
    assert!(out.contains("usage: top [-d SECONDS] [-n COUNT]"), "{out}");

    // top: two frames half a second apart, drawn on the screen.
    c.type_keys("top -d 0.5 -n 2\r");
    // Its last frame stays, the prompt after it.
    c.expect_screen("top's frame, then the prompt", |s| {
        s.contains("BUSY%  IDLE%  STEAL%")
            && s.contains("\ncpu0 ")
            && s.contains("\ncpu1 ")
            && s.contains("top -d 0.5 -n 2")
            // An empty prompt: not an older line's `vireo:/$ top ...` that
            // the first frame has not erased yet.
            && s.lines().last().is_some_and(|l| l.trim_end() == PROMPT.trim_end())
    });
    let screen = c.screen();
    let cpu0 = screen.lines().find(|l| l.starts_with("cpu0")).unwrap_or_default().to_string();
    let shares: Vec<f64> = cpu0.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    assert!(shares.len() == 3 && (shares.iter().sum::<f64>() - 100.0).abs() < 0.5, "{screen}");
    let top_row = screen.lines().find(|l| l.ends_with("top -d 0.5 -n 2")).unwrap_or_default().to_string();
    assert!(top_row.split_whitespace().nth(4).and_then(|v| v.parse::<f64>().ok()).is_some(), "{screen}");

    // The shell takes the keys again (top's key reader ended with it).
    c.type_keys("echo after-top\r");
    c.expect("after-top");
    // q and Ctrl-C end a top that would run for ever.
    for (key, status) in [("q", "top-q 0"), ("\x03", "top-c")] {
        c.type_keys("top -d 5\r");
        c.expect("STEAL%");
        c.type_keys(key);
        c.expect(&format!("\x1b[J{PROMPT}"));
        let out = run(&mut c, &format!("echo {} $?", &status[..5]));
        assert!(out.contains(&format!("\n{status}")), "{out}");
    }
    c.type_keys("poweroff\r");
    c.expect("VIREO-EXIT 0");
}
