//! The guest's CPUID table in a snapshot (`DIR/cpuid`): vCPU 0's table as
//! KVM_GET_CPUID2 returns it. A restore sets it back instead of asking for
//! KVM_GET_SUPPORTED_CPUID, which costs ~0.45 ms on kvm-pvm (KVM runs CPUID
//! on the host for every leaf, each an exit of this nested host), a third of
//! the restore; and the guest keeps the CPUID it was started with, as
//! Firecracker's snapshots do. A snapshot without the file (an older one)
//! is restored with the supported table, as before.
//!
//! Layout: magic, the entry size, the entry count (u32 LE each), then the
//! `kvm_cpuid_entry2` entries as their raw bytes.
use std::path::{Path, PathBuf};

use kvm_bindings::{kvm_cpuid_entry2, KVM_MAX_CPUID_ENTRIES};
use zerocopy::{FromBytes, IntoBytes};

const MAGIC: &[u8; 8] = b"VIREOCPU";
const HEADER: usize = 16;

pub fn path(dir: &Path) -> PathBuf {
    dir.join("cpuid")
}

pub fn encode(entries: &[kvm_cpuid_entry2]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + std::mem::size_of_val(entries));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(size_of::<kvm_cpuid_entry2>() as u32).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(e.as_bytes());
    }
    out
}

/// The entries, or why the bytes are not a CPUID file of this build.
pub fn decode(bytes: &[u8]) -> Result<Vec<kvm_cpuid_entry2>, String> {
    let size = size_of::<kvm_cpuid_entry2>();
    let (head, body) = bytes.split_at_checked(HEADER).ok_or("shorter than its header")?;
    if &head[..8] != MAGIC {
        return Err("bad magic".into());
    }
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]) as usize;
    if word(8) != size {
        return Err(format!("entries of {} bytes, this build's are {size}", word(8)));
    }
    let n = word(12);
    if n == 0 || n > KVM_MAX_CPUID_ENTRIES || body.len() != n * size {
        return Err(format!("{n} entries in {} bytes", body.len()));
    }
    body.chunks_exact(size).map(|c| kvm_cpuid_entry2::read_from_bytes(c).map_err(|_| "bad entry".into())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let v = vec![
            kvm_cpuid_entry2 { function: 1, eax: 0x800f12, ebx: 7 << 24, ..Default::default() },
            kvm_cpuid_entry2 { function: 0x4000_0001, index: 3, flags: 1, edx: 9, ..Default::default() },
        ];
        let bytes = encode(&v);
        assert_eq!(bytes.len(), HEADER + 2 * 40);
        assert_eq!(decode(&bytes).unwrap(), v);
        assert_eq!(decode(&bytes[..10]).unwrap_err(), "shorter than its header");
        assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap_err(), "2 entries in 79 bytes");
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(decode(&bad).unwrap_err(), "bad magic");
        bad = bytes.clone();
        bad[8] = 41;
        assert_eq!(decode(&bad).unwrap_err(), "entries of 41 bytes, this build's are 40");
        assert_eq!(decode(&encode(&[])).unwrap_err(), "0 entries in 0 bytes");
    }
}
