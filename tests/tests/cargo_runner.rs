//! The cargo runner `build/vireo-run` (docs/runtime.md, "cargo run and
//! cargo test"): `cargo run` of a crate in the tree with arguments and a
//! non-zero status, its `cargo test`, the runner's one-line errors, and the
//! own test suites of popular crates from crates.io, unmodified, whose
//! counts must match the same suites on Linux built with panic=abort.
//!
//! Every build uses Debian's cargo 1.96 with RUSTC_BOOTSTRAP=1, as the
//! Makefile does for guest code. The targets live in build/runner-crates/,
//! so std for the target is built once (about two minutes) and kept.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use vireo_tests::{artifact, repo_root, run_with_timeout, Run};

/// One cargo (and so one VM) at a time: they share a target directory, and
/// QEMU-heavy work runs one at a time on a loaded host.
static ONE_CARGO: Mutex<()> = Mutex::new(());

const MOTOR: &str = "x86_64-unknown-motor";
const LINUX: &str = "x86_64-unknown-linux-gnu";

fn work_dir() -> PathBuf {
    repo_root().join("build/runner-crates")
}

/// Debian's cargo for `target`, in `dir`, with the make and host-cargo
/// variables of the surrounding `cargo test` removed; `program_args` go
/// after `--`.
fn cargo(dir: &Path, target: &str, args: &[&str], program_args: &[&str]) -> Command {
    let mut c = Command::new("/usr/bin/cargo");
    c.current_dir(dir)
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTDOC", "/usr/bin/rustdoc")
        .env("RUSTC_BOOTSTRAP", "1")
        .args(args)
        .args(["--target", target]);
    if target == MOTOR {
        let std_crates =
            if args[0] == "test" { "-Zbuild-std=std,panic_abort,test" } else { "-Zbuild-std=std,panic_abort" };
        c.arg(std_crates).arg("--target-dir").arg(work_dir().join("target"));
    } else {
        c.arg("--target-dir").arg(work_dir().join("target-linux"));
    }
    if args[0] == "test" {
        c.arg("-Zpanic-abort-tests");
    }
    if !program_args.is_empty() {
        c.arg("--").args(program_args);
    }
    for v in
        ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CARGO_MAKEFLAGS", "CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_BUILD_TARGET"]
    {
        c.env_remove(v);
    }
    c
}

fn run(c: Command) -> Run {
    // The first build of std for the target takes minutes on a loaded host.
    let r = run_with_timeout(c, Duration::from_secs(1200));
    assert!(!r.timed_out, "cargo timed out\n{}", r.dump());
    r
}

fn demo() -> PathBuf {
    artifact("vireo-run");
    repo_root().join("tests/crates/runner-demo")
}

