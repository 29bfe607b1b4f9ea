//! The fuzz runs (docs/fuzzing.md): a bounded system-call fuzz on 4 vCPUs,
//! and a few hundred mutated ELF images of a raw and a std program, each
//! refused or run to its end alone. Seeds come from VIREO_FUZZ_SEED, else
//! a fixed one under CI (a landing must not depend on the draw), else the
//! clock (each developer run explores new inputs); they are printed, so a
//! failure can be replayed.
use std::time::Duration;
use vireo_tests::{artifact, repo_root, Machine, Qemu, Run};

/// Calls in the bounded syscall run (about 25 s under TCG on 2 host cores).
const CALLS: u64 = 200_000;
const RAW_MUTANTS: u64 = 300;
const STD_MUTANTS: u64 = 200;

/// The seed CI uses.
const CI_SEED: u64 = 0x5eed_f00d;

/// VIREO_FUZZ_SEED if set (decimal or 0x hex), else [`CI_SEED`] under CI,
/// else the clock.
fn seed() -> u64 {
    match std::env::var("VIREO_FUZZ_SEED").ok().filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let s = s.trim();
            let v = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            };
            v.unwrap_or_else(|e| panic!("VIREO_FUZZ_SEED={s:?}: {e}"))
        }
        None if std::env::var_os("CI").is_some() => CI_SEED,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    }
}

fn summary(run: &Run, prefix: &str) -> String {
    run.stdout.lines().find(|l| l.starts_with(prefix)).unwrap_or_default().to_string()
}

#[test]
fn syscall_fuzz_200k_calls_on_4_cpus_breaks_no_abi_rule() {
    let seed = seed();
    eprintln!("fuzz: seed {seed:#x} (replay: VIREO_FUZZ_SEED={seed:#x})");
    let mut q = Qemu::new(Machine::Microvm).cpus(4).with_initrd();
    q.cmdline = format!("init=/test/fuzz -- calls={CALLS} threads=4 seed={seed:#x}");
    q.timeout = Duration::from_secs(240);
    let run = q.run();
    eprintln!("{}", summary(&run, "fuzz: done:"));
    run.assert_exit(0);
    assert!(run.has_line_starting("fuzz: ok"), "{}", run.dump());
    let done = summary(&run, "fuzz: done:");
    // The run's own count: at least CALLS (clean-up calls come on top).
    let calls: u64 = done
        .split_whitespace()
        .find_map(|w| w.strip_prefix("calls="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no call count in the summary\n{}", run.dump()));
    assert!(calls >= CALLS && done.contains(" violations=0"), "{}", run.dump());
}

/// The system's initrd plus the mutants under test/mut/.
/// Mutants per program: VIREO_FUZZ_MUTANTS (`make fuzz-elf MUTANTS=n`) or the defaults.
fn mutant_counts() -> (u64, u64) {
    match std::env::var("VIREO_FUZZ_MUTANTS").ok().and_then(|s| s.trim().parse().ok()) {
        Some(n) => (n, n),
        None => (RAW_MUTANTS, STD_MUTANTS),
    }
}

fn mutant_initrd(seed: u64, (raw_count, std_count): (u64, u64)) -> std::path::PathBuf {
    let base = std::fs::read(artifact("initrd.cpio")).expect("read build/initrd.cpio");
    let members = mkinitrd::cpio::read(&base).expect("build/initrd.cpio is a newc archive");
    let mut w = mkinitrd::cpio::Writer::new();
    let mut raw = None;
    let mut std = None;
    for m in members.iter().filter(|m| m.mode & 0o170_000 == 0o100_000) {
        w.add_file(&m.name, &m.data).expect("copy member");
        match m.name.as_str() {
            "bin/hello" => raw = Some(&m.data),
            "bin/hello-std" => std = Some(&m.data),
            _ => {}
        }
    }
    let (raw, std) = (raw.expect("bin/hello in the initrd"), std.expect("bin/hello-std in the initrd"));
    for (name, image, count) in [("raw", raw, raw_count), ("std", std, std_count)] {
        for (i, m) in mkinitrd::mutate::mutants(image, seed, count).iter().enumerate() {
            w.add_file(&format!("test/mut/{name}-{i}"), m).expect("add mutant");
        }
    }
    let dir = repo_root().join("build/fuzz");
    std::fs::create_dir_all(&dir).expect("create build/fuzz");
    let path = dir.join(format!("mutants-{}.cpio", std::process::id()));
    std::fs::write(&path, w.finish()).expect("write the mutant initrd");
    path
}

#[test]
fn mutated_elf_images_are_refused_or_die_alone() {
    let seed = seed();
    eprintln!("fuzz-elf: seed {seed:#x} (replay: VIREO_FUZZ_SEED={seed:#x}; mutant i = mkinitrd::mutate::mutant(image, seed, i))");
    let counts = mutant_counts();
    let initrd = mutant_initrd(seed, counts);
    let mut q = Qemu::new(Machine::Microvm).cpus(2);
    q.mem_mib = 512;
    q.initrd = Some(initrd.clone());
    q.cmdline = format!("init=/test/fuzz -- elf raw={} std={} seed={seed:#x}", counts.0, counts.1);
    // Each running mutant may take up to 2 s before it is killed.
    q.timeout = Duration::from_secs(240 + 2 * (counts.0 + counts.1) / 10);
    let run = q.run();
    let _ = std::fs::remove_file(&initrd);
    eprintln!("{}", summary(&run, "fuzz-elf: done:"));
    eprintln!("{}", summary(&run, "fuzz-elf: refusals:"));
    run.assert_exit(0);
    assert!(run.has_line_starting("fuzz-elf: ok"), "{}", run.dump());
}

fn regress(check: &str) {
    let mut q =
        Qemu::new(Machine::Microvm).cpus(1).with_initrd().cmdline(&format!("init=/test/fuzz-regress -- {check}"));
    q.timeout = Duration::from_secs(30);
    let run = q.run();
    run.assert_exit(0);
    assert!(run.has_line_starting("fuzz-regress: ok"), "{}", run.dump());
}

/// Defect 1 the fuzzer found: a pointer at USER_END with length 0 was
/// accepted (and ConsoleRead waited for input on it).
#[test]
fn pointer_at_user_end_with_length_0_is_refused() {
    regress("user-end");
}

/// Defect 2: ShmCreate took every free frame, past the kernel's reserve.
#[test]
fn shared_memory_leaves_the_kernel_reserve_alone() {
    regress("shm-reserve");
}

/// Defect 3, found while reading what the fuzzer's timed-out waits leave
/// behind: each `Wait` that timed out left an entry in the waited-for
/// process's waiter list, emptied only when one of its threads ended, so
/// 300,000 waits with timeout 0 on a running process took about 8 MiB of
/// kernel memory, without bound. A thread is now registered once and
/// removed when its wait ends.
#[test]
fn timed_out_waits_do_not_grow_kernel_memory() {
    regress("wait-waiters");
}
