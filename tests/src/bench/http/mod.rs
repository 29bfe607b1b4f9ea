//! `vireo-bench-http` (`make bench-http`): the HTTP benchmark of issue 12,
//! Vireo's httpd against a Linux guest (busybox httpd) in one run
//! (docs/benchmarks.md "HTTP"). Both guests boot the same QEMU line
//! (microvm TCG, `-icount shift=0,sleep=on`, 1 vCPU, 256 MiB) with a fresh
//! copy of the same ext4 image as a virtio-blk disk and a virtio-net card on
//! QEMU's user network, port 80 forwarded to a free host port; `wrk` on the
//! host loads them at 1 and 32 connections, and a 64 MiB download gives the
//! bulk figure. The guests answer `mark` on the console with their time,
//! idle time and free memory, which gives instructions per request. Runs
//! alternate between the guests. A benchmark, not a test: it never fails on
//! a number, and a guest that cannot serve gives "not available: why".
//!
//! - [`site`]: the files served and the image; [`linux`]: the Linux guest;
//! - [`console`]: QEMU driven through its serial console; [`client`]: the
//!   readiness probe and the bulk download; [`parse`]: wrk and mark lines;
//! - [`run`]: one guest run; [`soak`]: `--soak MINUTES`; [`report`]: the
//!   table and `http.json`.

pub mod client;
pub mod console;
pub mod linux;
pub mod parse;
pub mod report;
pub mod run;
pub mod site;
pub mod soak;

use std::path::{Path, PathBuf};

pub const DEFAULT_RUNS: usize = 3;
pub const DEFAULT_DURATION_S: u64 = 20;
/// wrk's connection counts (`-t1` for 1, `-t2` above).
pub const CONNECTIONS: [u32; 2] = [1, 32];

pub const USAGE: &str = "\
vireo-bench-http: the HTTP benchmark, Vireo's httpd against Linux (make bench-http).

Usage: vireo-bench-http [--runs N] [--duration SECONDS] [--out DIR]
                        [--no-linux] [--no-vireo] [--soak MINUTES]
                        [--profile PLUGIN]

  --runs N            runs per guest (default 3, or VIREO_BENCH_HTTP_RUNS)
  --duration SECONDS  each wrk run (default 20, or VIREO_BENCH_HTTP_DURATION)
  --out DIR           where http.json and the run images go (default build/bench)
  --no-linux          skip the Linux guest
  --no-vireo          skip Vireo
  --soak MINUTES      instead: one guest (Vireo, or Linux with --no-vireo)
                      under wrk at 32 connections for MINUTES, a mark every
                      minute (memory, errors, requests/s); http-soak.json
  --profile PLUGIN    load the TCG plugin PLUGIN (make profile-plugin builds
                      build/profile/tbcount.so) into Vireo's QEMU and snapshot
                      its counters around each wrk run, into OUT/profile/;
                      http.json names them (tests/profile/report.py reads them)

Boots build/kernel.elf with build/initrd.cpio (`-- /bin/bench-mark /bin/httpd
...`) and Debian's cloud kernel with a busybox initramfs (build/linux/, fetched
once with apt-get download), each with a fresh copy of one ext4 image holding
/srv/bench, and drives them with wrk (make deps installs it) through QEMU's
hostfwd. VIREO_BENCH_HTTP_CMDLINE replaces Vireo's kernel command line (to try
another server or flags). Exit status 0 whenever it could run (a guest that cannot serve is
reported, not an error), 2 for a bad command line.
";

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub runs: usize,
    pub duration_s: u64,
    pub out_dir: PathBuf,
    pub build: PathBuf,
    pub linux: bool,
    pub vireo: bool,
    pub soak_minutes: Option<u64>,
    /// The instruction-counting TCG plugin to load into Vireo's QEMU.
    pub profile: Option<PathBuf>,
}