#[test]
fn cargo_run_passes_arguments_and_exits_with_the_programs_status() {
    let _one = ONE_CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let r = run(cargo(&demo(), MOTOR, &["run", "-q"], &["one", "two=2", "--exit=3"]));
    assert!(r.has_line_starting(r#"runner-demo: args ["one", "two=2", "--exit=3"]"#), "{}", r.dump());
    // stderr shares the serial console, so it arrives on the runner's stdout.
    assert!(r.has_line_starting("runner-demo: a line on stderr"), "{}", r.dump());
    assert!(r.has_line_starting("runner-demo: 1..=10 squared sum to 385"), "{}", r.dump());
    // The system's own lines are not shown.
    assert!(!r.stdout.contains("init: ") && !r.stdout.contains("VIREO-EXIT"), "{}", r.dump());
    assert_eq!(r.status.code(), Some(3), "{}", r.dump());
    let r = run(cargo(&demo(), MOTOR, &["run", "-q"], &[]));
    assert_eq!(r.status.code(), Some(0), "{}", r.dump());
}

/// (passed, failed, ignored) summed over every `test result:` line.
fn counts(r: &Run) -> (u32, u32, u32) {
    let mut sum = (0, 0, 0);
    for line in r.stdout.lines().filter_map(|l| l.trim_end_matches('\r').strip_prefix("test result: ")) {
        let n = |word: &str| -> u32 {
            line.split("; ")
                .find_map(|part| part.trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(word))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        sum.0 += n(" passed");
        sum.1 += n(" failed");
        sum.2 += n(" ignored");
    }
    sum
}

/// The names libtest lists under `failures:` at the end of each binary's
/// run (the `---- name stdout ----` section before it is left out), sorted.
fn failures(r: &Run) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_list = false;
    for line in r.stdout.lines().map(|l| l.trim_end_matches('\r')) {
        if line == "failures:" {
            in_list = true;
        } else if in_list && line.starts_with("    ") {
            // A test's name has no space.
            if !line.trim().contains(' ') {
                names.push(line.trim().to_string());
            }
        } else if !line.is_empty() {
            in_list = false;
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn cargo_test_runs_the_crates_tests_with_nocapture() {
    let _one = ONE_CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let r = run(cargo(&demo(), MOTOR, &["test"], &[]));
    assert!(r.status.success(), "{}", r.dump());
    // lib: 4 passed (one should_panic, in a child process), 1 ignored; main: 0; tests/api.rs: 2.
    assert_eq!(counts(&r), (6, 0, 1), "{}", r.dump());
    assert!(r.stdout.contains("api: this line reaches the console (--nocapture)"), "{}", r.dump());
}

#[test]
fn runner_errors_are_one_line() {
    let runner = artifact("vireo-run");
    let cases: [(&[&str], &str); 4] = [
        (&["/bin/sh"], "is not an x86_64-unknown-motor program (it asks for an ELF interpreter"),
        (&["Cargo.toml"], "is not an ELF executable"),
        (&["no/such/program"], "no program at no/such/program"),
        (&["--kernel", "no/kernel.elf", "/bin/sh"], "no Vireo kernel at no/kernel.elf"),
    ];
    for (args, want) in cases {
        let mut c = Command::new(&runner);
        c.current_dir(repo_root()).args(args);
        let r = run_with_timeout(c, Duration::from_secs(30));
        assert_eq!(r.status.code(), Some(125), "{args:?}\n{}", r.dump());
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}\n{}", r.dump());
        assert!(r.stderr.starts_with("vireo-run: ") && r.stderr.contains(want), "{args:?}\n{}", r.dump());
    }
    // `/bin/spin` (a raw program of the initrd's) never ends: --timeout stops the VM.
    let spin = repo_root().join("guest-userspace/target/x86_64-unknown-none/release/spin");
    let mut c = Command::new(&runner);
    c.arg("--timeout").arg("2").arg(&spin);
    let r = run_with_timeout(c, Duration::from_secs(60));
    assert_eq!(r.status.code(), Some(124), "{}", r.dump());
    assert!(
        r.stderr.contains("did not finish within 2 s (--timeout)") && r.stderr.lines().count() == 1,
        "{}",
        r.dump()
    );
}

// ---- popular crates' own test suites: Vireo against Linux

/// `tests/crates/suites` names them with exact versions. Left out, and why,
/// in docs/runtime.md ("Crates whose tests cannot run on Vireo").
const SUITES: &[(&str, &str)] =
    &[("arrayvec", "0.7.9"), ("smallvec", "1.16.6"), ("slab", "0.4.12"), ("heck", "0.5.0"), ("strsim", "0.11.1")];

/// The crate's source from its .crate file in cargo's cache (`cargo fetch`
/// puts it there), unpacked once, with a .cargo/config.toml as a user
/// would write it.
fn unpack(name: &str, version: &str) -> PathBuf {
    let src = work_dir().join("src");
    let dir = src.join(format!("{name}-{version}"));
    if !dir.join("Cargo.toml").exists() {
        let suites = repo_root().join("tests/crates/suites");
        let r = run_with_timeout(
            {
                let mut c = Command::new("/usr/bin/cargo");
                c.current_dir(&suites).args(["fetch", "-q"]);
                c
            },
            Duration::from_secs(300),
        );
        assert!(r.status.success(), "cargo fetch failed\n{}", r.dump());
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"));
        let file = format!("{name}-{version}.crate");
        let cache = std::fs::read_dir(home.join("registry/cache"))
            .expect("cargo's registry cache")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join(&file))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{file} is not in cargo's cache after cargo fetch"));
        std::fs::create_dir_all(&src).unwrap();
        let ok = Command::new("tar").arg("-xzf").arg(&cache).arg("-C").arg(&src).status().unwrap();
        assert!(ok.success(), "cannot unpack {}", cache.display());
    }
    let config = format!(
        "[target.{MOTOR}]\nrunner = \"{}\"\n\n[profile.dev]\npanic = \"abort\"\n",
        artifact("vireo-run").display()
    );
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(dir.join(".cargo/config.toml"), config).unwrap();
    dir
}

fn suite(name: &str) {
    let _one = ONE_CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let version = SUITES.iter().find(|s| s.0 == name).expect("listed in SUITES").1;
    let dir = unpack(name, version);
    // Unit and integration tests; doctests are left out on both sides.
    let test = ["test", "--lib", "--tests", "--no-fail-fast"];
    let linux = run(cargo(&dir, LINUX, &test, &[]));
    let vireo = run(cargo(&dir, MOTOR, &test, &[]));
    let (l, v) = (counts(&linux), counts(&vireo));
    let (lf, vf) = (failures(&linux), failures(&vireo));
    println!("{name} {version}: Linux {l:?}, Vireo {v:?} (passed, failed, ignored); failing on both: {vf:?}");
    assert!(l.0 > 0, "no Linux test ran\n{}", linux.dump());
    assert_eq!(v, l, "Vireo's counts differ from Linux's\n--- Linux\n{}\n--- Vireo\n{}", linux.dump(), vireo.dump());
    assert_eq!(vf, lf, "different tests fail\n--- Linux\n{}\n--- Vireo\n{}", linux.dump(), vireo.dump());
    assert_eq!(vireo.status.code(), linux.status.code(), "{}", vireo.dump());
}

#[test]
fn crate_suite_arrayvec_matches_linux() {
    suite("arrayvec");
}

#[test]
fn crate_suite_smallvec_matches_linux() {
    suite("smallvec");
}

#[test]
fn crate_suite_slab_matches_linux() {
    suite("slab");
}

#[test]
fn crate_suite_heck_matches_linux() {
    suite("heck");
}

#[test]
fn crate_suite_strsim_matches_linux() {
    suite("strsim");
}
