//! Writes the seed corpora: `seeds OUT_DIR [ELF...]` creates OUT_DIR/<target>/
//! with well-formed inputs for each fuzz target (plus the ELF files named).
use std::path::Path;
use std::{env, fs};
use vireo_parse::testdata::{
    acpi_memory, sdt, start_info_memory, virtio_mmio_crs, virtio_mmio_device, QEMU_MICROVM_DSDT, S5_AML,
};

fn main() {
    let mut args = env::args().skip(1);
    let out = args.next().expect("usage: seeds OUT_DIR [ELF...]");
    let out = Path::new(&out);
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = out.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    };

    for cpus in [1, 4] {
        write("acpi", &format!("harness-{cpus}cpu"), &acpi_memory(cpus));
    }
    // Each table of the harness-shaped memory, behind its selector byte.
    let mem = acpi_memory(2);
    let mut at = 64;
    while let Some(head) = mem.get(at..at + 8) {
        let len = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
        let sel = match &head[..4] {
            b"APIC" => 0u8,
            b"FACP" => 1,
            b"MCFG" => 2,
            b"DSDT" => 3,
            b"XSDT" => 4,
            _ => break,
        };
        let mut seed = vec![sel];
        seed.extend_from_slice(&mem[at..at + len]);
        write("acpi_tables", &String::from_utf8_lossy(&head[..4]), &seed);
        at = (at + len).next_multiple_of(64);
    }
    let mut q35 = vec![3u8];
    q35.extend_from_slice(&sdt(b"DSDT", b"\x10\x0a\\_SB_\x08_S5_\x12\x06\x04\x00\x00\x00\x00"));
    write("acpi_tables", "DSDT-q35", &q35);
    let mut harness = vec![3u8];
    harness.extend_from_slice(&sdt(b"DSDT", &S5_AML));
    write("acpi_tables", "DSDT-harness", &harness);
    write("acpi_tables", "GAS-mmio", &[5, 0, 32, 0, 3, 0x00, 0x10, 0, 0, 0, 0, 0, 0]);

    write("acpi_tables", "DSDT-microvm", &[&[3u8][..], QEMU_MICROVM_DSDT].concat());
    write("virtio_mmio_dsdt", "qemu-microvm", QEMU_MICROVM_DSDT);
    let mut built = virtio_mmio_device(b"VR00", b"LNRO0005", 0, &virtio_mmio_crs(0xd000_0000, 0x1000, 5));
    built.extend(virtio_mmio_device(b"VR01", b"LNRO0005", 1, &virtio_mmio_crs(0xd000_1000, 0x1000, 6)));
    write("virtio_mmio_dsdt", "built", &built);
    write(
        "virtio_mmio_cmdline",
        "firecracker",
        b"console=ttyS0 reboot=k virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6",
    );
    write(
        "virtio_mmio_cmdline",
        "qemu",
        b"virtio_mmio.device=512@0xfeb02e00:47 virtio-mmio.device=0x200@0xfeb02c00:46:1",
    );
    write("virtio_mmio_cmdline", "suffixes", b"virtio_mmio.device=1M@010000:7 virtio_mmio.device=2g@0x100000000:9:-3");

    write("start_info", "pvh", &start_info_memory(b"console=ttyS0 init=/init"));

    let fixtures = mkinitrd::fixtures::all();
    for f in &fixtures {
        write("elf", &format!("fixture-{}", f.name), &f.image);
    }
    let mut w = mkinitrd::cpio::Writer::new();
    w.add_file("init", b"init program").unwrap();
    w.add_file("bin/hello", b"hello!").unwrap();
    w.add_file("empty", b"").unwrap();
    write("cpio", "small", &w.finish());
    let mut w = mkinitrd::cpio::Writer::new();
    for f in fixtures.iter().take(3) {
        w.add_file(&format!("test/elf/{}", f.name), &f.image).unwrap();
    }
    write("cpio", "fixtures", &w.finish());

    dns_seeds(&write);
    virtio_queue_seeds(&write);

    for path in args {
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let name = Path::new(&path).file_name().unwrap().to_string_lossy().into_owned();
        write("elf", &name, &bytes);
    }
}

/// Replies to the query `vireo_dns::fuzz::reply` pretends to have sent
/// (id 0x1234, A a.test): an address, a CNAME chain, NXDOMAIN with an SOA,
/// a truncated one.
fn dns_seeds(write: &dyn Fn(&str, &str, &[u8])) {
    let reply = |rcode: u8, tc: bool, an: u16, ns: u16, records: &[u8]| {
        let mut m = vec![0x12, 0x34, 0x81 | if tc { 2 } else { 0 }, 0x80 | rcode, 0, 1];
        m.extend_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&ns.to_be_bytes());
        m.extend_from_slice(&[0, 0, 1, b'a', 4, b't', b'e', b's', b't', 0, 0, 1, 0, 1]);
        m.extend_from_slice(records);
        m
    };
    let a = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1];
    write("dns", "a", &reply(0, false, 1, 0, &a));
    // a.test CNAME b.test (compressed against the question); b.test A.
    let cname = [
        0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, b'b', 0xc0, 14, 0xc0, 36, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 10, 0, 0, 2,
    ];
    write("dns", "cname", &reply(0, false, 2, 0, &cname));
    let soa = [
        0xc0, 14, 0, 6, 0, 1, 0, 0, 0, 60, 0, 29, 2, b'n', b's', 0xc0, 14, 1, b'h', 0xc0, 14, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 30,
    ];
    write("dns", "nxdomain", &reply(3, false, 0, 1, &soa));
    write("dns", "truncated", &reply(0, true, 0, 0, &[]));
}

/// Inputs of the `virtio_queue` target (its header, then memory from 0):
/// a queue of 16 with a read request (16-byte header, 512-byte writable
/// buffer, status byte), and the same with a looping chain.
fn virtio_queue_seeds(write: &dyn Fn(&str, &str, &[u8])) {
    let desc = |addr: u64, len: u32, flags: u16, next: u16| {
        let mut d = addr.to_le_bytes().to_vec();
        d.extend_from_slice(&len.to_le_bytes());
        d.extend_from_slice(&flags.to_le_bytes());
        d.extend_from_slice(&next.to_le_bytes());
        d
    };
    let input = |descs: &[Vec<u8>], heads: &[u16]| {
        let mut v = 16u16.to_le_bytes().to_vec();
        v.extend_from_slice(&[0; 25]);
        let mut mem = vec![0u8; 0x1000 + 4 + 2 * heads.len()];
        for (i, d) in descs.iter().enumerate() {
            mem[16 * i..16 * i + 16].copy_from_slice(d);
        }
        mem[0x1002..0x1004].copy_from_slice(&(heads.len() as u16).to_le_bytes());
        for (i, h) in heads.iter().enumerate() {
            mem[0x1004 + 2 * i..0x1006 + 2 * i].copy_from_slice(&h.to_le_bytes());
        }
        v.extend_from_slice(&mem);
        v
    };
    let read = [desc(0x3000, 16, 1, 1), desc(0x3100, 512, 3, 2), desc(0x3400, 1, 2, 0)];
    write("virtio_queue", "read-request", &input(&read, &[0]));
    write("virtio_queue", "two-requests", &input(&[&read[..], &read[..]].concat(), &[0, 3]));
    write("virtio_queue", "loop", &input(&[desc(0x3000, 16, 1, 1), desc(0x3100, 16, 1, 0)], &[0]));
}
