//! httpd on Vireo (issue 12; docs/network.md "httpd"): boots `/bin/httpd`
//! with the disk (its /srv/www plus the test site under /srv/www/t, put
//! there with debugfs) and a virtio-net card on QEMU user networking whose
//! `hostfwd` maps a free port of the host's 127.0.0.1 to the guest's port
//! 80, then runs from the host the same checks as httpd's host tests
//! (guest-userspace/std-programs/httpd/tests/common): files of 1 byte,
//! 64 KiB and 16 MiB by checksum, HEAD, keep-alive, each bad request's
//! status, traversal attempts, 200 connections at once, and slowloris and
//! garbage clients beside ordinary ones. The symlink checks stay host-only
//! (Vireo's `canonicalize` is lexical: see docs/network.md).
//!
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vireo_tests::disk::{debugfs_write, program, DiskCopy};
use vireo_tests::running::RunningVm;
use vireo_tests::{Machine, Qemu};

#[path = "../../guest-userspace/std-programs/httpd/tests/common/mod.rs"]
mod common;

/// One VM at a time: TCG on a 2-core host.
static ONE_VM: Mutex<()> = Mutex::new(());

/// A port of the host's loopback that is free now (for hostfwd).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local_addr").port()
}

/// A copy of the disk with the test site under /srv/www/t.
fn disk_with_site(name: &str) -> DiskCopy {
    let d = DiskCopy::new(name);
    for dir in ["/srv/www/t", "/srv/www/t/noindex", "/srv/www/t/sub"] {
        debugfs_write(&d.path, &format!("mkdir {dir}"));
    }
    for (i, (path, bytes)) in common::site_files().into_iter().enumerate() {
        let host = d.scratch(&format!("site-{i}"), &bytes);
        debugfs_write(&d.path, &format!("write {} /srv/www/{path}", host.display()));
    }
    d
}

/// Boots httpd (`args` after `/bin/httpd`) and waits for it and the
/// network; returns the VM and the host address that reaches its port 80.
fn boot(machine: Machine, disk: &DiskCopy, args: &str) -> (RunningVm, SocketAddr) {
    let port = free_port();
    let mut q = Qemu::new(machine)
        .with_initrd()
        .cmdline(&program(&format!("/bin/httpd {args}")))
        .with_disk(&disk.path, false)
        .with_net(&format!("user,hostfwd=tcp:127.0.0.1:{port}-:80"), None);
    // 200 connections are 200 worker threads (128 KiB stacks) and buffers.
    q.mem_mib = 512;
    let mut vm = RunningVm::start(&q);
    vm.wait_for(&["httpd: serving /srv/www on 0.0.0.0:80", "io: net: 10.0.2.15/24"], Duration::from_secs(120));
    (vm, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn serve(machine: Machine) {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = disk_with_site(&format!("httpd-{machine:?}"));
    let (mut vm, addr) = boot(machine, &disk, "");
    let t = Instant::now();
    // The disk's own page first (make disk puts it there).
    let r = common::get(addr, "/");
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/html; charset=utf-8")), "{r:?}");
    assert!(String::from_utf8_lossy(&r.body).contains("Hello from Vireo"));
    common::check_files(addr);
    common::check_head(addr);
    common::check_keep_alive(addr);
    common::check_bad_requests(addr);
    common::check_traversal(addr);
    // 200 clients at once, each a worker thread blocked in a read on
    // Vireo: they sleep on their sockets' readiness words, holding no
    // channel slots (docs/network.md, "Blocking reads").
    common::check_concurrent(addr, 200);
    common::check_slow_and_garbage_clients(addr, 5, Duration::from_secs(30));
    eprintln!("httpd on {machine:?}: all checks in {:?}", t.elapsed());
    // Still serving, and the request log went to the console.
    assert_eq!(common::get(addr, "/t/one.bin").status, 200);
    vm.wait_for(&["httpd: GET /t/one.bin 200 1 ", "httpd: GET /t/16m.bin 200 16777216 "], Duration::from_secs(30));
    let out = vm.output();
    assert!(!out.contains("panicked"), "a panic on the console\n{out}");
    assert!(matches!(vm.child.try_wait(), Ok(None)), "the VM stopped\n{out}");
}

#[test]
fn httpd_serves_the_host_on_microvm() {
    serve(Machine::Microvm);
}

#[test]
fn httpd_serves_the_host_on_q35() {
    serve(Machine::Q35);
}
