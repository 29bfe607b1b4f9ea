//! `vireo-bench-fs` (`make bench-fs`): the file-system benchmark of issue 11,
//! Vireo against a Linux guest in one run (docs/benchmarks.md "File
//! system"). Both guests boot on the same QEMU command line (the boot
//! benchmark's microvm, `-icount shift=0,sleep=off`, 1 vCPU, 256 MiB) with a
//! fresh copy of the same ext4 image as a virtio-blk disk (`cache=writeback`),
//! run fs-bench, and print one line per figure; runs alternate between the
//! guests. A benchmark, not a test: it never fails on a number, and a guest
//! that cannot run gives "not available: why" rather than an error.
//!
//! - [`image`]: the ext4 image; [`linux`]: the Linux guest (on [`crate::bench::linux`]);
//! - [`parse`]: fs-bench's lines; [`report`]: the table and `fs.json`.

pub mod image;
pub mod linux;
pub mod parse;
pub mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::capture;
use super::measure::qemu_with_cmdline;
use parse::RunLines;

/// Vireo's command line: init runs `/bin/fs-bench` (its directory argument
/// defaults to `/`, the disk).
pub const VIREO_CMDLINE: &str = "-- /bin/fs-bench";
pub const DEFAULT_RUNS: usize = 3;
/// Bound on one guest run (Linux under TCG takes about 1.5 min here).
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

pub const USAGE: &str = "\
vireo-bench-fs: the file-system benchmark, Vireo against Linux (make bench-fs).

Usage: vireo-bench-fs [--runs N] [--out DIR] [--no-linux] [--no-vireo]

  --runs N     runs per guest (default 3, or VIREO_BENCH_FS_RUNS)
  --out DIR    where fs.json and the run images go (default build/bench)
  --no-linux   skip the Linux guest
  --no-vireo   skip Vireo

Boots build/kernel.elf with build/initrd.cpio (`-- /bin/fs-bench`) and Debian's
cloud kernel with a busybox initramfs (fetched once into build/linux/ with
apt-get download), each with a fresh copy of a 256 MiB ext4 image. Exit status 0
whenever it could run (a missing guest is reported, not an error), 2 for a bad
command line.
";

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub runs: usize,
    pub out_dir: PathBuf,
    pub build: PathBuf,
    pub linux: bool,
    pub vireo: bool,
}

/// Parses the command line (without argv[0]); `Ok(None)` means --help.
pub fn parse_args(args: &[String], env_runs: Option<&str>, root: &Path) -> Result<Option<Options>, String> {
    let build = root.join("build");
    let mut o = Options { runs: DEFAULT_RUNS, out_dir: build.join("bench"), build, linux: true, vireo: true };
    let count = |what: &str, v: &str| match v.trim().parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!("{what}: '{v}' is not a count from 1 to 100")),
    };
    if let Some(v) = env_runs.filter(|v| !v.trim().is_empty()) {
        o.runs = count("VIREO_BENCH_FS_RUNS", v)?;
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runs" => o.runs = count("--runs", it.next().ok_or("--runs needs a value")?)?,
            "--out" => o.out_dir = PathBuf::from(it.next().ok_or("--out needs a value")?),
            "--no-linux" => o.linux = false,
            "--no-vireo" => o.vireo = false,
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok(Some(o))
}

/// One guest's runs.
#[derive(Debug, Default)]
pub struct GuestRuns {
    pub name: &'static str,
    /// The QEMU command line (without the per-run image path).
    pub command: String,
    /// Why the guest could not run at all.
    pub unavailable: Option<String>,
    pub runs: Vec<RunLines>,
    /// Per run: how it ended, and `e2fsck -fn` on its image afterwards.
    pub outcomes: Vec<String>,
    pub fsck: Vec<Result<(), String>>,
    pub wall_s: Vec<f64>,
}

/// Everything `report` needs.
#[derive(Debug, Default)]
pub struct Results {
    pub vireo: GuestRuns,
    pub linux: GuestRuns,
    pub linux_version: Option<String>,
    pub linux_modules: Vec<String>,
    pub qemu: String,
    pub date: String,
}

fn log(msg: &str) {
    eprintln!("vireo-bench-fs: {msg}");
}

fn disk_args(cmd: &mut Command, img: &Path) {
    // Modern virtio-mmio (v2) for both guests: what Firecracker offers and
    // Vireo's driver speaks; QEMU's microvm defaults to legacy v1.
    cmd.args(["-global", "virtio-mmio.force-legacy=false"]);
    cmd.arg("-drive")
        .arg(format!("file={},format=raw,if=none,id=d0,cache=writeback", img.display()))
        .args(["-device", "virtio-blk-device,drive=d0"]);
}

