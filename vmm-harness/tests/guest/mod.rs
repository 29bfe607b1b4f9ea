//! What the end-to-end tests share: tiny PVH guests built as ELF images,
//! temporary files, and whether KVM is there to run them.
#![allow(dead_code)]

use std::path::PathBuf;

pub const BIN: &str = env!("CARGO_BIN_EXE_vmm-harness");
pub const LOAD_ADDR: u64 = 0x10_0000;

/// An x86-64 ELF64 whose one PT_LOAD at 1 MiB holds `code` (32-bit), with a
/// PT_NOTE carrying the Xen PHYS32_ENTRY note (type 18) pointing at it.
pub fn pvh_elf(code: &[u8]) -> Vec<u8> {
    let phnum = 2u16;
    let note_off = 64 + 56 * u64::from(phnum);
    let mut note = Vec::new();
    note.extend_from_slice(&4u32.to_le_bytes()); // namesz
    note.extend_from_slice(&4u32.to_le_bytes()); // descsz
    note.extend_from_slice(&18u32.to_le_bytes()); // XEN_ELFNOTE_PHYS32_ENTRY
    note.extend_from_slice(b"Xen\0");
    note.extend_from_slice(&(LOAD_ADDR as u32).to_le_bytes());
    let code_off = note_off + note.len() as u64;

    let mut v = vec![0u8; 64];
    v[..4].copy_from_slice(b"\x7fELF");
    v[4] = 2; // ELFCLASS64
    v[5] = 1; // little-endian
    v[6] = 1; // EV_CURRENT
    v[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    v[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    v[20..24].copy_from_slice(&1u32.to_le_bytes());
    v[24..32].copy_from_slice(&LOAD_ADDR.to_le_bytes()); // e_entry
    v[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    v[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    v[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    v[56..58].copy_from_slice(&phnum.to_le_bytes());
    let mut ph = |ty: u32, flags: u32, off: u64, addr: u64, size: u64| {
        for f in [ty, flags] {
            v.extend_from_slice(&f.to_le_bytes());
        }
        for f in [off, addr, addr, size, size, 4] {
            v.extend_from_slice(&f.to_le_bytes());
        }
    };
    ph(1, 5, code_off, LOAD_ADDR, code.len() as u64); // PT_LOAD, R+X
    ph(4, 4, note_off, 0, note.len() as u64); // PT_NOTE
    v.extend_from_slice(&note);
    v.extend_from_slice(code);
    v
}

pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str, bytes: &[u8]) -> TempFile {
        let dir = std::env::temp_dir();
        let p = dir.join(format!("vmm-harness-test-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn kvm_usable() -> bool {
    match kvm_ioctls::Kvm::new() {
        Ok(kvm) if kvm.get_api_version() == 12 => true,
        Ok(_) => {
            eprintln!("skipping: /dev/kvm does not speak KVM API version 12");
            false
        }
        Err(e) => {
            eprintln!("skipping: /dev/kvm is not usable here ({e})");
            false
        }
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
