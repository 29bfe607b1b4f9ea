//! Free-page reporting (issue 13; docs/paravirt.md "Free-page reporting"):
//! a std program touches then frees 200 MiB, and the QEMU process's
//! resident memory on the host falls by at least 150 MiB within 5 s of the
//! free, over virtio-mmio (microvm) and virtio-pci (q35). Without a balloon,
//! with one that cannot report, or with `balloon=off`, the same program
//! still runs to its end and the server says what it did in one line; with
//! reporting, memory the host discarded is handed out again, zeroed, and a
//! host that asks for memory back (QMP `balloon`) is told, once, that
//! inflation is not supported.
//! (A reporting queue of size 0 and a device that lies in its used ring are
//! the driver's host tests, guest-userspace/lib/virtio/src/balloon/tests.rs.)
use std::time::{Duration, Instant};

use vireo_tests::balloon::{qmp_balloon, qmp_socket_path, rss_bytes};
use vireo_tests::disk::program;
use vireo_tests::running::RunningVm;
use vireo_tests::{Machine, Qemu, Run};

/// One VM at a time: TCG on a 2-core host.
static ONE_VM: std::sync::Mutex<()> = std::sync::Mutex::new(());

const MIB: u64 = 1 << 20;
const TOUCHED: &str = "mem-release: touched 200 MiB";
const FREED: &str = "mem-release: freed 200 MiB";

fn vm(machine: Machine, cmd: &str) -> Qemu {
    let mut q = Qemu::new(machine).with_initrd().cmdline(&program(cmd)).timeout(Duration::from_secs(120));
    q.mem_mib = 512;
    q
}

fn transport(machine: Machine) -> &'static str {
    match machine {
        Machine::Microvm => "virtio-mmio",
        Machine::Q35 => "virtio-pci",
    }
}

fn freed_memory_returns_to_the_host(machine: Machine) {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let q = vm(machine, "balloon.log /bin/mem-release 200 10").with_balloon(true);
    let mut v = RunningVm::start(&q);
    let pid = v.child.id();
    let on = format!("balloon: free-page reporting on ({})", transport(machine));
    v.wait_for(&[&on, TOUCHED], Duration::from_secs(90));
    let peak = rss_bytes(pid).expect("QEMU's resident memory");
    // mem-release keeps the block 2 s after `touched`: a lower peak means
    // the free came first and nothing below would be measured.
    assert!(peak >= 200 * MIB, "resident {} MiB after touching 200 MiB\n{}", peak / MIB, v.output());
    v.wait_for(&[FREED], Duration::from_secs(30));
    let freed_at = Instant::now();
    let mut low = peak;
    while freed_at.elapsed() < Duration::from_secs(5) && peak - low < 150 * MIB {
        low = low.min(rss_bytes(pid).expect("QEMU still running"));
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = freed_at.elapsed();
    eprintln!(
        "{machine:?}: resident {} MiB after touching, {} MiB {} ms after the free ({} MiB back)",
        peak / MIB,
        low / MIB,
        took.as_millis(),
        (peak - low) / MIB
    );
    assert!(peak - low >= 150 * MIB, "{} MiB back within 5 s\n{}", (peak - low) / MIB, v.output());
    v.wait_for(&["mem-release: done", "VIREO-EXIT 0"], Duration::from_secs(60));
    let out = v.output();
    assert!(out.lines().any(|l| l.starts_with("balloon: reported ")), "no report line\n{out}");
    assert!(!out.contains("free-page reporting off"), "{out}");
}

#[test]
fn microvm_freed_memory_returns_to_the_host() {
    freed_memory_returns_to_the_host(Machine::Microvm);
}

#[test]
fn q35_freed_memory_returns_to_the_host() {
    freed_memory_returns_to_the_host(Machine::Q35);
}

fn run(q: Qemu) -> Run {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    q.run()
}

fn balloon_lines(r: &Run) -> Vec<&str> {
    r.lines_containing("balloon:")
}

/// Three rounds of 200 MiB in 512 MiB: the last must take frames the host
/// discarded, and they read as zeros (mem-release checks).
#[test]
fn reported_memory_is_handed_out_again_zeroed() {
    let r = run(vm(Machine::Microvm, "balloon.log /bin/mem-release 200 3 3").with_balloon(true));
    r.assert_exit(0);
    assert_eq!(r.lines_containing(TOUCHED).len(), 3, "{}", r.dump());
    assert!(r.lines_containing("balloon: reported ").len() >= 2, "{}", r.dump());
}

#[test]
fn without_a_balloon_memory_is_freed_and_reused_as_before() {
    let r = run(vm(Machine::Microvm, "/bin/mem-release 200 0 3"));
    r.assert_exit(0);
    assert!(r.has_line_starting(FREED) && balloon_lines(&r).is_empty(), "{}", r.dump());
}

#[test]
fn a_balloon_without_reporting_is_left_alone_with_one_line() {
    for machine in [Machine::Microvm, Machine::Q35] {
        let r = run(vm(machine, "/bin/mem-release 200 0").with_balloon(false));
        r.assert_exit(0);
        let want = format!(
            "balloon: {}: the device offers no free-page reporting (VIRTIO_BALLOON_F_REPORTING); free-page reporting off",
            transport(machine)
        );
        assert_eq!(balloon_lines(&r), [want.as_str()], "{}", r.dump());
    }
}

#[test]
fn balloon_off_leaves_the_device_alone() {
    let r = run(vm(Machine::Microvm, "balloon=off /bin/mem-release 200 0").with_balloon(true));
    r.assert_exit(0);
    assert!(r.has_line_starting(FREED) && balloon_lines(&r).is_empty(), "{}", r.dump());
}

/// The host asks for memory back (QMP `balloon`): inflation is not driven,
/// and the server says so once, and goes on reporting.
#[test]
fn a_host_inflation_request_is_logged_as_unsupported() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let sock = qmp_socket_path("inflate");
    let q = vm(Machine::Microvm, "/bin/mem-release 16 6").with_balloon(true).with_qmp(&sock);
    let mut v = RunningVm::start(&q);
    v.wait_for(&["balloon: free-page reporting on (virtio-mmio)"], Duration::from_secs(60));
    // 512 MiB guest, target 384 MiB: the device asks for 128 MiB.
    let reply = qmp_balloon(&sock, 384 * MIB);
    assert!(reply.contains("\"return\""), "QMP: {reply}");
    v.wait_for(&["balloon: the host asks for 128 MiB; inflation is not supported"], Duration::from_secs(10));
    v.wait_for(&["mem-release: done", "VIREO-EXIT 0"], Duration::from_secs(60));
    let _ = std::fs::remove_file(&sock);
    let out = v.output();
    assert_eq!(out.matches("inflation is not supported").count(), 1, "{out}");
    assert!(!out.contains("free-page reporting off"), "{out}");
}