/// Shell-like text of a command, for the report.
pub(crate) fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Boots `cmd` with a fresh image and records what fs-bench printed.
fn one_run(g: &mut GuestRuns, mut cmd: Command, base: &Path, img: &Path) {
    if let Err(e) = image::fresh_copy(base, img) {
        g.outcomes.push(format!("no image: {e}"));
        return;
    }
    disk_args(&mut cmd, img);
    let t0 = std::time::Instant::now();
    let cap = match capture::run(cmd, RUN_TIMEOUT, None) {
        Ok(c) => c,
        Err(e) => {
            g.outcomes.push(format!("cannot start QEMU: {e}"));
            return;
        }
    };
    g.wall_s.push(t0.elapsed().as_secs_f64());
    let parsed = parse::parse(&cap.out_lines);
    let ended = if cap.timed_out {
        format!("timed out after {} s", RUN_TIMEOUT.as_secs())
    } else {
        format!("QEMU exited ({})", cap.status.map(|s| s.to_string()).unwrap_or_default())
    };
    let outcome = if parsed.started {
        ended
    } else {
        // Nothing from fs-bench: say what the console's last words were.
        let last = cap.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        format!("no fs-bench output; {ended}; last console line: {last:?}")
    };
    g.outcomes.push(outcome);
    g.fsck.push(image::check(img));
    g.runs.push(parsed);
    let _ = std::fs::remove_file(img);
}

pub(crate) fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Runs both guests `opts.runs` times each, alternating.
pub fn run_all(opts: &Options) -> Results {
    let mut r = Results { date: date(), ..Default::default() };
    r.qemu = super::measure::qemu_version().unwrap_or_else(|e| e);
    r.vireo.name = "Vireo";
    r.linux.name = "Linux";
    let _ = std::fs::create_dir_all(&opts.out_dir);
    let base = opts.out_dir.join("fs-base.img");
    if let Err(e) = image::make_base(&base, &opts.build.join("disk-root")) {
        let why = format!("cannot make the disk image: {e}");
        r.vireo.unavailable = Some(why.clone());
        r.linux.unavailable = Some(why);
        return r;
    }
    let kernel = opts.build.join("kernel.elf");
    let initrd = opts.build.join("initrd.cpio");
    r.vireo.unavailable = if !opts.vireo {
        Some("skipped (--no-vireo)".into())
    } else if !kernel.exists() || !initrd.exists() {
        Some(format!("{} or {} missing (run `make all`)", kernel.display(), initrd.display()))
    } else {
        None
    };
    let vireo_cmd = || qemu_with_cmdline(&kernel, Some(&initrd), true, VIREO_CMDLINE);
    r.vireo.command = show(&vireo_cmd());
    let guest = if opts.linux {
        log("preparing the Linux guest (build/linux)");
        linux::prepare(&opts.build.join("linux"))
    } else {
        Err("skipped (--no-linux)".into())
    };
    let linux_cmd = |g: &linux::Guest| qemu_with_cmdline(&g.kernel, Some(&g.initramfs), true, linux::CMDLINE);
    match &guest {
        Ok(g) => {
            r.linux.command = show(&linux_cmd(g));
            r.linux_version = Some(g.version.clone());
            r.linux_modules = g.modules.clone();
        }
        Err(e) => r.linux.unavailable = Some(e.clone()),
    }
    for i in 0..opts.runs {
        if r.vireo.unavailable.is_none() {
            log(&format!("Vireo run {}/{}", i + 1, opts.runs));
            one_run(&mut r.vireo, vireo_cmd(), &base, &opts.out_dir.join("fs-vireo.img"));
        }
        if let (None, Ok(g)) = (&r.linux.unavailable, &guest) {
            log(&format!("Linux run {}/{}", i + 1, opts.runs));
            one_run(&mut r.linux, linux_cmd(g), &base, &opts.out_dir.join("fs-linux.img"));
        }
    }
    let _ = std::fs::remove_file(&base);
    r
}

/// The program: returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    let root = crate::repo_root();
    let env_runs = std::env::var("VIREO_BENCH_FS_RUNS").ok();
    let opts = match parse_args(args, env_runs.as_deref(), &root) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("vireo-bench-fs: {e}");
            return 2;
        }
    };
    let results = run_all(&opts);
    print!("{}", report::table(&results));
    let json = opts.out_dir.join("fs.json");
    match std::fs::write(&json, report::json(&results, opts.runs).to_string()) {
        Ok(()) => println!("\nWrote {}", super::rel(&json)),
        Err(e) => eprintln!("vireo-bench-fs: cannot write {}: {e}", json.display()),
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line() {
        let root = Path::new("/r");
        let o = parse_args(&[], None, root).unwrap().unwrap();
        assert_eq!((o.runs, o.linux, o.vireo), (DEFAULT_RUNS, true, true));
        assert_eq!(o.out_dir, Path::new("/r/build/bench"));
        let o = parse_args(&args(&["--runs", "5", "--no-linux"]), Some("2"), root).unwrap().unwrap();
        assert_eq!((o.runs, o.linux), (5, false));
        assert_eq!(parse_args(&[], Some("2"), root).unwrap().unwrap().runs, 2);
        assert!(parse_args(&args(&["--runs", "0"]), None, root).is_err());
        assert!(parse_args(&args(&["--runs"]), None, root).is_err());
        assert!(parse_args(&[], Some("x"), root).is_err());
        assert!(parse_args(&args(&["--frob"]), None, root).is_err());
        assert_eq!(parse_args(&args(&["-h"]), None, root).unwrap(), None);
    }
}
