//! `vireo-bench` (`make bench`): boot-cost measurements. A benchmark, not a
//! test: it never fails on a number. See docs/benchmarks.md.
//!
//! - [`bootstat`], [`harness_json`], [`chv`], [`mm`]: parsers for what the
//!   kernel and the VMMs print, with unit tests on sample text;
//! - [`capture`]: run a VMM and timestamp its output lines on the host;
//! - [`measure`]: the four measurements (QEMU -icount, vmm-harness, QEMU wall
//!   time, Cloud Hypervisor), all booting init from the initrd where the VMM
//!   can run user space, and the memory/size figures;
//! - [`report`]: the stdout table, `boot.json` and the SVG timeline ([`svg`]);
//! - [`fs`]: `vireo-bench-fs` (`make bench-fs`), the file-system benchmark
//!   against a Linux guest;
//! - [`http`]: `vireo-bench-http` (`make bench-http`), the HTTP benchmark
//!   against a Linux guest; [`linux`] and [`cpio`]: the Linux guest both use;
//! - [`vmm`]: `vireo-bench-vmm` (`make bench-vmm`), vmm-harness from exec to
//!   the first KVM_RUN and a restore to the first guest instruction.

pub mod bootstat;
pub mod capture;
pub mod chv;
pub mod cpio;
pub mod fs;
pub mod harness_json;
pub mod host;
pub mod http;
pub mod linux;
pub mod measure;
pub mod mm;
pub mod overcommit;
pub mod report;
pub mod stats;
pub mod svg;
pub mod vmm;

use std::path::PathBuf;

/// Default number of boots per VMM for the wall-time measurements.
pub const DEFAULT_BOOTS: usize = 20;
/// Default number of `-icount` runs (they should agree exactly).
pub const DEFAULT_ICOUNT_RUNS: usize = 3;
/// The kernel command line every measured boot uses.
pub const CMDLINE: &str = "bootstat";

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub boots: usize,
    pub icount_runs: usize,
    pub out_dir: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The full initrd, for the std `main` figure: `/bin/std-first-main`
    /// runs as init and only the full initrd has it.
    pub full_initrd: PathBuf,
    pub harness: PathBuf,
    /// Seconds the wall-time sections may take together before N is lowered.
    pub budget_secs: f64,
}

pub const USAGE: &str = "\
vireo-bench: measure Vireo's boot cost (run by `make bench`).

Usage: vireo-bench [--boots N] [--icount-runs N] [--out DIR] [--kernel FILE]
                   [--initrd FILE]

  --boots N         boots per VMM for the wall-time figures (default 20,
                    or VIREO_BENCH_BOOTS); lowered automatically, with a note,
                    if N boots would not fit the time budget
  --icount-runs N   QEMU -icount runs (default 3)
  --out DIR         where boot.json and boot-timeline.svg go (default build/bench)
  --kernel FILE     kernel to boot (default build/kernel.elf)
  --initrd FILE     initrd to boot with (default build/system.cpio, the
                    system initrd; the boots are kernel only when it does
                    not exist)

Every boot runs /init from the initrd. vmm-harness first boots once with the
initrd; if that boot does not complete (kvm-pvm: guest user mode cannot make
system calls), its timed boots are kernel only and the table says so.

Cloud Hypervisor is measured when `cloud-hypervisor` is on PATH or
CLOUD_HYPERVISOR names it. Exit status: 0 whenever it could run (a number never
fails it), 1 when it could not run at all (e.g. QEMU or the kernel missing),
2 for a bad command line.
";

/// `path` relative to the repository root when it is inside it (for display).
pub fn rel(path: &std::path::Path) -> String {
    let root = crate::repo_root();
    path.strip_prefix(&root).unwrap_or(path).display().to_string()
}

/// Parses the command line (without argv[0]); `Ok(None)` means --help.
pub fn parse_args(args: &[String], env_boots: Option<&str>, root: &std::path::Path) -> Result<Option<Options>, String> {
    let build = root.join("build");
    let mut o = Options {
        boots: DEFAULT_BOOTS,
        icount_runs: DEFAULT_ICOUNT_RUNS,
        out_dir: build.join("bench"),
        kernel: build.join("kernel.elf"),
        initrd: build.join("system.cpio"),
        full_initrd: build.join("initrd.cpio"),
        harness: build.join("vmm-harness"),
        budget_secs: 200.0,
    };
    let count = |flag: &str, v: Option<&String>| -> Result<usize, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        match v.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => Err(format!("{flag}: '{v}' is not a count from 1 to 10000")),
        }
    };
    if let Some(v) = env_boots.filter(|v| !v.trim().is_empty()) {
        o.boots = count("VIREO_BENCH_BOOTS", Some(&v.trim().to_string()))?;
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--boots" => o.boots = count("--boots", it.next())?,
            "--icount-runs" => o.icount_runs = count("--icount-runs", it.next())?,
            "--out" => o.out_dir = PathBuf::from(it.next().ok_or("--out needs a value")?),
            "--kernel" => o.kernel = PathBuf::from(it.next().ok_or("--kernel needs a value")?),
            "--initrd" => o.initrd = PathBuf::from(it.next().ok_or("--initrd needs a value")?),
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok(Some(o))
}

/// The program: returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    let root = crate::repo_root();
    let env_boots = std::env::var("VIREO_BENCH_BOOTS").ok();
    let opts = match parse_args(args, env_boots.as_deref(), &root) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("vireo-bench: {e}");
            return 2;
        }
    };
    match measure::run_all(&opts) {
        Ok(results) => match report::write_all(&opts, &results) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vireo-bench: cannot write results: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("vireo-bench: cannot run: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line() {
        let root = Path::new("/r");
        let o = parse_args(&[], None, root).unwrap().unwrap();
        assert_eq!(o.boots, DEFAULT_BOOTS);
        assert_eq!(o.kernel, Path::new("/r/build/kernel.elf"));
        assert_eq!(o.out_dir, Path::new("/r/build/bench"));
        assert_eq!(o.initrd, Path::new("/r/build/system.cpio"));
        let o = parse_args(&args(&["--initrd", "/x/i.cpio"]), None, root).unwrap().unwrap();
        assert_eq!(o.initrd, Path::new("/x/i.cpio"));
        assert!(parse_args(&args(&["--initrd"]), None, root).is_err());
        let o = parse_args(&args(&["--boots", "5", "--icount-runs", "2"]), Some("7"), root).unwrap().unwrap();
        assert_eq!((o.boots, o.icount_runs), (5, 2));
        assert_eq!(parse_args(&[], Some("7"), root).unwrap().unwrap().boots, 7);
        assert_eq!(parse_args(&[], Some(""), root).unwrap().unwrap().boots, DEFAULT_BOOTS);
        assert!(parse_args(&[], Some("x"), root).is_err());
        assert!(parse_args(&args(&["--boots", "0"]), None, root).is_err());
        assert!(parse_args(&args(&["--boots"]), None, root).is_err());
        assert!(parse_args(&args(&["--frob"]), None, root).is_err());
        assert_eq!(parse_args(&args(&["--help"]), None, root).unwrap(), None);
    }
}