/// Parses the command line (without argv[0]); `Ok(None)` means --help.
/// `env` is (VIREO_BENCH_HTTP_RUNS, VIREO_BENCH_HTTP_DURATION).
pub fn parse_args(args: &[String], env: (Option<&str>, Option<&str>), root: &Path) -> Result<Option<Options>, String> {
    let build = root.join("build");
    let mut o = Options {
        runs: DEFAULT_RUNS,
        duration_s: DEFAULT_DURATION_S,
        out_dir: build.join("bench"),
        build,
        linux: true,
        vireo: true,
        soak_minutes: None,
        profile: None,
    };
    let count = |what: &str, v: &str, max: u64| match v.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("{what}: '{v}' is not a number from 1 to {max}")),
    };
    if let Some(v) = env.0.filter(|v| !v.trim().is_empty()) {
        o.runs = count("VIREO_BENCH_HTTP_RUNS", v, 100)? as usize;
    }
    if let Some(v) = env.1.filter(|v| !v.trim().is_empty()) {
        o.duration_s = count("VIREO_BENCH_HTTP_DURATION", v, 3600)?;
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runs" => o.runs = count("--runs", value()?, 100)? as usize,
            "--duration" => o.duration_s = count("--duration", value()?, 3600)?,
            "--soak" => o.soak_minutes = Some(count("--soak", value()?, 24 * 60)?),
            "--out" => o.out_dir = PathBuf::from(value()?),
            "--no-linux" => o.linux = false,
            "--no-vireo" => o.vireo = false,
            "--profile" => o.profile = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    if let Some(p) = o.profile.as_ref().filter(|p| !p.is_file()) {
        return Err(format!("--profile: {} is not a file (make profile-plugin builds it)", p.display()));
    }
    if o.soak_minutes.is_some() && !o.linux && !o.vireo {
        return Err("--soak needs a guest (not both --no-linux and --no-vireo)".into());
    }
    Ok(Some(o))
}

pub(crate) fn log(msg: &str) {
    eprintln!("vireo-bench-http: {msg}");
}

/// The program: returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    let root = crate::repo_root();
    let env_runs = std::env::var("VIREO_BENCH_HTTP_RUNS").ok();
    let env_dur = std::env::var("VIREO_BENCH_HTTP_DURATION").ok();
    let opts = match parse_args(args, (env_runs.as_deref(), env_dur.as_deref()), &root) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("vireo-bench-http: {e}");
            return 2;
        }
    };
    let _ = std::fs::create_dir_all(&opts.out_dir);
    if let Some(minutes) = opts.soak_minutes {
        let s = soak::run(&opts, minutes);
        print!("{}", soak::table(&s));
        let json = opts.out_dir.join("http-soak.json");
        match std::fs::write(&json, soak::json(&s).to_string()) {
            Ok(()) => println!("\nWrote {}", super::rel(&json)),
            Err(e) => eprintln!("vireo-bench-http: cannot write {}: {e}", json.display()),
        }
        return 0;
    }
    let results = run::run_all(&opts);
    print!("{}", report::table(&results));
    let json = opts.out_dir.join("http.json");
    match std::fs::write(&json, report::json(&results).to_string()) {
        Ok(()) => println!("\nWrote {}", super::rel(&json)),
        Err(e) => eprintln!("vireo-bench-http: cannot write {}: {e}", json.display()),
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
        let o = parse_args(&[], (None, None), root).unwrap().unwrap();
        assert_eq!((o.runs, o.duration_s, o.linux, o.vireo, o.soak_minutes), (3, 20, true, true, None));
        assert_eq!(o.out_dir, Path::new("/r/build/bench"));
        let o = parse_args(&args(&["--no-vireo", "--runs", "1", "--duration", "5"]), (Some("2"), Some("9")), root)
            .unwrap()
            .unwrap();
        assert_eq!((o.runs, o.duration_s, o.vireo, o.linux), (1, 5, false, true));
        let o = parse_args(&[], (Some("2"), Some(" ")), root).unwrap().unwrap();
        assert_eq!((o.runs, o.duration_s), (2, 20));
        let o = parse_args(&args(&["--soak", "10", "--out", "/tmp/x"]), (None, None), root).unwrap().unwrap();
        assert_eq!((o.soak_minutes, o.out_dir.as_path()), (Some(10), Path::new("/tmp/x")));
        assert!(parse_args(&args(&["--soak", "1", "--no-linux", "--no-vireo"]), (None, None), root).is_err());
        assert!(parse_args(&args(&["--duration", "0"]), (None, None), root).is_err());
        assert!(parse_args(&args(&["--duration"]), (None, None), root).is_err());
        assert!(parse_args(&args(&["--runs", "x"]), (None, None), root).is_err());
        assert!(parse_args(&[], (None, Some("abc")), root).is_err());
        assert!(parse_args(&args(&["--frob"]), (None, None), root).is_err());
        assert_eq!(parse_args(&args(&["--help"]), (None, None), root).unwrap(), None);
        // --profile names a plugin that exists.
        let e = parse_args(&args(&["--profile", "/nonexistent/tbcount.so"]), (None, None), root).unwrap_err();
        assert!(e.contains("make profile-plugin"), "{e}");
        let me = std::env::current_exe().unwrap();
        let o = parse_args(&args(&["--profile", &me.display().to_string()]), (None, None), root).unwrap().unwrap();
        assert_eq!(o.profile.as_deref(), Some(me.as_path()));
    }
}
